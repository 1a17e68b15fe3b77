package forge

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/latch-gitops/latch/internal/testenv"
)

// pushBranch commits one file change on a new or existing branch of the
// Gitea repository with the git CLI, as a person (or latch) would.
func pushBranch(t *testing.T, g *testenv.GiteaServer, branch, content string) {
	t.Helper()
	dir := t.TempDir()
	git := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@test", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@test", "GIT_CONFIG_GLOBAL="+os.DevNull)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	git("clone", "--quiet", g.AuthCloneURL(), ".")
	if exec.Command("git", "-C", dir, "ls-remote", "--exit-code", "origin", branch).Run() == nil {
		git("checkout", "--quiet", "-B", branch, "origin/"+branch)
	} else {
		git("checkout", "--quiet", "-b", branch)
	}
	if err := os.WriteFile(filepath.Join(dir, "replicas.txt"), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	git("add", "replicas.txt")
	git("commit", "--quiet", "-m", "set "+content)
	git("push", "--quiet", "origin", "HEAD:refs/heads/"+branch)
}

func TestGiteaRealLifecycle(t *testing.T) {
	g := testenv.Gitea(t)
	ctx, cancel := context.WithCancel(context.Background())
	if d, ok := t.Deadline(); ok {
		ctx, cancel = context.WithDeadline(context.Background(), d.Add(-10*time.Second))
	}
	defer cancel()
	c, err := New(Config{Kind: Gitea, URL: g.URL, RemoteURL: g.CloneURL(), Token: g.Token})
	if err != nil {
		t.Fatal(err)
	}
	me, err := c.Me(ctx)
	if err != nil || me != g.Username {
		t.Fatalf("Me = %q, %v", me, err)
	}
	if pr, err := c.FindByBranch(ctx, g.Branch, branch); err != nil || pr != nil {
		t.Fatalf("FindByBranch before any PR = %+v, %v", pr, err)
	}
	pushBranch(t, g, branch, "400")
	n := NewPR{Branch: branch, Base: g.Branch, Title: "latch: web 40 → 400", Body: "first", Labels: []string{"latch"}}
	pr, created, err := c.CreateOrUpdate(ctx, n)
	if err != nil || !created || pr.State != StateOpen || pr.Author != g.Username || !hasLabel(pr.Labels, "latch") {
		t.Fatalf("create = %+v, %v, %v", pr, created, err)
	}
	first := pr.Number

	// A second create (a restart that lost the first answer) is Gitea's
	// 409: the same PR, updated.
	n.Body = "second"
	again, created, err := c.CreateOrUpdate(ctx, n)
	if err != nil || created || again.Number != first || again.Body != "second" {
		t.Fatalf("second create = %+v, created %v, %v", again, created, err)
	}

	before := c.Calls()
	found, err := c.FindByBranch(ctx, g.Branch, branch)
	if err != nil || found == nil || found.Number != first || found.Branch != branch || found.Head == "" {
		t.Fatalf("FindByBranch = %+v, %v", found, err)
	}
	body := "third"
	if _, err := c.Update(ctx, first, Edit{Body: &body}); err != nil {
		t.Fatal(err)
	}
	if got := c.Calls() - before; got != 2 {
		t.Fatalf("find + update took %d HTTP calls, want 2", got)
	}

	open, err := c.ListOpen(ctx, "latch")
	if err != nil || len(open) != 1 || open[0].Number != first {
		t.Fatalf("ListOpen = %+v, %v", open, err)
	}
	if err := c.Comment(ctx, first, "latch closes this: the value came back"); err != nil {
		t.Fatal(err)
	}
	closed, err := c.Update(ctx, first, Edit{Close: true})
	if err != nil || closed.State != StateClosed {
		t.Fatalf("close = %+v, %v", closed, err)
	}

	// A new cycle on the same branch: the newest PR is found, not the
	// closed one.
	pushBranch(t, g, branch, "500")
	pr2, created, err := c.CreateOrUpdate(ctx, NewPR{Branch: branch, Base: g.Branch, Title: "latch: web 40 → 500", Body: "cycle 2", Labels: []string{"latch"}})
	if err != nil || !created || pr2.Number == first {
		t.Fatalf("second cycle = %+v, %v, %v", pr2, created, err)
	}
	found, err = c.FindByBranch(ctx, g.Branch, branch)
	if err != nil || found.Number != pr2.Number || found.State != StateOpen {
		t.Fatalf("FindByBranch with two PRs on the branch = %+v, %v (want #%d open)", found, err, pr2.Number)
	}
	// Merged by a person.
	g.Merge(t, ctx, pr2.Number)
	got, err := c.Get(ctx, pr2.Number)
	if err != nil || got.State != StateMerged {
		t.Fatalf("after merge = %+v, %v", got, err)
	}
	found, err = c.FindByBranch(ctx, g.Branch, branch)
	if err != nil || found.Number != pr2.Number || found.State != StateMerged {
		t.Fatalf("FindByBranch after merge = %+v, %v", found, err)
	}

	// A wrong token is an *Error without the token in it.
	bad, err := New(Config{Kind: Gitea, URL: g.URL, RemoteURL: g.CloneURL(), Token: "not-the-token-0000"})
	if err == nil {
		_, err = bad.Me(ctx)
	}
	var fe *Error
	if err == nil || strings.Contains(err.Error(), "not-the-token-0000") || (errors.As(err, &fe) && fe.Retryable()) {
		t.Fatalf("bad token: %v", err)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
