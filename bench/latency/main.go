// Command latency measures how long a scale change takes to become a
// commit on the remote under load (issue 5; target: p99 ≤ batch window +
// 2 s). It starts a real API server, a git remote served over smart HTTP
// (git http-backend) seeded with N Deployments and their HPAs in 50 files,
// and the real `latch run` binary; it then scales every workload once
// through /scale at random times spread over -spread (fixed seed) to values
// that need a commit, polls the remote's branch every 100 ms, reads the
// Latch-Object trailers of each new commit, and reports per workload
// commit-visible time − scale time: p50, p90, p99, max and p99 − window.
// The baseline, in the same run, is the same measurement with 10
// workloads. It prints and writes the section between
// <!-- BEGIN latency --> and <!-- END latency --> of docs/benchmarks.md.
//
//	go run ./bench/latency [-workloads 1000] [-baseline 10] [-windows 5s,30s] [-spread 60s] [-quick] [-doc docs/benchmarks.md]
package main

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/latch-gitops/latch/bench/internal/benchdoc"
	"github.com/latch-gitops/latch/bench/internal/benchmain"
	"github.com/latch-gitops/latch/bench/internal/latchproc"
	"github.com/latch-gitops/latch/internal/testenv"
)

const (
	section = "latency"
	// targetBeyondWindow is the goal: p99 ≤ window + 2 s.
	targetBeyondWindow = 2 * time.Second
)

func main() {
	workloads := flag.Int("workloads", 1000, "workloads scaled in the measured run")
	baseline := flag.Int("baseline", 10, "workloads scaled in the baseline run")
	windows := flag.String("windows", "5s,30s", "batch windows, comma separated")
	spread := flag.Duration("spread", 60*time.Second, "the scale changes happen at random times within this")
	seed := flag.Uint64("seed", 5, "random seed of the schedule")
	doc := benchmain.Parse(section, "smoke run: 50 workloads over 10 s, baseline 5, window 2s", func() {
		*workloads, *baseline, *windows, *spread = 50, 5, "2s", 10*time.Second
	})
	wins := benchmain.List(section, "windows", *windows, "a positive duration", func(s string) (time.Duration, bool) {
		d, err := time.ParseDuration(s)
		return d, err == nil && d > 0
	})
	if *workloads < 1 || *baseline < 1 || *spread <= 0 {
		benchmain.Exitf(section, 2, "-workloads, -baseline and -spread must be positive")
	}
	benchmain.Run(section, doc, func(ctx context.Context, session *testenv.Session, machine string) (string, error) {
		outs, err := measure(ctx, session, plan(wins, *baseline, *workloads, *spread, *seed), benchmain.Logf)
		if err != nil {
			return "", err
		}
		return render(outs, machine), nil
	})
}

// plan is the scenarios in order: for each window, the baseline then the
// measured size.
func plan(windows []time.Duration, baseline, workloads int, spread time.Duration, seed uint64) []scenario {
	var out []scenario
	for _, w := range windows {
		for _, n := range []int{baseline, workloads} {
			out = append(out, scenario{n: n, window: w, spread: spread, seed: seed, poll: 100 * time.Millisecond})
		}
	}
	return out
}

// measure runs the scenarios on one API server with one latch binary.
func measure(ctx context.Context, t testenv.T, scenarios []scenario, logf func(string, ...any)) ([]outcome, error) {
	cp := testenv.StartControlPlane(t)
	cfg := rest.CopyConfig(cp.Config)
	cfg.QPS, cfg.Burst = 500, 1000
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	logf("building latch")
	bin, err := latchproc.Build(ctx, t.TempDir())
	if err != nil {
		return nil, err
	}
	e := &env{t: t, client: client, kubeconfig: cp.Kubeconfig, bin: bin, log: logf}
	var outs []outcome
	for _, sc := range scenarios {
		logf("%d workloads, window %v, scales over %v", sc.n, sc.window, sc.spread)
		o, err := e.run(ctx, sc)
		if err != nil {
			return outs, fmt.Errorf("%d workloads, window %v: %w", sc.n, sc.window, err)
		}
		s := benchdoc.Summarise(benchdoc.Seconds(o.latency))
		logf("  p50 %.2fs p90 %.2fs p99 %.2fs max %.2fs; %d commits; %d missing", s.P50, s.P90, s.P99, s.Max, o.commits, o.missing)
		outs = append(outs, o)
	}
	return outs, nil
}

func render(outs []outcome, machine string) string {
	var b strings.Builder
	b.WriteString("A real etcd + kube-apiserver and a git remote served over smart HTTP (git http-backend behind basic auth, on loopback) seeded with the workloads' Deployments and HPAs in up to 50 files and a latch.yaml with `dwellUp: 0s` and `window: 0s` (so a move up commits at once: this measures latch's machinery, not the dwell or budgets a policy adds on purpose). " +
		"The real `latch run` binary (`--namespace` of the scenario, `--resync 1h`) starts; once ready, every workload is scaled once through `/scale` (field manager horizontal-pod-autoscaler) from 3 to an R5 value (16–100) at a random time within the spread (fixed seed). " +
		"The remote's branch is read every 100 ms; a workload's latency is the time its `Latch-Object:` trailer was first seen on the remote minus the time its `/scale` update returned. Baseline: the same with few workloads, in the same run. Target: p99 ≤ window + 2 s.\n\n")
	b.WriteString("| window | workloads | spread | commits | p50 s | p90 s | p99 s | max s | p99 − window s | target | missing |\n")
	b.WriteString("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |\n")
	for _, o := range outs {
		s := benchdoc.Summarise(benchdoc.Seconds(o.latency))
		beyond := s.P99 - o.window.Seconds()
		verdict := "met"
		if o.missing > 0 || beyond > targetBeyondWindow.Seconds() {
			verdict = "**missed**"
		}
		fmt.Fprintf(&b, "| %v | %d | %v | %d | %.2f | %.2f | %.2f | %.2f | %+.2f | %s | %d |\n",
			o.window, o.n, o.spread, o.commits, s.P50, s.P90, s.P99, s.Max, beyond, verdict, o.missing)
	}
	b.WriteString("\nLatencies include the 100 ms polling step; p99 uses the nearest-rank method (below 100 workloads it is the maximum).\n")
	return benchdoc.Section(section, "latch run: scale change → commit on the remote", machine, b.String())
}
