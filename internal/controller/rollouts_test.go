package controller

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/latch-gitops/latch/internal/cluster"
	"github.com/latch-gitops/latch/internal/gitrepo"
	"github.com/latch-gitops/latch/internal/objectid"
	"github.com/latch-gitops/latch/internal/rollout"
	"github.com/latch-gitops/latch/internal/rolloutrecord"
	"github.com/latch-gitops/latch/internal/state"
	"github.com/latch-gitops/latch/internal/testenv"
)

// TestFollowerRecordsMilestones drives the follower through a rollout on
// a real git remote (no cluster: the observations are given): one commit
// when it starts and one per milestone, none between, the record naming
// the commit that declared the new template and the last good one.
func TestFollowerRecordsMilestones(t *testing.T) {
	remote := testenv.NewGitRemote(t)
	human := remote.Human(t)
	human.WriteFile("apps/web.yaml", webManifest)
	human.Commit("seed: web at 1")
	human.Push()
	good := remote.Head(t, "main")
	human.WriteFile("apps/web.yaml", strings.Replace(webManifest, "example.com/web:1", "example.com/web:2", 1))
	human.WriteFile("README.md", "an unrelated file changes too\n")
	declared := human.Commit("web: image 2")
	human.Push()
	human.WriteFile("README.md", "later, nothing to do with web\n")
	human.Commit("docs")
	human.Push()

	ctx := testenv.Context(t)
	repo, closeRepo, err := OpenRepo(ctx, RepoOptions{Repo: remote.AuthURL(), Branch: "main", WorkDir: t.TempDir() + "/clone"})
	if err != nil {
		t.Fatal(err)
	}
	defer closeRepo()
	ref := objectid.Ref{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "shop", Name: "web"}
	var snap rollout.Snapshot
	l := &Latcher{Repo: repo, Cluster: "test", States: state.NewMemory(),
		Push: gitrepo.PushOptions{Backoff: time.Millisecond},
		Rollouts: func(context.Context, time.Time) ([]cluster.Rollout, error) {
			return []cluster.Rollout{{Ref: ref, Snapshot: snap, NewImages: map[string]string{"web": "example.com/web:2"},
				OldImages: map[string]string{"web": "example.com/web:1"}, OldRevision: "old1"}}, nil
		}}
	at := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	pass := func(available, old int32) gitrepo.Result {
		t.Helper()
		at = at.Add(time.Minute)
		snap = rollout.Snapshot{Kind: rollout.KindDeployment, Desired: 10, Revision: "new2", NewReplicas: min(10, available+1),
			NewReady: available, NewAvailable: available, OldReplicas: old, At: at,
			Progressing: &rollout.Condition{Status: "True", Reason: "ReplicaSetUpdated"}}
		out, err := l.Sync(ctx, nil, at, false)
		if err != nil {
			t.Fatal(err)
		}
		return out.Result
	}
	var commits []string
	for _, step := range []struct {
		available, old int32
		commit         bool
	}{
		{0, 10, true}, // started
		{1, 9, false},
		{2, 8, false},
		{3, 7, true}, // 30 %: milestone 25
		{4, 6, false},
		{6, 4, true}, // 60 %: 50
		{9, 1, true}, // 90 %: 75
		{9, 1, false},
		{10, 0, true}, // complete
		{10, 0, false},
	} {
		res := pass(step.available, step.old)
		if (res.Commit != "") != step.commit {
			t.Fatalf("at %d/10 available: commit %q, want a commit %v", step.available, res.Commit, step.commit)
		}
		if res.Commit != "" {
			commits = append(commits, res.Commit)
			if len(res.Changes) != 1 || res.Changes[0].Field != RolloutField || res.Changes[0].File != ".latch/rollouts/shop/deployment-web.md" {
				t.Fatalf("changes %+v, want one rollout record change", res.Changes)
			}
		}
	}
	if len(commits) != 5 {
		t.Fatalf("%d commits for one rollout, want 5 (start, 25, 50, 75, complete)", len(commits))
	}
	// The record as git has it.
	dir := t.TempDir()
	if err := repo.ExportTree(ctx, remote.Head(t, "main"), dir); err != nil {
		t.Fatal(err)
	}
	set, errs, err := rolloutrecord.Load(dir)
	if err != nil || len(errs) > 0 {
		t.Fatal(err, errs)
	}
	rec := set.Get(ref)
	if rec == nil || !rec.Complete || rec.Milestone != 100 || rec.Health != rollout.Healthy ||
		rec.Current.Commit != declared || rec.LastGood.Commit != good ||
		rec.Current.Images["web"] != "example.com/web:2" || rec.LastGood.Images["web"] != "example.com/web:1" || rec.LastGood.Revision != "old1" {
		t.Fatalf("record %+v; want complete at 100, declared by %s, last good %s", rec, declared, good)
	}
	// Evidence trailers on each commit.
	history, err := repo.History(ctx, 0)
	if err != nil || len(history) != 5 {
		t.Fatalf("%d latch commits in history (%v), want 5", len(history), err)
	}
	if c := history[0].Changes; len(c) != 1 || c[0].Field != RolloutField || c[0].From != 75 || c[0].To != 100 || c[0].Observed != 100 {
		t.Fatalf("newest commit's trailers %+v", c)
	}
}

// TestFollowerRecordsAFailureOnce: a failing rollout writes its start and
// its failure, and nothing after, however long it stays failed.
func TestFollowerRecordsAFailureOnce(t *testing.T) {
	remote := testenv.NewGitRemote(t)
	human := remote.Human(t)
	human.WriteFile("apps/web.yaml", webManifest)
	human.Commit("seed")
	human.Push()
	human.WriteFile("apps/web.yaml", strings.Replace(webManifest, "example.com/web:1", "example.com/web:bad", 1))
	human.Commit("web: bad image")
	human.Push()
	ctx := testenv.Context(t)
	repo, closeRepo, err := OpenRepo(ctx, RepoOptions{Repo: remote.AuthURL(), Branch: "main", WorkDir: t.TempDir() + "/clone"})
	if err != nil {
		t.Fatal(err)
	}
	defer closeRepo()
	ref := objectid.Ref{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "shop", Name: "web"}
	var snap rollout.Snapshot
	l := &Latcher{Repo: repo, States: state.NewMemory(), Push: gitrepo.PushOptions{Backoff: time.Millisecond},
		Rollouts: func(context.Context, time.Time) ([]cluster.Rollout, error) {
			return []cluster.Rollout{{Ref: ref, Snapshot: snap}}, nil
		}}
	at := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	var n int
	for i, deadline := range []bool{false, true, true, true} {
		at = at.Add(time.Minute)
		snap = rollout.Snapshot{Kind: rollout.KindDeployment, Desired: 4, Revision: "bad1", NewReplicas: 1, OldReplicas: 4, At: at,
			Progressing: &rollout.Condition{Status: "True", Reason: "ReplicaSetUpdated"}}
		if deadline {
			snap.Progressing = &rollout.Condition{Status: "False", Reason: rollout.ReasonProgressDeadlineExceeded, Message: "timed out"}
		}
		out, err := l.Sync(ctx, nil, at, false)
		if err != nil {
			t.Fatal(err)
		}
		if out.Result.Commit != "" {
			n++
		}
		if i == 1 && (out.Result.Commit == "" || !strings.Contains(out.Result.Changes[0].Reason, "failed at 0 %")) {
			t.Fatalf("pass %d: %+v, want the failure recorded", i, out.Result)
		}
	}
	if n != 2 {
		t.Fatalf("%d commits, want 2 (started, failed)", n)
	}
}
