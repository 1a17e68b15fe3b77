package review

import "fmt"

// State is a pull request's state on the forge.
type State string

const (
	StateOpen   State = "open"
	StateMerged State = "merged"
	// StateClosed is closed without being merged.
	StateClosed State = "closed"
)

// PR is the newest pull request from a workload's branch, as gathered from
// the forge in one call.
type PR struct {
	Number int
	State  State
	// ByLatch: the forge says latch's own user opened it.
	ByLatch bool
	// Marker is the body's marker; nil when it is missing or does not parse.
	Marker *Marker
	URL    string
}

// Proposal is a latch that would change what git declares.
type Proposal struct {
	From, To int64
	// Band is what a rejection of this proposal rejects ({To, To} when zero).
	Band Band
}

func (p Proposal) band() Band {
	if p.Band == (Band{}) {
		return Band{p.To, p.To}
	}
	return p.Band
}

// Situation is everything Decide needs for one workload, gathered by I/O.
type Situation struct {
	// Proposal is nil when git already declares the live value (nothing to
	// latch, or the value came back).
	Proposal *Proposal
	// NeedsReview is the mode's answer for this proposal (Mode.NeedsReview).
	NeedsReview bool
	// PR is the newest PR from the workload's branch (nil: none ever).
	PR *PR
	// BranchForeign: the PR branch holds commits latch did not make (a
	// person pushed to it).
	BranchForeign bool
	// BranchHead is the open PR branch's head ("" : gone, or not looked).
	// A marker naming another commit is stale: latch pushed the branch and
	// was stopped before its PR edit, so the PR may describe one value
	// while its branch declares another.
	BranchHead string
}

// Action is what to do for one workload.
type Action string

const (
	// Nothing: git and the PR already say what they should.
	Nothing Action = "nothing"
	// Push: an ordinary latch, committed to the base branch as always.
	Push Action = "push"
	// PushAndClose: an ordinary latch while latch's PR is open: push it and
	// close the PR as superseded.
	PushAndClose Action = "push-and-close"
	// Open: rebuild the branch as base + one latch commit (lease on the
	// branch's previous head), then create the PR.
	Open Action = "open"
	// Update: rebuild the branch as base + one latch commit (lease on its
	// previous head), then edit the PR's title and body in place.
	Update Action = "update"
	// UpdateOnTop: a person pushed to the branch; add latch's commit on
	// top of theirs (a fast-forward) and say so, then edit the PR.
	UpdateOnTop Action = "update-on-top"
	// Close: the value came back to what git declares; comment and close.
	Close Action = "close"
	// Release: the value left a band a person rejected (it came back to
	// what git declares); mark the closed PR's marker released, so the band
	// may be proposed again.
	Release Action = "release"
)

// Decision is Decide's answer.
type Decision struct {
	Action Action
	// PR is the number of the PR the action is about (0 for Push, Open).
	PR int
	// Why explains the decision for logs, Events and `latch status`.
	Why string
	// Blocked is set when a PR on latch's branch is not latch's: latch
	// leaves it alone and does not open another.
	Blocked bool
}

// Decide is the PR lifecycle. The order of acting matters for restarts and
// is the acting side's contract: git first (push the branch), the forge
// second (create or edit, the marker last), so a marker never claims a
// commit the branch lacks; a half-done open or update is then redone, never
// duplicated, because the next pass finds the PR by its branch.
func Decide(s Situation) Decision {
	pr := s.PR
	open := pr != nil && pr.State == StateOpen
	if open && (!pr.ByLatch || pr.Marker == nil) {
		d := Decision{Action: Nothing, PR: pr.Number, Blocked: true,
			Why: fmt.Sprintf("PR #%d on latch's branch was not opened by latch or lost its marker; latch leaves it alone", pr.Number)}
		if s.Proposal != nil && !s.NeedsReview {
			d.Action, d.Why = Push, "ordinary latch; "+d.Why
		}
		return d
	}
	if s.Proposal == nil {
		if open {
			return Decision{Action: Close, PR: pr.Number, Why: fmt.Sprintf("the live value is back at what git declares; closing PR #%d", pr.Number)}
		}
		if rejected(pr) {
			return Decision{Action: Release, PR: pr.Number, Why: fmt.Sprintf("the value left the band a person rejected in PR #%d", pr.Number)}
		}
		return Decision{Action: Nothing, Why: "git declares the live value"}
	}
	p := *s.Proposal
	if !s.NeedsReview {
		if open {
			return Decision{Action: PushAndClose, PR: pr.Number, Why: fmt.Sprintf("%d → %d needs no review; pushed directly, PR #%d superseded", p.From, p.To, pr.Number)}
		}
		return Decision{Action: Push, Why: fmt.Sprintf("%d → %d needs no review", p.From, p.To)}
	}
	if open {
		m := pr.Marker
		if m.To == p.To && m.From == p.From && (s.BranchForeign || m.Commit == s.BranchHead) {
			return Decision{Action: Nothing, PR: pr.Number, Why: fmt.Sprintf("PR #%d already proposes %d → %d", pr.Number, p.From, p.To)}
		}
		if s.BranchForeign {
			return Decision{Action: UpdateOnTop, PR: pr.Number, Why: fmt.Sprintf("PR #%d now proposes %d → %d; a person pushed to its branch, so latch adds its commit on top", pr.Number, p.From, p.To)}
		}
		if m.To == p.To && m.From == p.From {
			return Decision{Action: Update, PR: pr.Number, Why: fmt.Sprintf("PR #%d proposes %d → %d but its branch moved since (head %s, marker %s); rebuilding it", pr.Number, p.From, p.To, short(s.BranchHead), short(m.Commit))}
		}
		return Decision{Action: Update, PR: pr.Number, Why: fmt.Sprintf("PR #%d now proposes %d → %d (was %d → %d)", pr.Number, p.From, p.To, m.From, m.To)}
	}
	// A rejection holds while the value stays in the band and git still
	// declares what it declared then (a push since means the value left).
	if rejected(pr) && pr.Marker.Band.Contains(p.To) && pr.Marker.From == p.From {
		b := pr.Marker.Band
		return Decision{Action: Nothing, PR: pr.Number, Why: fmt.Sprintf("a person closed PR #%d unmerged: band %d..%d is rejected until the value leaves it", pr.Number, b.Lo, b.Hi)}
	}
	return Decision{Action: Open, Why: fmt.Sprintf("%d → %d needs review", p.From, p.To)}
}

// short is a commit's abbreviation for a Why ("none" for no commit).
func short(commit string) string {
	switch {
	case commit == "":
		return "none"
	case len(commit) > 12:
		return commit[:12]
	}
	return commit
}

// rejected: a person closed latch's PR unmerged and the value has not
// left its band since.
func rejected(pr *PR) bool {
	return pr != nil && pr.State == StateClosed && pr.ByLatch && pr.Marker != nil && !pr.Marker.ClosedByLatch && !pr.Marker.Released
}

// NewMarker is the marker for a PR proposing p for o, at latch's commit.
func NewMarker(cluster string, o Object, field string, p Proposal, commit string) Marker {
	return Marker{V: MarkerVersion, Cluster: cluster, Object: o, Field: field, From: p.From, To: p.To, Band: p.band(), Commit: commit}
}
