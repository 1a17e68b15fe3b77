package main

import (
	"strings"
	"testing"
	"time"

	"github.com/latch-gitops/latch/internal/testenv"
)

// TestLatencyHarness runs the benchmark's core with tiny sizes on a real API
// server, a real HTTP git remote and the real latch binary (skipped, or
// failed under CI, without the test binaries): every workload scaled must
// show up in a commit, after its scale.
func TestLatencyHarness(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an API server, a git remote and latch")
	}
	window := time.Second
	outs, err := measure(testenv.Context(t), t, []scenario{{n: 3, window: window, spread: 2 * time.Second, seed: 1, poll: 100 * time.Millisecond},
		{n: 20, window: window, spread: 3 * time.Second, seed: 1, poll: 100 * time.Millisecond}}, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range outs {
		if o.missing != 0 || len(o.latency) != o.n {
			t.Fatalf("%d workloads: %d missing, %d latencies", o.n, o.missing, len(o.latency))
		}
		if o.commits < 1 {
			t.Errorf("%d workloads: no commit counted", o.n)
		}
		for _, l := range o.latency {
			// Never negative: the commit came after the scale. How long
			// it took is the benchmark's to report, not a test's to bound
			// (a busy machine is slow).
			if l < 0 {
				t.Errorf("%d workloads: latency %v out of bounds", o.n, l)
			}
		}
	}
	text := render(outs, "Machine: test.")
	for _, want := range []string{"<!-- BEGIN latency -->", "| 1s | 20 | 3s |", "<!-- END latency -->\n"} {
		if !strings.Contains(text, want) {
			t.Errorf("section lacks %q:\n%s", want, text)
		}
	}
}
