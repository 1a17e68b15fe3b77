package controller

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/latch-gitops/latch/internal/enforce"
	"github.com/latch-gitops/latch/internal/samplerepo"
	"github.com/latch-gitops/latch/internal/state"
	"github.com/latch-gitops/latch/internal/testenv"
)

// webManifest is the sample repository's web Deployment and its HPA
// (2..500), seeded at apps/web.yaml.
var webManifest = samplerepo.Web(samplerepo.Options{})

// A short dwell down so the test sees a move down within seconds.
var fastPolicy = samplerepo.Policy("3s")

// instance is one running `latch run`.
type instance struct {
	cancel   context.CancelFunc
	done     chan error
	registry *prometheus.Registry
	stopOnce sync.Once
	// err is what Run returned (after stop).
	err error
	// deadline bounds stop's wait for Run (testenv.Deadline).
	deadline time.Time
}

func startInstance(t *testing.T, cfg *rest.Config, remote *testenv.GitRemote, cluster string) *instance {
	t.Helper()
	return startRun(t, cfg, remote, runSpec{cluster: cluster})
}

// runSpec is what differs between the `latch run` instances of a test.
type runSpec struct {
	cluster, path, namespace string
	// leaseNamespace turns leader election on, with short lease timings.
	leaseNamespace string
	// batchWindow and resync default to 1s and 1.5s.
	batchWindow, resync time.Duration
	// repoURL replaces the remote's URL (a proxy in front of it); workDir
	// is the clone folder (default: a fresh temp folder).
	repoURL, workDir string
	shutdownGrace    time.Duration
	// extraKinds is --extra-scale-kinds.
	extraKinds []schema.GroupVersionKind
	// review turns the review flow on.
	review *ReviewOptions
	// enforce is --enforce, with its fight limit.
	enforce      enforce.Mode
	enforceLimit enforce.Limit
	// probeAddr serves /healthz and /readyz (default "0": none).
	probeAddr string
	// followRollouts is --follow-rollouts (from the stripped caches).
	followRollouts bool
}

// startRun starts one `latch run` in this process, as cmd/latch wires it,
// against its own clone of remote; it stops when the test ends.
func startRun(t *testing.T, cfg *rest.Config, remote *testenv.GitRemote, spec runSpec) *instance {
	t.Helper()
	t.Setenv("LATCH_GIT_USERNAME", remote.Username)
	t.Setenv("LATCH_GIT_PASSWORD", remote.Password)
	ctx, cancel := context.WithCancel(context.Background())
	repoURL, workDir := remote.URL, filepath.Join(t.TempDir(), "clone")
	if spec.repoURL != "" {
		repoURL = spec.repoURL
	}
	if spec.workDir != "" {
		workDir = spec.workDir
	}
	repo, closeRepo, err := OpenRepo(ctx, RepoOptions{Repo: repoURL, Branch: "main", WorkDir: workDir})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo})).With("instance", spec.cluster)
	in := &instance{cancel: cancel, done: make(chan error, 1), registry: prometheus.NewRegistry(), deadline: testenv.Deadline(t)}
	latcher := &Latcher{Repo: repo, Cluster: spec.cluster, Path: spec.path, States: state.NewMemory(), Log: log, Review: spec.review}
	opts := RunOptions{
		Latcher: latcher, BatchWindow: time.Second, Resync: 1500 * time.Millisecond, Namespace: spec.namespace,
		MetricsAddr: "0", ProbeAddr: "0", Log: log, Registry: in.registry, ShutdownGrace: spec.shutdownGrace,
		ExtraKinds: spec.extraKinds, Enforce: spec.enforce, EnforceLimit: spec.enforceLimit, FollowRollouts: spec.followRollouts,
	}
	if spec.probeAddr != "" {
		opts.ProbeAddr = spec.probeAddr
	}
	if spec.batchWindow > 0 {
		opts.BatchWindow = spec.batchWindow
	}
	if spec.resync > 0 {
		opts.Resync = spec.resync
	}
	if spec.leaseNamespace != "" {
		opts.LeaderElect, opts.LeaderElectionNamespace = true, spec.leaseNamespace
		opts.LeaseDuration, opts.RenewDeadline, opts.RetryPeriod = 3*time.Second, 2*time.Second, 250*time.Millisecond
	}
	go func() {
		err := Run(ctx, cfg, opts)
		closeRepo()
		in.done <- err
	}()
	t.Cleanup(in.stop)
	return in
}

// stop cancels the instance and waits for Run to return; it may be called
// again (the test's cleanup does) and then returns at once.
func (in *instance) stop() {
	in.stopOnce.Do(func() {
		in.cancel()
		select {
		case in.err = <-in.done:
		case <-time.After(time.Until(in.deadline)):
			in.err = errors.New("Run still running at the test's deadline, long after its context ended")
		}
	})
}

// passes reads latch_passes_total{result="ok"}.
func (in *instance) passes(t *testing.T) float64 {
	t.Helper()
	return in.metric(t, "latch_passes_total", "result", "ok")
}

// metric reads one sample of a counter or gauge: the one whose labels
// include the given name/value pairs (none: the first); 0 when absent.
func (in *instance) metric(t *testing.T, name string, labelPairs ...string) float64 {
	t.Helper()
	families, err := in.registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	samples:
		for _, m := range f.GetMetric() {
			for i := 0; i+1 < len(labelPairs); i += 2 {
				found := false
				for _, l := range m.GetLabel() {
					if l.GetName() == labelPairs[i] && l.GetValue() == labelPairs[i+1] {
						found = true
					}
				}
				if !found {
					continue samples
				}
			}
			switch {
			case m.GetCounter() != nil:
				return m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				return m.GetGauge().GetValue()
			}
		}
	}
	return 0
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func TestRunLatchesUpDownAndRestarts(t *testing.T) {
	cfg := testenv.APIServer(t)
	client := kubernetes.NewForConfigOrDie(cfg)
	remote := testenv.NewGitRemote(t)
	human := remote.Human(t)
	human.WriteFile("apps/web.yaml", webManifest)
	human.WriteFile("latch.yaml", fastPolicy)
	human.Commit("seed")
	human.Push()
	createWeb(t, client)

	first := startInstance(t, cfg, remote, "test")
	scaleWeb(t, client, 37)
	changed := time.Now()
	waitForFile(t, remote, "apps/web.yaml", "  replicas: 40 # latched by latch\n")
	t.Logf("scale 37 → commit 40 visible after %s (window 1s)", time.Since(changed).Round(time.Millisecond))

	// Up to the HPA max, clamped.
	scaleWeb(t, client, 4000)
	waitForFile(t, remote, "apps/web.yaml", "  replicas: 500 # latched by latch\n")

	// Restart: a new process with no memory commits nothing new.
	first.stop()
	commits := len(remote.Log(t, "main", "%H"))
	second := startInstance(t, cfg, remote, "test")
	waitUntil(t, "three passes after restart", func() bool { return second.passes(t) >= 3 })
	if got := len(remote.Log(t, "main", "%H")); got != commits {
		t.Fatalf("restart made %d new commit(s): %v", got-commits, remote.Log(t, "main", "%s"))
	}

	// Down: after the dwell (3 s here), to a round number near the new scale.
	scaleWeb(t, client, 90)
	waitUntil(t, "a move down", func() bool {
		content := gitShow(t, remote, "apps/web.yaml")
		return !strings.Contains(content, "replicas: 500 ") && strings.Contains(content, "# latched by latch")
	})
	subjects := remote.Log(t, "main", "%s")
	t.Logf("history:\n%s", strings.Join(subjects, "\n"))
	if !strings.Contains(subjects[0], "500 →") {
		t.Errorf("newest commit %q is not the move down from 500", subjects[0])
	}
}

// createWeb creates shop/web at 3 replicas with an HPA 2..500, as in webManifest.
func createWeb(t *testing.T, client kubernetes.Interface) {
	t.Helper()
	createWorkload(t, client, "shop", "web", 3, 500)
}

func scaleWeb(t *testing.T, client kubernetes.Interface, replicas int32) {
	t.Helper()
	scaleTo(t, client, "shop", "web", replicas)
}

func gitShow(t *testing.T, remote *testenv.GitRemote, file string) string {
	t.Helper()
	out, err := runGitOutput(remote.BareDir, "show", "main:"+file)
	if err != nil {
		t.Fatalf("git show %s: %v", file, err)
	}
	return out
}

func waitForFile(t *testing.T, remote *testenv.GitRemote, file, want string) {
	t.Helper()
	waitUntil(t, file+" containing "+strings.TrimSpace(want), func() bool {
		return strings.Contains(gitShow(t, remote, file), want)
	})
}

// waitUntil waits as long as the test may (testenv.WaitUntil): how long latch
// takes is for the benchmarks, what it does is for the tests.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testenv.WaitUntil(t, what, cond)
}

var errNoOutput = errors.New("no output")

func runGitOutput(dir string, args ...string) (string, error) {
	cmd := execCommand("git", append([]string{"-C", dir}, args...)...)
	out, err := cmd.Output()
	if err != nil {
		return "", err
	}
	if len(out) == 0 {
		return "", errNoOutput
	}
	return string(out), nil
}
