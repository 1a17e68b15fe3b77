package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/latch-gitops/latch/internal/evidence"
	"github.com/latch-gitops/latch/internal/gitrepo"
	"github.com/latch-gitops/latch/internal/manifest"
)

// config is one benchmark run.
type config struct {
	files, edits, reps int
	// work is an empty folder for the repositories; the caller removes it.
	work string
	log  func(format string, args ...any)
}

// repTimes is one repetition of the three paths.
type repTimes struct {
	value int
	// latch: CommitAndPush wall time, and inside its edit function the
	// index, the lookups and ApplyEdits; git is the rest (fetch, reset,
	// stage, message, commit, push).
	latchTotal, latchIndex, latchLookup, latchEdit, latchGit time.Duration
	// sed: git pull, a script of one `sed -i` per file, git add/commit/push.
	sedTotal, sedPull, sedEdit, sedGit time.Duration
	// goloop: the same with a Go loop of regexp replacements instead of sed.
	goTotal, goPull, goEdit, goGit time.Duration
}

// result is what a run measured.
type result struct {
	files, workloads, edits int
	mix                     map[declaration]int
	commitFiles             int // files changed by each commit (every path, every repetition)
	reps                    []repTimes
}

// measure builds the repository, pushes it to three identical bare remotes
// (one per path, so no path fetches another's commits) and times the
// repetitions, rotating which path goes first. After each repetition the
// three remotes must hold the same tree: the baseline did exactly latch's
// edits.
func measure(ctx context.Context, cfg config) (result, error) {
	res := result{files: cfg.files, mix: map[declaration]int{}}
	seed := filepath.Join(cfg.work, "seed")
	cfg.log("generating %d files in %s", cfg.files, seed)
	workloads, err := genRepo(seed, cfg.files)
	if err != nil {
		return res, err
	}
	res.workloads = len(workloads)
	res.edits = min(cfg.edits, len(workloads))
	edited := workloads[:res.edits]
	for _, w := range edited {
		res.mix[w.decl]++
	}
	if err := git(ctx, seed, "init", "--quiet", "--initial-branch=main"); err != nil {
		return res, err
	}
	if err := git(ctx, seed, "add", "--all"); err != nil {
		return res, err
	}
	if err := git(ctx, seed, "-c", "user.name=seed", "-c", "user.email=seed@example.com", "commit", "--quiet", "-m", "seed"); err != nil {
		return res, err
	}
	remotes := map[string]string{}
	for _, path := range []string{"latch", "sed", "goloop"} {
		remotes[path] = filepath.Join(cfg.work, path+".git")
		// --no-local: objects arrive packed, as from any real remote.
		if err := git(ctx, cfg.work, "clone", "--quiet", "--bare", "--no-local", seed, remotes[path]); err != nil {
			return res, err
		}
	}
	repo, err := gitrepo.Clone(ctx, remotes["latch"], "main", filepath.Join(cfg.work, "latch"), gitrepo.Auth{})
	if err != nil {
		return res, err
	}
	defer repo.Close()
	clones := map[string]string{}
	for _, path := range []string{"sed", "goloop"} {
		clones[path] = filepath.Join(cfg.work, path)
		if err := git(ctx, cfg.work, "clone", "--quiet", remotes[path], clones[path]); err != nil {
			return res, err
		}
	}

	for rep := 0; rep < cfg.reps; rep++ {
		t := repTimes{value: 10 + rep} // never written before: every rep changes res.edits files
		script := sedScript(edited, t.value)
		runs := []func() error{
			func() error { return runLatch(ctx, repo, edited, &t) },
			func() error {
				return runBaseline(ctx, clones["sed"], &t.sedTotal, &t.sedPull, &t.sedEdit, &t.sedGit, t.value, func() error { return sh(ctx, clones["sed"], script) })
			},
			func() error {
				return runBaseline(ctx, clones["goloop"], &t.goTotal, &t.goPull, &t.goEdit, &t.goGit, t.value, func() error { return goLoop(clones["goloop"], edited, t.value) })
			},
		}
		for i := range runs {
			// Write back the previous path's files first, so no path pays
			// for another's dirty pages (see gitrepo's BenchmarkCommit1000Files).
			syscall.Sync()
			if err := runs[(i+rep)%len(runs)](); err != nil {
				return res, fmt.Errorf("repetition %d: %w", rep+1, err)
			}
		}
		changed, err := sameTrees(ctx, remotes)
		if err != nil {
			return res, fmt.Errorf("repetition %d: %w", rep+1, err)
		}
		if changed != res.edits {
			return res, fmt.Errorf("repetition %d: the commit changed %d files, want %d", rep+1, changed, res.edits)
		}
		res.commitFiles = changed
		res.reps = append(res.reps, t)
		cfg.log("rep %d/%d: latch %v (index %v, lookups %v, edit %v, git %v); sed %v; go loop %v", rep+1, cfg.reps,
			ms(t.latchTotal), ms(t.latchIndex), ms(t.latchLookup), ms(t.latchEdit), ms(t.latchGit), ms(t.sedTotal), ms(t.goTotal))
	}
	return res, nil
}

// runLatch is latch's path: CommitAndPush with an edit function that
// indexes the work tree, looks every workload up and applies the edits, as
// a latch pass does.
func runLatch(ctx context.Context, repo *gitrepo.Repo, edited []workload, t *repTimes) error {
	start := time.Now()
	pushed, err := repo.CommitAndPush(ctx, gitrepo.PushOptions{Cluster: "bench"}, func(_ context.Context, ws gitrepo.Workspace) ([]evidence.Change, error) {
		t0 := time.Now()
		idx, err := manifest.BuildIndex(ws.Dir, manifest.IndexOptions{})
		if err != nil {
			return nil, err
		}
		if len(idx.Problems) > 0 {
			return nil, fmt.Errorf("index of the generated repository has problems: %v", idx.Problems)
		}
		t1 := time.Now()
		edits := make([]manifest.Edit, 0, len(edited))
		changes := make([]evidence.Change, 0, len(edited))
		for _, w := range edited {
			loc, err := idx.Lookup(w.ref, manifest.DefaultField)
			if err != nil {
				return nil, err
			}
			if loc.File != w.file {
				return nil, fmt.Errorf("%s: index says %s, the generator wrote %s", w.ref, loc, w.file)
			}
			from, err := strconv.ParseInt(loc.Value, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("%s: %s: %w", w.ref, loc, err)
			}
			edits = append(edits, manifest.Edit{Loc: loc, NewValue: int64(t.value)})
			changes = append(changes, evidence.Change{Object: w.ref, Field: manifest.DefaultField,
				File: loc.File, From: from, To: int64(t.value), Observed: int64(t.value), Rule: "R5", ChangedBy: "horizontal-pod-autoscaler"})
		}
		t2 := time.Now()
		if _, err := manifest.ApplyEdits(ws.Dir, edits); err != nil {
			return nil, err
		}
		t.latchIndex, t.latchLookup, t.latchEdit = t1.Sub(t0), t2.Sub(t1), time.Since(t2)
		return changes, nil
	})
	t.latchTotal = time.Since(start)
	t.latchGit = t.latchTotal - t.latchIndex - t.latchLookup - t.latchEdit
	if err != nil {
		return fmt.Errorf("latch: %w", err)
	}
	if !pushed.Pushed || pushed.Attempts != 1 || len(pushed.Files) != len(edited) {
		return fmt.Errorf("latch: pushed %v after %d attempts, %d files (want %d)", pushed.Pushed, pushed.Attempts, len(pushed.Files), len(edited))
	}
	return nil
}

// runBaseline is what a person would script: bring the clone up to date,
// edit, then git add -A && git commit && git push.
func runBaseline(ctx context.Context, dir string, total, pull, edit, commit *time.Duration, value int, doEdit func() error) error {
	t0 := time.Now()
	if err := git(ctx, dir, "pull", "--quiet", "--ff-only"); err != nil {
		return err
	}
	t1 := time.Now()
	if err := doEdit(); err != nil {
		return err
	}
	t2 := time.Now()
	if err := sh(ctx, dir, fmt.Sprintf("git add -A && git -c user.name=script -c user.email=script@example.com commit --quiet -m 'scale: replicas to %d' && git push --quiet origin HEAD:main", value)); err != nil {
		return err
	}
	*pull, *edit, *commit, *total = t1.Sub(t0), t2.Sub(t1), time.Since(t2), time.Since(t0)
	return nil
}

// sedScript is one `sed -i -E` per edited file, the way the files were
// found (by the generator: a person would have a list).
func sedScript(edited []workload, value int) string {
	var b strings.Builder
	b.WriteString("set -e\n")
	for _, w := range edited {
		fmt.Fprintf(&b, "sed -i -E '%s' '%s'\n", strings.ReplaceAll(w.sed, "NEW", strconv.Itoa(value)), w.file)
	}
	return b.String()
}

// goLoop is the naive Go equivalent: read, regexp-replace, write each file.
func goLoop(dir string, edited []workload, value int) error {
	repl := []byte("${1}" + strconv.Itoa(value))
	for _, w := range edited {
		p := filepath.Join(dir, filepath.FromSlash(w.file))
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if err := os.WriteFile(p, w.match.ReplaceAll(data, repl), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// sameTrees checks the three remotes' main branches hold the same tree and
// returns how many files the newest commit changed.
func sameTrees(ctx context.Context, remotes map[string]string) (int, error) {
	trees := map[string]string{}
	for name, dir := range remotes {
		out, err := gitOut(ctx, dir, "rev-parse", "main^{tree}")
		if err != nil {
			return 0, err
		}
		trees[name] = strings.TrimSpace(out)
	}
	if trees["latch"] != trees["sed"] || trees["latch"] != trees["goloop"] {
		return 0, fmt.Errorf("the paths disagree: trees latch %s, sed %s, go loop %s", trees["latch"], trees["sed"], trees["goloop"])
	}
	out, err := gitOut(ctx, remotes["latch"], "diff", "--name-only", "main~1", "main")
	if err != nil {
		return 0, err
	}
	return len(strings.Fields(out)), nil
}

func gitEnv() []string {
	return append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null", "GIT_TERMINAL_PROMPT=0")
}

func git(ctx context.Context, dir string, args ...string) error {
	_, err := gitOut(ctx, dir, args...)
	return err
}

func gitOut(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir, cmd.Env = dir, gitEnv()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("git %s (in %s): %w: %s", strings.Join(args, " "), dir, err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

func sh(ctx context.Context, dir, script string) error {
	cmd := exec.CommandContext(ctx, "sh", "-c", script)
	cmd.Dir, cmd.Env = dir, gitEnv()
	out, err := cmd.CombinedOutput()
	if err != nil {
		first, _, _ := strings.Cut(script, "\n")
		return fmt.Errorf("sh script starting %q (in %s): %w: %s", first, dir, err, strings.TrimSpace(string(out)))
	}
	return nil
}

func ms(d time.Duration) time.Duration { return d.Round(time.Millisecond) }
