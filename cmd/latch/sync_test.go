package main

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"

	"github.com/latch-gitops/latch/internal/controller"
	"github.com/latch-gitops/latch/internal/policy"
	"github.com/latch-gitops/latch/internal/samplerepo"
	"github.com/latch-gitops/latch/internal/testenv"
)

// The seeded repository is the demo's sample (a plain manifest with
// comments, a Kustomize overlay deciding replicas with `replicas:`, Helm
// values with a marker) under clusters/prod, with a README only people edit.
var (
	sample    = samplerepo.Options{Cluster: "prod", Readme: "infra\n"}
	seedFiles = samplerepo.Files(sample)
)

// sampleObserved are scales as the HPAs left them, inside the sample's
// HPA bounds.
var sampleObserved = map[string]int32{"web": 37, "api": 180, "worker": 9}

// seedSample pushes the sample repository to remote as a person would and
// returns that person's clone.
func seedSample(t *testing.T, remote *testenv.GitRemote) *testenv.Human {
	t.Helper()
	human := remote.Human(t)
	for path, content := range seedFiles {
		human.WriteFile(path, content)
	}
	human.Commit("seed")
	human.Push()
	return human
}

// sampleLive is the sample's workloads at the observed scales, each with
// its HPA's bounds from the sample.
func sampleLive(observed map[string]int32) []liveWorkload {
	var live []liveWorkload
	for _, w := range sample.Workloads() {
		live = append(live, liveWorkload{w.Name, observed[w.Name], w.HPAMin, w.HPAMax})
	}
	return live
}

type liveWorkload struct {
	name     string
	replicas int32 // as the HPA left it
	min, max int32
}

func TestSyncOnceEndToEnd(t *testing.T) {
	cp := testenv.StartControlPlane(t)
	remote := testenv.NewGitRemote(t)
	human := seedSample(t, remote)
	t.Setenv("LATCH_GIT_USERNAME", remote.Username)
	t.Setenv("LATCH_GIT_PASSWORD", remote.Password)

	client := kubernetes.NewForConfigOrDie(cp.Config)
	workloads := sampleLive(sampleObserved)
	createWorkloads(t, client, workloads)

	stateFile := t.TempDir() + "/state.json"
	sync := func(extra ...string) (string, error) {
		args := append([]string{"--kubeconfig", cp.Kubeconfig, "sync", "--once", "--repo", remote.URL,
			"--cluster-name", "prod", "--state-file", stateFile, "--git-author", "latch bot <latch@example.com>"}, extra...)
		var stdout, stderr bytes.Buffer
		cmd := newRootCommand(&stdout, &stderr)
		cmd.SetArgs(args)
		err := cmd.Execute()
		if err != nil {
			return stdout.String() + stderr.String(), err
		}
		return stdout.String(), nil
	}

	// Dry run: a diff, nothing pushed.
	before := remote.Head(t, "main")
	out, err := sync("--dry-run")
	if err != nil {
		t.Fatalf("dry run: %v\n%s", err, out)
	}
	if remote.Head(t, "main") != before {
		t.Fatal("a dry run pushed")
	}
	if !strings.Contains(out, "-  replicas: 3 # latched") {
		t.Errorf("dry-run diff does not show the web change:\n%s", out)
	}

	out, err = sync()
	if err != nil {
		t.Fatalf("sync: %v\n%s", err, out)
	}
	t.Logf("first sync:\n%s", out)
	first := remote.Head(t, "main")
	if first == before {
		t.Fatalf("no commit pushed:\n%s", out)
	}
	if n := len(remote.Log(t, "main", "%H")); n != 2 {
		t.Fatalf("remote has %d commits, want seed + one latch commit", n)
	}
	params := policy.DefaultParams()
	want := map[string]int64{}
	for _, w := range workloads {
		_, d := policy.Step(params, policy.Resume(declaredIn(w.name)), time.Now(), int64(w.replicas), int64(w.min), int64(w.max))
		want[w.name] = d.Declared
		if d.Declared < policy.MinSafe(int64(w.replicas)) {
			t.Fatalf("policy would declare %d for %s observed %d: below half", d.Declared, w.name, w.replicas)
		}
	}
	assertDigitsOnly(t, remote.BareDir, before, first, map[string]string{
		sample.WebPath():            strings.TrimSuffix(samplerepo.ReplicasLine(want["web"]), "\n"),
		sample.APIOverlayPath():     samplerepo.APICountLine(want["api"]),
		samplerepo.WorkerValuesPath: samplerepo.WorkerValuesLine(want["worker"]),
	})
	message := git(t, remote.BareDir, "log", "-1", "--format=%B", first)
	trailers := git(t, remote.BareDir, "log", "-1", "--format=%(trailers:only,unfold)", first)
	for _, key := range []string{"Latch-Object: shop/web", "Latch-Kind: Deployment", "Latch-Observed: 37", "Latch-Bounds: HPA 2..500", "Latch-Rule:", "Latch-Changed-By: horizontal-pod-autoscaler"} {
		if !strings.Contains(trailers, key) {
			t.Errorf("commit trailers lack %q:\n%s\nmessage:\n%s", key, trailers, message)
		}
	}
	if author := git(t, remote.BareDir, "log", "-1", "--format=%an <%ae>", first); author != "latch bot <latch@example.com>" {
		t.Errorf("author %q", author)
	}

	// Nothing new: no commit.
	out, err = sync()
	if err != nil {
		t.Fatalf("second sync: %v\n%s", err, out)
	}
	if remote.Head(t, "main") != first {
		t.Fatalf("second sync with nothing new committed:\n%s", out)
	}
	if !strings.Contains(out, "nothing to latch") {
		t.Errorf("second sync output: %s", out)
	}

	// A person pushes meanwhile; the next latch commit lands on top of it.
	human.Pull()
	human.WriteFile("README.md", "infra, now with latch\n")
	humanCommit := human.Commit("docs: mention latch")
	human.Push()
	scale(t, client, "web", 480)
	out, err = sync("-o", "json")
	if err != nil {
		t.Fatalf("third sync: %v\n%s", err, out)
	}
	var outcome controller.Outcome
	if err := json.Unmarshal([]byte(out), &outcome); err != nil {
		t.Fatalf("json output: %v\n%s", err, out)
	}
	third := remote.Head(t, "main")
	if third == first || outcome.Result.Commit != third || len(outcome.Result.Changes) != 1 {
		t.Fatalf("third sync: head %s, outcome %+v", third, outcome.Result)
	}
	if err := exec.Command("git", "-C", remote.BareDir, "merge-base", "--is-ancestor", humanCommit, third).Run(); err != nil {
		t.Fatalf("the human commit %s is not in latch's history: %v", humanCommit, err)
	}
	if parents := git(t, remote.BareDir, "log", "-1", "--format=%P", third); parents != humanCommit {
		t.Errorf("latch commit parents %q, want the human commit %s (linear history)", parents, humanCommit)
	}
}

func declaredIn(name string) int64 {
	for _, w := range sample.Workloads() {
		if w.Name == name {
			return int64(w.Replicas)
		}
	}
	panic("no sample workload " + name)
}

// createWorkloads creates each workload in shop at 1 replica with its HPA,
// then scales it as the HPA would.
func createWorkloads(t *testing.T, client kubernetes.Interface, workloads []liveWorkload) {
	t.Helper()
	for _, w := range workloads {
		testenv.CreateWorkloads(t, client, testenv.Workload{Namespace: "shop", Name: w.name, Replicas: 1, HPAMin: w.min, HPAMax: w.max})
		scale(t, client, w.name, w.replicas)
	}
}

func scale(t *testing.T, client kubernetes.Interface, name string, replicas int32) {
	t.Helper()
	testenv.ScaleAsHPA(t, client, "shop", name, replicas)
}

var digits = regexp.MustCompile(`[0-9]+`)

// assertDigitsOnly checks that between two commits exactly the files in
// wantLines changed, each gained its wanted line, and nothing but digits
// differs.
func assertDigitsOnly(t *testing.T, bare, from, to string, wantLines map[string]string) {
	t.Helper()
	changed := strings.Fields(git(t, bare, "diff", "--name-only", from, to))
	if len(changed) != len(wantLines) {
		t.Errorf("changed files %v, want %d files", changed, len(wantLines))
	}
	for _, file := range changed {
		want, ok := wantLines[file]
		if !ok {
			t.Errorf("unexpected change to %s", file)
			continue
		}
		old := git(t, bare, "show", from+":"+file)
		cur := git(t, bare, "show", to+":"+file)
		if digits.ReplaceAllString(old, "#") != digits.ReplaceAllString(cur, "#") {
			t.Errorf("%s: more than digits changed:\n--- before\n%s\n--- after\n%s", file, old, cur)
		}
		if !strings.Contains(cur+"\n", want+"\n") {
			t.Errorf("%s: lacks line %q:\n%s", file, want, cur)
		}
	}
}

func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	out, err := exec.Command("git", append([]string{"-C", dir}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimRight(string(out), "\n")
}

// TestSyncOnceBadInput: a broken latch.yaml, a malformed manifest and a
// refused push each give a clear error and change nothing they should not.
func TestSyncOnceBadInput(t *testing.T) {
	cp := testenv.StartControlPlane(t)
	remote := testenv.NewGitRemote(t)
	human := remote.Human(t)
	human.WriteFile("clusters/prod/web.yaml", seedFiles[sample.WebPath()])
	human.WriteFile("clusters/prod/broken.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x\n")
	human.WriteFile("latch.yaml", "apiVersion: latch.dev/v1alpha1\nkind: LatchPolicy\nspec:\n  rulez: []\n")
	human.Commit("seed with a typo in latch.yaml")
	human.Push()
	client := kubernetes.NewForConfigOrDie(cp.Config)
	createWorkloads(t, client, []liveWorkload{{"web", 37, 2, 500}})

	run := func(password string, extra ...string) (string, error) {
		t.Setenv("LATCH_GIT_USERNAME", remote.Username)
		t.Setenv("LATCH_GIT_PASSWORD", password)
		var stdout, stderr bytes.Buffer
		cmd := newRootCommand(&stdout, &stderr)
		cmd.SetArgs(append([]string{"--kubeconfig", cp.Kubeconfig, "sync", "--once", "--repo", remote.URL,
			"--state-file", t.TempDir() + "/state.json"}, extra...))
		err := cmd.Execute()
		return stdout.String() + stderr.String(), err
	}
	seed := remote.Head(t, "main")

	_, err := run(remote.Password)
	if err == nil || !strings.Contains(err.Error(), "latch.yaml:4:3") || !strings.Contains(err.Error(), "rulez") {
		t.Fatalf("broken latch.yaml: err = %v, want file:line:col and the field", err)
	}
	if remote.Head(t, "main") != seed {
		t.Fatal("latch pushed despite a broken policy")
	}

	human.Pull()
	human.WriteFile("latch.yaml", "apiVersion: latch.dev/v1alpha1\nkind: LatchPolicy\nspec:\n  rules: []\n")
	human.Commit("fix latch.yaml")
	human.Push()
	fixed := remote.Head(t, "main")

	out, err := run("not-the-password")
	if err == nil {
		t.Fatalf("sync with a wrong password succeeded:\n%s", out)
	}
	if strings.Contains(err.Error(), "not-the-password") || strings.Contains(out, "not-the-password") {
		t.Fatalf("the password leaked into the error or output: %v\n%s", err, out)
	}
	if !strings.Contains(strings.ToLower(err.Error()), "auth") {
		t.Errorf("wrong password: error does not say authentication: %v", err)
	}
	if remote.Head(t, "main") != fixed {
		t.Fatal("remote changed after a refused push")
	}

	// The malformed manifest is reported; web is latched regardless.
	out, err = run(remote.Password, "-v")
	if err != nil {
		t.Fatalf("sync: %v\n%s", err, out)
	}
	if remote.Head(t, "main") == fixed {
		t.Fatalf("web was not latched beside a malformed file:\n%s", out)
	}
	if !strings.Contains(out, "broken.yaml") {
		t.Errorf("the malformed file is not reported:\n%s", out)
	}
}
