package policy

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// noisyUnder is one sample at 176 (a fresh state declares 160), then n
// samples of 40, 40, 40, 100, …: every fourth sample is above the band
// under 160 (84), so the ordinary move down never gets an uninterrupted
// dwell, though 63 covers every sample (⌈100/2⌉ = 50).
func noisyUnder(n int) []int64 {
	out := []int64{176}
	for i := range n {
		v := int64(40)
		if i%4 == 3 {
			v = 100
		}
		out = append(out, v)
	}
	return out
}

// TestReleaseOverBudget: a level the window finds over-provisioned for a
// whole dwell down is released to what the window needed, even when noise
// keeps resetting the ordinary move down (plateau-noisy in bench/simulate
// sat at 160 for five days, over-provisioning 1.45).
func TestReleaseOverBudget(t *testing.T) {
	dwell := int(DefaultDwellDown / sampleStep)
	got := replayDefault(noisyUnder(3*dwell), 1)
	// The first observation; 160 held over the window is over budget
	// from sample 3 on (176 and two 40s: 240 / 256 = 0.94 > 0.9, reading
	// each sample at its bin's middle), so the level is released a dwell
	// later, at sample 3 + dwell. It goes to 63, which covers every
	// sample: 100 over 40, 40, 40, 100 would cost 0.82, within the
	// budget, but holding 160 for the dwell really over-provisioned
	// about 1.9, so the level is chosen within 0.9 × (0.9/1.9)^3 ≈ 0.1
	// (affordBudget).
	want := []change{{0, 160}, {3 + dwell, 63}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("changes (sample, declared) = %v, want %v", got, want)
	}

	// The reason says why, for the commit message.
	var st State
	for i, v := range noisyUnder(dwell + 3) {
		var d Decision
		st, d = Step(DefaultParams(), st, t0.Add(time.Duration(i)*sampleStep), v, 1, 0)
		if i == 3+dwell {
			if !d.Changed || !strings.Contains(d.Reason, "160 over the last 24h0m0s would over-provision") || !strings.Contains(d.Reason, "for 4h0m0s") {
				t.Errorf("release reason = %q (changed %v), want the over-provisioning and how long it lasted", d.Reason, d.Changed)
			}
		}
	}

	// Without the budgets (window 0) nothing releases it: the ordinary
	// rules only, as before.
	p := DefaultParams()
	p.Window = 0
	st = State{}
	changes := 0
	for i, v := range noisyUnder(3 * dwell) {
		var d Decision
		st, d = Step(p, st, t0.Add(time.Duration(i)*sampleStep), v, 1, 0)
		if d.Changed {
			changes++
		}
	}
	if changes != 1 {
		t.Errorf("window off: %d changes, want only the first observation", changes)
	}
}

// TestQuantileReadsWithinBin: a quantile inside a bin is read between the
// bin's edges, not at its upper edge, so a need of 50 is not read as 53.8
// (the edge of its bin), which a ladder's next level could turn into a
// whole rung more.
func TestQuantileReadsWithinBin(t *testing.T) {
	h := []BinCount{{Bin: needBin(50), N: 1000}}
	got, n := quantileOf([][]BinCount{h}, 0.005)
	lo, hi := binEdge(needBin(50)-1), binEdge(needBin(50))
	if n != 1000 || got <= lo || got >= hi {
		t.Fatalf("quantile = %.2f of %d, want strictly inside the bin (%.2f, %.2f)", got, n, lo, hi)
	}
	// No miss allowed: the bin's upper edge, as before.
	if got, _ := quantileOf([][]BinCount{h}, 0); got != hi {
		t.Errorf("quantile with no miss allowed = %.2f, want the bin's edge %.2f", got, hi)
	}
}

// TestResumedStateDeclaresNearTheLiveValue: a controller that resumed from
// git (no window yet) and finds the workload far above what git declares
// declares the level at or above the live value (37 → 40), not the
// budgeted move's 1.25 × the need (25), which is for a window that knows
// the traffic's spikes.
func TestResumedStateDeclaresNearTheLiveValue(t *testing.T) {
	_, d := Step(DefaultParams(), Resume(3), t0, 37, 1, 0)
	if !d.Changed || d.Declared != 40 {
		t.Fatalf("resumed at 3, observed 37: declared %d (changed %v), want 40", d.Declared, d.Changed)
	}
	// A few passes of history are not enough to know the traffic: 10
	// samples, and the move is still to 40.
	st := Resume(3)
	for i := range 10 {
		st, _ = Step(DefaultParams(), st, t0.Add(time.Duration(i)*sampleStep), 3, 1, 0)
	}
	if _, d := Step(DefaultParams(), st, t0.Add(10*sampleStep), 37, 1, 0); d.Declared != 40 {
		t.Errorf("after 10 samples, observed 37: declared %d, want 40", d.Declared)
	}
	// With a window that has a miss budget (200 samples, none missed):
	// the first miss is tolerated (1 of 201), the second is over budget
	// and the move is at once with the budget's margin: 1.25 × 19 → 25.
	for i := 10; i < 200; i++ {
		st, _ = Step(DefaultParams(), st, t0.Add(time.Duration(i)*sampleStep), 3, 1, 0)
	}
	st, d = Step(DefaultParams(), st, t0.Add(200*sampleStep), 37, 1, 0)
	if d.Changed {
		t.Fatalf("the first miss in a window of 200: declared %d, want it tolerated", d.Declared)
	}
	if _, d := Step(DefaultParams(), st, t0.Add(201*sampleStep), 37, 1, 0); d.Declared != 25 {
		t.Errorf("with a window, observed 37: declared %d, want 25 (1.25 × 19, the next level)", d.Declared)
	}
}
