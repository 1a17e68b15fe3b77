package gitrepo

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/latch-gitops/latch/internal/objectid"

	"github.com/latch-gitops/latch/internal/evidence"
)

const (
	benchFiles  = 10000
	benchEdited = 1000
)

// benchRemote makes a bare repository holding benchFiles small manifests on
// main, once per benchmark.
func benchRemote(b *testing.B) string {
	b.Helper()
	root := b.TempDir()
	seed := filepath.Join(root, "seed")
	for i := 0; i < benchFiles; i++ {
		path := filepath.Join(seed, "apps", fmt.Sprintf("team-%02d", i%50), fmt.Sprintf("app-%05d.yaml", i))
		writeFile(b, path, fmt.Sprintf("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app-%05d\nspec:\n  replicas: 3\n", i))
	}
	testGit(b, seed, "init", "--quiet", "--initial-branch=main")
	testGit(b, seed, "add", "--all")
	testGit(b, seed, "-c", "user.name=seed", "-c", "user.email=seed@example.com", "commit", "--quiet", "-m", "seed")
	bare := filepath.Join(root, "remote.git")
	// --no-local: objects arrive packed, as from any real remote.
	testGit(b, root, "clone", "--quiet", "--bare", "--no-local", seed, bare)
	return bare
}

// editFiles rewrites benchEdited of the files in dir with a new replica
// count and returns the changes.
func editFiles(b *testing.B, dir string, value int) []evidence.Change {
	b.Helper()
	changes := make([]evidence.Change, 0, benchEdited)
	for i := 0; i < benchFiles; i += benchFiles / benchEdited {
		rel := fmt.Sprintf("apps/team-%02d/app-%05d.yaml", i%50, i)
		writeFile(b, filepath.Join(dir, rel), fmt.Sprintf("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app-%05d\nspec:\n  replicas: %d\n", i, value))
		changes = append(changes, evidence.Change{Object: objectid.Ref{Kind: "Deployment", Namespace: "team", Name: fmt.Sprintf("app-%05d", i)}, Field: "spec.replicas", File: rel, From: 3, To: int64(value), Observed: int64(value)})
	}
	return changes
}

// flushWrites writes the edited files out to disk before the clock starts:
// on a busy VM the kernel's writeback of 1,000 fresh files otherwise lands in
// whichever git command fsyncs first, and the benchmark measures the disk.
func flushWrites() { syscall.Sync() }

// BenchmarkCommit1000Files commits 1,000 edited files of a 10,000-file
// repository: through latch's commit step (git add --all, list the staged
// files, render the message, commit), through plain `git add -A && git
// commit`, and through a whole CommitAndPush to a local bare remote (fetch,
// reset, edit, commit, push). The ratio latch/cli is what matters.
func BenchmarkCommit1000Files(b *testing.B) {
	bare := benchRemote(b)
	ctx := context.Background()
	// Each run (the framework calls a sub-benchmark more than once) writes
	// values never written before, so every commit has 1,000 changes.
	value := 10

	b.Run("latch", func(b *testing.B) {
		r, err := Clone(ctx, bare, "main", filepath.Join(b.TempDir(), "latch"), Auth{})
		if err != nil {
			b.Fatal(err)
		}
		defer r.Close()
		b.ResetTimer() // the clone is setup, not the measure
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			value++
			changes := editFiles(b, r.Dir(), value)
			flushWrites()
			b.StartTimer()
			if err := r.stageAll(ctx); err != nil {
				b.Fatal(err)
			}
			files, err := r.stagedFiles(ctx)
			if err != nil || len(files) != benchEdited {
				b.Fatalf("%d staged files, %v", len(files), err)
			}
			msg, err := evidence.CommitMessage(nil, changes, "bench")
			if err != nil {
				b.Fatal(err)
			}
			if _, err := r.commit(ctx, msg, Identity{}, Identity{}); err != nil {
				b.Fatal(err)
			}
		}
	})

	b.Run("cli", func(b *testing.B) {
		dir := filepath.Join(b.TempDir(), "cli")
		testGit(b, "", "clone", "--quiet", bare, dir)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			value++
			editFiles(b, dir, value)
			flushWrites()
			b.StartTimer()
			cmd := exec.Command("sh", "-c", "git add -A && git -c user.name=cli -c user.email=cli@example.com commit --quiet -m edit")
			cmd.Dir = dir
			cmd.Env = append(baseEnv(), "GIT_CONFIG_COUNT=0")
			if out, err := cmd.CombinedOutput(); err != nil {
				b.Fatalf("%v: %s", err, out)
			}
		}
	})

	b.Run("commit-and-push", func(b *testing.B) {
		r, err := Clone(ctx, bare, "main", filepath.Join(b.TempDir(), "latch"), Auth{})
		if err != nil {
			b.Fatal(err)
		}
		defer r.Close()
		b.ResetTimer() // the clone is setup, not the measure
		for i := 0; i < b.N; i++ {
			value++
			value := value
			res, err := r.CommitAndPush(ctx, PushOptions{}, func(_ context.Context, ws Workspace) ([]evidence.Change, error) {
				return editFiles(b, ws.Dir, value), nil
			})
			if err != nil || !res.Pushed || len(res.Files) != benchEdited {
				b.Fatalf("%+v %v", res.Attempts, err)
			}
		}
	})
}
