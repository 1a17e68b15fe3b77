// Command simulate is latch's policy benchmark: it replays the NASA 1995
// trace and deterministic synthetic shapes (fixed seeds) through the bare
// seed rule (baseline) and the default policy, and rewrites the section
// between <!-- BEGIN simulate --> and <!-- END simulate --> of
// docs/benchmarks.md with the tables, leaving the rest of the file alone.
//
//	go run ./bench/simulate [-doc docs/benchmarks.md] [-shared ../shared] [-check]
//
// The synthetic shapes come in two sets: the tuning shapes (the issue's, on
// which the defaults were chosen) and held-out shapes made with another seed
// and other parameters, reported apart so that they show whether the
// defaults generalise. The NASA and WorldCup rows belong to neither set.
//
// With -check it exits non-zero if any row — real, tuning or held-out —
// misses the goal (reduction ≥ 100, or at most one commit a week where the
// trace changes too rarely for that; coverage ≥ 0.99; overprovision ≤ 1.0).
// Held-out rows were not looked at while choosing the defaults, but one
// set of defaults must meet the goal on them too (issue 10).
package main

import (
	"archive/tar"
	"bytes"
	"compress/bzip2"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/latch-gitops/latch/bench/internal/benchdoc"
	"github.com/latch-gitops/latch/internal/controller"
	"github.com/latch-gitops/latch/internal/policy"
	"github.com/latch-gitops/latch/internal/safefile"
	"github.com/latch-gitops/latch/internal/simplot"
	"github.com/latch-gitops/latch/internal/simulate"
)

// section is this program's part of docs/benchmarks.md.
const section = "simulate"

var (
	beginMarker = benchdoc.Begin(section)
	endMarker   = benchdoc.End(section)
)

// Goal the default policy must reach on every row.
const (
	goalReduction     = 100
	goalCoverage      = 0.99
	goalOverprovision = 1.0
)

// baselineRule is the bare seed rule: the nearest one-significant-figure
// number (a multiple of 10, of 100, …) of the current scale, committed as
// soon as it changes: no hysteresis, no dwell. It is computed with Round,
// not the state machine, so it stays the seed rule whatever the engine does.
var baselineRule = policy.Ladder{Kind: policy.LadderSigFig}

// baseline returns the declared series of the bare seed rule, at least min.
func baseline(observed []int64, min int64) ([]int64, error) {
	out := make([]int64, len(observed))
	for i, v := range observed {
		d, err := policy.Round(baselineRule, v)
		if err != nil {
			return nil, err
		}
		out[i] = max(d, min)
	}
	return out, nil
}

// Row sets: where a row's trace comes from decides whether -check needs it.
const (
	setReal    = "real"
	setTuning  = "tuning"
	setHeldOut = "held-out"
)

type row struct {
	name, source string
	set          string
	samples      int
	days         float64
	naive        int
	baseline     simulate.Summary
	latched      simulate.Summary
	optimum      simulate.Optimum
	optimumTime  time.Duration
	// observed and declared are kept for the real traces' pictures.
	observed, declared []int64
	// picture is the file name of its plot beside the doc ("" for none).
	picture string
}

// optimumCell renders the optimum's bracket: one number when exact.
func (r row) optimumCell() string {
	if r.optimum.Lower == r.optimum.Upper {
		return fmt.Sprint(r.optimum.Upper)
	}
	return fmt.Sprintf("%d (≥ %d)", r.optimum.Upper, r.optimum.Lower)
}

func (r row) latchOverOptimum() string {
	if r.optimum.Upper == 0 {
		if r.latched.Commits == 0 {
			return "1.0"
		}
		return "∞"
	}
	return fmt.Sprintf("%.1f", float64(r.latched.Commits)/float64(r.optimum.Upper))
}

// weeks is the trace's length in weeks.
func (r row) weeks() float64 { return r.days / 7 }

// meetsGoal: reduction ≥ 100, or at most one commit a week (a trace that
// changes less than 100 times a week cannot reach 100 with any commit);
// coverage and overprovision as the goal says.
func (r row) meetsGoal() bool {
	s := r.latched
	few := s.Reduction >= goalReduction || float64(s.Commits) <= r.weeks()
	return few && s.Coverage >= goalCoverage && s.Overprovision <= goalOverprovision
}

// targetCommits is issue 10's target: twice the optimum's commits plus one
// per week of trace.
func (r row) targetCommits() float64 { return 2*float64(r.optimum.Upper) + r.weeks() }

func (r row) meetsTarget() bool { return float64(r.latched.Commits) <= r.targetCommits() }

func main() {
	doc := flag.String("doc", "docs/benchmarks.md", "markdown file whose simulate section is rewritten")
	shared := flag.String("shared", "../shared", "folder holding traces/nasa-1995 and traces/worldcup-1998")
	check := flag.Bool("check", false, "exit 1 if the default policy misses the goal on any row")
	var o options
	flag.BoolVar(&o.quick, "quick", false, "replay latch only (no optimum, no pictures), print a line per row and leave the doc alone: for trying a policy change in seconds")
	flag.StringVar(&o.explain, "explain", "", "print every commit the default policy makes on the row of this name, with its reason")
	flag.BoolVar(&o.passes, "passes", false, "with -quick: replay each row at latch run's cadence (a pass every --resync and one --batch-window after a change, the defaults) instead of on every sample, to see how far the per-sample replay the doc reports is from what the controller would commit")
	flag.StringVar(&o.dump, "dump", "", "write each row's observed series to DIR/NAME.txt and the default policy's declared one to DIR/NAME.declared.txt (one value per line; latch simulate --trace reads them)")
	flag.Parse()
	if err := run(*doc, *shared, *check, o); err != nil {
		fmt.Fprintf(os.Stderr, "bench/simulate: %v\n", err)
		os.Exit(1)
	}
}

// options are the flags for working on the policy rather than writing the doc.
type options struct {
	// quick leaves out the optimum (most of the bench's time; a policy
	// change does not move it), the pictures and the doc.
	quick bool
	// explain names a row whose commits are printed with their reasons.
	explain string
	// dump is a folder each row's observed series is written to.
	dump string
	// passes replays at the controller's cadence (simulate.Passes).
	passes bool
}

func (o options) validate() error {
	switch {
	case o.passes && !o.quick:
		return fmt.Errorf("-passes needs -quick: the doc reports the per-sample replay, which the optimum is computed against")
	case o.passes && o.explain != "":
		return fmt.Errorf("-passes with -explain: the reasons are printed for the per-sample replay; leave out -passes")
	}
	return nil
}

func run(docPath, shared string, check bool, o options) error {
	if err := o.validate(); err != nil {
		return err
	}
	var rows []row
	var notes []string

	nasaDir := filepath.Join(shared, "traces", "nasa-1995")
	replicasPath := filepath.Join(nasaDir, "replicas-15s.txt")
	if obs, ok, err := readTrace(replicasPath, "NASA rows are", &notes); err != nil {
		return err
	} else if ok {
		r, err := measure(setReal, "nasa-1995", "real: NASA-HTTP Jul–Aug 1995, replicas-15s.txt (1 replica per 0.01 req/s)", obs, o)
		if err != nil {
			return err
		}
		rows = append(rows, r)
		// The same real traffic sized for other magnitudes: the HPA rule
		// (reproduces replicas-15s.txt exactly at 0.01) at 10× and ⅒ the
		// load per replica, so the defaults are checked across three decades.
		load, err := readLoadArchive(filepath.Join(nasaDir, "requests-per-second.tbz2"))
		if err != nil {
			return err
		}
		for _, per := range []float64{0.1, 0.001} {
			obs, err := simulate.StandardHPA(per).Replicas(load, time.Second)
			if err != nil {
				return err
			}
			r, err := measure(setReal, fmt.Sprintf("nasa-load÷%g", per), fmt.Sprintf("real load, HPA at %g req/s per replica", per), obs, o)
			if err != nil {
				return err
			}
			rows = append(rows, r)
		}
	}
	wcPath := filepath.Join(shared, "traces", "worldcup-1998", "replicas-15s.txt")
	if obs, ok, err := readTrace(wcPath, "WorldCup row is", &notes); err != nil {
		return err
	} else if ok {
		r, err := measure(setReal, "worldcup-1998", "real: FIFA World Cup 1998 web site, 30 Apr–26 Jul 1998, replicas-15s.txt (1 replica per request/s)", obs, o)
		if err != nil {
			return err
		}
		rows = append(rows, r)
	}
	for _, set := range []struct {
		name   string
		shapes []shape
	}{{setTuning, tuningShapes()}, {setHeldOut, heldOutShapes()}} {
		for _, sh := range set.shapes {
			obs, err := sh.generate()
			if err != nil {
				return fmt.Errorf("shape %s: %w", sh.name, err)
			}
			r, err := measure(set.name, sh.name, "synthetic: "+sh.about, obs, o)
			if err != nil {
				return err
			}
			rows = append(rows, r)
		}
	}

	if len(notes) > 0 {
		// A section without its real rows would read as a full report and
		// hide what the defaults do on real traffic: write nothing.
		return fmt.Errorf("%s Pass -shared with the folder that holds traces/; %s and the pictures are left as they are", strings.Join(notes, " "), docPath)
	}
	if o.quick {
		return printQuick(rows, check)
	}
	if err := drawPictures(rows, filepath.Dir(docPath)); err != nil {
		return err
	}
	text := render(rows, notes)
	fmt.Print(text)
	if err := benchdoc.RewriteSection(docPath, section, text); err != nil {
		return err
	}
	if check {
		for _, r := range rows {
			if !r.meetsGoal() {
				return fmt.Errorf("row %s misses the goal: reduction %.1f, coverage %.4f, overprovision %.3f",
					r.name, r.latched.Reduction, r.latched.Coverage, r.latched.Overprovision)
			}
		}
	}
	return nil
}

func measure(set, name, source string, observed []int64, o options) (row, error) {
	tr := simulate.Trace{Values: make([]float64, len(observed))}
	for i, v := range observed {
		tr.Values[i] = float64(v)
	}
	r := row{set: set, name: name, source: source, samples: len(observed), days: float64(len(observed)) * step.Hours() / 24}
	base, err := baseline(observed, 1)
	if err != nil {
		return row{}, fmt.Errorf("%s: baseline: %w", name, err)
	}
	ro := simulate.Options{Params: policy.DefaultParams(), Step: step, Min: 1}
	if o.passes {
		ro.Passes = &simulate.Passes{Resync: controller.DefaultResync, BatchWindow: controller.DefaultBatchWindow}
	}
	latched, err := simulate.Run(tr, ro)
	if err != nil {
		return row{}, fmt.Errorf("%s: %w", name, err)
	}
	for _, p := range []struct {
		declared []int64
		into     *simulate.Summary
	}{{base, &r.baseline}, {latched, &r.latched}} {
		s, err := simulate.Summarise(observed, p.declared)
		if err != nil {
			return row{}, fmt.Errorf("%s: %w", name, err)
		}
		*p.into = s
	}
	r.naive = r.latched.NaiveCommits
	if name == o.explain {
		explainCommits(observed)
	}
	if o.dump != "" {
		var b strings.Builder
		for _, v := range observed {
			fmt.Fprintln(&b, v)
		}
		if err := safefile.WriteFile(filepath.Join(o.dump, name+".txt"), []byte(b.String()), 0o644); err != nil {
			return row{}, fmt.Errorf("%s: %w", name, err)
		}
		b.Reset()
		for _, v := range latched {
			fmt.Fprintln(&b, v)
		}
		if err := safefile.WriteFile(filepath.Join(o.dump, name+".declared.txt"), []byte(b.String()), 0o644); err != nil {
			return row{}, fmt.Errorf("%s: %w", name, err)
		}
	}
	if o.quick {
		return r, nil
	}
	began := time.Now()
	opt, err := simulate.ComputeOptimum(observed, simulate.OptimumOptions{Ladder: policy.DefaultParams().Ladder, Min: 1})
	if err != nil {
		return row{}, fmt.Errorf("%s: %w", name, err)
	}
	r.optimum, r.optimumTime = opt, time.Since(began)
	if set == setReal {
		r.observed, r.declared = observed, latched
	}
	fmt.Fprintf(os.Stderr, "%s: optimum [%d, %d] over %d levels in %v\n", name, opt.Lower, opt.Upper, opt.Levels, r.optimumTime.Round(time.Millisecond))
	return r, nil
}

func render(rows []row, notes []string) string {
	var b strings.Builder
	b.WriteString(beginMarker + "\n")
	b.WriteString("## latch simulate: commits vs. coverage\n\n")
	b.WriteString("Generated by `go run ./bench/simulate` (deterministic: fixed seeds); do not edit by hand.\n")
	fmt.Fprintf(&b, "Default policy: `%s`, hysteresis %g, dwell down %v, dwell up %v, window %v, miss budget %g, overprovision budget %g (docs/latching.md). Baseline: the bare seed rule (nearest one-significant-figure value, no hysteresis, no dwell). ",
		policy.DefaultParams().Ladder, policy.DefaultHysteresis, policy.DefaultDwellDown, policy.DefaultDwellUp, policy.DefaultWindow, policy.DefaultMissBudget, policy.DefaultOverprovisionBudget)
	fmt.Fprintf(&b, "Goal for the default policy: reduction ≥ %d (or at most one commit a week where the trace changes too rarely for that), coverage ≥ %g, overprovision ≤ %g. All traces are 15 s samples, min 1. ", goalReduction, goalCoverage, goalOverprovision)
	b.WriteString("`-check` fails when any row, held-out ones included, misses the goal. **target** is issue 10's: latch's commits ≤ 2 × the optimum's + 1 per week of trace (reported, not enforced).\n")
	for _, set := range []struct{ name, title, about string }{
		{setReal, "Real data", "The NASA and WorldCup traces belong to neither set: NASA was not used to choose the defaults beyond the noise calibration of the synthetic shapes; WorldCup (issue 10) was added after the defaults were chosen."},
		{setTuning, "Tuning shapes", "Seed 1995. The defaults were chosen on the first eight (issue 3's shapes); the last four (`spiky-large`, `diurnal-deep`, `growth-weeks`, `llm-small`) model issue 10's table of real traces the defaults missed, and were added after the defaults were chosen."},
		{setHeldOut, "Held-out shapes", "Another seed and other parameters (burst rates and heights, diurnal amplitudes, noise 0.5–2× the calibrated level, longer gaps, a faster ramp, a weekly pattern, a decaying spike; issue 10's spiky, deep-trough, growth and tiny-service shapes at other sizes); not looked at while choosing issue 3's defaults. Issue 10's budgets (window, miss budget, overprovision budget, at-once target) were chosen from a handful of variants with the count of missed rows over every row in view, these included, so they are no longer strictly held out: the real traffic outside the project is. The same holds for the level's-cost rules of the move down (docs/latching.md); `llm-chat` and `llm-code`, issue 10's two LLM traces at their own scale (about 380 and 1,300 scale changes a week), were added with them."},
	} {
		var in []row
		for _, r := range rows {
			if r.set == set.name {
				in = append(in, r)
			}
		}
		if len(in) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n### %s\n\n%s\n\n", set.title, set.about)
		b.WriteString("| shape | samples | days | naive commits | baseline commits | baseline reduction | default commits | commits/day | reduction | coverage | overprovision | max declared | optimum commits | latch ÷ optimum | goal | target |\n")
		b.WriteString("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |\n")
		for _, r := range in {
			goal := "met"
			if !r.meetsGoal() {
				goal = "**missed**"
			}
			target := fmt.Sprintf("met (≤ %.0f)", math.Floor(r.targetCommits()))
			if !r.meetsTarget() {
				target = fmt.Sprintf("missed (≤ %.0f)", math.Floor(r.targetCommits()))
			}
			fmt.Fprintf(&b, "| %s | %d | %.1f | %d | %d | %.1f | %d | %.2f | %.1f | %.4f | %.3f | %d | %s | %s | %s | %s |\n",
				r.name, r.samples, r.days, r.naive, r.baseline.Commits, r.baseline.Reduction,
				r.latched.Commits, float64(r.latched.Commits)/r.days, r.latched.Reduction,
				r.latched.Coverage, r.latched.Overprovision, r.latched.MaxDeclared, r.optimumCell(), r.latchOverOptimum(), goal, target)
		}
	}
	for _, r := range rows {
		if r.picture != "" {
			fmt.Fprintf(&b, "\n`%s` with the default policy: observed replicas (band), latch's declared value and each commit, the offline optimum and the coverage floor (`latch simulate --trace … --optimum --plot %s`):\n\n![%s](%s)\n", r.name, r.picture, r.name, r.picture)
		}
	}
	b.WriteString("\nBaseline coverage and overprovision, for comparison:\n\n| shape | set | coverage | overprovision | max declared |\n| --- | --- | ---: | ---: | ---: |\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s | %s | %.4f | %.3f | %d |\n", r.name, r.set, r.baseline.Coverage, r.baseline.Overprovision, r.baseline.MaxDeclared)
	}
	fmt.Fprintf(&b, "\n**Optimum commits** is the offline optimum for the default ladder (`%s`, min 1): the fewest commits of any schedule of ladder levels chosen knowing the whole trace, with coverage ≥ %g and overprovision ≤ %g (simulate.ComputeOptimum). The number shown is a schedule that exists; \"(≥ L)\" is the proven Lagrangian lower bound when it is below. **latch ÷ optimum** is the default policy's commits over that number: the price of not knowing the future.\n",
		policy.DefaultParams().Ladder, simulate.OptimumCoverage, simulate.OptimumOverprovision)
	b.WriteString("\nSources:\n\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "- `%s`: %s\n", r.name, r.source)
	}
	for _, n := range notes {
		b.WriteString("\n" + n + "\n")
	}
	b.WriteString(endMarker + "\n")
	return b.String()
}

// pictured are the rows drawn beside the doc: the real replica traces.
var pictured = map[string]bool{"nasa-1995": true, "worldcup-1998": true}

// drawPictures writes simulate-NAME.svg into dir for each pictured row
// (atomically, as latch simulate --plot does) and names it on the row.
func drawPictures(rows []row, dir string) error {
	for i := range rows {
		r := &rows[i]
		if !pictured[r.name] || r.observed == nil {
			continue
		}
		svg, err := simplot.Render(simplot.Input{Title: r.source, Observed: r.observed, Declared: r.declared, Optimum: r.optimum.Declared, Step: step}, "svg")
		if err != nil {
			return fmt.Errorf("%s: %w", r.name, err)
		}
		r.picture = "simulate-" + r.name + ".svg"
		if err := safefile.WriteFile(filepath.Join(dir, r.picture), svg, 0o644); err != nil {
			return fmt.Errorf("%s: %w", r.name, err)
		}
	}
	return nil
}

// readTrace reads the replica trace at path (readReplicas). When the file is
// absent on this machine it notes that what is skipped and returns ok false.
func readTrace(path, what string, notes *[]string) (obs []int64, ok bool, err error) {
	obs, err = readReplicas(path)
	if errors.Is(err, os.ErrNotExist) {
		*notes = append(*notes, fmt.Sprintf("The %s skipped: %s is absent on this machine.", what, path))
		return nil, false, nil
	}
	return obs, err == nil, err
}

func readReplicas(path string) ([]int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	tr, err := simulate.ParseTrace(f, path, true)
	if err != nil {
		return nil, err
	}
	return tr.Replicas(), nil
}

// readLoadArchive reads workload.txt (requests per second) out of the
// bzip2-compressed tar the NASA trace ships as.
func readLoadArchive(path string) ([]float64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	tr := tar.NewReader(bzip2.NewReader(f))
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil, fmt.Errorf("%s: no workload.txt inside", path)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if filepath.Base(hdr.Name) != "workload.txt" {
			continue
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			return nil, fmt.Errorf("%s: workload.txt: %w", path, err)
		}
		load, err := simulate.ParseTrace(bytes.NewReader(data), path+":workload.txt", false)
		if err != nil {
			return nil, err
		}
		return load.Values, nil
	}
}

// printQuick is -quick's report: a line per row and how many meet the
// goal; with check, an error naming the rows that miss it.
func printQuick(rows []row, check bool) error {
	met := 0
	var missed []string
	for _, r := range rows {
		s := r.latched
		mark := "met"
		if r.meetsGoal() {
			met++
		} else {
			mark = "MISSED"
			missed = append(missed, r.name)
		}
		fmt.Printf("%-20s %-8s commits %4d (naive %6d, goal ≤ %5.0f) reduction %7.1f coverage %.4f overprovision %.3f max %6d  %s\n",
			r.name, r.set, s.Commits, s.NaiveCommits, math.Max(float64(s.NaiveCommits)/goalReduction, r.weeks()), s.Reduction, s.Coverage, s.Overprovision, s.MaxDeclared, mark)
	}
	fmt.Printf("%d of %d rows meet the goal\n", met, len(rows))
	if check && len(missed) > 0 {
		return fmt.Errorf("rows missing the goal: %s", strings.Join(missed, ", "))
	}
	return nil
}

// explainCommits prints each commit the default policy makes on observed,
// replayed as measure replays it, with the state machine's reason.
func explainCommits(observed []int64) {
	p := policy.DefaultParams()
	var st policy.State
	var start time.Time
	for i, v := range observed {
		var d policy.Decision
		st, d = policy.Step(p, st, start.Add(time.Duration(i)*step), v, 1, 0)
		if d.Changed {
			fmt.Fprintf(os.Stderr, "  day %6.2f  observed %7d  declared %7d  %s\n", float64(i)*step.Hours()/24, v, d.Declared, d.Reason)
		}
	}
}
