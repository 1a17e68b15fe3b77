package rollout

import (
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

func deployment(desired, newReplicas, newAvailable, old int32) Snapshot {
	return Snapshot{
		Kind: KindDeployment, Generation: 2, ObservedGeneration: 2,
		Desired: desired, Revision: "6d5f8c7b9", NewReplicas: newReplicas,
		NewReady: newAvailable, NewAvailable: newAvailable, OldReplicas: old,
		Progressing: &Condition{Status: "True", Reason: "ReplicaSetUpdated"},
		At:          t0,
	}
}

func TestAssess(t *testing.T) {
	tests := []struct {
		name       string
		snap       Snapshot
		opts       Options
		inFlight   bool
		percent    int
		milestone  int
		health     Health
		reasonPart string
	}{
		{
			name: "trap: a Deployment paused from creation has no ReplicaSet and no pod",
			snap: Snapshot{Kind: KindDeployment, Desired: 4, Paused: true, At: t0},
			// Nothing runs: not a rollout, and not something restore can lean on.
			inFlight: false, percent: 0, milestone: 0, health: Progressing, reasonPart: "paused before its first ReplicaSet",
		},
		{
			name: "trap: a StatefulSet with a partition on a fresh cluster keeps nothing old",
			snap: Snapshot{Kind: KindStatefulSet, Desired: 4, Partition: 2, Revision: "web-7c9", CurrentRevision: "web-7c9",
				NewReplicas: 4, NewReady: 4, NewAvailable: 4, At: t0},
			// currentRevision == updateRevision: every pod runs the new
			// template, the partition held back nothing.
			inFlight: false, percent: 100, milestone: 100, health: Healthy,
		},
		{
			name: "StatefulSet partitioned rollout stalls at the partition on purpose",
			snap: Snapshot{Kind: KindStatefulSet, Desired: 4, Partition: 2, Revision: "web-8d1", CurrentRevision: "web-7c9",
				NewReplicas: 2, NewReady: 2, NewAvailable: 2, At: t0},
			inFlight: true, percent: 50, milestone: 50, health: Healthy,
		},
		{
			name:     "first rollout of a new Deployment is not followed",
			snap:     deployment(4, 4, 1, 0),
			inFlight: false, percent: 25, milestone: 25, health: Healthy,
		},
		{
			name:     "an autoscaler scale-up is not a rollout",
			snap:     deployment(10, 10, 6, 0),
			inFlight: false, percent: 60, milestone: 50, health: Healthy,
		},
		{
			name:     "rolling update just started",
			snap:     deployment(10, 1, 0, 10),
			inFlight: true, percent: 0, milestone: 0, health: Progressing, reasonPart: "no pod of the new version",
		},
		{
			name:     "paused near 90 %",
			snap:     func() Snapshot { s := deployment(10, 9, 9, 1); s.Paused = true; return s }(),
			inFlight: true, percent: 90, milestone: 75, health: Healthy, reasonPart: "paused",
		},
		{
			name:     "custom milestones",
			snap:     deployment(10, 9, 9, 1),
			opts:     Options{Milestones: []int{10, 90}},
			inFlight: true, percent: 90, milestone: 90, health: Healthy,
		},
		{
			name:     "rounding down: 2 of 3 is 66 %",
			snap:     deployment(3, 3, 2, 1),
			inFlight: true, percent: 66, milestone: 50, health: Healthy,
		},
		{
			name:     "all new, old pods gone: complete",
			snap:     deployment(10, 10, 10, 0),
			inFlight: false, percent: 100, milestone: 100, health: Healthy,
		},
		{
			name:     "scaled to zero",
			snap:     deployment(0, 0, 0, 0),
			inFlight: false, percent: 100, milestone: 100, health: Healthy,
		},
		{
			name: "progress deadline exceeded",
			snap: func() Snapshot {
				s := deployment(4, 1, 0, 4)
				s.Progressing = &Condition{Status: "False", Reason: ReasonProgressDeadlineExceeded, Message: `ReplicaSet "web-6d5f8c7b9" has timed out progressing.`}
				return s
			}(),
			inFlight: true, percent: 0, milestone: 0, health: Failed, reasonPart: "has timed out progressing",
		},
		{
			name: "crash-looping new pod",
			snap: func() Snapshot {
				s := deployment(4, 2, 1, 3)
				s.NewPods = []Pod{{Name: "web-b", Created: t0.Add(-time.Minute), Ready: true}, {Name: "web-a", Created: t0.Add(-time.Minute), Waiting: "CrashLoopBackOff", Restarts: 2}}
				return s
			}(),
			inFlight: true, percent: 25, milestone: 25, health: Failed, reasonPart: "web-a of the new version is crash-looping",
		},
		{
			name: "restarts at the threshold count as a crash loop",
			snap: func() Snapshot {
				s := deployment(4, 1, 0, 4)
				s.NewPods = []Pod{{Name: "web-a", Created: t0.Add(-time.Minute), Restarts: 3}}
				return s
			}(),
			inFlight: true, health: Failed, reasonPart: "3 restarts",
		},
		{
			name: "never Ready past the allowance",
			snap: func() Snapshot {
				s := deployment(4, 1, 0, 4)
				s.NewPods = []Pod{{Name: "web-a", Created: t0.Add(-90 * time.Second)}}
				return s
			}(),
			opts:     Options{NotReadyAfter: time.Minute},
			inFlight: true, health: Failed, reasonPart: "has not been Ready for 1m30s",
		},
		{
			name: "not Ready yet, within the allowance",
			snap: func() Snapshot {
				s := deployment(4, 1, 0, 4)
				s.NewPods = []Pod{{Name: "web-a", Created: t0.Add(-30 * time.Second)}}
				return s
			}(),
			opts:     Options{NotReadyAfter: time.Minute},
			inFlight: true, health: Progressing,
		},
		{
			name:     "Recreate: old pods terminating, new ReplicaSet at zero",
			snap:     deployment(4, 0, 0, 4),
			inFlight: true, percent: 0, milestone: 0, health: Progressing,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := Assess(tc.snap, tc.opts)
			if a.InFlight != tc.inFlight || a.Percent != tc.percent || a.Milestone != tc.milestone || a.Health != tc.health {
				t.Fatalf("Assess = %+v, want inFlight %v percent %d milestone %d health %s", a, tc.inFlight, tc.percent, tc.milestone, tc.health)
			}
			if !strings.Contains(a.Reason, tc.reasonPart) {
				t.Errorf("reason %q, want it to contain %q", a.Reason, tc.reasonPart)
			}
			if a.Revision != tc.snap.Revision {
				t.Errorf("revision %q, want %q", a.Revision, tc.snap.Revision)
			}
		})
	}
}

func TestValidateMilestones(t *testing.T) {
	for _, tc := range []struct {
		ms    []int
		valid bool
	}{
		{[]int{0, 25, 50, 75, 100}, true},
		{[]int{10, 90}, true},
		{nil, true},
		{[]int{50, 25}, false},
		{[]int{25, 25}, false},
		{[]int{-1}, false},
		{[]int{101}, false},
	} {
		if err := ValidateMilestones(tc.ms); (err == nil) != tc.valid {
			t.Errorf("ValidateMilestones(%v) = %v, want valid %v", tc.ms, err, tc.valid)
		}
	}
}

func TestMilestonesAlwaysHoldStartAndEnd(t *testing.T) {
	got := Options{Milestones: []int{30, 60}}.milestones()
	want := []int{0, 30, 60, 100}
	if len(got) != len(want) {
		t.Fatalf("milestones = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("milestones = %v, want %v", got, want)
		}
	}
}
