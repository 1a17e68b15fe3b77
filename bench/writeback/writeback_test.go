package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/latch-gitops/latch/bench/internal/benchdoc"
)

// TestWritebackHarness runs the whole benchmark on a tiny repository: every
// path must push the same tree (measure checks it after each repetition),
// and the section must land in the doc between its markers.
func TestWritebackHarness(t *testing.T) {
	if testing.Short() {
		t.Skip("pushes to local remotes")
	}
	res, err := measure(context.Background(), config{files: 60, edits: 10, reps: 2, work: t.TempDir(), log: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	if res.edits != 10 || res.commitFiles != 10 || len(res.reps) != 2 {
		t.Fatalf("edits %d, files per commit %d, reps %d; want 10, 10, 2", res.edits, res.commitFiles, len(res.reps))
	}
	if len(res.mix) != 3 {
		t.Errorf("edited workloads %v: want all three declaration styles in a tiny run too", res.mix)
	}
	for i, r := range res.reps {
		if r.latchIndex <= 0 || r.latchEdit <= 0 || r.latchGit <= 0 || r.sedEdit <= 0 || r.goEdit <= 0 || r.sedGit <= 0 {
			t.Errorf("rep %d has an unmeasured step: %+v", i+1, r)
		}
	}
	doc := filepath.Join(t.TempDir(), "benchmarks.md")
	if err := os.WriteFile(doc, []byte("# Benchmarks\n\n<!-- BEGIN simulate -->\nkept\n<!-- END simulate -->\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := benchdoc.RewriteSection(doc, section, render(res, "Machine: test.")); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(doc)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"kept\n<!-- END simulate -->", "<!-- BEGIN writeback -->", "latch / sed = **", "| 2 | 11 |", "<!-- END writeback -->\n"} {
		if !strings.Contains(string(got), want) {
			t.Errorf("doc lacks %q:\n%s", want, got)
		}
	}
}

// TestGenRepoCounts checks the generator writes exactly the files asked for
// (measure checks its bookkeeping against latch's index on every rep).
func TestGenRepoCounts(t *testing.T) {
	for _, files := range []int{20, 203, 1000} {
		dir := t.TempDir()
		ws, err := genRepo(dir, files)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		err = filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				n++
			}
			return err
		})
		if err != nil || n != files {
			t.Fatalf("genRepo(%d) wrote %d files (%v)", files, n, err)
		}
		if len(ws) == 0 {
			t.Fatalf("genRepo(%d): no workloads", files)
		}
	}
}
