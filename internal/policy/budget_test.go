package policy

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"
)

// TestBudgets pins down the window budgets of the default policy (issue
// 10): a short excursion is not chased while the window's miss budget
// allows, a sustained rise is followed, a daily cycle is held at one level
// while the over-provisioning budget allows, and samples at the minimum
// move nothing.
func TestBudgets(t *testing.T) {
	day := perMin(24 * 60)
	tests := []struct {
		name  string
		trace []int64
		min   int64
		// want are the changes after the first day (the history).
		want []change
	}{
		{
			// A day at 35 (declared 40, nothing missed), then 140 for five
			// minutes: 20 samples of the window's ~5,300 (22–24 h: twelve
			// 2 h buckets) are missed, within the 0.5 % budget, and the
			// spike ends before dwell up (10 min) passes.
			name:  "a spike within the miss budget and shorter than dwell up is not chased",
			trace: buildTrace([]segment{{day, 35, 35}, {perMin(5), 140, 140}, {perMin(60), 35, 35}}),
			want:  nil,
		},
		{
			// The same rise, sustained: once the window has missed 0.5 %
			// (26 samples, 6.5 min) it moves at once, to the smallest
			// level at or above 140/√2.
			name:  "a sustained rise is followed once the miss budget is spent",
			trace: buildTrace([]segment{{day, 35, 35}, {perMin(30), 140, 140}}),
			want:  []change{{day + 26, 100}},
		},
		{
			// A second five-minute spike an hour later: the first spent
			// 20 of the 26 missed samples the window allows, so the
			// second is followed at once when the budget runs out, eight
			// samples in.
			name:  "a spike once the miss budget is spent is followed at once",
			trace: buildTrace([]segment{{day, 35, 35}, {perMin(5), 140, 140}, {perMin(60), 35, 35}, {perMin(5), 140, 140}}),
			want:  []change{{day + perMin(5) + perMin(60) + 7, 100}},
		},
		{
			// Samples at 0 with no minimum (a scrape gap reads as 0) for
			// three hours inside a steady load: nothing moves.
			name:  "a monitoring gap at zero moves nothing",
			trace: buildTrace([]segment{{day, 200, 200}, {perMin(180), 0, 0}, {perMin(60), 200, 200}}),
			want:  nil,
		},
		{
			// Three days of a daily cycle between 10 and 200: after the
			// first day the level that covers the peak also holds the
			// trough within the over-provisioning budget; no commit.
			name:  "a daily cycle is held at one level",
			trace: dailyCycle(4, 10, 200),
			want:  nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []change
			for _, c := range replayDefault(tt.trace, tt.min) {
				if c.at >= day {
					got = append(got, c)
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("changes after the first day (sample, declared) = %v, want %v", got, tt.want)
			}
		})
	}
}

// dailyCycle is days of a smooth daily cycle between lo and hi (15 s samples).
func dailyCycle(days int, lo, hi float64) []int64 {
	n := days * perMin(24*60)
	out := make([]int64, n)
	for i := range out {
		phase := float64(i) / float64(perMin(24*60))
		out[i] = int64(math.Round(lo + (hi-lo)*(0.5-0.5*math.Cos(2*math.Pi*phase))))
	}
	return out
}

// histOf is a histogram of the given observed values, by the need
// (⌈observed/2⌉) each stands for, as the window keeps it.
func histOf(observed ...int64) []BinCount {
	var h []BinCount
	for _, v := range observed {
		h = addBin(h, needBin(MinSafe(v)))
	}
	return h
}

func sum(vs ...int64) float64 {
	var s float64
	for _, v := range vs {
		s += float64(v)
	}
	return s
}

// TestOverprovisionAt: the over-provisioning a level would have had over
// the window's samples, read from the histogram (each bin at its middle),
// is close to the exact Σ max(0, level − observed) / Σ observed.
func TestOverprovisionAt(t *testing.T) {
	tests := []struct {
		name     string
		level    int64
		observed []int64
	}{
		{"flat traffic well under the level", 100, []int64{35, 35, 35, 35}},
		{"a level under some samples costs nothing for them", 63, []int64{35, 35, 140, 140}},
		{"a daily cycle", 250, []int64{20, 60, 120, 250, 400, 250, 120, 60}},
		{"one replica", 4, []int64{1, 1, 2, 2}},
		{"thousands", 16000, []int64{2500, 5000, 5000, 25000}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var excess float64
			for _, v := range tt.observed {
				excess += math.Max(0, float64(tt.level-v))
			}
			exact := excess / sum(tt.observed...)
			got := overprovisionAt([][]BinCount{histOf(tt.observed...)}, tt.level, sum(tt.observed...))
			// A bin is a quarter of an octave: its middle is at most
			// 2^(1/8) off the value, so the estimate is within that of
			// each sample's excess.
			if math.Abs(got-exact) > 0.1*math.Max(exact, 1) {
				t.Errorf("overprovisionAt(%d) = %.3f, exact %.3f", tt.level, got, exact)
			}
		})
	}
	if got := overprovisionAt(nil, 100, 0); got != -1 {
		t.Errorf("overprovisionAt with no need = %v, want -1 (nothing to say)", got)
	}
}

// TestAffordable: a move down stops at the highest level the budget
// affords for the window's traffic, and at the bounds.
func TestAffordable(t *testing.T) {
	l, err := newRungs(defaultLadder)
	if err != nil {
		t.Fatal(err)
	}
	p := DefaultParams()
	quiet := []int64{35, 35, 35, 35, 35, 35}
	tests := []struct {
		name     string
		observed []int64
		cur      int64
		b        bounds
		// realized is what the values declared really over-provisioned
		// over the window (0: nothing over the budget).
		realized float64
		want     int64
	}{
		// 63 over 35 costs 0.8, 100 would cost 1.86.
		{"quiet traffic under a burst's level", quiet, 250, newBounds(0, 0, 1, 0), 0, 63},
		{"already affordable one rung down", quiet, 100, newBounds(0, 0, 1, 0), 0, 63},
		// Even the lowest level costs more than the budget (1 over
		// nothing): the lowest the bounds allow.
		{"a minimum above what the budget affords", quiet, 250, newBounds(0, 0, 160, 0), 0, 160},
		{"no rung under the minimum", quiet, 40, newBounds(0, 0, 40, 0), 0, 40},
		// Spikes make a higher level affordable: 250 over 35 × 6 and
		// 300 × 6 costs 0.64 (400 would cost 1.39), and covers them.
		{"spikes that the base level covers", append(append([]int64{}, quiet...), 300, 300, 300, 300, 300, 300), 400, newBounds(0, 0, 1, 0), 0, 250},
		// The window really spent more than the budget (spike levels
		// held after the spikes, the floor through gaps): the level is
		// chosen within budget × (budget / realized)^3: 0.68 at 1.1 × the
		// budget (63 costs 0.8, 40 about 0.14), 0.11 at twice it (25,
		// still above the need of 35, costs nothing).
		{"a window that spent a little more than the budget", quiet, 250, newBounds(0, 0, 1, 0), 1.1 * DefaultOverprovisionBudget, 40},
		{"a window that spent twice the budget", quiet, 250, newBounds(0, 0, 1, 0), 2 * DefaultOverprovisionBudget, 25},
		{"a window that spent just the budget", quiet, 250, newBounds(0, 0, 1, 0), DefaultOverprovisionBudget, 63},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := State{Valid: true, Declared: tt.cur, Window: []Bucket{{Hist: histOf(tt.observed...)}}}
			w := window{need: sum(tt.observed...), realized: tt.realized}
			if got := p.affordable(s, w, l, tt.b, tt.cur); got != tt.want {
				t.Errorf("affordable(declared %d) = %d, want %d", tt.cur, got, tt.want)
			}
		})
	}
}

// TestDownWait: over the budget, the wait before a move down shortens with
// (budget / over-provisioning)^1.25, never below dwell up; within it (or
// with the budgets off) it is downDwell.
func TestDownWait(t *testing.T) {
	h := time.Hour
	p := DefaultParams()
	off := p
	off.Window = 0
	tests := []struct {
		name                     string
		p                        Params
		atLevel                  float64
		declared, highest, floor int64
		want                     time.Duration
	}{
		{"within the budget: downDwell", p, 0.5, 100, 100, 1, 4 * h},
		{"a little over: most of the dwell", p, 1.0, 100, 100, 1, time.Duration(float64(4*h) * math.Pow(0.9, 1.25))},
		{"a spike's level, four times over", p, 3.6, 1000, 400, 1, time.Duration(float64(4*h) * math.Pow(0.25, 1.25))},
		{"downDwell's own shortening when it is shorter", p, 1.0, 1000, 250, 1, h},
		{"far over: never below dwell up", p, 100, 1000, 400, 1, p.DwellUp},
		{"a wait pinned to the floor keeps the whole dwell", p, 5, 1000, 1, 1, 4 * h},
		{"budgets off", off, 5, 100, 100, 1, 4 * h},
		{"a window that knows no need (a resumed state)", p, -1, 100, 50, 1, 2 * h},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.p.downWait(window{atLevel: tt.atLevel}, tt.declared, tt.highest, tt.floor)
			if got.Round(time.Second) != tt.want.Round(time.Second) {
				t.Errorf("downWait = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestWindowRealized: the window keeps what the values declared really
// over-provisioned, samples at the floor (a gap) included, over the need
// of the samples above it; the level's own cost (atLevel) leaves the gap
// out, so a gap never makes a move down due.
func TestWindowRealized(t *testing.T) {
	p := DefaultParams()
	start := time.Unix(1_700_000_000, 0)
	tests := []struct {
		name              string
		observed          []int64
		declared, floor   int64
		realized, atLevel float64
	}{
		{"declared above steady traffic", []int64{50, 50}, 100, 1, 1, 1},
		{"declared below the traffic: no excess", []int64{150, 150}, 100, 1, 0, 0},
		// Two samples at 50 (need 100), two at the floor: realized
		// counts 2 × 50 + 2 × 99 of excess, atLevel only the first.
		{"a gap at the floor", []int64{50, 50, 1, 1}, 100, 1, 2.98, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := State{Valid: true, Declared: tt.declared}
			for i, v := range tt.observed {
				s = s.record(p, start.Add(time.Duration(i)*15*time.Second), v, tt.declared, tt.floor)
			}
			w := s.totals()
			if math.Abs(w.realized-tt.realized) > 1e-9 {
				t.Errorf("realized = %.4f, want %.4f", w.realized, tt.realized)
			}
			// atLevel reads the histogram's bin middles: within 2^(1/8).
			if math.Abs(w.atLevel-tt.atLevel) > 0.1*math.Max(tt.atLevel, 0.1) {
				t.Errorf("atLevel = %.4f, want about %.4f", w.atLevel, tt.atLevel)
			}
		})
	}
	if w := (State{}).totals(); w.realized != 0 || w.atLevel != -1 {
		t.Errorf("an empty window: realized %v, atLevel %v, want 0 and -1", w.realized, w.atLevel)
	}
}

// TestAtOnceReasonNamesTheQuantileRead checks the reason of a move up at
// once that the window lifts says which of the window's quantiles set the
// level: the 96 % one such a move reads (atOnceMiss × MissBudget), not the
// 99.5 % of MissBudget, which it does not read.
func TestAtOnceReasonNamesTheQuantileRead(t *testing.T) {
	p := DefaultParams()
	now := t0.Add(48 * time.Hour)
	length := int64(p.Window/time.Second) / windowBuckets
	// One bucket of 5,000 samples, 2 % of them missed (the budget is
	// spent): 90 % needed 20, 10 % needed 500 (observed 1,000).
	s := State{Valid: true, Declared: 40, Window: []Bucket{{
		Start:   now.Unix() - mod(now.Unix(), length),
		Samples: 5000, Missed: 100, Need: 4500*40 + 500*1000,
		Hist: []BinCount{{Bin: needBin(20), N: 4500}, {Bin: needBin(500), N: 500}},
	}}}
	// Observed 200 needs 100 (125 with the margin: 160); 96 % of the
	// window needed up to 500, so the level is 630.
	_, d := Step(p, s, now, 200, 0, 0)
	if !d.Changed || d.Declared != 630 {
		t.Fatalf("Step = %d (changed %v), want 630: %s", d.Declared, d.Changed, d.Reason)
	}
	if want := "96% of the last 24h0m0s needed at most"; !strings.Contains(d.Reason, want) {
		t.Errorf("reason %q does not contain %q", d.Reason, want)
	}
}
