package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/latch-gitops/latch/internal/forge"
	"github.com/latch-gitops/latch/internal/review"
	"github.com/latch-gitops/latch/internal/testenv"
)

// The review flow end to end on the real API-server fixture and a real
// Gitea: `latch sync --once` and `latch run` as a user runs them.

const webBranch = "latch/prod/shop/deployment.apps/web"

func reviewManifest(name string, replicas int) string {
	return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: %[1]s
  namespace: shop
spec:
  replicas: %[2]d # latched
  selector:
    matchLabels: {app: %[1]s}
  template:
    metadata:
      labels: {app: %[1]s}
    spec:
      containers: [{name: %[1]s, image: example.com/%[1]s:1}]
`, name, replicas)
}

// giteaPR is a pull request as Gitea's own API reports it (read without
// latch's forge package, so the test does not trust what it tests).
type giteaPR struct {
	Number    int    `json:"number"`
	State     string `json:"state"`
	Merged    bool   `json:"merged"`
	Title     string `json:"title"`
	Body      string `json:"body"`
	UpdatedAt string `json:"updated_at"`
	Head      struct {
		Ref string `json:"ref"`
		Sha string `json:"sha"`
	} `json:"head"`
}

// forgeRepo is the Gitea repository seen from a person's clone.
type forgeRepo struct {
	t   *testing.T
	g   *testenv.GiteaServer
	dir string
}

func newForgeRepo(t *testing.T, g *testenv.GiteaServer, files map[string]string) *forgeRepo {
	r := &forgeRepo{t: t, g: g, dir: t.TempDir()}
	git(t, r.dir, "clone", "--quiet", g.AuthCloneURL(), ".")
	for path, content := range files {
		full := filepath.Join(r.dir, path)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	git(t, r.dir, "add", "-A")
	git(t, r.dir, "-c", "user.name=Person", "-c", "user.email=p@example.com", "commit", "--quiet", "-m", "seed")
	git(t, r.dir, "push", "--quiet", "origin", "HEAD:refs/heads/"+g.Branch)
	t.Setenv("LATCH_GIT_USERNAME", g.Username)
	t.Setenv("LATCH_GIT_PASSWORD", g.Password)
	t.Setenv(forge.TokenEnv, g.Token)
	return r
}

// head is the commit ref points at on the forge ("" : no such branch).
func (r *forgeRepo) head(ref string) string {
	out := git(r.t, r.dir, "ls-remote", "origin", "refs/heads/"+ref)
	sha, _, _ := strings.Cut(out, "\t")
	return sha
}

// show is path at ref on the forge.
func (r *forgeRepo) show(ref, path string) string {
	git(r.t, r.dir, "fetch", "--quiet", "origin", "+refs/heads/"+ref+":refs/test/"+ref)
	return git(r.t, r.dir, "show", "refs/test/"+ref+":"+path)
}

func (r *forgeRepo) commitsAhead(branch string) string {
	git(r.t, r.dir, "fetch", "--quiet", "origin", "+refs/heads/*:refs/test/*")
	return git(r.t, r.dir, "rev-list", "--count", "refs/test/"+r.g.Branch+"..refs/test/"+branch)
}

func (r *forgeRepo) pulls() []giteaPR {
	var prs []giteaPR
	if _, err := r.g.API(context.Background(), "GET", fmt.Sprintf("/api/v1/repos/%s/%s/pulls?state=all&limit=50", r.g.Owner, r.g.Repo), nil, &prs); err != nil {
		r.t.Fatal(err)
	}
	return prs
}

func (r *forgeRepo) open() []giteaPR {
	var out []giteaPR
	for _, pr := range r.pulls() {
		if pr.State == "open" {
			out = append(out, pr)
		}
	}
	return out
}

func TestSyncOnceReviewSuspiciousOnGitea(t *testing.T) {
	cp := testenv.StartControlPlane(t)
	g := testenv.Gitea(t)
	repo := newForgeRepo(t, g, map[string]string{"apps/web.yaml": reviewManifest("web", 40), "apps/api.yaml": reviewManifest("api", 10)})
	client := kubernetes.NewForConfigOrDie(cp.Config)
	createWorkloads(t, client, []liveWorkload{{"web", 40, 1, 1000}, {"api", 25, 1, 1000}})

	stateFile := filepath.Join(t.TempDir(), "state.json")
	sync := func(extra ...string) (string, error) {
		args := append([]string{"--kubeconfig", cp.Kubeconfig, "sync", "--once", "--repo", g.CloneURL(),
			"--cluster-name", "prod", "--state-file", stateFile}, extra...)
		var stdout, stderr bytes.Buffer
		cmd := newRootCommand(&stdout, &stderr)
		cmd.SetArgs(args)
		err := cmd.Execute()
		if strings.Contains(stdout.String()+stderr.String(), g.Token) {
			t.Fatal("the forge token is in latch's output")
		}
		if err != nil {
			return stdout.String() + stderr.String(), err
		}
		return stdout.String(), nil
	}
	reviewArgs := []string{"--review", "suspicious", "--forge", "gitea", "--forge-url", g.URL}

	// Latch has latched api before (10 → 25, no review): its next latch is
	// not a first latch.
	if out, err := sync("--review", "never"); err != nil || !strings.Contains(out, "10 → 25") {
		t.Fatalf("first sync: %v\n%s", err, out)
	}

	// web jumps 10×, api moves as usual.
	scale(t, client, "web", 400)
	scale(t, client, "api", 60)
	mainBefore := repo.head(g.Branch)
	out, err := sync(reviewArgs...)
	if err != nil {
		t.Fatalf("review sync: %v\n%s", err, out)
	}
	t.Logf("latch sync --once %s:\n%s", strings.Join(reviewArgs, " "), out)
	prs := repo.pulls()
	if len(prs) != 1 || prs[0].State != "open" || prs[0].Head.Ref != webBranch {
		t.Fatalf("want exactly one open PR from %s, got %+v", webBranch, prs)
	}
	pr := prs[0]
	for _, want := range []string{"40 → 400", "jumps 10×", "apps/web.yaml", "<!-- latch-review "} {
		if !strings.Contains(pr.Body, want) {
			t.Errorf("PR body lacks %q:\n%s", want, pr.Body)
		}
	}
	if !strings.Contains(out, fmt.Sprintf("opened PR #%d for Deployment shop/web replicas 40 → 400 (jump, first-latch)", pr.Number)) {
		t.Errorf("output does not name the PR:\n%s", out)
	}
	// The base branch got the ordinary latch only.
	mainAfter := repo.head(g.Branch)
	if mainAfter == mainBefore {
		t.Fatalf("the ordinary latch was not pushed:\n%s", out)
	}
	// The test's clone has not seen latch's commit yet: fetch it first.
	git(t, repo.dir, "fetch", "--quiet", "origin", "+refs/heads/"+g.Branch+":refs/test/"+g.Branch)
	if parent := git(t, repo.dir, "log", "-1", "--format=%P", mainAfter); parent != mainBefore {
		t.Fatalf("main moved by more than one commit: %s's parent is %s, want %s", mainAfter, parent, mainBefore)
	}
	if web := repo.show(g.Branch, "apps/web.yaml"); !strings.Contains(web, "replicas: 40 # latched") {
		t.Errorf("main's web.yaml changed:\n%s", web)
	}
	if api := repo.show(g.Branch, "apps/api.yaml"); !strings.Contains(api, "replicas: 63 # latched") {
		t.Errorf("main's api.yaml does not hold the ordinary latch 63:\n%s", api)
	}
	if web := repo.show(webBranch, "apps/web.yaml"); !strings.Contains(web, "replicas: 400 # latched") {
		t.Errorf("the PR branch does not propose 400:\n%s", web)
	}
	if n := repo.commitsAhead(webBranch); n != "1" {
		t.Errorf("the PR branch is %s commits ahead of main, want 1", n)
	}

	// A second run changes nothing: no commit, no PR update.
	branchHead := repo.head(webBranch)
	out, err = sync(reviewArgs...)
	if err != nil {
		t.Fatalf("second review sync: %v\n%s", err, out)
	}
	t.Logf("second run:\n%s", out)
	if repo.head(g.Branch) != mainAfter || repo.head(webBranch) != branchHead {
		t.Fatalf("the second run pushed:\n%s", out)
	}
	again := repo.pulls()
	if len(again) != 1 || again[0].UpdatedAt != pr.UpdatedAt || again[0].Body != pr.Body || again[0].Title != pr.Title {
		t.Fatalf("the second run changed the PR: before %+v, after %+v", pr, again)
	}
	if !strings.Contains(out, "nothing to latch") || strings.Contains(out, "opened PR") || strings.Contains(out, "updated PR") {
		t.Errorf("second run output:\n%s", out)
	}

	// latch status shows the open PR, in text and JSON.
	var stdout, stderr bytes.Buffer
	cmd := newRootCommand(&stdout, &stderr)
	cmd.SetArgs(append([]string{"--kubeconfig", cp.Kubeconfig, "status", "--repo", g.CloneURL(), "--cluster-name", "prod"}, reviewArgs...))
	if err := cmd.Execute(); err != nil {
		t.Fatalf("status: %v\n%s", err, stderr.String())
	}
	t.Logf("latch status:\n%s", stdout.String())
	if !strings.Contains(stdout.String(), fmt.Sprintf("#%d", pr.Number)) {
		t.Errorf("status does not show PR #%d:\n%s", pr.Number, stdout.String())
	}
	stdout.Reset()
	cmd = newRootCommand(&stdout, &stderr)
	cmd.SetArgs(append([]string{"--kubeconfig", cp.Kubeconfig, "status", "-o", "json", "--repo", g.CloneURL(), "--cluster-name", "prod"}, reviewArgs...))
	if err := cmd.Execute(); err != nil {
		t.Fatalf("status -o json: %v\n%s", err, stderr.String())
	}
	if !strings.Contains(stdout.String(), fmt.Sprintf(`"number": %d`, pr.Number)) {
		t.Errorf("status -o json does not show PR #%d:\n%s", pr.Number, stdout.String())
	}
}

// TestRunReviewStoryOnGitea: the real `latch run` binary against the API
// server and Gitea: a 10× jump opens one PR, a further change updates the
// same PR (same number, still one latch commit on its branch), the value
// coming back closes it; Events and metrics say so.
func TestRunReviewStoryOnGitea(t *testing.T) {
	bin := buildLatch(t)
	cp := testenv.StartControlPlane(t)
	g := testenv.Gitea(t)
	repo := newForgeRepo(t, g, map[string]string{"latch.yaml": runPolicy, "apps/web.yaml": reviewManifest("web", 40)})
	client := kubernetes.NewForConfigOrDie(cp.Config)
	createWorkloads(t, client, []liveWorkload{{name: "web", replicas: 40, min: 1, max: 1000}})
	// The HPA reports load that explains 400 (the HPA's rule: 400 × 70/70),
	// before latch starts: its first pass observes the jump, and the PR's
	// series holds 400 alone (startLatchOnFreeAddrs waits until latch
	// listens, by when a pass may have seen 40).
	setHPALoad(t, client, "web", 400, 70, 70)
	scale(t, client, "web", 400)
	p, addrs := startLatchOnFreeAddrs(t, bin, &testenv.GitRemote{Username: g.Username, Password: g.Password}, 1, func(a []string) []string {
		return []string{"--kubeconfig", cp.Kubeconfig, "run",
			"--repo", g.CloneURL(), "--cluster-name", "prod", "--batch-window", "1s", "--resync", "2s",
			"--review", "suspicious", "--forge", "gitea", "--forge-url", g.URL,
			"--metrics-bind-address", a[0], "--health-probe-bind-address", "0"}
	})
	metricsAddr := addrs[0]
	mainBefore := repo.head(g.Branch)

	var pr giteaPR
	waitFor(t, "one open PR", p, func() bool {
		open := repo.open()
		if len(open) == 1 {
			pr = open[0]
		}
		return len(open) == 1
	})
	if pr.Head.Ref != webBranch || !strings.Contains(pr.Body, "40 → 400") {
		t.Fatalf("PR %+v", pr)
	}
	// The body explains itself from what latch run gathered: the series its
	// passes observed since the last latch, the HPA's metric and a link to
	// the file on the PR branch.
	fileURL := fmt.Sprintf("%s/%s/%s/src/branch/%s/apps/web.yaml", strings.TrimSuffix(g.URL, "/"), g.Owner, g.Repo, webBranch)
	for _, want := range []string{"| observed since the last latch | min 400 / max 400 / last 400",
		"| HPA metric cpu utilization % | 70 (target 70) |", "| file | [apps/web.yaml](" + fileURL + ") |",
		"(set by horizontal-pod-autoscaler)"} {
		if !strings.Contains(pr.Body, want) {
			t.Errorf("PR body lacks %q:\n%s", want, pr.Body)
		}
	}
	// The link is a page Gitea serves: the file on the PR branch.
	if code, page := getAs(t, fileURL, g.Username, g.Password); code != http.StatusOK || !strings.Contains(page, "latched") {
		t.Errorf("GET %s: HTTP %d, want the file's page", fileURL, code)
	}

	scale(t, client, "web", 630)
	waitFor(t, "the PR proposing 630", p, func() bool {
		open := repo.open()
		if len(open) != 1 {
			return false
		}
		m, err := review.ParseMarker(open[0].Body)
		return err == nil && m.To == 630
	})
	if open := repo.open(); len(open) != 1 || open[0].Number != pr.Number {
		t.Fatalf("the update opened another PR: %+v (first #%d)", open, pr.Number)
	}
	if n := repo.commitsAhead(webBranch); n != "1" {
		t.Errorf("the PR branch is %s commits ahead of main, want 1", n)
	}
	// The series goes on across passes: 400, then 630.
	if open := repo.open(); !strings.Contains(open[0].Body, "| observed since the last latch | min 400 / max 630 / last 630") {
		t.Errorf("the updated body does not carry the series on:\n%s", open[0].Body)
	}

	scale(t, client, "web", 40)
	waitFor(t, "latch closing the PR", p, func() bool { return len(repo.open()) == 0 })
	var closed giteaPR
	for _, x := range repo.pulls() {
		if x.Number == pr.Number {
			closed = x
		}
	}
	if m, err := review.ParseMarker(closed.Body); err != nil || !m.ClosedByLatch || closed.Merged {
		t.Fatalf("PR #%d after the value came back: merged %v marker %+v %v", pr.Number, closed.Merged, m, err)
	}
	if len(repo.pulls()) != 1 {
		t.Fatalf("more than one PR was opened: %+v", repo.pulls())
	}
	if repo.head(g.Branch) != mainBefore {
		t.Errorf("main moved during the review story")
	}

	var body string
	waitFor(t, "the PR metrics", p, func() bool {
		_, body = httpGet(metricsAddr, "/metrics")
		return metricValue(body, `latch_review_prs_total{action="opened"}`) == 1 &&
			metricValue(body, `latch_review_prs_total{action="updated"}`) >= 1 &&
			metricValue(body, `latch_review_prs_total{action="closed"}`) == 1
	})
	notes := map[string]bool{}
	waitFor(t, "the review Events", p, func() bool {
		events, err := client.EventsV1().Events("shop").List(context.Background(), metav1.ListOptions{})
		if err != nil {
			return false
		}
		for _, e := range events.Items {
			notes[e.Reason+": "+e.Note] = true
		}
		return hasPrefix(notes, fmt.Sprintf("ReviewOpened: opened PR #%d", pr.Number)) &&
			hasPrefix(notes, fmt.Sprintf("ReviewUpdated: updated PR #%d", pr.Number)) &&
			hasPrefix(notes, fmt.Sprintf("ReviewClosed: closed PR #%d", pr.Number))
	})
	if strings.Contains(p.output.String(), g.Token) {
		t.Fatal("the forge token is in latch's log")
	}
}

func hasPrefix(set map[string]bool, prefix string) bool {
	for s := range set {
		if strings.HasPrefix(s, prefix) {
			return true
		}
	}
	return false
}

// setHPALoad gives name's HPA one CPU utilization target and the status the
// HPA controller would write (no controller-manager runs on this fixture).
func setHPALoad(t *testing.T, client kubernetes.Interface, name string, replicas, current, target int32) {
	t.Helper()
	ctx := context.Background()
	hpas := client.AutoscalingV2().HorizontalPodAutoscalers("shop")
	h, err := hpas.Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	h.Spec.Metrics = []autoscalingv2.MetricSpec{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
		Name: "cpu", Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: &target}}}}
	if h, err = hpas.Update(ctx, h, metav1.UpdateOptions{FieldManager: "flux"}); err != nil {
		t.Fatal(err)
	}
	h.Status = autoscalingv2.HorizontalPodAutoscalerStatus{CurrentReplicas: replicas, DesiredReplicas: replicas,
		CurrentMetrics: []autoscalingv2.MetricStatus{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricStatus{
			Name: "cpu", Current: autoscalingv2.MetricValueStatus{AverageUtilization: &current}}}}}
	if _, err := hpas.UpdateStatus(ctx, h, metav1.UpdateOptions{FieldManager: "horizontal-pod-autoscaler"}); err != nil {
		t.Fatal(err)
	}
}

// getAs GETs url with basic auth, returning the status and body.
func getAs(t *testing.T, url, user, password string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(testenv.Context(t), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(user, password)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}
