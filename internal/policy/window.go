package policy

import (
	"fmt"
	"math"
	"sort"
	"time"
)

// windowBuckets is how many time buckets the window summary keeps: the
// window is Params.Window long and each bucket a twelfth of it (two hours
// for the default day). Memory per workload is bounded by it: at most
// windowBuckets buckets of 56 bytes each plus their histograms' bins (8
// bytes each), whatever the sample rate.
const windowBuckets = 12

// Bucket summarises the observations of one stretch of the window: enough
// to tell how much of the coverage and over-provisioning budgets the
// declared value has spent lately, without keeping the series.
type Bucket struct {
	// Start is the bucket's start, in Unix seconds (a multiple of its length).
	Start int64 `json:"start"`
	// Samples is how many observations fell in the bucket.
	Samples int32 `json:"n"`
	// Missed is how many of them found the declared value below the
	// coverage floor ⌈observed / 2⌉.
	Missed int32 `json:"missed,omitempty"`
	// Need is the sum of the observed values above the floor (the minimum,
	// or 0): the replica-time needed. Samples at the floor say nothing (a
	// monitoring gap looks like that) and are left out of Need and Hist.
	// What a level would over-provision is read from Hist against it
	// (overprovisionAt).
	Need float64 `json:"need,omitempty"`
	// Excess is Σ max(0, declared − observed) over every sample, those at
	// the floor included: what the values declared really over-provisioned,
	// as simulate measures it. It only lowers how far a move down goes
	// (affordable); a gap never starts one, since overBudget reads Hist.
	Excess float64 `json:"excess,omitempty"`
	// Hist counts the same samples by the capacity they need, ⌈observed/2⌉,
	// in bins a quarter of an octave wide (bin k holds needs in
	// (2^((k-1)/4), 2^(k/4)]), sorted by bin; only bins with samples are kept.
	Hist []BinCount `json:"hist,omitempty"`
}

// BinCount is one bin of a Bucket's histogram.
type BinCount struct {
	Bin int16 `json:"b"`
	N   int32 `json:"n"`
}

// binsPerOctave is the histogram's resolution: a level read from it is at
// most 2^(1/4) ≈ 1.19× above the exact quantile.
const binsPerOctave = 4

// needBin is the bin of a need of v replicas (v ≥ 1 → bin ≥ 0).
func needBin(v int64) int16 {
	if v <= 1 {
		return 0
	}
	k := int16(math.Ceil(binsPerOctave * math.Log2(float64(v))))
	// Guard against rounding: v must not exceed the bin's upper edge.
	for binEdge(k) < float64(v) {
		k++
	}
	return k
}

// binEdge is the largest need bin k holds.
func binEdge(k int16) float64 { return math.Exp2(float64(k) / binsPerOctave) }

func (b *Bucket) add(bin int16) { b.Hist = addBin(b.Hist, bin) }

// addBin counts one sample in bin, copying h (the caller's State keeps its own).
func addBin(h []BinCount, bin int16) []BinCount {
	out := make([]BinCount, len(h), len(h)+1)
	copy(out, h)
	i := sort.Search(len(out), func(i int) bool { return out[i].Bin >= bin })
	if i < len(out) && out[i].Bin == bin {
		out[i].N++
		return out
	}
	out = append(out, BinCount{})
	copy(out[i+1:], out[i:])
	out[i] = BinCount{Bin: bin, N: 1}
	return out
}

// quantileOf is needQuantile over a list of histograms.
func quantileOf(hists [][]BinCount, miss float64) (float64, int64) {
	counts := map[int16]int64{}
	var total int64
	for _, h := range hists {
		for _, c := range h {
			counts[c.Bin] += int64(c.N)
			total += int64(c.N)
		}
	}
	if total == 0 {
		return 0, 0
	}
	bins := make([]int16, 0, len(counts))
	for k := range counts {
		bins = append(bins, k)
	}
	sort.Slice(bins, func(i, j int) bool { return bins[i] > bins[j] })
	allowed := miss * float64(total)
	var above int64
	for _, k := range bins {
		if float64(above+counts[k]) > allowed {
			// Within the bin, read the quantile as if its samples were
			// spread evenly over the bin's octave fraction (log scale):
			// the bin's upper edge would overstate it by up to 2^(1/4),
			// which ceilLevel can turn into a whole rung too high.
			frac := (allowed - float64(above)) / float64(counts[k]) // share of the bin allowed above the quantile
			return math.Exp2((float64(k) - frac) / binsPerOctave), total
		}
		above += counts[k]
	}
	return 0, total
}

// windowHists lists the histograms of the window's buckets.
func (s State) windowHists() [][]BinCount {
	out := make([][]BinCount, 0, len(s.Window))
	for _, b := range s.Window {
		out = append(out, b.Hist)
	}
	return out
}

// record adds one observation, with the value declared after the step, to
// the window summary (nothing when the window is off). Buckets older than
// the window are dropped; a clock that goes back adds to the newest bucket.
func (s State) record(p Params, now time.Time, observed, declared, floor int64) State {
	if p.Window <= 0 {
		s.Window = nil
		return s
	}
	length := int64(p.Window/time.Second) / windowBuckets
	if length < 1 {
		length = 1
	}
	start := now.Unix() - mod(now.Unix(), length)
	n := len(s.Window)
	if n == 0 || s.Window[n-1].Start < start {
		oldest := start - length*(windowBuckets-1)
		keep := s.Window[:0:0]
		for _, b := range s.Window {
			if b.Start >= oldest {
				keep = append(keep, b)
			}
		}
		s.Window = append(keep, Bucket{Start: start})
		n = len(s.Window)
	} else {
		// Copy on write: the caller's State keeps its own buckets.
		s.Window = append([]Bucket(nil), s.Window...)
	}
	b := &s.Window[n-1]
	b.Samples++
	if MinSafe(observed) > declared {
		b.Missed++
	}
	if declared > observed {
		b.Excess += float64(declared - observed)
	}
	if observed > floor {
		b.Need += float64(observed)
		b.add(needBin(MinSafe(observed)))
	}
	return s
}

func mod(a, b int64) int64 {
	m := a % b
	if m < 0 {
		m += b
	}
	return m
}

// floorOf is the lowest value the bounds allow: samples at or below it say
// nothing about the capacity needed.
func floorOf(b bounds) int64 { return b.lo }

// budgetDown is the target of a move down whose dwell has passed, with the
// window on. The move is made only when the declared level is over the
// over-provisioning budget for the window's traffic (overBudget): under
// it, the capacity is kept and the commit saved. It goes to the smallest
// level that would have covered all but MissBudget of what the wait needed
// (so one noise peak does not set it), but no lower than the highest level
// the budget affords (affordable). It returns cur when no move is due, and
// a note for the reason.
func (p Params) budgetDown(s State, w window, l rungs, b bounds, cur, floor int64) (int64, string) {
	need, n := quantileOf([][]BinCount{s.Held}, p.MissBudget)
	if n == 0 {
		// Nothing above the floor for the whole dwell (downDwell gives a
		// wait pinned to the floor its full length): a real drop to the
		// minimum, not a gap, and the window's need does not count it.
		return b.clamp(l.ceilLevel(MinSafe(s.Extreme))), fmt.Sprintf(", nothing above the floor %d", floor)
	}
	if !p.overBudget(w) {
		return cur, ""
	}
	d := b.clamp(l.ceilLevel(int64(math.Ceil(need))))
	why := fmt.Sprintf(", %d over the last %v would over-provision %.2f (budget %.2g), %.4g%% of the wait needing at most %.0f",
		cur, p.Window, w.atLevel, p.OverprovisionBudget, 100*(1-p.MissBudget), need)
	if a := p.affordable(s, w, l, b, cur); a > d {
		d = a
		why += fmt.Sprintf(", and %d is the highest level within the budget", a)
	}
	return d, why
}

// affordable is the highest level below cur that, held over the window's
// traffic, stays within the over-provisioning budget (the lowest level the
// bounds allow when none does). A move down goes no lower than it: the
// budget is spent on capacity that covers the traffic's spikes, so fewer of
// them are chased up at once and then released again. Going down to what
// the wait needed instead released the whole margin between spikes
// (spiky-mid: 2,500 between spikes of 8,000 to 13,000, chased 79 times in
// 14 days); the optimum holds a level the budget affords.
func (p Params) affordable(s State, w window, l rungs, b bounds, cur int64) int64 {
	if w.need <= 0 {
		return 0 // the window knows no traffic to afford a level for
	}
	hists := s.windowHists()
	budget := p.affordBudget(w)
	fits := func(v int64) bool { return overprovisionAt(hists, v, w.need) <= budget }
	below, ok := l.prev(cur)
	if !ok || below < b.lo {
		return b.clamp(cur)
	}
	if fits(below) {
		return b.clamp(below) // the common case: one rung down
	}
	// The cost of a level only grows with it, so the highest value that
	// fits is found by bisection, then rounded down to the ladder: a
	// `step` ladder can hold billions of rungs under a large value, too
	// many to walk.
	lo, hi := b.lo, below // fits(hi) is false
	if lo < 0 {
		lo = 0
	}
	if !fits(lo) {
		return b.clamp(lo)
	}
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		if fits(mid) {
			lo = mid
		} else {
			hi = mid
		}
	}
	return b.clamp(maxInt(l.floorLevel(lo), b.lo))
}

// overspendPower is how hard affordable leans against a window that
// really over-provisioned more than the budget: the budget it affords a
// level within is scaled by (budget / realized)^overspendPower. What a
// level would cost is read from the window's traffic as if held all the
// time; the values declared also held spike levels after the spikes and
// the floor through gaps, so the window can spend more than the budget
// while each level it chose fitted it. The feedback makes the realized
// over-provisioning track the budget on traffic nobody tuned for. Measured
// (bench/simulate -quick, same run): at 3, 29 of 32 rows met against 28
// (gaps-long 1.129 → 0.975, WorldCup 109 → 105 commits, weekly 19 → 14;
// spiky-large 75 → 94 commits at 1.060 → 1.001, spiky-mid 104 → 117 at
// 1.039 → 0.981); at 1, 28 (spiky-large 86 at 1.030); at 5, 29, with more
// commits on the spiky rows (spiky-large 100, spiky-mid 125). Counting the
// gaps' excess matters: without it gaps-long stayed over the budget (1.034).
const overspendPower = 3

// affordBudget is the over-provisioning a level chosen by affordable may
// cost over the window: the budget, less when the window really spent
// more than it (overspendPower).
func (p Params) affordBudget(w window) float64 {
	budget := p.OverprovisionBudget
	if w.realized > budget {
		budget *= math.Pow(budget/w.realized, overspendPower)
	}
	return budget
}

// overprovisionAt is the over-provisioning (Σ excess / Σ need, as simulate
// measures it) that holding level over the samples of hists would have
// had, need being their Σ observed. Each bin stands for the observed value
// at its middle (twice the need it counts, in log scale): at most 2^(1/8)
// ≈ 9 % off for one sample, and less over many. It is -1 when the window
// holds no need.
func overprovisionAt(hists [][]BinCount, level int64, need float64) float64 {
	if need <= 0 {
		return -1
	}
	var excess float64
	for _, h := range hists {
		excess += excessAt(h, level)
	}
	return excess / need
}

// excessAt is Σ max(0, level − observed) over the samples of one
// histogram, each at its bin's middle.
func excessAt(h []BinCount, level int64) float64 {
	var excess float64
	for _, c := range h { // sorted by bin: the rest stand above level
		observed := binObserved(c.Bin)
		if observed >= float64(level) {
			break
		}
		excess += (float64(level) - observed) * float64(c.N)
	}
	return excess
}

// binMiddles is the observed value each need bin stands for (binObserved),
// computed once: the window reads it for every bin on every step.
var binMiddles = func() (m [maxBin + 1]float64) {
	for k := range m {
		m[k] = coverageDivisor * math.Exp2((float64(k)-0.5)/binsPerOctave)
	}
	m[0] = 1.5 // need 1: observed 1 or 2
	return m
}()

// maxBin is the bin of the largest need (2^62): needBin never exceeds it.
const maxBin = 62 * binsPerOctave

// binObserved is the observed value at the middle of need bin k (twice
// the need, in log scale).
func binObserved(k int16) float64 {
	if k < 0 || int(k) > maxBin {
		return coverageDivisor * math.Exp2((float64(k)-0.5)/binsPerOctave)
	}
	return binMiddles[k]
}

// window is the summary's view used by Step: totals over the buckets.
type window struct {
	samples, missed int64
	need            float64
	// realized is the over-provisioning the values declared over the
	// window really had (Σ Bucket.Excess / need), 0 without need.
	realized float64
	// atLevel is the over-provisioning holding the declared level over the
	// window's samples would have had (overprovisionAt).
	atLevel float64
}

func (s State) totals() window {
	var w window
	var excess float64
	for _, b := range s.Window {
		w.samples += int64(b.Samples)
		w.missed += int64(b.Missed)
		w.need += b.Need
		w.realized += b.Excess
		excess += excessAt(b.Hist, s.Declared)
	}
	w.atLevel = -1
	if w.need <= 0 {
		w.realized = 0
		return w
	}
	w.atLevel = excess / w.need
	w.realized /= w.need
	return w
}

// missFraction is the share of the window's samples (and this one, counted
// as missed) that found the declared value below the coverage floor.
func (w window) missFraction() float64 {
	return float64(w.missed+1) / float64(w.samples+1)
}
