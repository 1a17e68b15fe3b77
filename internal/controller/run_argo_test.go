package controller

import (
	"strings"
	"testing"

	"k8s.io/client-go/dynamic"

	"github.com/latch-gitops/latch/internal/objectid"
	"github.com/latch-gitops/latch/internal/rollout"
	"github.com/latch-gitops/latch/internal/rolloutrecord"
	"github.com/latch-gitops/latch/internal/testenv"
)

// TestRunFollowsArgoRollouts: where Argo Rollouts is installed (a small
// Rollout CRD; no Argo Rollouts controller runs here, so the test writes the
// Rollout's status, its ReplicaSets and their pods as the controller
// would), latch run follows a Rollout by its status from its stripped
// caches: a canary from web:1 to web:2 paused at 75 % with the new pods
// Ready is recorded at milestone 75, healthy, the new version named by
// status.currentPodHash with its images and the stable version
// (status.stableRS) as last good, with the commits git knows; then an abort
// is recorded as failed at 75 %, with the controller's message.
func TestRunFollowsArgoRollouts(t *testing.T) {
	cfg := testenv.APIServer(t)
	testenv.InstallArgoRolloutCRD(t, cfg, dynamic.NewForConfigOrDie(cfg))
	remote := testenv.NewGitRemote(t)
	seedWithPolicy(t, remote, fastPolicy, map[string]string{"apps/web.yaml": testenv.ArgoRolloutManifest("shop", "web", 4, "example.com/web:1")})
	ro := testenv.CreateArgoRollout(t, cfg, "shop", "web", 4, "example.com/web:1")
	ro.Version(t, "h1", "example.com/web:1", 4, 4)
	ro.SetStatus(t, map[string]any{"currentPodHash": "h1", "stableRS": "h1", "phase": "Healthy",
		"replicas": int64(4), "updatedReplicas": int64(4), "readyReplicas": int64(4), "availableReplicas": int64(4)})
	startRun(t, cfg, remote, runSpec{cluster: "kind", followRollouts: true})

	ref := objectid.Ref{Group: "argoproj.io", Version: "v1alpha1", Kind: "Rollout", Namespace: "shop", Name: "web"}
	file, err := rolloutrecord.Path(ref)
	if err != nil {
		t.Fatal(err)
	}
	if file != ".latch/rollouts/shop/rollout.argoproj.io-web.md" {
		t.Fatalf("record file %s", file)
	}
	// A person declares web:2; the GitOps tool applies it; the controller
	// starts the canary and pauses at its setWeight 75 step.
	human := remote.Human(t)
	human.WriteFile("apps/web.yaml", testenv.ArgoRolloutManifest("shop", "web", 4, "example.com/web:2"))
	human.Commit("web 2")
	human.Push()
	declared, err := runGitOutput(remote.BareDir, "rev-parse", "main")
	if err != nil {
		t.Fatal(err)
	}
	declared = strings.TrimSpace(declared)
	ro.SetImage(t, "example.com/web:2")
	ro.Version(t, "h2", "example.com/web:2", 3, 3)
	ro.Version(t, "h1", "example.com/web:1", 1, 1)
	status := func(extra map[string]any) map[string]any {
		st := map[string]any{"currentPodHash": "h2", "stableRS": "h1", "currentStepIndex": int64(3),
			"replicas": int64(4), "updatedReplicas": int64(3), "readyReplicas": int64(4), "availableReplicas": int64(4)}
		for k, v := range extra {
			st[k] = v
		}
		return st
	}
	ro.SetStatus(t, status(map[string]any{"phase": "Paused", "message": "CanaryPauseStep",
		"pauseConditions": []any{map[string]any{"reason": "CanaryPauseStep", "startTime": "2026-12-03T12:00:00Z"}}}))

	var last string
	record := func() *rolloutrecord.Record {
		data, err := runGitOutput(remote.BareDir, "show", "main:"+file)
		if err != nil {
			return nil
		}
		last = data
		r, err := rolloutrecord.Parse(file, []byte(data))
		if err != nil {
			t.Fatalf("latch wrote a record it cannot read: %v\n%s", err, data)
		}
		return r
	}
	waitUntil(t, "a record of the canary at 75 %, healthy", func() bool {
		r := record()
		return r != nil && r.Milestone == 75 && r.Health == rollout.Healthy && !r.Complete &&
			r.Current.Revision == "h2" && r.Current.Images["web"] == "example.com/web:2" && r.Current.Commit == declared &&
			r.LastGood.Revision == "h1" && r.LastGood.Images["web"] == "example.com/web:1" && r.LastGood.Commit != "" && r.LastGood.Commit != declared
	})
	t.Logf("record at 75 %%:\n%s", last)

	// A failed analysis aborts the update: the controller scales the
	// canary away and reports Degraded.
	ro.Version(t, "h1", "example.com/web:1", 4, 4)
	ro.Version(t, "h2", "example.com/web:2", 0, 0)
	ro.SetStatus(t, status(map[string]any{"abort": true, "phase": "Degraded", "updatedReplicas": int64(0),
		"message": "RolloutAborted: Rollout aborted update to revision 2"}))
	waitUntil(t, "the abort recorded as failed at 75 %", func() bool {
		r := record()
		return r != nil && r.Health == rollout.Failed && r.Milestone == 75 && strings.Contains(r.Reason, "aborted: RolloutAborted") &&
			r.LastGood.Images["web"] == "example.com/web:1"
	})
	t.Logf("record after the abort:\n%s", last)
}
