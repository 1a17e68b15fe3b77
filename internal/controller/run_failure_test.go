package controller

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/latch-gitops/latch/internal/policy"
	"github.com/latch-gitops/latch/internal/testenv"
)

// End-to-end tests of `latch run` when its surroundings fail: the git
// remote goes away, the API server restarts, another latch pushes to the
// same branch, a replica loses leadership. Each runs against a real
// kube-apiserver and a real git remote.

// manifestFor is a Deployment (and, with hpaMax > 0, its HPA) as git
// declares it, with the replicas line latch edits.
func manifestFor(namespace, name string, replicas, hpaMax int64) string {
	out := fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: %[2]s
  namespace: %[1]s
spec:
  replicas: %[3]d # latched by latch
  selector:
    matchLabels: {app: %[2]s}
  template:
    metadata:
      labels: {app: %[2]s}
    spec:
      containers: [{name: app, image: example.com/app:1}]
`, namespace, name, replicas)
	if hpaMax > 0 {
		out += fmt.Sprintf(`---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: %[2]s
  namespace: %[1]s
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: %[2]s}
  minReplicas: 2
  maxReplicas: %[3]d
`, namespace, name, hpaMax)
	}
	return out
}

// createWorkload creates a Deployment as a GitOps tool would and, with
// hpaMax > 0, its HPA (min 2).
func createWorkload(t *testing.T, client kubernetes.Interface, namespace, name string, replicas, hpaMax int32) {
	t.Helper()
	testenv.CreateWorkloads(t, client, testenv.Workload{Namespace: namespace, Name: name, Replicas: replicas, HPAMin: 2, HPAMax: hpaMax})
}

func scaleTo(t *testing.T, client kubernetes.Interface, namespace, name string, replicas int32) {
	t.Helper()
	testenv.ScaleAsHPA(t, client, namespace, name, replicas)
}

// upLevel is where a move up to observed lands with the default rule
// (series R5) and dwellUp 0: the smallest level at or above observed.
func upLevel(t *testing.T, observed int64) int64 {
	t.Helper()
	levels, err := policy.Levels(policy.DefaultParams().Ladder, observed, 10*observed)
	if err != nil || len(levels) == 0 {
		t.Fatalf("levels above %d: %v %v", observed, levels, err)
	}
	return levels[0]
}

// replicasLine is the line latch writes for a value.
func replicasLine(v int64) string { return fmt.Sprintf("  replicas: %d # latched by latch\n", v) }

// latchCommits counts the remote's commits by latch.
func latchCommits(t *testing.T, remote *testenv.GitRemote) int {
	t.Helper()
	n := 0
	for _, author := range remote.Log(t, "main", "%an") {
		if author == "latch" {
			n++
		}
	}
	return n
}

// assertLinear fails when the remote's history has a merge.
func assertLinear(t *testing.T, remote *testenv.GitRemote) {
	t.Helper()
	for _, parents := range remote.Log(t, "main", "%H %P") {
		if len(strings.Fields(parents)) > 2 {
			t.Errorf("history is not linear: merge commit %s", parents)
		}
	}
}

// seed pushes latch.yaml and the manifests as a human would.
func seed(t *testing.T, remote *testenv.GitRemote, files map[string]string) {
	t.Helper()
	seedWithPolicy(t, remote, fastPolicy, files)
}

func seedWithPolicy(t *testing.T, remote *testenv.GitRemote, latchYAML string, files map[string]string) {
	t.Helper()
	human := remote.Human(t)
	human.WriteFile("latch.yaml", latchYAML)
	for path, content := range files {
		human.WriteFile(path, content)
	}
	human.Commit("seed")
	human.Push()
}

// TestRunRemoteDownThenBack: while the remote refuses every request, scale
// changes pile up and the metrics say so; once it is back, latch records
// the latest value in one commit and nothing in between.
func TestRunRemoteDownThenBack(t *testing.T) {
	cfg := testenv.APIServer(t)
	client := kubernetes.NewForConfigOrDie(cfg)
	remote := testenv.NewGitRemote(t)
	seed(t, remote, map[string]string{"apps/web.yaml": webManifest})
	createWeb(t, client)
	in := startInstance(t, cfg, remote, "test")

	scaleWeb(t, client, 37)
	waitForFile(t, remote, "apps/web.yaml", "  replicas: 40 # latched by latch\n")
	before := remote.Head(t, "main")
	commitsBefore := latchCommits(t, remote)

	remote.SetAvailable(false)
	downAt := time.Now()
	scaleWeb(t, client, 120)
	time.Sleep(1500 * time.Millisecond)
	scaleWeb(t, client, 260)
	waitUntil(t, "a pass failing on the unavailable remote", func() bool {
		return in.metric(t, "latch_push_failures_total") > 0
	})
	since1 := in.metric(t, "latch_seconds_since_last_successful_push")
	time.Sleep(2 * time.Second)
	since2 := in.metric(t, "latch_seconds_since_last_successful_push")
	t.Logf("remote down %s: seconds since last push %.1f then %.1f; %d requests refused; failures %.0f, retries %.0f, queue depth %.0f",
		time.Since(downAt).Round(time.Millisecond), since1, since2, remote.Refused(),
		in.metric(t, "latch_push_failures_total"), in.metric(t, "latch_push_retries_total"), in.metric(t, "latch_queue_depth"))
	if since2 < since1+1.5 {
		t.Errorf("latch_seconds_since_last_successful_push went %.1f → %.1f over 2s of outage; want it to grow", since1, since2)
	}
	if remote.Refused() == 0 {
		t.Error("the remote refused no request: latch did not try while it was down")
	}
	if got := remote.Head(t, "main"); got != before {
		t.Fatalf("remote moved to %s while unavailable", got)
	}

	remote.SetAvailable(true)
	back := time.Now()
	want := upLevel(t, 260)
	waitForFile(t, remote, "apps/web.yaml", fmt.Sprintf("  replicas: %d # latched by latch\n", want))
	t.Logf("caught up %s after the remote came back", time.Since(back).Round(time.Millisecond))
	// A few more passes: nothing else to commit.
	passes := in.passes(t)
	waitUntil(t, "two more passes", func() bool { return in.passes(t) >= passes+2 })

	if got := latchCommits(t, remote) - commitsBefore; got != 1 {
		t.Errorf("%d latch commits after the outage, want 1 (the latest value only): %v", got, remote.Log(t, "main", "%s"))
	}
	subject := remote.Log(t, "main", "%s")[0]
	if !strings.Contains(subject, fmt.Sprintf("40 → %d", want)) {
		t.Errorf("catch-up commit %q does not move 40 → %d", subject, want)
	}
	assertLinear(t, remote)
	if got := in.metric(t, "latch_push_retries_total"); got == 0 {
		t.Error("latch_push_retries_total = 0 after an outage")
	}
	// The last successful push came after the remote came back, so its age
	// is at most the time since then (no fixed budget: a busy machine only
	// makes both longer).
	got := in.metric(t, "latch_seconds_since_last_successful_push")
	if sinceBack := time.Since(back).Seconds(); got < 0 || got > sinceBack {
		t.Errorf("latch_seconds_since_last_successful_push = %.1f after catching up, want at most the %.1f s since the remote came back", got, sinceBack)
	}
}

// TestRunAPIServerRestart: kube-apiserver restarts in place (same port, same
// etcd); latch re-lists without committing anything, then latches the next
// change.
func TestRunAPIServerRestart(t *testing.T) {
	cp := testenv.StartControlPlane(t)
	client := kubernetes.NewForConfigOrDie(cp.Config)
	remote := testenv.NewGitRemote(t)
	seed(t, remote, map[string]string{"apps/web.yaml": webManifest})
	createWeb(t, client)
	in := startInstance(t, cp.Config, remote, "test")

	scaleWeb(t, client, 37)
	waitForFile(t, remote, "apps/web.yaml", "  replicas: 40 # latched by latch\n")
	commits := len(remote.Log(t, "main", "%H"))

	restart := time.Now()
	cp.RestartAPIServer(t)
	t.Logf("kube-apiserver restarted in %s", time.Since(restart).Round(time.Millisecond))
	passes := in.passes(t)
	waitUntil(t, "three passes after the restart", func() bool { return in.passes(t) >= passes+3 })
	if got := len(remote.Log(t, "main", "%H")); got != commits {
		t.Fatalf("the API server restart led to %d commit(s): %v", got-commits, remote.Log(t, "main", "%s"))
	}

	// The watch is back: a change after the restart is latched.
	scaleWeb(t, client, 130)
	changed := time.Now()
	waitForFile(t, remote, "apps/web.yaml", fmt.Sprintf("  replicas: %d # latched by latch\n", upLevel(t, 130)))
	t.Logf("first change after the restart latched in %s", time.Since(changed).Round(time.Millisecond))
	if got := len(remote.Log(t, "main", "%H")); got != commits+1 {
		t.Errorf("%d commits after the restart, want 1: %v", got-commits, remote.Log(t, "main", "%s"))
	}
}

// TestRunTwoClustersOneRepo: two latch instances (clusters a and b, each
// with its own folder) push to one branch at the same moments, round after
// round; every value of both lands, nothing is lost, history stays linear.
func TestRunTwoClustersOneRepo(t *testing.T) {
	cfg := testenv.APIServer(t)
	client := kubernetes.NewForConfigOrDie(cfg)
	remote := testenv.NewGitRemote(t)
	clusters := []string{"a", "b"}
	names := []string{"api", "web", "worker"}
	files := map[string]string{}
	for _, c := range clusters {
		for _, n := range names {
			files["clusters/"+c+"/"+n+".yaml"] = manifestFor(c, n, 4, 5000)
			createWorkload(t, client, c, n, 4, 5000)
		}
	}
	seed(t, remote, files)
	instances := map[string]*instance{}
	for _, c := range clusters {
		instances[c] = startRun(t, cfg, remote, runSpec{cluster: c, path: "clusters/" + c, namespace: c})
	}

	// Each round scales all six workloads at once, so both instances
	// commit in the same window and race for the push. Jumps of ≥ 2.5×
	// clear the hysteresis, so every round must be a new value in git.
	rounds := []int64{12, 40, 110, 320, 800, 2000}
	for i, base := range rounds {
		var wg sync.WaitGroup
		for _, c := range clusters {
			for _, n := range names {
				wg.Go(func() { scaleTo(t, client, c, n, int32(base)) })
			}
		}
		wg.Wait()
		start := time.Now()
		want := upLevel(t, base)
		waitUntil(t, fmt.Sprintf("round %d (%d → %d) in git for both clusters", i, base, want), func() bool {
			for _, c := range clusters {
				for _, n := range names {
					if !strings.Contains(gitShow(t, remote, "clusters/"+c+"/"+n+".yaml"), replicasLine(want)) {
						return false
					}
				}
			}
			return true
		})
		t.Logf("round %d: both clusters latched in %s", i, time.Since(start).Round(time.Millisecond))
	}

	assertLinear(t, remote)
	// Every commit an instance counted as pushed is in the history, and
	// each touches only its own cluster's folder. A commit is counted just
	// after its push lands: wait for the counters to catch up with the remote.
	pushedTotal := func() (n float64) {
		for _, c := range clusters {
			n += instances[c].metric(t, "latch_commits_total")
		}
		return n
	}
	waitUntil(t, "latch_commits_total of both instances reaching the remote's latch commits", func() bool {
		return pushedTotal() >= float64(latchCommits(t, remote))
	})
	var pushed float64
	for _, c := range clusters {
		pushed += instances[c].metric(t, "latch_commits_total")
		t.Logf("cluster %s: %.0f commits, %.0f push retries", c, instances[c].metric(t, "latch_commits_total"), instances[c].metric(t, "latch_push_retries_total"))
	}
	if got := latchCommits(t, remote); float64(got) != pushed {
		t.Errorf("history holds %d latch commits, the instances pushed %.0f", got, pushed)
	}
	for _, line := range remote.Log(t, "main", "%H") {
		if author := strings.TrimSpace(mustGit(t, remote.BareDir, "log", "-1", "--format=%an", line)); author != "latch" {
			continue
		}
		cluster := strings.TrimSpace(mustGit(t, remote.BareDir, "log", "-1", "--format=%(trailers:key=Latch-Cluster,valueonly)", line))
		for _, f := range strings.Fields(mustGit(t, remote.BareDir, "show", "--name-only", "--format=", line)) {
			if !strings.HasPrefix(f, "clusters/"+cluster+"/") {
				t.Errorf("commit %s by cluster %q changed %s", line[:7], cluster, f)
			}
		}
	}
	// Each round moved every workload once per cluster: at least one commit
	// per cluster per round.
	for _, c := range clusters {
		if got := instances[c].metric(t, "latch_commits_total"); got < float64(len(rounds)) {
			t.Errorf("cluster %s pushed %.0f commits for %d rounds", c, got, len(rounds))
		}
	}
}

// TestRunLeaderElection: two replicas of one instance; only the leader
// writes. Stopping it hands the Lease over, and the other latches the next
// change.
func TestRunLeaderElection(t *testing.T) {
	cfg := testenv.APIServer(t)
	client := kubernetes.NewForConfigOrDie(cfg)
	remote := testenv.NewGitRemote(t)
	seed(t, remote, map[string]string{"apps/web.yaml": webManifest})
	createWeb(t, client)
	if _, err := client.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "latch-system"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	spec := runSpec{cluster: "test", leaseNamespace: "latch-system"}
	first := startRun(t, cfg, remote, spec)
	waitUntil(t, "the first replica leading", func() bool { return first.passes(t) > 0 })
	second := startRun(t, cfg, remote, spec)

	scaleWeb(t, client, 37)
	waitForFile(t, remote, "apps/web.yaml", "  replicas: 40 # latched by latch\n")
	scaleWeb(t, client, 130)
	waitForFile(t, remote, "apps/web.yaml", fmt.Sprintf("  replicas: %d # latched by latch\n", upLevel(t, 130)))
	if got := second.metric(t, "latch_passes_total", "result", "ok") + second.metric(t, "latch_passes_total", "result", "error"); got != 0 {
		t.Errorf("the follower ran %.0f passes while the other replica led", got)
	}
	if got := latchCommits(t, remote); got != 2 {
		t.Errorf("%d latch commits for two changes: %v", got, remote.Log(t, "main", "%s"))
	}

	stopped := time.Now()
	first.stop()
	waitUntil(t, "the second replica taking over", func() bool { return second.passes(t) > 0 })
	t.Logf("second replica leading %s after the leader stopped", time.Since(stopped).Round(time.Millisecond))
	scaleWeb(t, client, 330)
	waitForFile(t, remote, "apps/web.yaml", fmt.Sprintf("  replicas: %d # latched by latch\n", upLevel(t, 330)))
	if got := latchCommits(t, remote); got != 3 {
		t.Errorf("%d latch commits for three changes: %v", got, remote.Log(t, "main", "%s"))
	}
}

func mustGit(t *testing.T, dir string, args ...string) string {
	t.Helper()
	out, err := runGitOutput(dir, args...)
	if err != nil && err != errNoOutput {
		t.Fatalf("git %s: %v", strings.Join(args, " "), err)
	}
	return out
}
