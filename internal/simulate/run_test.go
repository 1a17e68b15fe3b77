package simulate

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/latch-gitops/latch/internal/policy"
)

var controllerCadence = &Passes{Resync: time.Minute, BatchWindow: 30 * time.Second}

// TestRunPasses pins the controller's cadence on traces short enough that
// the default policy, with a window too young for its miss budget, moves up
// at once: what differs is only when a pass sees the sample.
func TestRunPasses(t *testing.T) {
	const step = 15 * time.Second
	tests := []struct {
		name   string
		values []float64
		step   time.Duration
		passes *Passes
		want   []int64
	}{
		{
			name:   "every sample: up at the jump",
			values: []float64{10, 10, 10, 10, 10, 100, 100, 100, 100},
			step:   step,
			want:   []int64{10, 10, 10, 10, 10, 100, 100, 100, 100},
		},
		{
			// The jump at 75 s is seen by the pass one batch window later
			// (105 s); the tick at 60 s came before it.
			name:   "controller: up one batch window after the jump",
			values: []float64{10, 10, 10, 10, 10, 100, 100, 100, 100},
			step:   step,
			passes: controllerCadence,
			want:   []int64{10, 10, 10, 10, 10, 10, 10, 100, 100},
		},
		{
			name:   "every sample: a blip of one sample is latched",
			values: []float64{10, 10, 10, 10, 10, 100, 10, 10, 10, 10},
			step:   step,
			want:   []int64{10, 10, 10, 10, 10, 100, 100, 100, 100, 100},
		},
		{
			// Undone before the pass it started: the controller never sees it.
			name:   "controller: a blip undone within the batch window is not seen",
			values: []float64{10, 10, 10, 10, 10, 100, 10, 10, 10, 10},
			step:   step,
			passes: controllerCadence,
			want:   []int64{10, 10, 10, 10, 10, 10, 10, 10, 10, 10},
		},
		{
			// 90 s samples: the change at 90 s is due at 120 s, which is
			// also the tick; the sample at 90 s keeps the old value and the
			// pass at 120 s sees the newest sample before it.
			name:   "controller: a pass between samples sees the one before it",
			values: []float64{10, 100, 100},
			step:   90 * time.Second,
			passes: controllerCadence,
			want:   []int64{10, 10, 100},
		},
		{
			name:   "no batch window: the change's own sample is a pass",
			values: []float64{10, 10, 10, 10, 10, 100, 100},
			step:   step,
			passes: &Passes{Resync: time.Minute},
			want:   []int64{10, 10, 10, 10, 10, 100, 100},
		},
		{
			// A tick at a sample's time sees that sample (the jump at 60 s).
			name:   "controller: a tick at the jump's sample sees it",
			values: []float64{10, 10, 10, 10, 100, 100},
			step:   step,
			passes: controllerCadence,
			want:   []int64{10, 10, 10, 10, 100, 100},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Run(Trace{Values: tc.values}, Options{
				Params: policy.DefaultParams(), Start: time.Unix(0, 0).UTC(), Step: tc.step, Min: 1, Passes: tc.passes,
			})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("declared %v, want %v", got, tc.want)
			}
		})
	}
}

// TestRunPassesEverySampleIsTheReplay: a cadence with a pass at every
// sample (resync = the step, no batch window) must give the per-sample
// replay exactly, on a trace long and noisy enough to use every rule of the
// default policy (window, budgets, moves down).
func TestRunPassesEverySampleIsTheReplay(t *testing.T) {
	const step = 15 * time.Second
	rng := rand.New(rand.NewPCG(7, 8))
	values := make([]float64, 3*24*240) // three days of 15 s samples
	for i := range values {
		day := float64(i) / 5760
		// A daily cycle over three octaves either side of 300, noise of
		// about 10 %.
		v := 300 * math.Exp2(3*math.Sin(2*math.Pi*day)) * (1 + 0.1*rng.NormFloat64())
		if rng.IntN(2000) == 0 {
			v *= 5 // a spike now and then
		}
		values[i] = math.Max(1, math.Round(v))
	}
	o := Options{Params: policy.DefaultParams(), Start: time.Unix(0, 0).UTC(), Step: step, Min: 1}
	replay, err := Run(Trace{Values: values}, o)
	if err != nil {
		t.Fatal(err)
	}
	o.Passes = &Passes{Resync: step}
	passes, err := Run(Trace{Values: values}, o)
	if err != nil {
		t.Fatal(err)
	}
	if i := firstDifference(replay, passes); i >= 0 {
		t.Fatalf("sample %d: per-sample replay declares %d, a pass every sample %d", i, replay[i], passes[i])
	}
	// The trace must exercise the machine, or the equality says little.
	var ups, downs int
	for i := 1; i < len(replay); i++ {
		switch {
		case replay[i] > replay[i-1]:
			ups++
		case replay[i] < replay[i-1]:
			downs++
		}
	}
	if ups < 2 || downs < 2 {
		t.Fatalf("the trace moved the declared value up %d and down %d times: too few to compare the cadences", ups, downs)
	}
	// And the controller's cadence must differ from it: otherwise the
	// passes are not applied.
	o.Passes = controllerCadence
	ctl, err := Run(Trace{Values: values}, o)
	if err != nil {
		t.Fatal(err)
	}
	if firstDifference(replay, ctl) < 0 {
		t.Fatal("the controller's cadence declared exactly what the per-sample replay did: the passes are not applied")
	}
}

func firstDifference(a, b []int64) int {
	for i := range a {
		if i >= len(b) || a[i] != b[i] {
			return i
		}
	}
	if len(b) > len(a) {
		return len(a)
	}
	return -1
}

func TestRunPassesErrors(t *testing.T) {
	tests := []struct {
		passes Passes
		want   string
	}{
		{Passes{}, "passes: resync must be > 0, got 0s"},
		{Passes{Resync: time.Minute, BatchWindow: -time.Second}, "passes: batch window must be ≥ 0, got -1s"},
	}
	for _, tc := range tests {
		_, err := Run(Trace{Values: []float64{1, 2}}, Options{Params: policy.DefaultParams(), Step: time.Second, Passes: &tc.passes})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Passes %+v: error %v, want %q", tc.passes, err, tc.want)
		}
	}
}
