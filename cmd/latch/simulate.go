package main

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/latch-gitops/latch/internal/controller"
	"github.com/latch-gitops/latch/internal/policy"
	"github.com/latch-gitops/latch/internal/policyfile"
	"github.com/latch-gitops/latch/internal/safefile"
	"github.com/latch-gitops/latch/internal/simplot"
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
	plot       string
	prom       promOptions
	// passes replays at latch run's cadence (simulate.Passes) with
	// batchWindow and resync; cadenceSet says either was given, which
	// only means something with passes.
	passes              bool
	batchWindow, resync time.Duration
	cadenceSet          bool
}

func newSimulateCommand(opts *globalOptions) *cobra.Command {
	o := &simulateOptions{}
	cmd := &cobra.Command{
		Use:   "simulate (--trace FILE | --prometheus URL (--workload NS/NAME | --all))",
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
recomputed from the trace.

With --prometheus, the trace is a workload's history in Prometheus instead:
kube-state-metrics' kube_horizontalpodautoscaler_status_desired_replicas for
the HPA NAME in NAMESPACE (falling back to kube_deployment_spec_replicas of the
Deployment NAME), the last --since (default 30d) up to --until (default now),
one sample per --step, read through query_range in requests of at most 10,000
points. --all replays every HPA, one row each. Credentials: a bearer token from
--prometheus-token-file or $LATCH_PROMETHEUS_TOKEN, or basic auth with
--prometheus-user and a password from --prometheus-password-file or
$LATCH_PROMETHEUS_PASSWORD; they are never printed.

By default the policy sees every sample. With --passes it sees only what
latch run would: a pass every --resync and one --batch-window after the
observed value changes, each reading the newest sample, and the declared
value holds between passes. Give latch run's own --batch-window and --resync
to see what it would commit on this trace.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.cadenceSet = cmd.Flags().Changed("batch-window") || cmd.Flags().Changed("resync")
			return runSimulate(opts, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.trace, "trace", "", "trace file: replica counts (or load with --load), whitespace separated or CSV timestamp,value")
	f.DurationVar(&o.step, "step", 15*time.Second, "time between samples of a trace without timestamps")
	f.StringVar(&o.policyFile, "policy", "", "latch policy file (latch.yaml); the spec.replicas policy of a Deployment under an HPA is used (default: the built-in policy)")
	f.Int64Var(&o.min, "min", 0, "minimum replicas declared in git (the HPA's minReplicas); 0 means unset")
	f.Int64Var(&o.max, "max", 0, "maximum replicas declared in git (the HPA's maxReplicas); 0 means unset")
	f.StringVar(&o.seriesOut, "series-out", "", "write the declared value for every sample to this file, one per line")
	f.BoolVar(&o.load, "load", false, "the trace holds load, not replicas: apply the standard HPA rule first (needs --per-replica)")
	f.Float64Var(&o.perReplica, "per-replica", 0, "with --load: the load one replica serves (the HPA target)")
	f.BoolVar(&o.optimum, "optimum", false, "also compute the offline optimum: the fewest commits any schedule of the ladder's levels could make knowing the whole trace, with coverage ≥ 0.99 and overprovision ≤ 1 (text output)")
	f.StringVar(&o.plot, "plot", "", "draw observed replicas, the declared value, each commit and the coverage floor to this .svg or .png file")
	f.BoolVar(&o.passes, "passes", false, "replay at latch run's cadence (a pass every --resync, and one --batch-window after a change) instead of on every sample")
	f.DurationVar(&o.batchWindow, "batch-window", controller.DefaultBatchWindow, "with --passes: latch run's --batch-window")
	f.DurationVar(&o.resync, "resync", controller.DefaultResync, "with --passes: latch run's --resync")
	o.prom.addFlags(f)
	return cmd
}

// runOptions is how to replay a trace: every sample, or latch run's passes.
func (o *simulateOptions) runOptions(params policy.Params) simulate.Options {
	ro := simulate.Options{Params: params, Min: o.min, Max: o.max, Start: time.Unix(0, 0).UTC(), Step: o.step}
	if o.passes {
		ro.Passes = &simulate.Passes{Resync: o.resync, BatchWindow: o.batchWindow}
	}
	return ro
}

func runSimulate(opts *globalOptions, o *simulateOptions) error {
	if err := o.validate(); err != nil {
		return err
	}
	params, source, err := simulationParams(o.policyFile)
	if err != nil {
		return err
	}
	if o.prom.url != "" {
		if o.prom.all {
			return runSimulateAll(opts, o, params, source)
		}
		tr, name, err := o.prom.gather(opts, o.step)
		if err != nil {
			return err
		}
		return simulateTrace(opts, o, params, source, tr, name)
	}
	tr, err := o.readTrace()
	if err != nil {
		return err
	}
	return simulateTrace(opts, o, params, source, tr, o.trace)
}

func (o *simulateOptions) validate() error {
	switch {
	case o.min < 0:
		return fmt.Errorf("flag --min: must be ≥ 0, got %d", o.min)
	case o.max < 0:
		return fmt.Errorf("flag --max: must be ≥ 0, got %d", o.max)
	case o.min > 0 && o.max > 0 && o.min > o.max:
		return fmt.Errorf("flag --min: %d is above --max %d", o.min, o.max)
	case o.step <= 0:
		return fmt.Errorf("flag --step: must be > 0, got %v", o.step)
	case o.load && !(o.perReplica > 0):
		return fmt.Errorf("flag --per-replica: must be > 0 with --load, got %v", o.perReplica)
	case !o.load && o.perReplica != 0:
		return fmt.Errorf("flag --per-replica: only valid with --load")
	case o.trace == "" && o.prom.url == "":
		return fmt.Errorf("no trace: give --trace FILE or --prometheus URL")
	case o.trace != "" && o.prom.url != "":
		return fmt.Errorf("flag --prometheus: give --trace or --prometheus, not both")
	case o.prom.url != "" && o.load:
		return fmt.Errorf("flag --load: not with --prometheus (its series are replica counts)")
	case o.cadenceSet && !o.passes:
		return fmt.Errorf("flag --batch-window / --resync: only with --passes")
	case o.passes && o.resync <= 0:
		return fmt.Errorf("flag --resync: must be > 0, got %v", o.resync)
	case o.passes && o.batchWindow < 0:
		return fmt.Errorf("flag --batch-window: must be ≥ 0, got %v", o.batchWindow)
	case o.prom.url != "" && o.prom.all && (o.seriesOut != "" || o.plot != "" || o.optimum):
		return fmt.Errorf("flag --all: --series-out, --plot and --optimum take one workload (--workload NS/NAME)")
	}
	if o.plot != "" {
		if _, err := simplot.Format(o.plot); err != nil {
			return fmt.Errorf("flag --plot: %w", err)
		}
	}
	if o.prom.url != "" {
		return o.prom.validate()
	}
	if o.prom.workload != "" || o.prom.all {
		return fmt.Errorf("flag --workload / --all: only with --prometheus")
	}
	return nil
}

// readTrace reads --trace, turning load into replicas with --load.
func (o *simulateOptions) readTrace() (simulate.Trace, error) {
	f, err := os.Open(o.trace)
	if err != nil {
		return simulate.Trace{}, fmt.Errorf("flag --trace: %w", err)
	}
	tr, err := simulate.ParseTrace(bufio.NewReader(f), o.trace, !o.load)
	f.Close()
	if err != nil || !o.load {
		return tr, err
	}
	if tr.Times != nil {
		return simulate.Trace{}, fmt.Errorf("%s: --load needs evenly spaced samples (one per --step), not CSV timestamps", o.trace)
	}
	hpa := simulate.StandardHPA(o.perReplica)
	hpa.Min, hpa.Max = o.min, o.max
	replicas, err := hpa.Replicas(tr.Values, o.step)
	if err != nil {
		return simulate.Trace{}, fmt.Errorf("%s: HPA replay: %w", o.trace, err)
	}
	if len(replicas) == 0 {
		return simulate.Trace{}, fmt.Errorf("%s: load trace shorter than one HPA sync period (%v)", o.trace, hpa.Sync)
	}
	tr = simulate.Trace{Values: make([]float64, len(replicas))}
	for i, r := range replicas {
		tr.Values[i] = float64(r)
	}
	o.step = hpa.Sync
	return tr, nil
}

// simulateTrace replays one trace (name says where it came from) and
// writes --series-out, --plot and the report.
func simulateTrace(opts *globalOptions, o *simulateOptions, params policy.Params, source string, tr simulate.Trace, name string) error {
	observed := tr.Replicas()
	declared, err := simulate.Run(tr, o.runOptions(params))
	if err != nil {
		return fmt.Errorf("%s: %w", source, err)
	}
	summary, err := simulate.Summarise(observed, declared)
	if err != nil {
		return err
	}
	var opt *simulate.Optimum
	if o.optimum {
		v, err := simulate.ComputeOptimum(observed, simulate.OptimumOptions{Ladder: params.Ladder, Min: o.min})
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		opt = &v
	}
	if o.seriesOut != "" {
		if err := writeSeries(o.seriesOut, declared); err != nil {
			return err
		}
	}
	if o.plot != "" {
		if err := writePlot(o.plot, name, tr, o.step, declared, opt); err != nil {
			return err
		}
	}
	if done, err := opts.printStructured(summary); done {
		return err
	}
	w := opts.stdout
	fmt.Fprintf(w, "policy         %s: %s, hysteresis %g, dwell down %v, dwell up %v\n",
		source, params.Ladder, params.Hysteresis, params.DwellDown, params.DwellUp)
	if o.passes {
		fmt.Fprintf(w, "cadence        latch run's passes: every %v, and %v after a change\n", o.resync, o.batchWindow)
	}
	fmt.Fprintf(w, "samples        %d\n", summary.Samples)
	fmt.Fprintf(w, "naive commits  %d   (times the observed value changes)\n", summary.NaiveCommits)
	fmt.Fprintf(w, "commits        %d   (times the declared value changes)\n", summary.Commits)
	fmt.Fprintf(w, "reduction      %.1f×\n", summary.Reduction)
	fmt.Fprintf(w, "coverage       %.4f   (declared ≥ half the observed)\n", summary.Coverage)
	fmt.Fprintf(w, "overprovision  %.3f   (extra replica-time / replica-time needed)\n", summary.Overprovision)
	if _, err := fmt.Fprintf(w, "max declared   %d\n", summary.MaxDeclared); err != nil || opt == nil {
		return err
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

// writeSeries writes the declared values, one a line, atomically: on an
// error no file, and no partial one, is left at path.
func writeSeries(path string, declared []int64) error {
	buf := make([]byte, 0, 8*len(declared))
	for _, d := range declared {
		buf = strconv.AppendInt(buf, d, 10)
		buf = append(buf, '\n')
	}
	if err := safefile.WriteFile(path, buf, 0o644); err != nil {
		return fmt.Errorf("flag --series-out: %w", err)
	}
	return nil
}
