package simulate

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/latch-gitops/latch/internal/policy"
)

// Targets the offline optimum must meet, as Summarise measures them.
const (
	OptimumCoverage      = 0.99
	OptimumOverprovision = 1.0
)

// ErrNoFeasible is returned when no schedule found meets the targets.
var ErrNoFeasible = errors.New("no schedule meets coverage ≥ 0.99 and overprovision ≤ 1")

// Optimum brackets the fewest commits any schedule of ladder levels could
// have made on a trace, knowing the whole trace in advance, while keeping
// coverage ≥ OptimumCoverage and overprovision ≤ OptimumOverprovision.
//
// The two constraints are sums over the whole trace (uncovered samples and
// excess replica-samples), so the problem is a shortest path with two
// resource budgets and does not decompose exactly over the samples. Lower
// comes from Lagrangian relaxation: for penalties λ, μ ≥ 0 a dynamic
// programme over (sample, level) finds the minimum of commits + λ·uncovered
// + μ·excess, and that minimum minus λ·U − μ·B (U, B the budgets) is below
// the commits of every feasible schedule. Upper is the commits of the best
// feasible schedule those programmes found (Declared); Lower == Upper means
// the optimum is exact. The figure reported as "optimum" is Upper: a
// schedule that exists, not a bound that might not be reachable.
type Optimum struct {
	Lower, Upper int
	// Declared is the schedule achieving Upper, one value per sample.
	Declared []int64
	// Levels is the number of levels the programme chose among.
	Levels int
}

// OptimumOptions configures ComputeOptimum.
type OptimumOptions struct {
	Ladder policy.Ladder
	// Min is the bound declared in git: levels below it are replaced by it,
	// as latch clamps its declared value (0 is unset).
	Min int64
}

// ComputeOptimum computes the offline optimum of observed (see Optimum).
// It is pure; time is O(samples × levels × penalty pairs), memory
// O(samples × levels) bytes for one reconstruction.
func ComputeOptimum(observed []int64, o OptimumOptions) (Optimum, error) {
	n := len(observed)
	if n == 0 {
		return Optimum{}, fmt.Errorf("optimum: no samples")
	}
	var top, need int64
	for i, v := range observed {
		if v < 0 {
			return Optimum{}, fmt.Errorf("optimum: sample %d: replicas must be ≥ 0, got %d", i+1, v)
		}
		top = max(top, v)
		need += v
	}
	levels, err := candidateLevels(o, top)
	if err != nil {
		return Optimum{}, err
	}
	p := problem{observed: observed, levels: levels, budgetUncovered: uncoveredBudget(n), budgetExcess: max(need, 1)}

	best := Optimum{Lower: 0, Upper: math.MaxInt, Levels: len(levels)}
	var bestPen [2]float64
	// A fixed grid of penalties in powers of four: λ per uncovered sample,
	// μ per excess replica-sample (relative to the mean observed value).
	mean := float64(max(need, 1)) / float64(n)
	lambdas := []float64{0}
	for k := -8; k <= 3; k++ {
		lambdas = append(lambdas, math.Pow(4, float64(k)))
	}
	mus := []float64{0}
	for k := -14; k <= 1; k++ {
		mus = append(mus, math.Pow(4, float64(k))/mean)
	}
	for _, lam := range lambdas {
		for _, mu := range mus {
			r := p.relax(lam, mu, nil)
			lb := r.cost - lam*float64(p.budgetUncovered) - mu*float64(p.budgetExcess)
			if l := int(math.Ceil(lb - 1e-6)); l > best.Lower {
				best.Lower = l
			}
			if r.uncovered <= p.budgetUncovered && r.excess <= p.budgetExcess && r.commits < best.Upper {
				best.Upper = r.commits
				bestPen = [2]float64{lam, mu}
			}
		}
	}
	if best.Upper == math.MaxInt {
		// Without Min the ceiling level of every sample covers it with
		// excess < observed, so this needs a Min far above the trace.
		return Optimum{}, fmt.Errorf("optimum: %w (min %d, %d samples summing to %d)", ErrNoFeasible, o.Min, n, need)
	}
	best.Declared = p.schedule(bestPen[0], bestPen[1])
	best.Lower = min(best.Lower, best.Upper)
	return best, nil
}

// uncoveredBudget is the largest number of uncovered samples out of n for
// which Summarise's coverage is still ≥ OptimumCoverage.
func uncoveredBudget(n int) int {
	u := int(float64(n)*(1-OptimumCoverage)) + 1
	for u > 0 && float64(n-u)/float64(n) < OptimumCoverage {
		u--
	}
	return u
}

// candidateLevels lists the values a schedule may declare: the ladder's
// levels up to the first one ≥ top (any higher level covers no more and
// costs more), below Min replaced by Min.
func candidateLevels(o OptimumOptions, top int64) ([]int64, error) {
	all, err := policy.Levels(o.Ladder, 0, max(2*top+2, 10))
	if err != nil {
		return nil, fmt.Errorf("optimum: %w", err)
	}
	var out []int64
	for _, l := range all {
		out = append(out, max(l, o.Min))
		if l >= top {
			break
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

type problem struct {
	observed        []int64
	levels          []int64
	budgetUncovered int
	budgetExcess    int64
}

// path is the best path into one level so far under given penalties.
type path struct {
	cost      float64
	commits   int
	uncovered int
	excess    int64
	// last is the level index the path ends at (set by relax's result).
	last int
}

func (p problem) sampleCost(obs, level int64) (bool, int64) {
	return level < policy.MinSafe(obs), max(level-obs, 0)
}

// relax runs the dynamic programme for penalties (lam, mu) and returns the
// cheapest path's cost and resources; ties prefer fewer commits. With from
// non-nil (len samples × levels) it records, for each sample i and level j,
// the level sample i−1 had on the best path into j.
func (p problem) relax(lam, mu float64, from []uint16) path {
	L := len(p.levels)
	cur := make([]path, L)
	next := make([]path, L)
	for i, obs := range p.observed {
		var best path
		bj := 0
		if i > 0 {
			bj = argmin(cur)
			best = cur[bj]
			best.cost++
			best.commits++
		}
		for j, l := range p.levels {
			q, qj := best, bj
			if i > 0 && (cur[j].cost < q.cost || cur[j].cost == q.cost && cur[j].commits <= q.commits) {
				q, qj = cur[j], j
			}
			if from != nil {
				from[i*L+j] = uint16(qj)
			}
			unc, ex := p.sampleCost(obs, l)
			if unc {
				q.uncovered++
				q.cost += lam
			}
			q.excess += ex
			q.cost += mu * float64(ex)
			next[j] = q
		}
		cur, next = next, cur
	}
	j := argmin(cur)
	r := cur[j]
	r.last = j
	return r
}

func argmin(ps []path) int {
	b := 0
	for j := range ps {
		if ps[j].cost < ps[b].cost || ps[j].cost == ps[b].cost && ps[j].commits < ps[b].commits {
			b = j
		}
	}
	return b
}

// schedule reruns relax for (lam, mu) remembering each choice and returns
// the declared values of the cheapest path.
func (p problem) schedule(lam, mu float64) []int64 {
	n, L := len(p.observed), len(p.levels)
	from := make([]uint16, n*L)
	j := p.relax(lam, mu, from).last
	out := make([]int64, n)
	for i := n - 1; i >= 0; i-- {
		out[i] = p.levels[j]
		j = int(from[i*L+j])
	}
	return out
}
