package simulate

import (
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/latch-gitops/latch/internal/policy"
)

var r5 = policy.Ladder{Kind: policy.LadderSeries, Series: "R5"}

func TestOptimumTable(t *testing.T) {
	for _, c := range []struct {
		name     string
		observed []int64
		ladder   policy.Ladder
		want     int
	}{
		{"constant", []int64{7, 7, 7, 7}, r5, 0},
		{"zero", []int64{0, 0, 0}, r5, 0},
		// 40 on every sample: excess 38+38 = 76 ≤ Σ observed 84.
		{"step up within budget", []int64{2, 2, 40, 40}, r5, 0},
		// A one-sample spike: 9 samples allow no uncovered one, 200 (≥ 400/2)
		// throughout is far over budget: up and back down.
		{"spike", []int64{2, 2, 2, 2, 400, 2, 2, 2, 2}, policy.Ladder{Kind: policy.LadderSeries, Series: "1-2-5"}, 2},
		{"two regimes", []int64{1, 1, 1, 1, 1, 1, 1, 1, 500, 500}, r5, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := ComputeOptimum(c.observed, OptimumOptions{Ladder: c.ladder})
			if err != nil {
				t.Fatal(err)
			}
			if got.Lower != c.want || got.Upper != c.want {
				t.Errorf("optimum = [%d, %d], want %d (declared %v)", got.Lower, got.Upper, c.want, got.Declared)
			}
		})
	}
}

// TestOptimumAgainstEnumeration enumerates every schedule of candidate
// levels on small random traces and checks Lower ≤ exact ≤ Upper and that
// Declared is feasible with Upper commits, as Summarise measures it.
func TestOptimumAgainstEnumeration(t *testing.T) {
	rng := rand.New(rand.NewPCG(10, 2))
	// Small ladders and traces keep the enumeration (levels^samples) short.
	ladders := []policy.Ladder{r5, {Kind: policy.LadderSeries, Series: "1-2-5"}, {Kind: policy.LadderMagnitude}}
	exactCount := 0
	const cases = 300
	for c := range cases {
		n := 1 + rng.IntN(6)
		top := int64(1 + rng.IntN(30))
		obs := make([]int64, n)
		for i := range obs {
			obs[i] = rng.Int64N(top + 1)
		}
		o := OptimumOptions{Ladder: ladders[c%len(ladders)], Min: int64(rng.IntN(3))}
		levels, err := candidateLevels(o, top)
		if err != nil {
			t.Fatal(err)
		}
		exact := enumerate(t, obs, levels)
		got, err := ComputeOptimum(obs, o)
		if errors.Is(err, ErrNoFeasible) && exact < 0 {
			continue
		}
		if err != nil {
			t.Fatalf("case %d %v min %d: %v (enumeration: %d)", c, obs, o.Min, err, exact)
		}
		s, err := Summarise(obs, got.Declared)
		if err != nil {
			t.Fatal(err)
		}
		if s.Commits != got.Upper || s.Coverage < OptimumCoverage || s.Overprovision > OptimumOverprovision {
			t.Errorf("case %d %v %s: Declared %v has %d commits, coverage %v, overprovision %v; Upper %d", c, obs, o.Ladder, got.Declared, s.Commits, s.Coverage, s.Overprovision, got.Upper)
		}
		if got.Lower > exact || exact > got.Upper {
			t.Errorf("case %d %v %s: bounds [%d, %d] do not hold the exact optimum %d", c, obs, o.Ladder, got.Lower, got.Upper, exact)
		}
		if exact == got.Upper {
			exactCount++
		}
	}
	t.Logf("Upper equals the enumerated optimum in %d of %d cases", exactCount, cases)
}

// enumerate returns the fewest commits of any schedule over levels that
// Summarise finds feasible, by trying them all.
func enumerate(t *testing.T, obs []int64, levels []int64) int {
	n := len(obs)
	idx := make([]int, n)
	decl := make([]int64, n)
	best := -1
	for {
		for i := range idx {
			decl[i] = levels[idx[i]]
		}
		s, err := Summarise(obs, decl)
		if err != nil {
			t.Fatal(err)
		}
		if s.Coverage >= OptimumCoverage && s.Overprovision <= OptimumOverprovision && (best < 0 || s.Commits < best) {
			best = s.Commits
		}
		k := 0
		for k < n {
			idx[k]++
			if idx[k] < len(levels) {
				break
			}
			idx[k] = 0
			k++
		}
		if k == n {
			return best
		}
	}
}
