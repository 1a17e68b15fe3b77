package restore

import (
	"testing"
	"time"

	"github.com/latch-gitops/latch/internal/manifest"
	"github.com/latch-gitops/latch/internal/objectid"
	"github.com/latch-gitops/latch/internal/rollout"
	"github.com/latch-gitops/latch/internal/rolloutrecord"
)

// An Argo Rollout's template is spec.template, as a Deployment's: restore
// goes forward or back for it the same way, rendering the last good
// Rollout from its record's commit at git's latched scale.
func TestDecideArgoRollout(t *testing.T) {
	ref := objectid.Ref{Group: "argoproj.io", Version: "v1alpha1", Kind: "Rollout", Namespace: "shop", Name: "web"}
	rolloutAt := func(image string, replicas int64) *manifest.Declared {
		return &manifest.Declared{Ref: ref, Origin: manifest.Position{File: "clusters/prod/web-rollout.yaml", Line: 1}, Object: map[string]any{
			"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
			"metadata": map[string]any{"name": "web", "namespace": "shop"},
			"spec": map[string]any{"replicas": replicas,
				"strategy": map[string]any{"canary": map[string]any{"steps": []any{map[string]any{"setWeight": int64(75)}, map[string]any{"pause": map[string]any{}}}}},
				"template": map[string]any{"spec": map[string]any{"containers": []any{map[string]any{"name": "web", "image": image}}}}},
		}}
	}
	records := func(health rollout.Health, milestone int, reason string) *rolloutrecord.Set {
		r := &rolloutrecord.Record{Object: ref,
			Current:   rolloutrecord.Version{Revision: "h2", Commit: commitNew, Images: map[string]string{"web": "example.com/web:2"}},
			LastGood:  rolloutrecord.Version{Revision: "h1", Commit: commitOld, Images: map[string]string{"web": "example.com/web:1"}},
			Milestone: milestone, Percent: milestone, Health: health, Reason: reason, Updated: time.Unix(0, 0)}
		return &rolloutrecord.Set{Records: map[objectid.Key]*rolloutrecord.Record{ref.Key(): r},
			Files: map[objectid.Key]string{ref.Key(): ".latch/rollouts/shop/rollout.argoproj.io-web.md"}}
	}
	action := func(t *testing.T, plan Plan) Action {
		t.Helper()
		for _, a := range plan.Actions {
			if a.Ref == ref {
				return a
			}
		}
		t.Fatalf("no action for the Rollout: %+v (failures %+v, problems %v)", plan, plan.Failures, plan.Problems)
		return Action{}
	}

	head := rolloutAt("example.com/web:2", 10)
	// A canary paused at 75 %, healthy: forward, git's head.
	fwd := records(rollout.Healthy, 75, "3 of 4 desired replicas available on the new version, none failing; paused; canary step 3")
	if got := LastGoodCommits([]*manifest.Declared{head}, fwd, 0); len(got) != 0 {
		t.Fatalf("forward needs no last good rendering: %v", got)
	}
	if a := action(t, Decide(Input{Objects: []*manifest.Declared{head}, Records: fwd})); a.Version != Forward || Images(a.Body)["web"] != "example.com/web:2" || a.Replicas != 10 {
		t.Fatalf("healthy at 75 %%: %+v", a)
	}

	// Aborted: back to the Rollout as its last good commit declared it,
	// at the head's scale, and the revert of its file.
	back := records(rollout.Failed, 75, "aborted: RolloutAborted: Rollout aborted update to revision 2")
	if got := LastGoodCommits([]*manifest.Declared{head}, back, 0); len(got[commitOld]) != 1 || got[commitOld][0] != ref {
		t.Fatalf("last good commits %v, want the Rollout at %s", got, commitOld)
	}
	plan := Decide(Input{Objects: []*manifest.Declared{head}, Records: back,
		LastGood: map[objectid.Key]*manifest.Declared{ref.Key(): rolloutAt("example.com/web:1", 3)}})
	a := action(t, plan)
	if a.Version != Back || Images(a.Body)["web"] != "example.com/web:1" || a.Replicas != 10 {
		t.Fatalf("aborted: %+v", a)
	}
	if steps, _ := a.Body["spec"].(map[string]any)["strategy"].(map[string]any); steps == nil {
		t.Fatalf("the last good Rollout lost its strategy: %v", a.Body)
	}
	if len(plan.Reverts) != 1 || plan.Reverts[0].File != "clusters/prod/web-rollout.yaml" || plan.Reverts[0].Images["web"] != "example.com/web:1" {
		t.Fatalf("reverts %+v", plan.Reverts)
	}
}
