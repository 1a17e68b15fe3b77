package controller

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"

	"github.com/latch-gitops/latch/internal/testenv"
)

// TestRunShutdownPastGrace: a stop signal while a pass is stuck on a slow
// remote. Past ShutdownGrace the pass is abandoned: Run returns promptly,
// git holds no half-made commit, latch's clone holds no lock, and a restart
// on the same clone latches what the abandoned pass could not.
func TestRunShutdownPastGrace(t *testing.T) {
	cfg := testenv.APIServer(t)
	client := kubernetes.NewForConfigOrDie(cfg)
	remote := testenv.NewGitRemote(t)
	seed(t, remote, map[string]string{"apps/web.yaml": webManifest})
	createWeb(t, client)
	proxy := testenv.NewDelayProxy(t, remote)
	workDir := filepath.Join(t.TempDir(), "clone")
	const grace = time.Second
	spec := runSpec{cluster: "test", repoURL: proxy.URL, workDir: workDir, shutdownGrace: grace, resync: time.Minute}
	first := startRun(t, cfg, remote, spec)
	waitUntil(t, "the first pass", func() bool { return first.passes(t) >= 1 })

	before := remote.Head(t, "main")
	proxy.SetDelay(3 * time.Second)
	requests := proxy.Requests()
	scaleWeb(t, client, 37)
	waitUntil(t, "the pass reaching the remote", func() bool { return proxy.Requests() > requests })
	stopped := time.Now()
	first.stop()
	took := time.Since(stopped)
	if first.err != nil {
		t.Errorf("Run returned %v after a stop", first.err)
	}
	t.Logf("stop during a stuck pass: Run returned after %s (grace %s)", took.Round(time.Millisecond), grace)
	// Whether Run waited for the stuck pass shows in what it did (the pass
	// abandoned, the remote unmoved), not in a wall-clock bound a busy
	// machine overruns.
	if got := first.metric(t, "latch_passes_total", "result", "abandoned"); got != 1 {
		t.Errorf("latch_passes_total{result=abandoned} = %.0f, want 1", got)
	}
	if got := first.metric(t, "latch_push_failures_total"); got != 0 {
		t.Errorf("an abandoned pass counted as %.0f push failure(s)", got)
	}
	if got := remote.Head(t, "main"); got != before {
		t.Errorf("the abandoned pass moved the remote to %s: %v", got, remote.Log(t, "main", "%s"))
	}
	for _, lock := range []string{"index.lock", "HEAD.lock", "refs/remotes/origin/main.lock", "shallow.lock", "packed-refs.lock"} {
		if _, err := os.Stat(filepath.Join(workDir, ".git", lock)); err == nil {
			t.Errorf("%s left in latch's clone", lock)
		}
	}

	// A process killed outright (OOM, node loss) in the middle of a commit
	// leaves git's index lock behind; the next process owns the clone, so
	// the lock is stale and must not stop it.
	if err := os.WriteFile(filepath.Join(workDir, ".git", "index.lock"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	// The next process reuses the clone and latches the change.
	proxy.SetDelay(0)
	second := startRun(t, cfg, remote, spec)
	waitForFile(t, remote, "apps/web.yaml", "  replicas: 40 # latched by latch\n")
	if got := latchCommits(t, remote); got != 1 {
		t.Errorf("%d latch commits, want 1: %v", got, remote.Log(t, "main", "%s"))
	}
	if subject := remote.Log(t, "main", "%s")[0]; !strings.Contains(subject, "3 → 40") {
		t.Errorf("restart commit %q", subject)
	}
	_ = second
}
