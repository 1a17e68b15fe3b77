package rollout

import (
	"strings"
	"testing"
	"time"
)

// argoRollout is a canary of 4 replicas from stable 5f6a to 7c9d: newAvailable
// of the new version's pods available, old pods of the stable version.
func argoRollout(newReplicas, newAvailable, old int32, st ArgoStatus) Snapshot {
	if st.StableRevision == "" {
		st.StableRevision = "5f6a"
	}
	return Snapshot{Kind: KindRollout, Generation: 2, ObservedGeneration: 2, Desired: 4, Revision: "7c9d",
		NewReplicas: newReplicas, NewReady: newAvailable, NewAvailable: newAvailable, OldReplicas: old, Argo: &st, At: t0}
}

func step(i int32) *int32 { return &i }

func TestAssessArgoRollout(t *testing.T) {
	tests := []struct {
		name       string
		snap       Snapshot
		inFlight   bool
		percent    int
		milestone  int
		health     Health
		reasonPart string
	}{
		{
			// setWeight: 75 then pause: {}: 3 of 4 on the new version.
			name:     "canary paused at 75 %, healthy",
			snap:     argoRollout(3, 3, 1, ArgoStatus{Phase: "Paused", Message: "CanaryPauseStep", Step: step(3)}),
			inFlight: true, percent: 75, milestone: 75, health: Healthy, reasonPart: "3 of 4 desired replicas available on the new version, none failing; paused; canary step 3",
		},
		{
			name:     "canary progressing at 25 %",
			snap:     argoRollout(1, 1, 4, ArgoStatus{Phase: "Progressing", Step: step(1)}),
			inFlight: true, percent: 25, milestone: 25, health: Healthy,
		},
		{
			// A failed analysis (or kubectl argo rollouts abort): the
			// controller scales the canary away and reports Degraded.
			name: "aborted: failed with the controller's message",
			snap: argoRollout(0, 0, 4, ArgoStatus{Aborted: true, Phase: "Degraded",
				Message: `RolloutAborted: Rollout aborted update to revision 2: Metric "success-rate" assessed Failed`}),
			inFlight: true, percent: 0, milestone: 0, health: Failed, reasonPart: `aborted: RolloutAborted: Rollout aborted update to revision 2: Metric "success-rate"`,
		},
		{
			name: "progress deadline exceeded",
			snap: func() Snapshot {
				s := argoRollout(1, 0, 4, ArgoStatus{Phase: "Degraded", Message: "ProgressDeadlineExceeded: ReplicaSet \"web-7c9d\" has timed out progressing."})
				s.Progressing = &Condition{Status: "False", Reason: ReasonProgressDeadlineExceeded, Message: `ReplicaSet "web-7c9d" has timed out progressing.`}
				return s
			}(),
			inFlight: true, health: Failed, reasonPart: "progress deadline exceeded: ReplicaSet",
		},
		{
			name:     "degraded by an invalid spec",
			snap:     argoRollout(1, 1, 3, ArgoStatus{Phase: "Degraded", Message: "InvalidSpec: The Rollout \"web\" is invalid"}),
			inFlight: true, percent: 25, milestone: 25, health: Failed, reasonPart: "degraded: InvalidSpec",
		},
		{
			name: "a crash-looping canary pod",
			snap: func() Snapshot {
				s := argoRollout(1, 0, 4, ArgoStatus{Phase: "Progressing", Step: step(0)})
				s.NewPods = []Pod{{Name: "web-7c9d-a", Created: t0.Add(-time.Minute), Waiting: "CrashLoopBackOff", Restarts: 4}}
				return s
			}(),
			inFlight: true, health: Failed, reasonPart: "web-7c9d-a of the new version is crash-looping",
		},
		{
			// Blue-green: the preview is at full scale, the active
			// service not switched: every pod is up, nothing is promoted.
			name:     "every new pod up but not promoted: 99 %, not complete",
			snap:     argoRollout(4, 4, 4, ArgoStatus{Phase: "Paused", Message: "BlueGreenPause"}),
			inFlight: true, percent: 99, milestone: 75, health: Healthy, reasonPart: "not promoted to stable yet",
		},
		{
			name:     "finished: promoted, stableRS is the new version",
			snap:     argoRollout(4, 4, 0, ArgoStatus{StableRevision: "7c9d", Phase: "Healthy"}),
			inFlight: false, percent: 100, milestone: 100, health: Healthy,
		},
		{
			// The controller marks a new Rollout's first version stable at
			// once: there is no older version to follow or go back to.
			name:     "fresh Rollout: stableRS is currentPodHash, nothing in flight",
			snap:     argoRollout(4, 1, 0, ArgoStatus{StableRevision: "7c9d", Phase: "Progressing"}),
			inFlight: false, percent: 25, milestone: 25, health: Healthy,
		},
		{
			name:     "not yet observed: no status from the controller",
			snap:     Snapshot{Kind: KindRollout, Generation: 1, Desired: 4, Argo: &ArgoStatus{}, At: t0},
			inFlight: false, percent: 0, milestone: 0, health: Progressing, reasonPart: "has not reported on it yet",
		},
		{
			// A new template the controller has not seen: its status is
			// still the promoted version's, so nothing is in flight yet.
			name: "not yet observed: a new generation, status of the last one",
			snap: func() Snapshot {
				s := argoRollout(4, 4, 0, ArgoStatus{StableRevision: "7c9d", Phase: "Healthy"})
				s.Generation = 3
				return s
			}(),
			inFlight: false, percent: 100, milestone: 100, health: Healthy, reasonPart: "has not observed generation 3 yet",
		},
		{
			// Degraded with nothing in flight is not a new version failing.
			name:     "degraded while settled is not a failed rollout",
			snap:     argoRollout(4, 4, 0, ArgoStatus{StableRevision: "7c9d", Phase: "Degraded", Message: "InvalidSpec: steps"}),
			inFlight: false, percent: 100, milestone: 100, health: Healthy,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := Assess(tc.snap, Options{})
			if a.InFlight != tc.inFlight || a.Percent != tc.percent || a.Milestone != tc.milestone || a.Health != tc.health {
				t.Fatalf("Assess = %+v, want inFlight %v percent %d milestone %d health %s", a, tc.inFlight, tc.percent, tc.milestone, tc.health)
			}
			if !strings.Contains(a.Reason, tc.reasonPart) {
				t.Errorf("reason %q, want it to contain %q", a.Reason, tc.reasonPart)
			}
		})
	}
}

// TestNextArgoCanary: a canary's record goes 25 → 75 (paused, healthy) →
// complete once the controller promotes it, and an abort after 75 % is
// final for the revision.
func TestNextArgoCanary(t *testing.T) {
	c := Commits{DeclaredBy: "c2", Before: "c1"}
	start := Next(nil, Assess(argoRollout(1, 1, 4, ArgoStatus{Phase: "Progressing", Step: step(1)}), Options{}), c)
	if !start.Write || start.Next.Milestone != 25 || start.Next.LastGood != "c1" || start.Next.Complete {
		t.Fatalf("start: %+v", start)
	}
	paused := Next(&start.Next, Assess(argoRollout(3, 3, 1, ArgoStatus{Phase: "Paused", Step: step(3)}), Options{}), c)
	if !paused.Write || paused.Next.Milestone != 75 || paused.Next.Health != Healthy || paused.Next.Complete {
		t.Fatalf("paused: %+v", paused)
	}
	allUp := Next(&paused.Next, Assess(argoRollout(4, 4, 0, ArgoStatus{Phase: "Progressing", Step: step(4)}), Options{}), c)
	if allUp.Write || allUp.Next.Complete {
		t.Fatalf("every pod up, not promoted: %+v", allUp)
	}
	done := Next(&paused.Next, Assess(argoRollout(4, 4, 0, ArgoStatus{StableRevision: "7c9d", Phase: "Healthy"}), Options{}), c)
	if !done.Write || !done.Next.Complete || done.Next.Milestone != 100 {
		t.Fatalf("promoted: %+v", done)
	}
	aborted := Next(&paused.Next, Assess(argoRollout(0, 0, 4, ArgoStatus{Aborted: true, Phase: "Degraded", Message: "RolloutAborted"}), Options{}), c)
	if !aborted.Write || aborted.Next.Health != Failed || aborted.Next.Milestone != 75 || !strings.Contains(aborted.Why, "failed at 75 %: aborted") {
		t.Fatalf("aborted: %+v", aborted)
	}
}
