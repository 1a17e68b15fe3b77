package controller

import (
	"context"
	"os"
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
	"github.com/latch-gitops/latch/internal/rollout"
	"github.com/latch-gitops/latch/internal/rolloutrecord"
	"github.com/latch-gitops/latch/internal/state"
	"github.com/latch-gitops/latch/internal/testenv"
)

const alwaysPolicy = `apiVersion: latch.dev/v1alpha1
kind: LatchPolicy
spec:
  rules:
    - name: shop
      match: {namespaces: [shop]}
      review: always
      fields: {spec.replicas: latch}
`

// TestRecordsUnderReviewAlwaysOnGitea: latch.yaml sends shop to review
// mode always, the mode of a base branch that takes changes only through
// PRs. The follower's records of web's rollout then go to one PR on web's
// rollout branch, kept current (same PR, base + one commit) as the
// milestone moves, stepped from the record the PR holds (so the rollout's
// completion is recorded though main never got its start); main never
// moves.
func TestRecordsUnderReviewAlwaysOnGitea(t *testing.T) {
	g := testenv.Gitea(t)
	ctx := testenv.Context(t)
	seed := t.TempDir()
	runGit(t, seed, "clone", "--quiet", g.AuthCloneURL(), ".")
	write := func(path, content string) {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(seed, path)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(seed, path), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("latch.yaml", alwaysPolicy)
	write("apps/web.yaml", webManifest)
	runGit(t, seed, "add", "-A")
	runGit(t, seed, "commit", "--quiet", "-m", "seed: web at 1")
	good := runGit(t, seed, "rev-parse", "HEAD")
	write("apps/web.yaml", strings.Replace(webManifest, "example.com/web:1", "example.com/web:2", 1))
	runGit(t, seed, "commit", "--quiet", "-am", "web: image 2")
	declared := runGit(t, seed, "rev-parse", "HEAD")
	runGit(t, seed, "push", "--quiet", "origin", "HEAD:refs/heads/"+g.Branch)
	mainHead := func() string {
		out := runGit(t, seed, "ls-remote", "origin", "refs/heads/"+g.Branch)
		sha, _, _ := strings.Cut(out, "\t")
		return sha
	}
	before := mainHead()

	repo, fc := forgetest.Latch(t, g)
	ref := objectid.Ref{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "shop", Name: "web"}
	var snap rollout.Snapshot
	l := &Latcher{Repo: repo, Cluster: "test", States: state.NewMemory(), Push: gitrepo.PushOptions{Backoff: time.Millisecond},
		Review: &ReviewOptions{Mode: review.Never, Forge: fc},
		Rollouts: func(context.Context, time.Time) ([]cluster.Rollout, error) {
			return []cluster.Rollout{{Ref: ref, Snapshot: snap, NewImages: map[string]string{"web": "example.com/web:2"},
				OldImages: map[string]string{"web": "example.com/web:1"}, OldRevision: "old1"}}, nil
		}}
	branch := review.RolloutBranch("test", ref)
	at := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	pr := 0
	for _, step := range []struct {
		available, old int32
		action         review.Action
	}{
		{0, 10, review.Open},  // started
		{1, 9, ""},            // below 25 %: the PR's record stands
		{3, 7, review.Update}, // milestone 25
		{3, 7, ""},
		{10, 0, review.Update}, // complete
		{10, 0, ""},
	} {
		at = at.Add(time.Minute)
		snap = rollout.Snapshot{Kind: rollout.KindDeployment, Desired: 10, Revision: "new2", NewReplicas: min(10, step.available+1),
			NewReady: step.available, NewAvailable: step.available, OldReplicas: step.old, At: at,
			Progressing: &rollout.Condition{Status: "True", Reason: "ReplicaSetUpdated"}}
		out, err := l.Sync(ctx, nil, at, false)
		if err != nil {
			t.Fatal(err)
		}
		if out.Result.Commit != "" || mainHead() != before {
			t.Fatalf("at %d/10: a record reached main (%s)", step.available, out.Result.Commit)
		}
		var got []ReviewOutcome
		for _, r := range out.Reviews {
			if r.Field == review.RecordField {
				got = append(got, r)
			}
		}
		if step.action == "" {
			if len(got) != 0 {
				t.Fatalf("at %d/10: %+v, want no record review", step.available, got)
			}
			continue
		}
		if len(got) != 1 || got[0].Action != step.action || got[0].Error != "" {
			t.Fatalf("at %d/10: %+v, want one %s", step.available, got, step.action)
		}
		if pr == 0 {
			pr = got[0].PR
		}
		if got[0].PR != pr {
			t.Fatalf("at %d/10: PR #%d, want the same #%d", step.available, got[0].PR, pr)
		}
		if step.available == 3 {
			// latch status shows the milestone the PR proposes (main
			// has no record), marked as in latch's PR.
			statuses, err := l.Status(ctx, []cluster.Workload{{Ref: ref, Replicas: 10}}, at)
			if err != nil {
				t.Fatal(err)
			}
			if len(statuses) != 1 || statuses[0].Rollout == nil || statuses[0].Rollout.Recorded == nil ||
				!statuses[0].Rollout.Recorded.InPR || statuses[0].Rollout.Recorded.Milestone != 25 {
				t.Fatalf("status at 3/10: %+v, want the PR's record at milestone 25", statuses)
			}
		}
	}
	open, err := fc.ListOpen(ctx, "latch")
	if err != nil || len(open) != 1 || open[0].Branch != branch {
		t.Fatalf("open PRs %+v (%v), want one from %s", open, err, branch)
	}
	h, err := repo.ReviewHeads(ctx, branch)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := repo.ExportTree(ctx, h.Head, dir); err != nil {
		t.Fatal(err)
	}
	set, _, err := rolloutrecord.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	rec := set.Get(ref)
	if rec == nil || !rec.Complete || rec.Milestone != 100 || rec.Current.Commit != declared || rec.LastGood.Commit != good {
		t.Fatalf("record on the PR branch %+v; want complete, declared by %s, last good %s", rec, declared, good)
	}
	runGit(t, seed, "fetch", "--quiet", "origin", branch)
	if n := runGit(t, seed, "rev-list", "--count", before+"..FETCH_HEAD"); n != "1" {
		t.Fatalf("the rollout branch is %s commits ahead of main, want 1", n)
	}

	// A person moves shop out of review mode always. The next pass takes
	// the PR's record (complete: nothing new to step) to main and closes
	// the PR as latch's own, so that a later merge of it cannot put an
	// older record over main's; the pass after changes nothing.
	write("latch.yaml", strings.Replace(alwaysPolicy, "review: always", "review: never", 1))
	runGit(t, seed, "commit", "--quiet", "-am", "shop: records straight to main")
	runGit(t, seed, "push", "--quiet", "origin", "HEAD:refs/heads/"+g.Branch)
	at = at.Add(time.Minute)
	out, err := l.Sync(ctx, nil, at, false)
	if err != nil {
		t.Fatal(err)
	}
	if out.Result.Commit == "" {
		t.Fatalf("the PR's record did not reach main: %+v", out.Result)
	}
	var closed []ReviewOutcome
	for _, r := range out.Reviews {
		if r.Field == review.RecordField {
			closed = append(closed, r)
		}
	}
	if len(closed) != 1 || closed[0].Action != review.Close || !closed[0].Closed || closed[0].PR != pr || closed[0].Error != "" {
		t.Fatalf("record reviews after the mode change: %+v, want PR #%d closed", closed, pr)
	}
	got, err := fc.Get(ctx, pr)
	if err != nil || got.State != forge.StateClosed {
		t.Fatalf("PR #%d after the mode change: %+v, %v; want closed", pr, got, err)
	}
	if m, err := review.ParseMarker(got.Body); err != nil || !m.ClosedByLatch {
		t.Fatalf("PR #%d marker %+v, %v; want closed by latch", pr, m, err)
	}
	runGit(t, seed, "pull", "--quiet", "--ff-only", "origin", g.Branch)
	set, _, err = rolloutrecord.Load(seed)
	if err != nil {
		t.Fatal(err)
	}
	if rec := set.Get(ref); rec == nil || !rec.Complete || rec.Current.Commit != declared || rec.LastGood.Commit != good {
		t.Fatalf("record on main after the mode change %+v; want the PR's: complete, declared by %s, last good %s", rec, declared, good)
	}
	head := mainHead()
	at = at.Add(time.Minute)
	out, err = l.Sync(ctx, nil, at, false)
	if err != nil {
		t.Fatal(err)
	}
	if out.Result.Commit != "" || mainHead() != head || len(out.Reviews) != 0 {
		t.Fatalf("the pass after the take-over acted: commit %q, reviews %+v", out.Result.Commit, out.Reviews)
	}
}
