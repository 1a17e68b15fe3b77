package controller

import (
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/latch-gitops/latch/internal/testenv"
)

// poolGVK is testenv's Pool, a custom resource with a /scale subresource.
var poolGVK = testenv.PoolGVK

const (
	poolManifest = testenv.PoolManifest
	poolRule     = testenv.PoolRule
)

// TestRunLatchesCustomScaleKind: a custom resource with a /scale
// subresource, scaled through /scale as an HPA does, is latched like a
// Deployment — when --extra-scale-kinds names it, and when only latch.yaml
// does.
func TestRunLatchesCustomScaleKind(t *testing.T) {
	cases := []struct {
		name string
		// extraKinds is --extra-scale-kinds; policy is latch.yaml.
		extraKinds []schema.GroupVersionKind
		policy     string
	}{
		{name: "flag", extraKinds: []schema.GroupVersionKind{poolGVK}, policy: fastPolicy},
		{name: "policy", policy: fastPolicy + poolRule},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testenv.APIServer(t)
			dyn := dynamic.NewForConfigOrDie(cfg)
			testenv.InstallPoolCRD(t, cfg, dyn)
			testenv.CreatePool(t, cfg, dyn, 3)
			remote := testenv.NewGitRemote(t)
			seedWithPolicy(t, remote, tc.policy, map[string]string{"apps/pool.yaml": poolManifest})

			in := startRun(t, cfg, remote, runSpec{cluster: "test", extraKinds: tc.extraKinds})
			waitUntil(t, "a first pass", func() bool { return in.passes(t) >= 1 })
			testenv.ScalePool(t, dyn, 37)
			changed := time.Now()
			waitForFile(t, remote, "apps/pool.yaml", "  replicas: 40 # latched by latch\n")
			t.Logf("Pool scaled 37 → commit 40 visible after %s (window 1s)", time.Since(changed).Round(time.Millisecond))

			body := remote.Log(t, "main", "%B")
			message := strings.Join(body, "\n")
			for _, want := range []string{"Latch-Kind: Pool", "Latch-Object: shop/pool", "Latch-Observed: 37", "Latch-Bounds: HPA 2..500"} {
				if !strings.Contains(message, want) {
					t.Errorf("newest commit lacks %q:\n%s", want, message)
				}
			}
			if got := latchCommits(t, remote); got != 1 {
				t.Errorf("%d latch commits, want 1: %v", got, remote.Log(t, "main", "%s"))
			}
		})
	}
}
