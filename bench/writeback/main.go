// Command writeback benchmarks latch's write-back against a person's
// script (issue 4, item 7): in a generated GitOps repository (plain
// manifests, Kustomize overlays, Helm values with $latch markers) it
// rewrites the replica counts of many Deployments and commits and pushes
// them to a bare remote on disk, by three paths in the same run:
//
//   - latch: gitrepo.CommitAndPush (fetch, reset, edit, commit, push) whose
//     edit function runs manifest.BuildIndex, one Lookup per workload and
//     manifest.ApplyEdits, as a latch pass does;
//   - sed (the baseline): git pull, one `sed -i -E` per file, then
//     git add -A && git commit && git push;
//   - go loop: the same with a Go loop of regexp replacements.
//
// Each repetition writes new values, rotates which path goes first, and
// checks the three remotes end with the same tree. It prints and writes the
// section between <!-- BEGIN writeback --> and <!-- END writeback --> of
// docs/benchmarks.md.
//
//	go run ./bench/writeback [-files 10000] [-edits 1000] [-reps 7] [-quick] [-doc docs/benchmarks.md]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/latch-gitops/latch/bench/internal/benchdoc"
	"github.com/latch-gitops/latch/bench/internal/benchmain"
	"github.com/latch-gitops/latch/internal/testenv"
)

const section = "writeback"

func main() {
	files := flag.Int("files", 10000, "files in the generated repository")
	edits := flag.Int("edits", 1000, "replica fields rewritten per commit")
	reps := flag.Int("reps", 7, "repetitions of each path")
	doc := benchmain.Parse(section, "smoke run: 1,000 files, 100 edits, 3 repetitions (overrides the sizes)", func() {
		*files, *edits, *reps = 1000, 100, 3
	})
	benchmain.Run(section, doc, func(ctx context.Context, _ *testenv.Session, machine string) (string, error) {
		return run(ctx, *files, *edits, *reps, machine)
	})
}

func run(ctx context.Context, files, edits, reps int, machine string) (string, error) {
	if files < 20 || edits < 1 || reps < 1 {
		return "", fmt.Errorf("need -files ≥ 20, -edits ≥ 1, -reps ≥ 1")
	}
	work, err := os.MkdirTemp("", "latch-bench-writeback-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(work)
	res, err := measure(ctx, config{files: files, edits: edits, reps: reps, work: work, log: benchmain.Logf})
	if err != nil {
		return "", err
	}
	return render(res, machine), nil
}

// render is the markdown section: medians with their spread, ratios of
// medians, and every repetition's raw numbers.
func render(res result, machine string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "A generated repository of %d files declaring %d Deployments (plain manifests with HPA, Service and ConfigMap files; Kustomize bases with prod and staging overlays; Helm charts whose values.yaml carries a `$latch` marker) is pushed to three identical bare remotes on local disk. "+
		"Each repetition rewrites %d replica fields (%s) to a value never written before and pushes one commit, by each path in turn (the first path rotates); afterwards the three remotes must hold the same tree, so every path did the same edits.\n\n",
		res.files, res.workloads, res.edits, mixText(res.mix))
	b.WriteString("- **latch**: `gitrepo.Repo.CommitAndPush` from latch's clone (fetch, reset to the remote head, edit, `git add`, message with 6 trailers per change, commit, push without force); its edit function runs `manifest.BuildIndex` over the whole checkout, one `Index.Lookup` per workload and `manifest.ApplyEdits` (which re-parses each edited file and fsyncs it before renaming it into place).\n")
	b.WriteString("- **sed** (baseline): in a `git clone`, `git pull --ff-only`, a script of one `sed -i -E 's/^(  replicas: )[0-9]+/\\1N/' FILE` per file (the file list known in advance: no search), then `git add -A && git commit && git push`.\n")
	b.WriteString("- **go loop** (baseline): the same with a Go loop reading each file, replacing with a regexp and writing it back (no fsync).\n\n")
	fmt.Fprintf(&b, "Median of %d repetitions (min–max), in ms:\n\n", len(res.reps))
	b.WriteString("| step | latch | sed | go loop |\n| --- | ---: | ---: | ---: |\n")
	col := func(get func(repTimes) time.Duration) benchdoc.Stats {
		xs := make([]float64, len(res.reps))
		for i, r := range res.reps {
			xs[i] = float64(get(r)) / float64(time.Millisecond)
		}
		return benchdoc.Summarise(xs)
	}
	cell := func(s benchdoc.Stats) string {
		return fmt.Sprintf("%s (%s–%s)", msText(s.Median), msText(s.Min), msText(s.Max))
	}
	latchTotal, sedTotal, goTotal := col(func(r repTimes) time.Duration { return r.latchTotal }), col(func(r repTimes) time.Duration { return r.sedTotal }), col(func(r repTimes) time.Duration { return r.goTotal })
	fmt.Fprintf(&b, "| index (`BuildIndex`, %d files) | %s | — | — |\n", res.files, cell(col(func(r repTimes) time.Duration { return r.latchIndex })))
	fmt.Fprintf(&b, "| %d lookups | %s | — | — |\n", res.edits, cell(col(func(r repTimes) time.Duration { return r.latchLookup })))
	fmt.Fprintf(&b, "| edit %d files | %s | %s | %s |\n", res.edits, cell(col(func(r repTimes) time.Duration { return r.latchEdit })),
		cell(col(func(r repTimes) time.Duration { return r.sedEdit })), cell(col(func(r repTimes) time.Duration { return r.goEdit })))
	fmt.Fprintf(&b, "| git (latch: fetch, reset, add, commit, push; others: pull, then add, commit, push) | %s | %s | %s |\n",
		cell(col(func(r repTimes) time.Duration { return r.latchGit })),
		cell(col(func(r repTimes) time.Duration { return r.sedPull + r.sedGit })), cell(col(func(r repTimes) time.Duration { return r.goPull + r.goGit })))
	fmt.Fprintf(&b, "| **total** | **%s** | **%s** | **%s** |\n\n", cell(latchTotal), cell(sedTotal), cell(goTotal))
	fmt.Fprintf(&b, "Ratio of medians, total: latch / sed = **%.2f**, latch / go loop = **%.2f**. Index + lookups + edit alone: latch / sed edit = %.2f.\n\n",
		latchTotal.Median/sedTotal.Median, latchTotal.Median/goTotal.Median,
		(col(func(r repTimes) time.Duration { return r.latchIndex + r.latchLookup + r.latchEdit }).Median)/col(func(r repTimes) time.Duration { return r.sedEdit }).Median)
	b.WriteString("Raw repetitions (ms): value written; latch total = index + lookups + edit + git; sed total = pull + edit + git; go loop likewise.\n\n")
	b.WriteString("| rep | value | latch | index | lookups | edit | git | sed | pull | edit | git | go loop | pull | edit | git |\n")
	b.WriteString("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	for i, r := range res.reps {
		fmt.Fprintf(&b, "| %d | %d |", i+1, r.value)
		for _, d := range []time.Duration{r.latchTotal, r.latchIndex, r.latchLookup, r.latchEdit, r.latchGit, r.sedTotal, r.sedPull, r.sedEdit, r.sedGit, r.goTotal, r.goPull, r.goEdit, r.goGit} {
			fmt.Fprintf(&b, " %s |", msText(float64(d)/float64(time.Millisecond)))
		}
		b.WriteString("\n")
	}
	return benchdoc.Section(section, "Write-back: index + edit + commit + push", machine, b.String())
}

var mixNames = map[declaration]string{
	declPlain:     "plain manifests",
	declKustomize: "Kustomize overlays' `replicas:`",
	declHelm:      "Helm values with a `$latch` marker",
}

func mixText(mix map[declaration]int) string {
	var parts []string
	for _, d := range []declaration{declPlain, declKustomize, declHelm} {
		if mix[d] > 0 {
			parts = append(parts, fmt.Sprintf("%d in %s", mix[d], mixNames[d]))
		}
	}
	return strings.Join(parts, ", ")
}

// msText shows milliseconds with a decimal below 10 ms, where it matters.
func msText(ms float64) string {
	if ms < 10 {
		return fmt.Sprintf("%.1f", ms)
	}
	return fmt.Sprintf("%.0f", ms)
}
