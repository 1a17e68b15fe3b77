package main

import (
	"strings"
	"testing"
	"time"

	"github.com/latch-gitops/latch/internal/testenv"
)

// TestMemoryHarness runs the benchmark's core with tiny sizes on a real API
// server and the real latch binary (skipped, or failed under CI, without
// the test binaries): both variants at both sizes, RSS and RssAnon read, git
// in agreement with the cluster (no commits), and a rendered section.
func TestMemoryHarness(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an API server and latch")
	}
	limit, err := chartMemoryLimit("../../" + chartValues)
	if err != nil {
		t.Fatal(err)
	}
	cfg := config{sizes: []int{10, 30}, settle: time.Second, samples: 2, workers: 4, qps: 100, log: t.Logf, memLimit: limit}
	res, err := measure(testenv.Context(t), t, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.samples) != 4 {
		t.Fatalf("%d samples, want 2 sizes × 2 variants", len(res.samples))
	}
	for _, s := range res.samples {
		if s.rss.Median < 10<<20 || s.anon.Median <= 0 || s.readyAfter <= 0 {
			t.Errorf("%d %s: implausible RSS %.0f, anonymous %.0f, ready after %v", s.size, s.variant, s.rss.Median, s.anon.Median, s.readyAfter)
		}
		if s.commits != 0 {
			t.Errorf("%d %s: latch committed %v times; git was seeded at the live scale", s.size, s.variant, s.commits)
		}
	}
	if res.annotationSize < 1500 {
		t.Errorf("last-applied-configuration averages %d bytes, want about 2 KiB", res.annotationSize)
	}
	text := render(res, cfg, "Machine: test.")
	for _, want := range []string{"<!-- BEGIN memory -->", "| 30 | 15 | unstripped |", "bytes/workload", "<!-- END memory -->\n"} {
		if !strings.Contains(text, want) {
			t.Errorf("section lacks %q:\n%s", want, text)
		}
	}
}

func TestChartLimitAndEstimate(t *testing.T) {
	limit, err := chartMemoryLimit("../../" + chartValues)
	if err != nil || limit != 256<<20 {
		t.Fatalf("chart limit %d, %v; want the chart's 256Mi", limit, err)
	}
	if env := latchEnv(limit); len(env) != 2 || env[1] != "GOMEMLIMIT=241591910" {
		t.Errorf("latch's environment %v", env)
	}
	if env := latchEnv(0); len(env) != 1 {
		t.Errorf("without a limit latch got %v", env)
	}
	// 200 MiB at 10k, 10 KiB more per workload: 200 MiB + 40,000 × 10 KiB
	// = 590.6 MiB, over 0.9: 656.2 MiB, up to the next 128 MiB: 768 MiB.
	if got := limitFor(50000, 200*mib, 10000, 10*1024, 0.9); got != 768*mib {
		t.Errorf("limitFor = %d MiB, want 768", got/mib)
	}
	if _, err := chartMemoryLimit("testdata/none.yaml"); err == nil {
		t.Error("a missing chart gave no error")
	}
}
