package controller

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/latch-gitops/latch/internal/cluster"
	"github.com/latch-gitops/latch/internal/forge"
	"github.com/latch-gitops/latch/internal/forgetest"
	"github.com/latch-gitops/latch/internal/gitrepo"
	"github.com/latch-gitops/latch/internal/objectid"
	"github.com/latch-gitops/latch/internal/review"
	"github.com/latch-gitops/latch/internal/state"
	"github.com/latch-gitops/latch/internal/testenv"
)

// The review wiring of one pass (Latcher.Sync) against a real Gitea: the
// workloads are given as the cluster would list them.

const reviewPolicy = `apiVersion: latch.dev/v1alpha1
kind: LatchPolicy
spec:
  defaults:
    latch: {dwellUp: 0s, dwellDown: 1h, window: 0s}
    review: {firstLatch: false}
`

func deployment(name string, replicas int) string {
	return fmt.Sprintf("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: %s\n  namespace: shop\nspec:\n  replicas: %d\n", name, replicas)
}

func runGit(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=Person", "GIT_AUTHOR_EMAIL=p@test", "GIT_COMMITTER_NAME=Person", "GIT_COMMITTER_EMAIL=p@test", "GIT_CONFIG_GLOBAL="+os.DevNull)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// reviewWorld is where a review story runs: latch's clone of a remote, a
// forge client for it, and a way to read a file at a ref of the remote.
type reviewWorld struct {
	repo *gitrepo.Repo
	fc   *forge.Client
	show func(ref, path string) string
}

var reviewSeed = map[string]string{"latch.yaml": reviewPolicy, "apps/web.yaml": deployment("web", 40), "apps/api.yaml": deployment("api", 10)}

// TestSyncReviewOnGitea runs the story against a real Gitea.
func TestSyncReviewOnGitea(t *testing.T) {
	g := testenv.Gitea(t)
	seed := t.TempDir()
	runGit(t, seed, "clone", "--quiet", g.AuthCloneURL(), ".")
	for path, content := range reviewSeed {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(seed, path)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(seed, path), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	runGit(t, seed, "add", "-A")
	runGit(t, seed, "commit", "--quiet", "-m", "seed")
	runGit(t, seed, "push", "--quiet", "origin", "HEAD:refs/heads/"+g.Branch)
	repo, fc := forgetest.Latch(t, g)
	reviewStory(t, reviewWorld{repo: repo, fc: fc, show: func(ref, path string) string {
		runGit(t, seed, "fetch", "--quiet", "origin", "+refs/heads/"+ref+":refs/test/"+ref)
		return runGit(t, seed, "show", "refs/test/"+ref+":"+path)
	}})
}

// TestSyncReviewWiring runs the same story on a real git remote (git
// http-backend on loopback) with an in-memory forge (memForge), so the
// controller's wiring is checked where the gitea binary is missing; the
// forge adapters are tested against real Gitea (internal/forge and above).
func TestSyncReviewWiring(t *testing.T) {
	remote := testenv.NewGitRemote(t)
	human := remote.Human(t)
	for path, content := range reviewSeed {
		human.WriteFile(path, content)
	}
	human.Commit("seed")
	human.Push()
	// A forge lets latch rewrite its own unprotected PR branches.
	runGit(t, remote.BareDir, "config", "receive.denyNonFastForwards", "false")
	ctx := testenv.Context(t)
	repo, err := gitrepo.Clone(ctx, remote.URL, "main", filepath.Join(t.TempDir(), "clone"), gitrepo.Auth{Username: remote.Username, Password: remote.Password})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { repo.Close() })
	mem := &memForge{}
	reviewStory(t, reviewWorld{repo: repo, fc: forge.NewClient(mem, "", forge.Options{}), show: func(ref, path string) string {
		return runGit(t, remote.BareDir, "show", ref+":"+path)
	}})
	if prs, comments := mem.count(); prs != 1 || comments != 1 {
		t.Fatalf("forge saw %d PRs and %d comments, want 1 and 1 (the close)", prs, comments)
	}
}

func reviewStory(t *testing.T, w reviewWorld) {
	ctx := testenv.Context(t)
	repo, fc, show := w.repo, w.fc, w.show
	branch := repo.Branch()
	web := objectid.Ref{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "shop", Name: "web"}
	api := objectid.Ref{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "shop", Name: "api"}
	live := func(webReplicas, apiReplicas int64) []cluster.Workload {
		hpa := &cluster.HPA{Name: "x", MinReplicas: 1, MaxReplicas: 1000}
		return []cluster.Workload{{Ref: api, Replicas: apiReplicas, HPA: hpa}, {Ref: web, Replicas: webReplicas, HPA: hpa}}
	}
	states := state.NewMemory()
	l := &Latcher{Repo: repo, Cluster: "prod", States: states, Review: &ReviewOptions{Mode: review.Suspicious, ForgeProblem: "no token"}}
	sync := func(w []cluster.Workload) Outcome {
		t.Helper()
		out, err := l.Sync(ctx, w, time.Now(), false)
		if err != nil {
			t.Fatalf("Sync: %v", err)
		}
		return out
	}
	byName := func(out Outcome, name string) *ReviewOutcome {
		for i := range out.Reviews {
			if out.Reviews[i].Name == name {
				return &out.Reviews[i]
			}
		}
		return nil
	}

	// No forge: the 10× jump waits, reported; the ordinary latch is pushed.
	out := sync(live(400, 25))
	if len(out.Result.Changes) != 1 || out.Result.Changes[0].Object.Name != "api" || out.ReviewFailed != 1 {
		t.Fatalf("without a forge: changes %+v, failed %d, reviews %+v", out.Result.Changes, out.ReviewFailed, out.Reviews)
	}
	if r := byName(out, "web"); r == nil || !r.NeedsReview || !strings.Contains(r.Error, "no forge") || !strings.Contains(r.Error, "no token") {
		t.Fatalf("web without a forge: %+v", r)
	}
	if !strings.Contains(show(branch, "apps/web.yaml"), "replicas: 40") {
		t.Fatal("a latch needing review was pushed directly")
	}

	// With the forge: one PR for web, api pushed again directly.
	l.Review.Forge = fc
	out = sync(live(400, 60))
	r := byName(out, "web")
	if r == nil || !r.Created || r.PR == 0 || r.Action != review.Open || r.From != 40 || r.To != 400 {
		t.Fatalf("10× jump: %+v", out.Reviews)
	}
	first := r.PR
	if len(out.Result.Changes) != 1 || out.Result.Changes[0].Object.Name != "api" || out.ReviewFailed != 0 {
		t.Fatalf("ordinary latch: %+v, failed %d", out.Result.Changes, out.ReviewFailed)
	}
	if !strings.Contains(show(branch, "apps/web.yaml"), "replicas: 40") || !strings.Contains(show(review.Branch("prod", web), "apps/web.yaml"), "replicas: 400") {
		t.Fatal("main must keep 40, the PR branch propose 400")
	}

	// Nothing new: no commit, no forge write.
	out = sync(live(400, 60))
	if out.Result.Commit != "" {
		t.Fatalf("second pass committed %s", out.Result.Commit)
	}
	if r := byName(out, "web"); r == nil || r.Action != review.Nothing || r.Created || r.Updated || r.PR != first {
		t.Fatalf("second pass: %+v", r)
	}

	// latch status shows the open PR.
	statuses, err := l.Status(ctx, live(400, 60), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range statuses {
		if s.Name == "web" && (s.PR == nil || s.PR.Number != first || s.Review != "suspicious") {
			t.Fatalf("status of web: %+v", s)
		}
		if s.Name == "api" && s.PR != nil {
			t.Fatalf("status of api shows a PR: %+v", s.PR)
		}
	}

	// A further jump updates the same PR; the value coming back closes it.
	out = sync(live(630, 60))
	if r := byName(out, "web"); r == nil || !r.Updated || r.PR != first || r.Action != review.Update {
		t.Fatalf("further jump: %+v", r)
	}
	out = sync(live(40, 60))
	if r := byName(out, "web"); r == nil || !r.Closed || r.PR != first {
		t.Fatalf("value back: %+v", r)
	}
	pr, err := fc.Get(ctx, first)
	if err != nil || pr.State != forge.StateClosed {
		t.Fatalf("PR #%d: %+v %v", first, pr, err)
	}
	if open, _ := fc.ListOpen(ctx, "latch"); len(open) != 0 {
		t.Fatalf("open PRs left: %+v", open)
	}
}

// The decisions a review pass keeps no state for: a latch waiting for its
// PR keeps the stored state, so the next pass proposes the same value.
func TestPlanKeepsNoStateForReviewedLatches(t *testing.T) {
	dir := t.TempDir()
	for path, content := range map[string]string{"latch.yaml": reviewPolicy, "apps/web.yaml": deployment("web", 40)} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, path)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, path), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	web := objectid.Ref{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "shop", Name: "web"}
	hpa := &cluster.HPA{Name: "x", MinReplicas: 1, MaxReplicas: 1000}
	for _, tc := range []struct {
		mode             review.Mode
		observed         int64
		edited, reviewed bool
	}{
		{review.Never, 400, true, false},
		{review.Suspicious, 400, false, true},
		{review.Suspicious, 90, true, true},
		{review.Always, 90, false, true},
		{review.Always, 40, false, true},
	} {
		l := &Latcher{Cluster: "prod", States: state.NewMemory(), Review: &ReviewOptions{Mode: tc.mode}}
		p, err := l.plan(gitrepo.Workspace{Dir: dir, Head: "0000000"}, []cluster.Workload{{Ref: web, Replicas: tc.observed, HPA: hpa}}, time.Now(), false, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, kept := p.states[l.stateKey(web, ReplicasField)]
		wantKept := tc.edited || tc.observed == 40
		if kept != wantKept || (len(p.reviews) > 0) != tc.reviewed {
			t.Errorf("mode %s observed %d: state kept %v (want %v), reviews %d (want %v)", tc.mode, tc.observed, kept, wantKept, len(p.reviews), tc.reviewed)
		}
	}
}
