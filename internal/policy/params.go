package policy

import (
	"math"
	"time"
)

// Default policy. Each number is argued in docs/latching.md and was chosen
// on the tuning shapes of bench/simulate, then checked on held-out shapes and
// the NASA trace (docs/benchmarks.md); in short:
//
//   - series R5 (1, 1.6, 2.5, 4, 6.3 per decade, as integers 1 2 3 4 6 10 16
//     25 40 63 100 …): a geometric ladder, so one rule fits 3 replicas and
//     3,000 alike; neighbours are 1.6× apart, fine enough that some level
//     sits between half a workload's peak and its mean.
//   - hysteresis 0.5: the observed value must pass the geometric midpoint to
//     the next level by 50 % before the declared value moves, so latch moves
//     only when the declared value is off by about 2× either way (up: just
//     before the half-capacity floor; down: below about 0.53× the level).
//     That is far wider than the HPA's 10 % tolerance and real traffic's
//     minute-to-minute noise (about 30 % on the NASA trace).
//   - dwell down 4h: a lower value must hold for four hours, longer than a
//     monitoring outage, a rollout or a lunch dip, shorter than a night, so
//     sustained troughs still release capacity; when the declared value is
//     above everything seen during the wait, the wait shrinks in proportion
//     (never below an hour), so a burst's capacity is not kept for hours.
//   - dwell up 15m: a move up that coverage does not need (the observed
//     value is past the band but under twice the declared value) waits a
//     quarter of an hour, so a ramp climbing through several levels ends in
//     one commit; a move up that coverage needs is never delayed.
const (
	DefaultHysteresis          = 0.5
	DefaultDwellDown           = 4 * time.Hour
	DefaultDwellUp             = 10 * time.Minute
	DefaultWindow              = 24 * time.Hour
	DefaultMissBudget          = 0.005
	DefaultOverprovisionBudget = 0.9
)

// defaultLadder is the rounding ladder of DefaultParams.
var defaultLadder = Ladder{Kind: LadderSeries, Series: "R5"}

// DefaultParams returns the policy latch applies when latch.yaml says nothing.
func DefaultParams() Params {
	return Params{
		Ladder:     defaultLadder,
		Hysteresis: DefaultHysteresis,
		DwellDown:  DefaultDwellDown,
		DwellUp:    DefaultDwellUp,

		Window:              DefaultWindow,
		MissBudget:          DefaultMissBudget,
		OverprovisionBudget: DefaultOverprovisionBudget,
	}
}

// Validate reports every field of p that is out of range, as FieldErrors
// (nil when p is valid): each names its field and says what is wrong, e.g.
// {hysteresis, "must be in [0, 1), got 1.5"}.
func (p Params) Validate() error {
	var errs FieldErrors
	if err := validateLadder(p.Ladder); err != nil {
		errs = append(errs, err)
	}
	if math.IsNaN(p.Hysteresis) || p.Hysteresis < 0 || p.Hysteresis >= 1 {
		errs = append(errs, fieldErrorf("hysteresis", "must be in [0, 1), got %v", p.Hysteresis))
	}
	if p.DwellDown < 0 {
		errs = append(errs, fieldErrorf("dwellDown", "must be ≥ 0, got %v", p.DwellDown))
	}
	if p.DwellUp < 0 {
		errs = append(errs, fieldErrorf("dwellUp", "must be ≥ 0, got %v", p.DwellUp))
	}
	if p.Window < 0 {
		errs = append(errs, fieldErrorf("window", "must be ≥ 0 (0 turns the budgets off), got %v", p.Window))
	}
	if math.IsNaN(p.MissBudget) || p.MissBudget < 0 || p.MissBudget >= 1 {
		errs = append(errs, fieldErrorf("missBudget", "must be in [0, 1), got %v", p.MissBudget))
	}
	if math.IsNaN(p.OverprovisionBudget) || p.OverprovisionBudget < 0 || math.IsInf(p.OverprovisionBudget, 0) {
		errs = append(errs, fieldErrorf("overprovisionBudget", "must be a number ≥ 0, got %v", p.OverprovisionBudget))
	}
	if p.Min < 0 {
		errs = append(errs, fieldErrorf("min", "must be ≥ 0 (0 means unset), got %d", p.Min))
	}
	if p.Max < 0 {
		errs = append(errs, fieldErrorf("max", "must be ≥ 0 (0 means unset), got %d", p.Max))
	}
	if p.Min > 0 && p.Max > 0 && p.Min > p.Max {
		errs = append(errs, fieldErrorf("min", "must be ≤ max, got min %d > max %d", p.Min, p.Max))
	}
	if len(errs) == 0 {
		return nil
	}
	return errs
}

// budgeted reports whether the window summary and a miss budget are on.
func (p Params) budgeted() bool { return p.Window > 0 && p.MissBudget > 0 }

// tolerates reports whether a move up that coverage needs may wait DwellUp:
// the miss budget is on and the window, with this sample missed, stays
// within it.
func (p Params) tolerates(w window) bool {
	return p.budgeted() && p.DwellUp > 0 && w.missFraction() <= p.MissBudget
}

// knows reports whether the window holds enough samples for its miss
// budget to allow one miss (1/MissBudget: 200 at 0.5 %, 50 minutes of
// 15 s samples): before that every miss is over budget and the window says
// nothing about the traffic's spikes.
func (p Params) knows(w window) bool {
	return p.MissBudget > 0 && float64(w.samples+1)*p.MissBudget >= 1
}

// spendsMisses reports whether a move up waits for coverage to need it: the
// miss budget is on and the window knows enough of the traffic to spend it.
// Then the band alone (the observed value past the boundary above the
// declared level, but still covered) moves nothing: the half-capacity margin
// the band kept is what the miss budget now pays for, measured.
func (p Params) spendsMisses(w window) bool {
	return p.budgeted() && p.DwellUp > 0 && p.knows(w)
}

// overBudget reports whether a move down may be made: holding the declared
// level over the window's traffic would have over-provisioned it by more
// than the budget (always, when the budget is off). It asks what the level
// itself costs, not what the values declared over the window cost: those
// include the climbs to the day's spikes, and a level that the traffic
// would afford was released because an earlier one was not (diurnal,
// diurnal-deep and NASA moved down and back up again on most days).
func (p Params) overBudget(w window) bool {
	if p.Window <= 0 || p.OverprovisionBudget <= 0 {
		return true
	}
	if w.atLevel < 0 {
		// No need in the window: with no samples at all (a state from
		// before the window, or resumed), the budget knows nothing and
		// the machine moves down as without it; with every sample at the
		// floor (a monitoring gap), the samples say nothing, and nothing
		// is released for them.
		return w.samples == 0
	}
	return w.atLevel > p.OverprovisionBudget
}
