package controller

import (
	"slices"
	"testing"
	"time"

	"github.com/latch-gitops/latch/internal/policyfile"
	"github.com/latch-gitops/latch/internal/rollout"
)

// latch.yaml's spec.defaults.rollouts wins where it says something; the
// Latcher's own options fill the rest.
func TestRolloutOptionsFromPolicy(t *testing.T) {
	own := rollout.Options{Milestones: []int{20, 40}, NotReadyAfter: time.Minute, CrashLoopRestarts: 7}
	l := &Latcher{RolloutOptions: own}
	if got := l.rolloutOptions(nil); !slices.Equal(got.Milestones, own.Milestones) || got.NotReadyAfter != time.Minute || got.CrashLoopRestarts != 7 {
		t.Fatalf("no policy: %+v", got)
	}
	pol, err := policyfile.Parse("latch.yaml", []byte("apiVersion: latch.dev/v1alpha1\nkind: LatchPolicy\nspec:\n  defaults:\n    rollouts: {milestones: [10, 90], notReadyAfter: 10m}\n"))
	if err != nil {
		t.Fatal(err)
	}
	got := l.rolloutOptions(pol)
	if !slices.Equal(got.Milestones, []int{10, 90}) || got.NotReadyAfter != 10*time.Minute || got.CrashLoopRestarts != 7 {
		t.Fatalf("with latch.yaml: %+v", got)
	}
	// The milestones it sets are what a rollout is recorded at.
	a := rollout.Assess(rollout.Snapshot{Kind: rollout.KindDeployment, Revision: "b", Desired: 10, NewReplicas: 10, NewAvailable: 9, OldReplicas: 1}, got)
	if a.Milestone != 90 {
		t.Fatalf("90 %% with milestones 10, 90: milestone %d", a.Milestone)
	}
}
