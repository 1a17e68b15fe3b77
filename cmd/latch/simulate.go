package main

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/latch-gitops/latch/internal/policy"
	"github.com/latch-gitops/latch/internal/policyfile"
	"github.com/latch-gitops/latch/internal/simulate"

	"github.com/latch-gitops/latch/internal/objectid"
)

type simulateOptions struct {
	trace      string
	step       time.Duration
	policyFile string
	min, max   int64
	seriesOut  string
	load       bool
	perReplica float64
	optimum    bool
}

func newSimulateCommand(opts *globalOptions) *cobra.Command {
	o := &simulateOptions{}
	cmd := &cobra.Command{
		Use:   "simulate --trace FILE",
		Short: "Replay a replica (or load) trace through the latch policy and measure commits and coverage",
		Long: `Replay a trace of observed replica counts through the latch state machine and
report what latching would have written: commits against scale changes seen,
the coverage a restore from git would have had at each moment, and the extra
capacity it would have started with.

FILE holds one replica count per --step (whitespace or newline separated), or
CSV rows "timestamp,replicas" with RFC 3339 or unix-seconds timestamps. With
--load, FILE holds load samples instead (one per --step, or CSV), which the
standard HPA rule (15 s sync, 75 s metric window, 10 % tolerance, 300 s
scale-down stabilisation) turns into replicas at --per-replica load each.

JSON output (-o json) has exactly the keys samples, naive_commits, commits,
reduction, coverage, overprovision and max_declared. --series-out writes the
declared value after every sample, one per line, so the figures can be
recomputed from the trace.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runSimulate(opts, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.trace, "trace", "", "trace file: replica counts (or load with --load), whitespace separated or CSV timestamp,value (required)")
	f.DurationVar(&o.step, "step", 15*time.Second, "time between samples of a trace without timestamps")
	f.StringVar(&o.policyFile, "policy", "", "latch policy file (latch.yaml); the spec.replicas policy of a Deployment under an HPA is used (default: the built-in policy)")
	f.Int64Var(&o.min, "min", 0, "minimum replicas declared in git (the HPA's minReplicas); 0 means unset")
	f.Int64Var(&o.max, "max", 0, "maximum replicas declared in git (the HPA's maxReplicas); 0 means unset")
	f.StringVar(&o.seriesOut, "series-out", "", "write the declared value for every sample to this file, one per line")
	f.BoolVar(&o.load, "load", false, "the trace holds load, not replicas: apply the standard HPA rule first (needs --per-replica)")
	f.Float64Var(&o.perReplica, "per-replica", 0, "with --load: the load one replica serves (the HPA target)")
	f.BoolVar(&o.optimum, "optimum", false, "also compute the offline optimum: the fewest commits any schedule of the ladder's levels could make knowing the whole trace, with coverage ≥ 0.99 and overprovision ≤ 1 (text output)")
	_ = cmd.MarkFlagRequired("trace")
	return cmd
}

func runSimulate(opts *globalOptions, o *simulateOptions) error {
	if o.min < 0 {
		return fmt.Errorf("flag --min: must be ≥ 0, got %d", o.min)
	}
	if o.max < 0 {
		return fmt.Errorf("flag --max: must be ≥ 0, got %d", o.max)
	}
	if o.min > 0 && o.max > 0 && o.min > o.max {
		return fmt.Errorf("flag --min: %d is above --max %d", o.min, o.max)
	}
	if o.step <= 0 {
		return fmt.Errorf("flag --step: must be > 0, got %v", o.step)
	}
	if o.load && !(o.perReplica > 0) {
		return fmt.Errorf("flag --per-replica: must be > 0 with --load, got %v", o.perReplica)
	}
	if !o.load && o.perReplica != 0 {
		return fmt.Errorf("flag --per-replica: only valid with --load")
	}
	params, source, err := simulationParams(o.policyFile)
	if err != nil {
		return err
	}

	f, err := os.Open(o.trace)
	if err != nil {
		return fmt.Errorf("flag --trace: %w", err)
	}
	tr, err := simulate.ParseTrace(bufio.NewReader(f), o.trace, !o.load)
	f.Close()
	if err != nil {
		return err
	}
	if o.load {
		if tr.Times != nil {
			return fmt.Errorf("%s: --load needs evenly spaced samples (one per --step), not CSV timestamps", o.trace)
		}
		hpa := simulate.StandardHPA(o.perReplica)
		hpa.Min, hpa.Max = o.min, o.max
		replicas, err := hpa.Replicas(tr.Values, o.step)
		if err != nil {
			return fmt.Errorf("%s: HPA replay: %w", o.trace, err)
		}
		if len(replicas) == 0 {
			return fmt.Errorf("%s: load trace shorter than one HPA sync period (%v)", o.trace, hpa.Sync)
		}
		tr = simulate.Trace{Values: make([]float64, len(replicas))}
		for i, r := range replicas {
			tr.Values[i] = float64(r)
		}
		o.step = hpa.Sync
	}

	observed := tr.Replicas()
	declared, err := simulate.Run(tr, simulate.Options{Params: params, Min: o.min, Max: o.max, Start: time.Unix(0, 0).UTC(), Step: o.step})
	if err != nil {
		return fmt.Errorf("%s: %w", source, err)
	}
	summary, err := simulate.Summarise(observed, declared)
	if err != nil {
		return err
	}
	if o.seriesOut != "" {
		if err := writeSeries(o.seriesOut, declared); err != nil {
			return err
		}
	}
	if done, err := opts.printStructured(summary); done {
		return err
	}
	w := opts.stdout
	fmt.Fprintf(w, "policy         %s: %s, hysteresis %g, dwell down %v, dwell up %v\n",
		source, params.Ladder, params.Hysteresis, params.DwellDown, params.DwellUp)
	fmt.Fprintf(w, "samples        %d\n", summary.Samples)
	fmt.Fprintf(w, "naive commits  %d   (times the observed value changes)\n", summary.NaiveCommits)
	fmt.Fprintf(w, "commits        %d   (times the declared value changes)\n", summary.Commits)
	fmt.Fprintf(w, "reduction      %.1f×\n", summary.Reduction)
	fmt.Fprintf(w, "coverage       %.4f   (declared ≥ half the observed)\n", summary.Coverage)
	fmt.Fprintf(w, "overprovision  %.3f   (extra replica-time / replica-time needed)\n", summary.Overprovision)
	if _, err := fmt.Fprintf(w, "max declared   %d\n", summary.MaxDeclared); err != nil || !o.optimum {
		return err
	}
	opt, err := simulate.ComputeOptimum(observed, simulate.OptimumOptions{Ladder: params.Ladder, Min: o.min})
	if err != nil {
		return fmt.Errorf("%s: %w", o.trace, err)
	}
	fmt.Fprintf(w, "optimum        %d   (offline, knowing the whole trace; lower bound %d)\n", opt.Upper, opt.Lower)
	ratio := "∞"
	if opt.Upper > 0 {
		ratio = fmt.Sprintf("%.1f", float64(summary.Commits)/float64(opt.Upper))
	} else if summary.Commits == 0 {
		ratio = "1.0"
	}
	_, err = fmt.Fprintf(w, "latch÷optimum  %s\n", ratio)
	return err
}

// simulationParams returns the latch parameters to replay with and a name
// for where they came from.
func simulationParams(policyFile string) (policy.Params, string, error) {
	if policyFile == "" {
		return policy.DefaultParams(), "built-in policy", nil
	}
	data, err := os.ReadFile(policyFile)
	if err != nil {
		return policy.Params{}, "", fmt.Errorf("flag --policy: %w", err)
	}
	pol, err := policyfile.Parse(policyFile, data)
	if err != nil {
		return policy.Params{}, "", err
	}
	// The workload latch simulate stands for: a Deployment an HPA scales.
	obj := policyfile.Object{Ref: objectid.Ref{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "default", Name: "simulated"}, HasHPA: true}
	fp := pol.Resolve(obj).Field(objectid.ReplicasField)
	if fp.Mode != policy.ModeLatch || fp.Latch == nil {
		return policy.Params{}, "", fmt.Errorf("%s: spec.replicas of a Deployment under an HPA is %q there (rule %q), not latch: nothing to simulate", policyFile, fp.Mode, fp.From)
	}
	return *fp.Latch, fmt.Sprintf("%s (rule %s)", policyFile, fp.From), nil
}

func writeSeries(path string, declared []int64) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("flag --series-out: %w", err)
	}
	w := bufio.NewWriter(f)
	buf := make([]byte, 0, 24)
	for _, d := range declared {
		buf = strconv.AppendInt(buf[:0], d, 10)
		buf = append(buf, '\n')
		if _, err := w.Write(buf); err != nil {
			f.Close()
			return fmt.Errorf("writing %s: %w", path, err)
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
