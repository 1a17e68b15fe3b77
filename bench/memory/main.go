// Command memory measures what `latch run` costs in memory per watched
// workload (issue 5, item 2; target ≤ 10 KiB per workload): it starts a
// real API server (etcd + kube-apiserver from the test binaries), creates
// realistic Deployments (two containers, env, resources, probes, labels, a
// kubectl last-applied-configuration annotation, managedFields from a
// create and a /scale update) and half as many HPAs, and at each size runs
// the real latch binary against a local bare git repository declaring them,
// once with its default stripped informer caches and once with the hidden
// --unstripped-cache-for-benchmark (the baseline). Once /readyz answers and
// the first pass has ended, it waits, reads VmRSS from /proc a few times
// and takes the median; bytes per workload = ΔRSS / ΔDeployments between
// the smallest and largest size. It prints and writes the section between
// <!-- BEGIN memory --> and <!-- END memory --> of docs/benchmarks.md.
//
//	go run ./bench/memory [-sizes 1000,10000] [-quick] [-doc docs/benchmarks.md]
package main

import (
	"context"
	"flag"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/latch-gitops/latch/bench/internal/benchdoc"
	"github.com/latch-gitops/latch/bench/internal/benchmain"
	"github.com/latch-gitops/latch/internal/memlimit"
	"github.com/latch-gitops/latch/internal/testenv"
)

const (
	section = "memory"
	// targetPerWorkload is the goal.
	targetPerWorkload = 10 * 1024
)

func main() {
	sizes := flag.String("sizes", "1000,10000", "Deployment counts, comma separated (at least two)")
	settle := flag.Duration("settle", 150*time.Second, "wait after the first pass before sampling RSS (over 2 min: the runtime forces a GC every 2 min, after which the scavenger returns the startup peak)")
	samples := flag.Int("samples", 7, "VmRSS readings, one second apart (the median is reported)")
	workers := flag.Int("workers", 32, "parallel creates")
	qps := flag.Float64("qps", 500, "client rate limit for the creates")
	profiles := flag.String("profiles", "", "folder for each run's heap profile and log (diagnosis; off by default)")
	doc := benchmain.Parse(section, "smoke run: 100 and 500 Deployments, 3 s settle, 3 samples", func() {
		*sizes, *settle, *samples = "100,500", 3*time.Second, 3
	})
	cfg := config{profiles: *profiles, settle: *settle, samples: *samples, workers: *workers, qps: float32(*qps), log: benchmain.Logf,
		sizes: benchmain.List(section, "sizes", *sizes, "a positive count", func(s string) (int, bool) {
			n, err := strconv.Atoi(s)
			return n, err == nil && n >= 1
		})}
	sort.Ints(cfg.sizes)
	if len(cfg.sizes) < 2 || cfg.samples < 1 {
		benchmain.Exitf(section, 2, "need at least two -sizes and one sample")
	}
	limit, err := chartMemoryLimit(chartValues)
	if err != nil {
		benchmain.Exitf(section, 2, "%v", err)
	}
	cfg.memLimit = limit
	var peakOver bool
	benchmain.Run(section, doc, func(ctx context.Context, session *testenv.Session, machine string) (string, error) {
		res, err := measure(ctx, session, cfg)
		if err != nil {
			return "", err
		}
		peakOver = !peakUnderLimit(res, cfg)
		return render(res, cfg, machine), nil
	})
	if peakOver {
		benchmain.Exitf(section, 1, "the start-up peak at the largest size is over the chart's memory limit (%s)", chartValues)
	}
}

// largest is the stripped (default) sample at the largest size.
func largest(res result) *sample {
	var hi *sample
	for i := range res.samples {
		if s := &res.samples[i]; s.variant == "stripped" && (hi == nil || s.size > hi.size) {
			hi = s
		}
	}
	return hi
}

// peakUnderLimit: the default variant's start-up peak (VmHWM) at the
// largest size stays under the chart's limit.
func peakUnderLimit(res result, cfg config) bool {
	hi := largest(res)
	return hi != nil && hi.peak < float64(cfg.memLimit)
}

// perWorkload is a variant's bytes per Deployment between the smallest and
// largest size, by VmRSS, RssAnon, peak RSS and live heap.
type perWorkload struct{ rss, anon, peak, live float64 }

func slope(res result, variant string) perWorkload {
	var lo, hi *sample
	for i := range res.samples {
		s := &res.samples[i]
		if s.variant != variant {
			continue
		}
		if lo == nil || s.size < lo.size {
			lo = s
		}
		if hi == nil || s.size > hi.size {
			hi = s
		}
	}
	if lo == nil || hi == nil || hi.size == lo.size {
		return perWorkload{}
	}
	d := float64(hi.size - lo.size)
	return perWorkload{rss: (hi.rss.Median - lo.rss.Median) / d, anon: (hi.anon.Median - lo.anon.Median) / d,
		peak: (hi.peak - lo.peak) / d, live: (hi.liveHeap - lo.liveHeap) / d}
}

func render(res result, cfg config, machine string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "A real etcd + kube-apiserver holds N Deployments (two containers with env, resources and probes; five labels; a kubectl last-applied-configuration of %d bytes on average; managedFields from the create and from a /scale update by kube-controller-manager) and N/2 HPAs, %d Deployments per namespace. "+
		"The real `latch run` binary watches them (Deployments, StatefulSets, HPAs) with `--resync 1h`, against a local bare repository (`file://`) declaring every Deployment and HPA at its live scale in one file per namespace, so the first pass reads and indexes them all and commits nothing. "+
		"Once `/readyz` answers 200 and `latch_passes_total{result=\"ok\"}` is 1, it waits %v, then reads VmRSS from `/proc/PID/status` %d times a second apart (median, min–max) with RssAnon (anonymous pages: heap, stacks, runtime; not the binary) and VmHWM (the peak since start); latch runs with `GODEBUG=gctrace=1`, whose last line gives the heap the last GC found live. The benchmark forces nothing: latch itself returns freed pages to the OS after each pass (`debug.FreeOSMemory`), and the settle wait is longer than the 2 min after which the Go runtime forces a GC, so the RSS is what an operator sees in steady state with the default GOGC; the peak column shows the burst of the initial list and the first pass. "+
		"Baseline: the same binary with `--unstripped-cache-for-benchmark` (no `cluster.Strip` transform; whole objects in the informer caches), in the same run.\n\n",
		res.annotationSize, perNamespace, cfg.settle, cfg.samples)
	b.WriteString("| Deployments | HPAs | caches | RSS MiB (min–max) | RssAnon MiB | peak RSS MiB | live heap MiB (GC #) | ready after | commits |\n| ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	for _, s := range res.samples {
		fmt.Fprintf(&b, "| %d | %d | %s | %.1f (%.1f–%.1f) | %.1f | %.1f | %.1f (%d) | %.1f s | %.0f |\n", s.size, (s.size+1)/2, s.variant,
			s.rss.Median/mib, s.rss.Min/mib, s.rss.Max/mib, s.anon.Median/mib, s.peak/mib, s.liveHeap/mib, s.gcs, s.readyAfter.Seconds(), s.commits)
	}
	lo, hi := cfg.sizes[0], cfg.sizes[len(cfg.sizes)-1]
	stripped, unstripped := slope(res, "stripped"), slope(res, "unstripped")
	verdict := "met"
	if stripped.rss > targetPerWorkload {
		verdict = "**missed**"
	}
	fmt.Fprintf(&b, "\nBytes per workload = (RSS at %d − RSS at %d) / %d Deployments (each with its share of HPAs):\n\n", hi, lo, hi-lo)
	b.WriteString("| caches | bytes/workload (RSS) | (RssAnon) | (peak RSS) | (live heap) | target ≤ 10 KiB (RSS) |\n| --- | ---: | ---: | ---: | ---: | --- |\n")
	fmt.Fprintf(&b, "| stripped (default) | %.0f (%.1f KiB) | %.0f | %.0f | %.0f | %s |\n", stripped.rss, stripped.rss/1024, stripped.anon, stripped.peak, stripped.live, verdict)
	fmt.Fprintf(&b, "| unstripped (baseline) | %.0f (%.1f KiB) | %.0f | %.0f | %.0f | — |\n\n", unstripped.rss, unstripped.rss/1024, unstripped.anon, unstripped.peak, unstripped.live)
	if stripped.rss > 0 {
		fmt.Fprintf(&b, "Ratio unstripped / stripped, bytes per workload: **%.1f×** (RSS), %.1f× (live heap).\n\n", unstripped.rss/stripped.rss, unstripped.live/stripped.live)
	}
	var creates []string
	for _, n := range cfg.sizes {
		creates = append(creates, fmt.Sprintf("%d in %.0f s", n, res.createTime[n].Seconds()))
	}
	if hi := largest(res); hi != nil {
		verdict := "met"
		if !peakUnderLimit(res, cfg) {
			verdict = "**missed**"
		}
		fmt.Fprintf(&b, "Start-up peak against the shipped limit: both variants run with `GOMEMLIMIT=%d` (%.0f MiB), what latch sets itself inside the chart's container (90 %% of its `resources.limits.memory`, %.0f MiB, read from `%s`; `internal/memlimit`). "+
			"At %d Deployments the default peak is %.1f MiB against the %.0f MiB limit: %s. "+
			"Extrapolating the peak at %.0f bytes per workload, 50,000 Deployments need a limit of about %d MiB (an estimate from this slope, not a measurement).\n\n",
			memlimit.Soft(cfg.memLimit), float64(memlimit.Soft(cfg.memLimit))/mib, float64(cfg.memLimit)/mib, chartValues,
			hi.size, hi.peak/mib, float64(cfg.memLimit)/mib, verdict, stripped.peak, limitFor(50000, hi.peak, hi.size, stripped.peak, memlimit.SoftShare)/mib)
	}
	fmt.Fprintf(&b, "Creating the objects (%d workers, client QPS %.0f; cumulative sizes): %s.\n", cfg.workers, cfg.qps, strings.Join(creates, ", "))
	return benchdoc.Section(section, "latch run: memory per watched workload", machine, b.String())
}
