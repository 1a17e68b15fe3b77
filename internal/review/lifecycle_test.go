package review

import (
	"strings"
	"testing"
)

func TestDecide(t *testing.T) {
	web := Object{Group: "apps", Kind: "Deployment", Namespace: "shop", Name: "web"}
	const markerCommit = "0123456789abcdef0123456789abcdef01234567"
	marker := func(from, to int64, mut ...func(*Marker)) *Marker {
		m := NewMarker("prod", web, "spec.replicas", Proposal{From: from, To: to}, markerCommit)
		for _, f := range mut {
			f(&m)
		}
		return &m
	}
	openPR := func(m *Marker) *PR { return &PR{Number: 12, State: StateOpen, ByLatch: true, Marker: m} }
	prop := func(from, to int64) *Proposal { return &Proposal{From: from, To: to} }
	closedByLatch := func(m *Marker) { m.ClosedByLatch = true }
	released := func(m *Marker) { m.Released = true }

	cases := []struct {
		name    string
		s       Situation
		want    Action
		pr      int
		blocked bool
	}{
		{"nothing to latch, no PR", Situation{}, Nothing, 0, false},
		{"ordinary latch pushed directly", Situation{Proposal: prop(40, 60)}, Push, 0, false},
		{"suspicious latch opens a PR", Situation{Proposal: prop(40, 400), NeedsReview: true}, Open, 0, false},
		{"open PR already says it: nothing", Situation{Proposal: prop(40, 400), NeedsReview: true, PR: openPR(marker(40, 400)), BranchHead: markerCommit}, Nothing, 12, false},
		// Killed after pushing the branch for another value and before the
		// PR edit; the value then came back to what the PR says.
		{"branch moved past the marker: update", Situation{Proposal: prop(40, 400), NeedsReview: true, PR: openPR(marker(40, 400)), BranchHead: strings.Repeat("f", 40)}, Update, 12, false},
		{"branch gone under an open PR: update", Situation{Proposal: prop(40, 400), NeedsReview: true, PR: openPR(marker(40, 400))}, Update, 12, false},
		{"further change updates in place", Situation{Proposal: prop(40, 500), NeedsReview: true, PR: openPR(marker(40, 400))}, Update, 12, false},
		{"person pushed: commit on top", Situation{Proposal: prop(40, 500), NeedsReview: true, PR: openPR(marker(40, 400)), BranchForeign: true}, UpdateOnTop, 12, false},
		{"person pushed but same proposal: nothing", Situation{Proposal: prop(40, 400), NeedsReview: true, PR: openPR(marker(40, 400)), BranchForeign: true}, Nothing, 12, false},
		{"base moved under the PR: update", Situation{Proposal: prop(50, 400), NeedsReview: true, PR: openPR(marker(40, 400))}, Update, 12, false},
		{"value came back: close", Situation{PR: openPR(marker(40, 400))}, Close, 12, false},
		{"ordinary latch while PR open: push and close", Situation{Proposal: prop(40, 60), PR: openPR(marker(40, 400))}, PushAndClose, 12, false},
		{"merged ends the cycle: nothing left", Situation{PR: &PR{Number: 12, State: StateMerged, ByLatch: true, Marker: marker(40, 400)}}, Nothing, 0, false},
		{"after a merge a new jump opens a new PR", Situation{Proposal: prop(400, 4000), NeedsReview: true, PR: &PR{Number: 12, State: StateMerged, ByLatch: true, Marker: marker(40, 400)}}, Open, 0, false},
		{"rejected band holds", Situation{Proposal: prop(40, 400), NeedsReview: true, PR: &PR{Number: 12, State: StateClosed, ByLatch: true, Marker: marker(40, 400)}}, Nothing, 12, false},
		{"rejected band left: new PR", Situation{Proposal: prop(40, 800), NeedsReview: true, PR: &PR{Number: 12, State: StateClosed, ByLatch: true, Marker: marker(40, 400)}}, Open, 0, false},
		{"rejection stale once git moved", Situation{Proposal: prop(60, 400), NeedsReview: true, PR: &PR{Number: 12, State: StateClosed, ByLatch: true, Marker: marker(40, 400)}}, Open, 0, false},
		{"value back after rejection: release", Situation{PR: &PR{Number: 12, State: StateClosed, ByLatch: true, Marker: marker(40, 400)}}, Release, 12, false},
		{"released rejection no longer holds", Situation{Proposal: prop(40, 400), NeedsReview: true, PR: &PR{Number: 12, State: StateClosed, ByLatch: true, Marker: marker(40, 400, released)}}, Open, 0, false},
		{"released rejection: nothing to release again", Situation{PR: &PR{Number: 12, State: StateClosed, ByLatch: true, Marker: marker(40, 400, released)}}, Nothing, 0, false},
		{"latch's own close is no rejection", Situation{Proposal: prop(40, 400), NeedsReview: true, PR: &PR{Number: 12, State: StateClosed, ByLatch: true, Marker: marker(40, 400, closedByLatch)}}, Open, 0, false},
		{"a person's PR on the branch blocks", Situation{Proposal: prop(40, 400), NeedsReview: true, PR: &PR{Number: 7, State: StateOpen, Marker: marker(40, 400)}}, Nothing, 7, true},
		{"latch's PR without marker blocks", Situation{Proposal: prop(40, 400), NeedsReview: true, PR: &PR{Number: 7, State: StateOpen, ByLatch: true}}, Nothing, 7, true},
		{"blocked branch still lets ordinary latches through", Situation{Proposal: prop(40, 60), PR: &PR{Number: 7, State: StateOpen}}, Push, 7, true},
		{"blocked branch is never closed by latch", Situation{PR: &PR{Number: 7, State: StateOpen}}, Nothing, 7, true},
		{"a person's closed PR is no rejection", Situation{Proposal: prop(40, 400), NeedsReview: true, PR: &PR{Number: 7, State: StateClosed, Marker: marker(40, 400)}}, Open, 0, false},
		{"wider band", Situation{Proposal: prop(40, 420), NeedsReview: true, PR: &PR{Number: 12, State: StateClosed, ByLatch: true,
			Marker: marker(40, 400, func(m *Marker) { m.Band = Band{380, 450} })}}, Nothing, 12, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := Decide(tc.s)
			if d.Action != tc.want || d.PR != tc.pr || d.Blocked != tc.blocked {
				t.Fatalf("Decide = %+v, want action %s pr %d blocked %v", d, tc.want, tc.pr, tc.blocked)
			}
			if d.Why == "" {
				t.Fatal("no Why")
			}
		})
	}
}

// A sequence of passes as the acting side would run them, with the marker
// and PR state the forge would then hold: one PR per cycle, never two open.
func TestDecideCycle(t *testing.T) {
	web := Object{Kind: "Deployment", Namespace: "shop", Name: "web"}
	var pr *PR
	head := "" // the PR branch's head as git would hold it
	next := 1
	opened := 0
	step := func(p *Proposal, review bool) Action {
		d := Decide(Situation{Proposal: p, NeedsReview: review, PR: pr, BranchHead: head})
		switch d.Action {
		case Open:
			m := NewMarker("c", web, "spec.replicas", *p, strings.Repeat("a", 40))
			if pr != nil && pr.State == StateOpen {
				t.Fatalf("opened a second PR while #%d is open", pr.Number)
			}
			pr, head = &PR{Number: next, State: StateOpen, ByLatch: true, Marker: &m}, m.Commit
			next++
			opened++
		case Update, UpdateOnTop:
			m := NewMarker("c", web, "spec.replicas", *p, strings.Repeat("b", 40))
			pr.Marker, head = &m, m.Commit
		case Close, PushAndClose:
			pr.Marker.ClosedByLatch = true
			pr.State = StateClosed
		case Release:
			pr.Marker.Released = true
		}
		return d.Action
	}
	seq := []struct {
		p      *Proposal
		review bool
		want   Action
	}{
		{&Proposal{From: 40, To: 400}, true, Open},
		{&Proposal{From: 40, To: 400}, true, Nothing},
		{&Proposal{From: 40, To: 500}, true, Update},
		{nil, false, Close},
		{nil, false, Nothing},
		{&Proposal{From: 40, To: 400}, true, Open},
	}
	for i, s := range seq {
		if got := step(s.p, s.review); got != s.want {
			t.Fatalf("pass %d: %s, want %s", i+1, got, s.want)
		}
	}
	// A person rejects PR #2.
	pr.State = StateClosed
	for i, s := range []struct {
		p    *Proposal
		want Action
	}{{&Proposal{From: 40, To: 400}, Nothing}, {nil, Release}, {&Proposal{From: 40, To: 400}, Open}} {
		if got := step(s.p, true); got != s.want {
			t.Fatalf("after rejection, pass %d: %s, want %s", i+1, got, s.want)
		}
	}
	if opened != 3 {
		t.Fatalf("opened %d PRs, want 3", opened)
	}
}
