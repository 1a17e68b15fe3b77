package main

import (
	"bytes"
	"strings"
	"testing"

	"k8s.io/client-go/dynamic"

	"github.com/latch-gitops/latch/internal/testenv"
)

// TestSyncAndStatusSeeCustomScaleKinds: the kinds latch.yaml latches (here
// the Pool custom resource, with /scale) are resolved by `status` and
// `sync --once` exactly as `latch run` resolves them: status shows the
// Pool, and sync latches it.
func TestSyncAndStatusSeeCustomScaleKinds(t *testing.T) {
	cp := testenv.StartControlPlane(t)
	dyn := dynamic.NewForConfigOrDie(cp.Config)
	testenv.InstallPoolCRD(t, cp.Config, dyn)
	testenv.CreatePool(t, cp.Config, dyn, 3)
	testenv.ScalePool(t, dyn, 37)

	remote := testenv.NewGitRemote(t)
	human := remote.Human(t)
	human.WriteFile("latch.yaml", "apiVersion: latch.dev/v1alpha1\nkind: LatchPolicy\nspec:\n"+testenv.PoolRule)
	human.WriteFile("apps/pool.yaml", testenv.PoolManifest)
	human.Commit("seed a Pool")
	human.Push()
	t.Setenv("LATCH_GIT_USERNAME", remote.Username)
	t.Setenv("LATCH_GIT_PASSWORD", remote.Password)

	latch := func(args ...string) string {
		t.Helper()
		var stdout, stderr bytes.Buffer
		cmd := newRootCommand(&stdout, &stderr)
		cmd.SetArgs(append([]string{"--kubeconfig", cp.Kubeconfig}, args...))
		if err := cmd.Execute(); err != nil {
			t.Fatalf("latch %v: %v\n%s%s", args, err, stdout.String(), stderr.String())
		}
		return stdout.String()
	}

	status := latch("status", "--repo", remote.URL)
	var row string
	for _, line := range strings.Split(status, "\n") {
		if strings.HasPrefix(line, "Pool ") {
			row = line
		}
	}
	if f := strings.Fields(row); len(f) < 6 || f[1] != "shop/pool" || f[2] != "latch" || f[3] != "37" || f[4] != "3" || f[5] != "40" {
		t.Fatalf("status does not show shop/pool latched (observed 37, git 3, latch now 40):\n%s", status)
	}

	seed := remote.Head(t, "main")
	out := latch("sync", "--once", "--repo", remote.URL, "--state-file", t.TempDir()+"/state.json")
	if remote.Head(t, "main") == seed {
		t.Fatalf("sync --once did not latch the Pool:\n%s", out)
	}
	assertDigitsOnly(t, remote.BareDir, seed, remote.Head(t, "main"), map[string]string{
		"apps/pool.yaml": "  replicas: 40 # latched by latch",
	})
	trailers := git(t, remote.BareDir, "log", "-1", "--format=%(trailers:only,unfold)")
	for _, want := range []string{"Latch-Kind: Pool", "Latch-Object: shop/pool", "Latch-Observed: 37", "Latch-Bounds: HPA 2..500"} {
		if !strings.Contains(trailers, want) {
			t.Errorf("commit trailers lack %q:\n%s", want, trailers)
		}
	}
}
