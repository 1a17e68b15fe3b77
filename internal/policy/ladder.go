package policy

import (
	"fmt"
	"math"
	"strings"
)

// A Ladder defines an increasing sequence of round numbers ("levels") and, between
// each two neighbouring levels, the boundary where rounding switches from one
// to the other. sigfig and step put the boundary at the arithmetic midpoint
// (14→10, 15→20: ties round up); magnitude and series are geometric ladders,
// so their boundary is the geometric midpoint (√(a·b)), i.e. rounding happens
// in log space. Zero is a level of every ladder (a workload scaled to zero
// declares 0); the boundary between 0 and the first level is its midpoint.

// seriesMantissas are the per-decade mantissas of the preferred-number
// series latch knows. R5 and R10 are the Renard series of ISO 3.
var seriesMantissas = map[string][]float64{
	"1-2-5": {1, 2, 5},
	"R5":    {1, 1.6, 2.5, 4, 6.3},
	"R10":   {1, 1.25, 1.6, 2, 2.5, 3.15, 4, 5, 6.3, 8},
}

// SeriesNames lists the preferred-number series accepted by Ladder.Series.
var SeriesNames = []string{"1-2-5", "R5", "R10"}

var sigfigMantissas = []float64{1, 2, 3, 4, 5, 6, 7, 8, 9}
var magnitudeMantissas = []float64{1}

// maxDecade is the largest power of ten whose levels are all representable
// as int64 (9·10^18 < 2^63−1 ≈ 9.22·10^18).
const maxDecade = 18

// validateLadder reports what is wrong with r, naming the field under
// "rule" (latch.yaml's key for the ladder); nil when r is valid.
func validateLadder(r Ladder) *FieldError {
	switch r.Kind {
	case LadderSigFig, LadderMagnitude:
		if r.Step != 0 {
			return fieldErrorf("rule.step", "only valid with kind %q, got %d with kind %q", LadderStep, r.Step, r.Kind)
		}
		if r.Series != "" {
			return fieldErrorf("rule.series", "only valid with kind %q, got %q with kind %q", LadderSeries, r.Series, r.Kind)
		}
	case LadderStep:
		if r.Step <= 0 {
			return fieldErrorf("rule.step", "must be > 0 with kind %q, got %d", LadderStep, r.Step)
		}
		if r.Series != "" {
			return fieldErrorf("rule.series", "only valid with kind %q, got %q with kind %q", LadderSeries, r.Series, r.Kind)
		}
	case LadderSeries:
		if _, ok := seriesMantissas[r.Series]; !ok {
			return fieldErrorf("rule.series", "unknown series %q (want one of %s)", r.Series, strings.Join(SeriesNames, ", "))
		}
		if r.Step != 0 {
			return fieldErrorf("rule.step", "only valid with kind %q, got %d with kind %q", LadderStep, r.Step, r.Kind)
		}
	case "":
		return fieldErrorf("rule.kind", "must be set (one of %s, %s, %s, %s)", LadderSigFig, LadderStep, LadderMagnitude, LadderSeries)
	default:
		return fieldErrorf("rule.kind", "unknown kind %q (want one of %s, %s, %s, %s)", r.Kind, LadderSigFig, LadderStep, LadderMagnitude, LadderSeries)
	}
	return nil
}

// String renders r the way a reason or a table names it, e.g. "series 1-2-5".
func (r Ladder) String() string {
	switch r.Kind {
	case LadderStep:
		return fmt.Sprintf("step %d", r.Step)
	case LadderSeries:
		return "series " + r.Series
	}
	return string(r.Kind)
}

// rungs is a validated Ladder in the form the state machine uses.
type rungs struct {
	step      int64     // > 0 for an arithmetic ladder (LadderStep)
	mantissas []float64 // per-decade mantissas for decade ladders
	geometric bool      // boundaries at geometric midpoints
}

func newRungs(r Ladder) (rungs, error) {
	if err := validateLadder(r); err != nil {
		return rungs{}, err
	}
	switch r.Kind {
	case LadderStep:
		return rungs{step: r.Step}, nil
	case LadderSigFig:
		return rungs{mantissas: sigfigMantissas}, nil
	case LadderMagnitude:
		return rungs{mantissas: magnitudeMantissas, geometric: true}, nil
	default:
		return rungs{mantissas: seriesMantissas[r.Series], geometric: true}, nil
	}
}

// level returns the i-th level of decade d, rounded to an integer (R5's 1.6
// is 2 at decade 0 and 16 at decade 1).
func (l rungs) level(d, i int) int64 {
	return int64(math.Round(l.mantissas[i] * math.Pow10(d)))
}

// next returns the smallest level strictly above v, and false when there is
// none representable as int64.
func (l rungs) next(v int64) (int64, bool) {
	if v < 0 {
		return 0, true
	}
	if l.step > 0 {
		n := (v/l.step + 1)
		if n > math.MaxInt64/l.step {
			return 0, false
		}
		return n * l.step, true
	}
	if v == 0 {
		return 1, true
	}
	d := decade(v)
	for ; d <= maxDecade; d++ {
		for i := range l.mantissas {
			if lv := l.level(d, i); lv > v {
				return lv, true
			}
		}
		if d == maxDecade {
			break
		}
	}
	return 0, false
}

// prev returns the largest level strictly below v, and false when v ≤ 0.
func (l rungs) prev(v int64) (int64, bool) {
	if v <= 0 {
		return 0, false
	}
	if l.step > 0 {
		return ((v - 1) / l.step) * l.step, true
	}
	if v == 1 {
		return 0, true
	}
	for d := decade(v); d >= 0; d-- {
		for i := len(l.mantissas) - 1; i >= 0; i-- {
			if lv := l.level(d, i); lv < v {
				return lv, true
			}
		}
	}
	return 0, true
}

// isLevel reports whether v is on the ladder.
func (l rungs) isLevel(v int64) bool {
	if v < 0 {
		return false
	}
	p, ok := l.next(v - 1)
	return ok && p == v
}

// floorLevel returns the largest level ≤ v (0 for v ≤ 0).
func (l rungs) floorLevel(v int64) int64 {
	if v <= 0 {
		return 0
	}
	if l.isLevel(v) {
		return v
	}
	p, _ := l.prev(v)
	return p
}

// ceilLevel returns the smallest level ≥ v; when that is not representable
// it returns the largest representable level.
func (l rungs) ceilLevel(v int64) int64 {
	if v <= 0 {
		return 0
	}
	n, ok := l.next(v - 1)
	if !ok {
		return l.floorLevel(v)
	}
	return n
}

// boundary is where rounding switches between neighbouring levels a < b.
func (l rungs) boundary(a, b int64) float64 {
	if l.geometric && a > 0 {
		return math.Sqrt(float64(a) * float64(b))
	}
	return (float64(a) + float64(b)) / 2
}

// round returns the level nearest to v under the ladder's metric; a value
// exactly on a boundary rounds up (15→20).
func (l rungs) round(v int64) int64 {
	lo := l.floorLevel(v)
	if lo == v {
		return v
	}
	hi, ok := l.next(lo)
	if !ok {
		return lo
	}
	if float64(v) >= l.boundary(lo, hi) {
		return hi
	}
	return lo
}

// decade returns ⌊log10(v)⌋ for v ≥ 1, computed on integers so that exact
// powers of ten are not misplaced by floating-point error.
func decade(v int64) int {
	d := 0
	for v >= 10 {
		v /= 10
		d++
	}
	return d
}

// Round returns the round number ladder r gives for v: the nearest level of
// r (arithmetic midpoints for sigfig and step, geometric ones
// for magnitude and series); ties round up. Negative v is an error.
func Round(r Ladder, v int64) (int64, error) {
	l, err := newRungs(r)
	if err != nil {
		return 0, err
	}
	if v < 0 {
		return 0, fmt.Errorf("round %d by %s: value must be ≥ 0", v, r)
	}
	return l.round(v), nil
}

// Levels returns the levels of ladder r in [lo, hi], in increasing order; it
// is for documentation and tests, not the hot path.
func Levels(r Ladder, lo, hi int64) ([]int64, error) {
	l, err := newRungs(r)
	if err != nil {
		return nil, err
	}
	var out []int64
	for v := l.ceilLevel(lo); v <= hi; {
		out = append(out, v)
		n, ok := l.next(v)
		if !ok {
			break
		}
		v = n
	}
	return out, nil
}
