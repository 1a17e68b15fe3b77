package policy

import (
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// sample is one observation of a scripted trace.
type sample struct {
	at       time.Duration
	observed int64
	want     int64
	changed  bool
	reason   string // substring of the reason when changed
}

func runScript(t *testing.T, p Params, st State, min, max int64, script []sample) State {
	t.Helper()
	for i, s := range script {
		var d Decision
		st, d = Step(p, st, t0.Add(s.at), s.observed, min, max)
		if d.Declared != s.want || d.Changed != s.changed {
			t.Fatalf("step %d (t=%v, observed %d): declared %d changed %v, want %d changed %v (reason %q)",
				i, s.at, s.observed, d.Declared, d.Changed, s.want, s.changed, d.Reason)
		}
		if d.Changed && !strings.Contains(d.Reason, s.reason) {
			t.Errorf("step %d: reason %q, want it to contain %q", i, d.Reason, s.reason)
		}
		if !d.Changed && d.Reason != "" {
			t.Errorf("step %d: unchanged decision has reason %q", i, d.Reason)
		}
	}
	return st
}

func params125() Params {
	return Params{Ladder: Ladder{Kind: LadderSeries, Series: "1-2-5"}, Hysteresis: 0.2, DwellDown: time.Hour}
}

func TestStepScripts(t *testing.T) {
	p := params125()
	h := time.Hour
	m := time.Minute
	tests := []struct {
		name     string
		params   Params
		min, max int64
		script   []sample
	}{
		{"first observation rounds", p, 0, 0, []sample{{0, 37, 50, true, "first observation 37; declared 50"}}},
		{"immediate up past the boundary plus hysteresis", p, 0, 0, []sample{
			{0, 20, 20, true, "first"},
			{15 * time.Second, 37, 20, false, ""}, // past the 31.6 boundary but not 20 % beyond (37.9)
			{30 * time.Second, 38, 50, true, "up at once to 50"},
		}},
		{"coverage floor moves up whatever the hysteresis", Params{Ladder: Ladder{Kind: LadderMagnitude}, Hysteresis: 0.9}, 0, 0, []sample{
			{0, 10, 10, true, "first"},
			{m, 20, 10, false, ""},
			{2 * m, 21, 100, true, "needs at least 11 (half)"},
		}},
		{"hysteresis holds inside the band", p, 0, 0, []sample{
			{0, 20, 20, true, ""},
			{m, 35, 20, false, ""}, {2 * m, 12, 20, false, ""}, {3 * m, 37, 20, false, ""},
			{2 * h, 12, 20, false, ""}, // 12 > 11.8 (14.1/1.2): no move pending at all
		}},
		{"dwell down waits, then moves to the level of the highest value held", p, 0, 0, []sample{
			{0, 30, 20, true, ""},
			{m, 14, 20, false, ""},      // inside the band (above 14.14/1.2 = 11.8): nothing pending
			{2 * m, 11, 20, false, ""},  // below 11.8: the dwell starts
			{30 * m, 11, 20, false, ""}, // highest 11 of 20 declared: the dwell is 1h × 11/20 = 33m
			{34 * m, 9, 20, false, ""},  // 32m held
			{35 * m, 9, 10, true, "held below 11.79 (boundary 14.14 − 20% hysteresis) for 33m0s (highest 11); down to 10"},
		}},
		{"the dwell down is in proportion to the used fraction of the declared value", p, 0, 0, []sample{
			{0, 50, 50, true, ""},
			{m, 26, 50, false, ""},      // below 26.35: dwell starts, highest 26
			{32 * m, 26, 50, false, ""}, // 31m held < 1h × 26/50 = 31m12s
			// down to the smallest level at or above 26/√2 = 18.4
			{33 * m, 26, 20, true, "for 32m0s (highest 26); down to 20"},
		}},
		{"dwell down restarts when the value comes back", p, 0, 0, []sample{
			{0, 50, 50, true, ""},
			{m, 20, 50, false, ""},
			{40 * m, 30, 50, false, ""}, // back inside the band: pending forgotten
			{41 * m, 20, 50, false, ""},
			{61 * m, 20, 50, false, ""}, // only 20 min since the restart
			{101 * m, 20, 20, true, "for 1h0m0s (highest 20)"},
		}},
		{"dwell up", Params{Ladder: Ladder{Kind: LadderSeries, Series: "1-2-5"}, Hysteresis: 0.2, DwellUp: 10 * m, DwellDown: h}, 0, 0, []sample{
			{0, 20, 20, true, ""},
			{m, 39, 20, false, ""},
			{5 * m, 40, 20, false, ""},
			{11 * m, 40, 50, true, "held above 37.95 for 10m0s (lowest 39)"},
		}},
		{"dwell up gives way to the coverage floor", Params{Ladder: Ladder{Kind: LadderSeries, Series: "1-2-5"}, Hysteresis: 0.2, DwellUp: h, DwellDown: h}, 0, 0, []sample{
			{0, 20, 20, true, ""},
			{m, 39, 20, false, ""},
			{2 * m, 41, 50, true, "needs at least 21"},
		}},
		{"clamp to max and min from git", p, 5, 30, []sample{
			{0, 37, 30, true, "clamped to max 30"},
			{m, 1000, 30, false, ""},
			{2 * m, 1, 30, false, ""},
			{2*m + h, 1, 5, true, "clamped to min 5"},
		}},
		{"policy bounds bind too", Params{Ladder: p.Ladder, Hysteresis: 0.2, DwellDown: h, Min: 3, Max: 200}, 0, 0, []sample{
			{0, 1, 3, true, "clamped to min 3"},
			{m, 900, 200, true, "clamped to max 200"},
		}},
		{"min above max: min wins", p, 10, 5, []sample{
			{0, 1, 10, true, "min 10 is above max, holding min"},
			{m, 100, 10, false, ""},
		}},
		{"scaled to zero", p, 0, 0, []sample{
			{0, 0, 0, true, ""},
			{m, 1, 1, true, "up at once to 1"},
			{2 * m, 0, 1, false, ""},
			{2*m + h, 0, 0, true, "down to 0"},
		}},
		{"flash crowd is released sooner", Params{Ladder: Ladder{Kind: LadderSeries, Series: "1-2-5"}, Hysteresis: 0.2, DwellDown: 4 * h}, 0, 0, []sample{
			{0, 50, 50, true, ""},
			{m, 2000, 2000, true, "up at once"},
			{2 * m, 50, 2000, false, ""},
			// 2000 is 40× the highest value held: the dwell is a quarter of 4h.
			{2*m + h, 50, 50, true, "for 1h0m0s (highest 50)"},
		}},
		{"step rule never declares below half", Params{Ladder: Ladder{Kind: LadderStep, Step: 10}, Hysteresis: 0.2}, 0, 0, []sample{
			{0, 4, 10, true, ""},
			{m, 3, 10, false, ""},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			runScript(t, tt.params, State{}, tt.min, tt.max, tt.script)
		})
	}
}

func TestBoundsChangeInGit(t *testing.T) {
	p := params125()
	st, _ := Step(p, State{}, t0, 100, 0, 0)
	st, d := Step(p, st, t0.Add(time.Minute), 100, 0, 50)
	if d.Declared != 50 || !d.Changed || !strings.Contains(d.Reason, "outside the bounds") {
		t.Fatalf("after max lowered to 50: %+v", d)
	}
	_, d = Step(p, st, t0.Add(2*time.Minute), 100, 200, 0)
	if d.Declared != 200 || !d.Changed {
		t.Fatalf("after min raised to 200: %+v", d)
	}
}

func TestResume(t *testing.T) {
	p := params125()
	st := Resume(50)
	st, d := Step(p, st, t0, 45, 0, 0)
	if d.Changed || d.Declared != 50 {
		t.Fatalf("resume at 50, observed 45: %+v, want held at 50 unchanged", d)
	}
	if Resume(-3).Declared != 0 {
		t.Errorf("Resume(-3) should clamp to 0")
	}
	_ = st
}

func TestInvalidParamsHold(t *testing.T) {
	st := Resume(20)
	st2, d := Step(Params{Hysteresis: 2}, st, t0, 1000, 0, 0)
	if d.Changed || d.Declared != 20 || !reflect.DeepEqual(st2, st) || !strings.Contains(d.Reason, "policy not applied") {
		t.Fatalf("invalid params: %+v, state %+v", d, st2)
	}
}

// randomTrace is a random walk in log space with jumps, drops to zero and
// irregular time steps: the kind of input the properties must survive.
func randomTrace(rng *rand.Rand, n int) ([]time.Time, []int64) {
	times := make([]time.Time, n)
	values := make([]int64, n)
	now := t0
	level := 1 + rng.Float64()*100
	for i := range n {
		now = now.Add(time.Duration(1+rng.IntN(120)) * time.Second * time.Duration(1+rng.IntN(30)))
		switch r := rng.Float64(); {
		case r < 0.01:
			level *= 1 + rng.Float64()*50
		case r < 0.02:
			level /= 1 + rng.Float64()*50
		default:
			level *= 1 + 0.2*rng.NormFloat64()
		}
		level = min(max(level, 0.5), 1e7)
		v := int64(level)
		if rng.Float64() < 0.005 {
			v = 0
		}
		times[i], values[i] = now, v
	}
	return times, values
}

func randomParams(rng *rand.Rand) (Params, int64, int64) {
	rules := []Ladder{
		{Kind: LadderSigFig}, {Kind: LadderMagnitude}, {Kind: LadderStep, Step: 1 + rng.Int64N(50)},
		{Kind: LadderSeries, Series: "1-2-5"}, {Kind: LadderSeries, Series: "R5"}, {Kind: LadderSeries, Series: "R10"},
	}
	p := Params{
		Ladder:     rules[rng.IntN(len(rules))],
		Hysteresis: rng.Float64() * 0.99,
		DwellDown:  time.Duration(rng.IntN(6*3600)) * time.Second,
		DwellUp:    time.Duration(rng.IntN(2)*rng.IntN(600)) * time.Second,
	}
	var mn, mx int64
	if rng.IntN(2) == 0 {
		mn = rng.Int64N(20)
	}
	if rng.IntN(2) == 0 {
		mx = mn + rng.Int64N(5000)
	}
	return p, mn, mx
}

func TestProperties(t *testing.T) {
	for seed := range uint64(60) {
		rng := rand.New(rand.NewPCG(seed, 42))
		p, mn, mx := randomParams(rng)
		times, values := randomTrace(rng, 3000)
		hi := mx
		if hi == 0 {
			hi = 1<<63 - 1
		}
		var st State
		first := make([]Decision, len(values))
		var saved State
		mid := len(values) / 2
		for i, v := range values {
			before := st.Declared
			var d Decision
			st, d = Step(p, st, times[i], v, mn, mx)
			first[i] = d
			if d.Declared < mn || d.Declared > hi {
				t.Fatalf("seed %d step %d: declared %d outside [%d, %d]", seed, i, d.Declared, mn, mx)
			}
			if d.Changed && i > 0 && d.Declared > before && d.Declared < hi && d.Declared < MinSafe(v) {
				t.Fatalf("seed %d step %d: moved up to %d, below half of observed %d", seed, i, d.Declared, v)
			}
			if d.Declared < hi && d.Declared < MinSafe(v) {
				t.Fatalf("seed %d step %d: declared %d below half of observed %d with room under max", seed, i, d.Declared, v)
			}
			if i == mid {
				saved = st
			}
		}
		// Determinism: the same input gives the same output.
		var st2 State
		for i, v := range values {
			var d Decision
			st2, d = Step(p, st2, times[i], v, mn, mx)
			if d != first[i] {
				t.Fatalf("seed %d step %d: second run %+v, first %+v", seed, i, d, first[i])
			}
		}
		// Serialise the state mid-trace, resume from JSON: identical output.
		data, err := json.Marshal(saved)
		if err != nil {
			t.Fatal(err)
		}
		var restored State
		if err := json.Unmarshal(data, &restored); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(restored, saved) {
			t.Fatalf("seed %d: JSON round trip changed the state: %+v != %+v (%s)", seed, restored, saved, data)
		}
		st3 := restored
		for i := mid + 1; i < len(values); i++ {
			var d Decision
			st3, d = Step(p, st3, times[i], values[i], mn, mx)
			if d != first[i] {
				t.Fatalf("seed %d step %d: resumed run %+v, uninterrupted %+v", seed, i, d, first[i])
			}
		}
	}
}

func FuzzStep(f *testing.F) {
	f.Add(int64(20), int64(37), int64(0), int64(0), 0.2, int64(3600), int64(0), uint8(3), int64(0), int64(900), false)
	f.Add(int64(0), int64(1<<62), int64(5), int64(3), 0.99, int64(0), int64(10), uint8(2), int64(7), int64(-5), true)
	f.Add(int64(250), int64(35), int64(1), int64(0), 0.5, int64(4*time.Hour), int64(10*time.Minute), uint8(4), int64(0), int64(15*time.Second), true)
	f.Fuzz(func(t *testing.T, declared, observed, mn, mx int64, h float64, dwellDown, dwellUp int64, kind uint8, step int64, dt int64, budgets bool) {
		rules := []Ladder{{Kind: LadderSigFig}, {Kind: LadderMagnitude}, {Kind: LadderStep, Step: step},
			{Kind: LadderSeries, Series: "1-2-5"}, {Kind: LadderSeries, Series: "R5"}, {Kind: LadderSeries, Series: "R10"}}
		p := Params{Ladder: rules[int(kind)%len(rules)], Hysteresis: h, DwellDown: time.Duration(dwellDown), DwellUp: time.Duration(dwellUp)}
		if budgets {
			// The window's budgets, with enough samples that the window
			// knows the traffic: a spike of observed over a quiet
			// history at a quarter of it.
			p.Window, p.MissBudget, p.OverprovisionBudget = DefaultWindow, DefaultMissBudget, DefaultOverprovisionBudget
		}
		st := Resume(declared)
		now := t0
		steps := 3
		if budgets {
			steps = 300
		}
		for i := range steps {
			v := observed
			if budgets && i%3 != 0 {
				v = observed / 4
			}
			var d Decision
			st, d = Step(p, st, now, v, mn, mx)
			if p.Validate() != nil {
				if d.Changed {
					t.Fatalf("invalid params changed the declared value: %+v", d)
				}
				return
			}
			lo, hi := max(mn, 0), mx
			if hi <= 0 {
				hi = 1<<63 - 1
			}
			if lo > hi {
				hi = lo
			}
			if d.Declared < lo || d.Declared > hi {
				t.Fatalf("declared %d outside [%d, %d]", d.Declared, lo, hi)
			}
			now = now.Add(time.Duration(dt))
		}
	})
}

func BenchmarkStep(b *testing.B) {
	p := DefaultParams()
	rng := rand.New(rand.NewPCG(1, 2))
	_, values := randomTrace(rng, 4096)
	var st State
	now := t0
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		now = now.Add(15 * time.Second)
		st, _ = Step(p, st, now, values[i%len(values)], 1, 0)
	}
}

// BenchmarkStepSteady measures the common case: a value inside the band.
func BenchmarkStepSteady(b *testing.B) {
	p := DefaultParams()
	st := Resume(40)
	now := t0
	b.ReportAllocs()
	for i := range b.N {
		now = now.Add(15 * time.Second)
		st, _ = Step(p, st, now, 35+int64(i%10), 1, 0)
	}
}
