package review

import (
	"strings"
	"testing"
)

func TestRolloutBranch(t *testing.T) {
	web := Object{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "shop", Name: "web"}
	cases := []struct {
		cluster string
		o       Object
		want    string
	}{
		{"prod", web, "latch/prod/_rollout/shop/deployment.apps/web"},
		{"", Object{Group: "argoproj.io", Kind: "Rollout", Namespace: "shop", Name: "web"}, "latch/default/_rollout/shop/rollout.argoproj.io/web"},
		{"my cluster", Object{Kind: "Pool", Name: "big"}, "latch/my-cluster/_rollout/_cluster/pool/big"},
	}
	for _, tc := range cases {
		if got := RolloutBranch(tc.cluster, tc.o); got != tc.want {
			t.Errorf("RolloutBranch(%q, %v) = %q, want %q", tc.cluster, tc.o, got, tc.want)
		}
	}
	// No value branch is a rollout branch or a folder of one, and no
	// rollout branch is a folder of a value branch (git's D/F conflict),
	// whatever the cluster is called.
	var objs []Object
	for _, ns := range []string{"shop", "_rollout", "prod", ""} {
		for _, kind := range []string{"Deployment", "Shop", "_rollout"} {
			for _, name := range []string{"web", "deployment.apps", "_rollout", "shop"} {
				objs = append(objs, Object{Group: "apps", Kind: kind, Namespace: ns, Name: name}, Object{Kind: kind, Namespace: ns, Name: name})
			}
		}
	}
	clusters := []string{"prod", "_rollout", "shop", ""}
	for _, c1 := range clusters {
		for _, c2 := range clusters {
			for _, a := range objs {
				if a.Namespace == "_rollout" {
					continue // not a namespace: a DNS label cannot hold "_"
				}
				v := Branch(c1, a)
				for _, b := range objs {
					r := RolloutBranch(c2, b)
					if v == r || strings.HasPrefix(r, v+"/") || strings.HasPrefix(v, r+"/") {
						t.Fatalf("value branch %q and rollout branch %q collide", v, r)
					}
				}
			}
		}
	}
}

func TestRolloutNeedsReview(t *testing.T) {
	cases := []struct {
		mode           Mode
		record, revert bool
	}{
		{Never, false, false},
		{Suspicious, false, true},
		{Always, true, true},
	}
	for _, tc := range cases {
		if got := RolloutNeedsReview(tc.mode, Record); got != tc.record {
			t.Errorf("%s record: %v, want %v", tc.mode, got, tc.record)
		}
		if got := RolloutNeedsReview(tc.mode, Revert); got != tc.revert {
			t.Errorf("%s revert: %v, want %v", tc.mode, got, tc.revert)
		}
	}
}

func TestRolloutKeys(t *testing.T) {
	if RecordKey("abc", 50, "healthy", false, false) == RecordKey("abc", 75, "healthy", false, false) {
		t.Fatal("record keys of two milestones must differ")
	}
	a, b := RevertKey("0123456789abcdef", "failed at 0 %"), RevertKey("0123456789abcdef", "failed at 25 %")
	if a == b || a != RevertKey("0123456789abcdef", "failed at 0 %") || !strings.HasPrefix(a, "revert:0123456789ab:") {
		t.Fatalf("revert keys %q %q", a, b)
	}
}

func TestDecideRollout(t *testing.T) {
	const commit = "0123456789abcdef0123456789abcdef01234567"
	web := Object{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "shop", Name: "web"}
	marker := func(k RolloutKind, key string) *Marker {
		m := NewRolloutMarker("prod", web, k, key, commit)
		return &m
	}
	pr := func(state State, byLatch bool, m *Marker) *PR {
		return &PR{Number: 7, State: state, ByLatch: byLatch, Marker: m}
	}
	closedByLatch := marker(Record, "k1")
	closedByLatch.ClosedByLatch = true
	cases := []struct {
		name    string
		s       RolloutSituation
		want    Action
		blocked bool
	}{
		{"no PR: open", RolloutSituation{Kind: Revert, Key: "r1"}, Open, false},
		{"no PR, nothing new", RolloutSituation{Kind: Record}, Nothing, false},
		{"same revert open: nothing (a second restore)", RolloutSituation{Kind: Revert, Key: "r1", PR: pr(StateOpen, true, marker(Revert, "r1")), BranchHead: commit}, Nothing, false},
		{"same revert, branch moved since the marker: update", RolloutSituation{Kind: Revert, Key: "r1", PR: pr(StateOpen, true, marker(Revert, "r1")), BranchHead: "ffff"}, Update, false},
		{"another revert: update", RolloutSituation{Kind: Revert, Key: "r2", PR: pr(StateOpen, true, marker(Revert, "r1")), BranchHead: commit}, Update, false},
		{"revert over an open record PR: update", RolloutSituation{Kind: Revert, Key: "r1", PR: pr(StateOpen, true, marker(Record, "k1")), BranchHead: commit}, Update, false},
		{"record while the revert PR is open: waits", RolloutSituation{Kind: Record, Key: "k2", PR: pr(StateOpen, true, marker(Revert, "r1")), BranchHead: commit}, Nothing, true},
		{"next milestone: update", RolloutSituation{Kind: Record, Key: "k2", PR: pr(StateOpen, true, marker(Record, "k1")), BranchHead: commit}, Update, false},
		{"same milestone: nothing", RolloutSituation{Kind: Record, Key: "k1", PR: pr(StateOpen, true, marker(Record, "k1")), BranchHead: commit}, Nothing, false},
		{"a person pushed: on top", RolloutSituation{Kind: Record, Key: "k2", PR: pr(StateOpen, true, marker(Record, "k1")), BranchForeign: true}, UpdateOnTop, false},
		{"not latch's PR: left alone", RolloutSituation{Kind: Revert, Key: "r1", PR: pr(StateOpen, false, marker(Revert, "r1"))}, Nothing, true},
		{"records direct now, record PR open: close", RolloutSituation{Kind: Record, Direct: true, PR: pr(StateOpen, true, marker(Record, "k1")), BranchHead: commit}, Close, false},
		{"records direct now, a person pushed to the PR: still close", RolloutSituation{Kind: Record, Direct: true, PR: pr(StateOpen, true, marker(Record, "k1")), BranchForeign: true}, Close, false},
		{"records direct now, revert PR open: left for a person", RolloutSituation{Kind: Record, Direct: true, PR: pr(StateOpen, true, marker(Revert, "r1"))}, Nothing, false},
		{"records direct now, not latch's PR: left alone", RolloutSituation{Kind: Record, Direct: true, PR: pr(StateOpen, false, marker(Record, "k1"))}, Nothing, true},
		{"records direct now, PR merged: nothing", RolloutSituation{Kind: Record, Direct: true, PR: pr(StateMerged, true, marker(Record, "k1"))}, Nothing, false},
		{"records direct now, no PR: nothing", RolloutSituation{Kind: Record, Direct: true}, Nothing, false},
		{"lost marker: left alone", RolloutSituation{Kind: Record, Key: "k1", PR: pr(StateOpen, true, nil)}, Nothing, true},
		{"revert merged: not again", RolloutSituation{Kind: Revert, Key: "r1", PR: pr(StateMerged, true, marker(Revert, "r1"))}, Nothing, false},
		{"revert closed by a person: not again", RolloutSituation{Kind: Revert, Key: "r1", PR: pr(StateClosed, true, marker(Revert, "r1"))}, Nothing, false},
		{"another revert after a closed one: open", RolloutSituation{Kind: Revert, Key: "r2", PR: pr(StateClosed, true, marker(Revert, "r1"))}, Open, false},
		{"record merged, next milestone: open", RolloutSituation{Kind: Record, Key: "k2", PR: pr(StateMerged, true, marker(Record, "k1"))}, Open, false},
		{"closed by latch: open again", RolloutSituation{Kind: Record, Key: "k1", PR: pr(StateClosed, true, closedByLatch)}, Open, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := DecideRollout(tc.s)
			if d.Action != tc.want || d.Blocked != tc.blocked || d.Why == "" {
				t.Fatalf("DecideRollout = %+v, want %s (blocked %v)", d, tc.want, tc.blocked)
			}
		})
	}
}

func TestRolloutText(t *testing.T) {
	web := Object{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "shop", Name: "pay"}
	m := NewRolloutMarker("prod", web, Revert, RevertKey("0a1b2c3d4e5f", "x"), "0123456789abcdef0123456789abcdef01234567")
	title, body := RolloutText(RolloutEvidence{Cluster: "prod", Object: web, Kind: Revert, File: "apps/pay.yaml", RecordFile: ".latch/rollouts/shop/deployment-pay.md",
		Revision: "bad1", Health: "failed", Milestone: 25, Percent: 30, Reason: "progress deadline exceeded", LastGood: "0a1b2c3d4e5f", LastGoodImages: map[string]string{"pay": "example.com/pay:1"}}, m)
	for _, want := range []string{"revert Deployment shop/pay", "0a1b2c3d4e5f", "failed at 30 %"} {
		if !strings.Contains(title, want) {
			t.Errorf("title %q lacks %q", title, want)
		}
	}
	for _, want := range []string{"failed at 30 % (milestone 25 %); progress deadline exceeded", "| last good commit | 0a1b2c3d4e5f |", "pay=example.com/pay:1", "apps/pay.yaml", "marked held"} {
		if !strings.Contains(body, want) {
			t.Errorf("body lacks %q:\n%s", want, body)
		}
	}
	if got, err := ParseMarker(body); err != nil || got != m {
		t.Fatalf("marker %+v %v", got, err)
	}
}
