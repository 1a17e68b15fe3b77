package rollout

import (
	"math/rand/v2"
	"strings"
	"testing"
)

func TestNext(t *testing.T) {
	commits := Commits{DeclaredBy: "c2", Before: "c1"}
	inFlight := func(rev string, milestone int, h Health) Assessment {
		return Assessment{InFlight: true, Revision: rev, Percent: milestone, Milestone: milestone, Health: h, Reason: "r"}
	}
	tests := []struct {
		name    string
		prev    *State
		a       Assessment
		write   bool
		want    State
		whyPart string
	}{
		{
			name: "nothing in flight, no record: nothing to write",
			a:    Assessment{Revision: "r1", Percent: 100, Milestone: 100, Health: Healthy},
		},
		{
			name: "no ReplicaSet at all",
			a:    Assessment{Health: Progressing},
		},
		{
			name:  "a rollout starts",
			a:     inFlight("r2", 0, Progressing),
			write: true, whyPart: "started at 0 %",
			want: State{Revision: "r2", Health: Progressing, Reason: "r", DeclaredBy: "c2", LastGood: "c1"},
		},
		{
			name:  "after a complete healthy rollout, its commit is the last good one",
			prev:  &State{Revision: "r1", Milestone: 100, Health: Healthy, Complete: true, DeclaredBy: "c1", LastGood: "c0"},
			a:     inFlight("r2", 25, Healthy),
			write: true,
			want:  State{Revision: "r2", Milestone: 25, Health: Healthy, Reason: "r", DeclaredBy: "c2", LastGood: "c1"},
		},
		{
			name:  "after a failed rollout, its last good one stays",
			prev:  &State{Revision: "r1", Milestone: 0, Health: Failed, Held: true, DeclaredBy: "c1", LastGood: "c0"},
			a:     inFlight("r2", 0, Progressing),
			write: true,
			want:  State{Revision: "r2", Health: Progressing, Reason: "r", DeclaredBy: "c2", LastGood: "c0"},
		},
		{
			name:  "milestone passed",
			prev:  &State{Revision: "r2", Milestone: 25, Health: Healthy, DeclaredBy: "c2", LastGood: "c1"},
			a:     inFlight("r2", 50, Healthy),
			write: true, whyPart: "reached 50 %",
			want: State{Revision: "r2", Milestone: 50, Health: Healthy, Reason: "r", DeclaredBy: "c2", LastGood: "c1"},
		},
		{
			name: "health alone changing writes nothing",
			prev: &State{Revision: "r2", Milestone: 0, Health: Progressing, DeclaredBy: "c2", LastGood: "c1"},
			a:    inFlight("r2", 0, Healthy),
			want: State{Revision: "r2", Milestone: 0, Health: Progressing, DeclaredBy: "c2", LastGood: "c1"},
		},
		{
			name: "a milestone is never taken back",
			prev: &State{Revision: "r2", Milestone: 50, Health: Healthy, DeclaredBy: "c2", LastGood: "c1"},
			a:    inFlight("r2", 25, Healthy),
			want: State{Revision: "r2", Milestone: 50, Health: Healthy, DeclaredBy: "c2", LastGood: "c1"},
		},
		{
			name:  "failure is written at once",
			prev:  &State{Revision: "r2", Milestone: 25, Health: Healthy, DeclaredBy: "c2", LastGood: "c1"},
			a:     Assessment{InFlight: true, Revision: "r2", Percent: 25, Milestone: 25, Health: Failed, Reason: "progress deadline exceeded"},
			write: true, whyPart: "failed at 25 %: progress deadline exceeded",
			want: State{Revision: "r2", Milestone: 25, Health: Failed, Reason: "progress deadline exceeded", DeclaredBy: "c2", LastGood: "c1"},
		},
		{
			name: "failure is final for the revision",
			prev: &State{Revision: "r2", Milestone: 25, Health: Failed, DeclaredBy: "c2", LastGood: "c1"},
			a:    inFlight("r2", 50, Healthy),
			want: State{Revision: "r2", Milestone: 25, Health: Failed, DeclaredBy: "c2", LastGood: "c1"},
		},
		{
			name:  "reaching 100 % completes",
			prev:  &State{Revision: "r2", Milestone: 75, Health: Healthy, DeclaredBy: "c2", LastGood: "c1"},
			a:     Assessment{InFlight: false, Revision: "r2", Percent: 100, Milestone: 100, Health: Healthy, Reason: "r"},
			write: true, whyPart: "complete",
			want: State{Revision: "r2", Milestone: 100, Health: Healthy, Reason: "r", Complete: true, DeclaredBy: "c2", LastGood: "c1"},
		},
		{
			name: "a complete record is not rewritten by a later scale-up",
			prev: &State{Revision: "r2", Milestone: 100, Health: Healthy, Complete: true, DeclaredBy: "c2", LastGood: "c1"},
			a:    inFlight("r2", 50, Healthy),
			want: State{Revision: "r2", Milestone: 100, Health: Healthy, Complete: true, DeclaredBy: "c2", LastGood: "c1"},
		},
		{
			name:  "an unfinished record superseded by a rollout that finished between passes",
			prev:  &State{Revision: "r2", Milestone: 25, Health: Healthy, DeclaredBy: "c2", LastGood: "c1"},
			a:     Assessment{Revision: "r3", Percent: 100, Milestone: 100, Health: Healthy},
			write: true, whyPart: "complete",
			want: State{Revision: "r3", Milestone: 100, Health: Healthy, Complete: true, DeclaredBy: "c2", LastGood: "c1"},
		},
		{
			name: "a complete record and a finished newer revision: nothing new to say",
			prev: &State{Revision: "r2", Milestone: 100, Health: Healthy, Complete: true, DeclaredBy: "c2", LastGood: "c1"},
			a:    Assessment{Revision: "r3", Percent: 100, Milestone: 100, Health: Healthy},
		},
		{
			name:  "the held flag stays with its revision",
			prev:  &State{Revision: "r2", Milestone: 0, Health: Progressing, Held: true, DeclaredBy: "c2", LastGood: "c1"},
			a:     inFlight("r2", 25, Healthy),
			write: true,
			want:  State{Revision: "r2", Milestone: 25, Health: Healthy, Reason: "r", Held: true, DeclaredBy: "c2", LastGood: "c1"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			step := Next(tc.prev, tc.a, commits)
			if step.Write != tc.write {
				t.Fatalf("Write = %v, want %v (%+v)", step.Write, tc.write, step)
			}
			if tc.write || tc.prev != nil {
				if step.Next != tc.want {
					t.Errorf("Next =\n %+v\nwant\n %+v", step.Next, tc.want)
				}
			}
			if !strings.Contains(step.Why, tc.whyPart) {
				t.Errorf("Why %q, want it to contain %q", step.Why, tc.whyPart)
			}
		})
	}
}

// TestNextWritesAtMostOnePerMilestone drives random observation sequences
// of one revision (progress up and down, health flapping, failures) and
// checks the bound the issue sets: at most as many records as milestones.
func TestNextWritesAtMostOnePerMilestone(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, ms := range [][]int{nil, {10, 20, 30, 40, 50, 60, 70, 80, 90}, {50}} {
		opts := Options{Milestones: ms}
		bound := len(opts.milestones())
		for run := 0; run < 500; run++ {
			var prev *State
			writes := 0
			desired := int32(1 + rng.IntN(20))
			for i := 0; i < 60; i++ {
				s := deployment(desired, int32(rng.IntN(int(desired)+1)), int32(rng.IntN(int(desired)+1)), int32(rng.IntN(3)))
				if rng.IntN(15) == 0 {
					s.Progressing = &Condition{Status: "False", Reason: ReasonProgressDeadlineExceeded}
				}
				step := Next(prev, Assess(s, opts), Commits{DeclaredBy: "c2", Before: "c1"})
				if step.Write {
					writes++
					next := step.Next
					prev = &next
				}
			}
			if writes > bound {
				t.Fatalf("milestones %v: %d records written for one rollout, want at most %d", ms, writes, bound)
			}
		}
	}
}
