package remotewatch

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestWatcher runs the watcher on a local bare repository: latch commits
// are read for their trailers, a person's commit without trailers is
// counted apart, and a rewound branch is reported as a rewrite.
func TestWatcher(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	bare, work := filepath.Join(dir, "repo.git"), filepath.Join(dir, "work")
	run := func(d string, args ...string) string {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = d
		cmd.Env = append(gitEnv(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %s: %v: %s", strings.Join(args, " "), err, out)
		}
		return strings.TrimSpace(string(out))
	}
	run(dir, "init", "--quiet", "--bare", "--initial-branch=main", bare)
	run(dir, "init", "--quiet", "--initial-branch=main", work)
	commit := func(msg string) string {
		t.Helper()
		if err := os.WriteFile(filepath.Join(work, "f"), []byte(msg), 0o644); err != nil {
			t.Fatal(err)
		}
		run(work, "add", "f")
		run(work, "commit", "--quiet", "-m", msg)
		return run(work, "rev-parse", "HEAD")
	}
	base := commit("seed")
	run(work, "push", "--quiet", bare, "HEAD:refs/heads/main")

	w := Start(ctx, bare, "main", base, time.Hour) // read by hand below
	commit("latch: a/web replicas 3 → 16\n\nLatch-Cluster: c1\nLatch-Object: a/web\nLatch-Kind: Deployment\nLatch-Field: spec.replicas\nLatch-Value: 3 -> 16")
	commit("people: a note")
	run(work, "push", "--quiet", bare, "HEAD:refs/heads/main")
	if err := w.read(ctx); err != nil {
		t.Fatal(err)
	}
	if latch, other := w.Counts(); latch != 1 || other != 1 {
		t.Errorf("counts = %d latch, %d other; want 1, 1", latch, other)
	}
	if s := w.Sightings("a/web"); len(s) != 1 || s[0].To != 16 {
		t.Errorf("sightings of a/web = %+v, want one at 16", s)
	}
	run(work, "reset", "--quiet", "--hard", base)
	commit("rewritten")
	run(work, "push", "--quiet", "--force", bare, "HEAD:refs/heads/main")
	if err := w.Stop(); err != nil {
		t.Fatal(err)
	}
	if r := w.Rewrites(); len(r) != 1 {
		t.Errorf("rewrites = %v, want one", r)
	}
	if ok, err := IsAncestor(ctx, bare, base, "refs/heads/main"); err != nil || !ok {
		t.Errorf("IsAncestor(base, main) = %v, %v; want true", ok, err)
	}
}
