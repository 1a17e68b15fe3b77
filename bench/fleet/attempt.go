package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/latch-gitops/latch/internal/evidence"
	"github.com/latch-gitops/latch/internal/gitrepo"
	"github.com/latch-gitops/latch/internal/objectid"
)

// attemptSamples is how many single attempts each side times.
const attemptSamples = 15

// attempts is one latch attempt against one bare git push on the quiet
// remote (nobody else pushing): gitrepo's CommitAndPush with an edit that
// rewrites one file (fetch, reset, edit, stage, commit, push: what each
// retry of a pass costs besides the pass's own reading) and, for git, a
// prepared commit's `git push`, and `git pull --rebase` + commit + push
// (what the bare clients do per refusal and commit).
type attempts struct {
	latch, push, pullPush []time.Duration
}

func measureAttempts(ctx context.Context, dir, url, authURL string, auth gitrepo.Auth) (attempts, error) {
	var a attempts
	repo, err := gitrepo.Clone(ctx, url, "main", filepath.Join(dir, "attempt-latch"), auth)
	if err != nil {
		return a, err
	}
	defer repo.Close()
	rel := "baseline/attempt-latch.txt"
	for i := 1; i <= attemptSamples; i++ {
		began := time.Now()
		res, err := repo.CommitAndPush(ctx, gitrepo.PushOptions{Cluster: "attempt"}, func(_ context.Context, ws gitrepo.Workspace) ([]evidence.Change, error) {
			path := filepath.Join(ws.Dir, filepath.FromSlash(rel))
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				return nil, err
			}
			if err := os.WriteFile(path, []byte(fmt.Sprintf("svc-0000 %d\n", i)), 0o644); err != nil {
				return nil, err
			}
			return []evidence.Change{{Object: objectid.Ref{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "attempt", Name: "svc-0000"},
				Field: "spec.replicas", File: rel, From: int64(i - 1), To: int64(i), Observed: int64(i)}}, nil
		})
		if err != nil {
			return a, err
		}
		if res.Attempts != 1 || !res.Pushed {
			return a, fmt.Errorf("latch attempt %d: %d attempts, pushed %v on a quiet remote", i, res.Attempts, res.Pushed)
		}
		a.latch = append(a.latch, time.Since(began))
	}

	c, err := cloneAs(ctx, filepath.Join(dir, "attempt-git"), authURL, "main", "git client", "git@example.com")
	if err != nil {
		return a, err
	}
	crel := "baseline/attempt-git.txt"
	commit := func(i int) error {
		if err := os.WriteFile(filepath.Join(c.dir, filepath.FromSlash(crel)), []byte(fmt.Sprintf("svc-0000 %d\n", i)), 0o644); err != nil {
			return err
		}
		if _, err := c.git(ctx, c.dir, "add", crel); err != nil {
			return err
		}
		_, err := c.git(ctx, c.dir, "commit", "--quiet", "--message", fmt.Sprintf("attempt %d", i))
		return err
	}
	if err := os.MkdirAll(filepath.Join(c.dir, "baseline"), 0o755); err != nil {
		return a, err
	}
	for i := 1; i <= 2*attemptSamples; i++ {
		pull := i%2 == 0
		began := time.Now()
		if pull {
			if _, err := c.git(ctx, c.dir, "pull", "--quiet", "--rebase", "origin", "main"); err != nil {
				return a, err
			}
		}
		if err := commit(i); err != nil {
			return a, err
		}
		if !pull {
			began = time.Now() // the commit is prepared: only the push is timed
		}
		if _, err := c.git(ctx, c.dir, "push", "--quiet", "origin", "HEAD:refs/heads/main"); err != nil {
			return a, err
		}
		if pull {
			a.pullPush = append(a.pullPush, time.Since(began))
		} else {
			a.push = append(a.push, time.Since(began))
		}
	}
	return a, nil
}
