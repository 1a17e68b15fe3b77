package controller

import (
	"testing"
	"time"

	"github.com/latch-gitops/latch/internal/cluster"
	"github.com/latch-gitops/latch/internal/objectid"
	"github.com/latch-gitops/latch/internal/rollout"
	"github.com/latch-gitops/latch/internal/rolloutrecord"
)

func TestRolloutStatuses(t *testing.T) {
	at := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	ref := func(name string) objectid.Ref {
		return objectid.Ref{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "shop", Name: name}
	}
	// web: 8 of 10 on the new version, half-way rollout with old pods left.
	inFlight := rollout.Snapshot{Kind: rollout.KindDeployment, Desired: 10, Revision: "7d9f8c6b5a", NewReplicas: 8, NewReady: 8,
		NewAvailable: 8, OldReplicas: 2, At: at}
	// api: finished.
	done := rollout.Snapshot{Kind: rollout.KindDeployment, Desired: 4, Revision: "55aa", NewReplicas: 4, NewReady: 4, NewAvailable: 4, At: at}
	records := &rolloutrecord.Set{
		Records: map[objectid.Key]*rolloutrecord.Record{
			ref("web").Key(): {Object: ref("web"), Current: rolloutrecord.Version{Revision: "7d9f8c6b5a"}, Milestone: 75, Health: rollout.Healthy},
			ref("api").Key(): {Object: ref("api"), Current: rolloutrecord.Version{Revision: "55aa"}, Milestone: 100, Health: rollout.Healthy, Complete: true},
			ref("pay").Key(): {Object: ref("pay"), Current: rolloutrecord.Version{Revision: "bad1"}, Milestone: 0, Health: rollout.Failed,
				Reason: "progress deadline exceeded", Held: true},
		},
		Files: map[objectid.Key]string{ref("web").Key(): ".latch/rollouts/shop/deployment-web.md",
			ref("pay").Key(): ".latch/rollouts/shop/deployment-pay.md"},
	}
	statuses := []WorkloadStatus{{Ref: ref("web")}, {Ref: ref("api")}, {Ref: ref("pay")}, {Ref: ref("new")}}
	rollouts := []cluster.Rollout{{Ref: ref("web"), Snapshot: inFlight}, {Ref: ref("api"), Snapshot: done},
		{Ref: ref("pay"), Snapshot: rollout.Snapshot{Kind: rollout.KindDeployment, Desired: 4, Revision: "old1", NewReplicas: 4,
			NewReady: 4, NewAvailable: 4, At: at}},
		{Ref: ref("new"), Snapshot: rollout.Snapshot{Kind: rollout.KindDeployment, Desired: 4, Revision: "n3w", NewReplicas: 1,
			OldReplicas: 4, At: at}}}
	statuses = rolloutStatuses(statuses, rollouts, records, nil, rollout.Options{})

	web := statuses[0].Rollout
	if web == nil || !web.InFlight || web.Percent != 80 || web.Health != rollout.Healthy || web.Recorded == nil ||
		web.Recorded.Milestone != 75 || web.Recorded.File != ".latch/rollouts/shop/deployment-web.md" {
		t.Errorf("web (in flight at 80 %%, recorded at 75): %+v", web)
	}
	if statuses[1].Rollout != nil {
		t.Errorf("api (finished, record complete) gets no rollout: %+v", statuses[1].Rollout)
	}
	pay := statuses[2].Rollout
	if pay == nil || pay.InFlight || pay.Recorded == nil || !pay.Recorded.Held || pay.Recorded.Health != rollout.Failed || pay.Recorded.Revision != "bad1" {
		t.Errorf("pay (not in flight, record held after a failure): %+v", pay)
	}
	fresh := statuses[3].Rollout
	if fresh == nil || !fresh.InFlight || fresh.Recorded != nil || fresh.Percent != 0 {
		t.Errorf("new (in flight, no record yet): %+v", fresh)
	}
	// No records at all (a repo without .latch/): only the live part.
	statuses = []WorkloadStatus{{Ref: ref("web")}}
	statuses = rolloutStatuses(statuses, rollouts[:1], nil, nil, rollout.Options{})
	if r := statuses[0].Rollout; r == nil || r.Recorded != nil || r.Percent != 80 {
		t.Errorf("web without records: %+v", r)
	}
	// Review mode always: web's newer record waits in latch's rollout PR
	// (milestone 75 there, 25 on the base branch) and is what status shows,
	// marked as in the PR; api has no PR and keeps the base branch's.
	base := &rolloutrecord.Set{Records: map[objectid.Key]*rolloutrecord.Record{
		ref("web").Key(): {Object: ref("web"), Current: rolloutrecord.Version{Revision: "7d9f8c6b5a"}, Milestone: 25, Health: rollout.Progressing},
	}, Files: map[objectid.Key]string{ref("web").Key(): ".latch/rollouts/shop/deployment-web.md"}}
	inPR := map[objectid.Key]*rolloutrecord.Record{
		ref("web").Key(): {Object: ref("web"), Current: rolloutrecord.Version{Revision: "7d9f8c6b5a"}, Milestone: 75, Health: rollout.Healthy},
	}
	statuses = []WorkloadStatus{{Ref: ref("web")}, {Ref: ref("api")}}
	statuses = rolloutStatuses(statuses, rollouts[:2], base, inPR, rollout.Options{})
	if r := statuses[0].Rollout; r == nil || r.Recorded == nil || !r.Recorded.InPR || r.Recorded.Milestone != 75 ||
		r.Recorded.File != ".latch/rollouts/shop/deployment-web.md" {
		t.Errorf("web with its record in a PR: %+v", r)
	}
	if statuses[1].Rollout != nil {
		t.Errorf("api (finished, no record, no PR) gets no rollout: %+v", statuses[1].Rollout)
	}
}

// An Argo Rollout latch.yaml does not latch has no workload status: it
// gets a row of its own (mode ignore) while it is in flight or its record
// is unfinished, none when settled, and none when the follower skips it.
func TestRolloutStatusesAddArgoRollouts(t *testing.T) {
	at := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	ref := func(name string) objectid.Ref {
		return objectid.Ref{Group: "argoproj.io", Version: "v1alpha1", Kind: "Rollout", Namespace: "shop", Name: name}
	}
	dep := objectid.Ref{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "shop", Name: "web"}
	canary := rollout.Snapshot{Kind: rollout.KindRollout, Desired: 4, Revision: "h2", NewReplicas: 3, NewReady: 3, NewAvailable: 3, OldReplicas: 1,
		Argo: &rollout.ArgoStatus{StableRevision: "h1", Phase: "Paused"}, At: at}
	settled := rollout.Snapshot{Kind: rollout.KindRollout, Desired: 4, Revision: "h1", NewReplicas: 4, NewReady: 4, NewAvailable: 4,
		Argo: &rollout.ArgoStatus{StableRevision: "h1", Phase: "Healthy"}, At: at}
	rollouts := []cluster.Rollout{{Ref: ref("canary"), Snapshot: canary}, {Ref: ref("done"), Snapshot: settled},
		{Ref: ref("byref"), Skip: "its pod template is in Deployment/byref (spec.workloadRef)"}}
	got := rolloutStatuses([]WorkloadStatus{{Ref: dep, Mode: "latch"}}, rollouts, nil, nil, rollout.Options{})
	if len(got) != 2 || got[0].Ref != dep || got[1].Ref != ref("canary") {
		t.Fatalf("rows %+v, want the Deployment and the Rollout in flight", got)
	}
	if r := got[1]; r.Mode != "ignore" || r.Observed != 4 || r.Rollout == nil || !r.Rollout.InFlight || r.Rollout.Percent != 75 || r.Rollout.Health != rollout.Healthy {
		t.Errorf("the Rollout's row %+v (rollout %+v)", r, r.Rollout)
	}
}
