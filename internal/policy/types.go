package policy

import "time"

// Mode is where a field sits on latch's spectrum of who owns its value.
type Mode string

const (
	// ModeImmutable: git is the truth; live drift is reverted.
	ModeImmutable Mode = "immutable"
	// ModeLatch: the environment decides; latch writes a round number back to git.
	ModeLatch Mode = "latch"
	// ModeConverge: may move live; reverted to git after a grace period.
	ModeConverge Mode = "converge"
	// ModeIgnore: neither compared nor written.
	ModeIgnore Mode = "ignore"
)

// Modes lists every valid mode, in spectrum order.
var Modes = []Mode{ModeImmutable, ModeLatch, ModeConverge, ModeIgnore}

// LadderKind names a kind of ladder of round numbers.
type LadderKind string

const (
	LadderSigFig    LadderKind = "sigfig"    // one significant figure: 14→10, 15→20, 1234→1000
	LadderStep      LadderKind = "step"      // nearest multiple of Ladder.Step
	LadderMagnitude LadderKind = "magnitude" // nearest power of ten, in log space
	LadderSeries    LadderKind = "series"    // preferred numbers: Ladder.Series "1-2-5", "R5", "R10"
)

// Ladder is the ladder of round numbers a latched value is rounded to: its
// kind and that kind's parameter. latch.yaml calls it a field's "rule".
type Ladder struct {
	Kind   LadderKind `json:"kind"`
	Step   int64      `json:"step,omitempty"`   // LadderStep only; > 0
	Series string     `json:"series,omitempty"` // LadderSeries only
}

// Params configures one workload's latch state machine. The zero value is
// not valid; start from DefaultParams.
type Params struct {
	// Ladder is the ladder of round numbers declared values are taken from
	// (JSON and latch.yaml: "rule").
	Ladder Ladder `json:"rule"`
	// Hysteresis is how far past a rounding boundary (as a fraction of the
	// boundary) the observed value must go before the declared value moves.
	Hysteresis float64 `json:"hysteresis"`
	// DwellDown is how long a lower value must hold before latch declares it.
	DwellDown time.Duration `json:"dwellDown"`
	// DwellUp is how long a higher value must hold; 0 means move up at once
	// (under-declaring is the dangerous side).
	DwellUp time.Duration `json:"dwellUp"`
	// Window is how far back the budget summary looks (State.Window); 0
	// turns the budgets off: every move coverage needs is made at once and
	// every move down waits only for its dwell.
	Window time.Duration `json:"window,omitempty"`
	// MissBudget is the share of the window's samples that may find the
	// declared value below the coverage floor (⌈observed/2⌉). While the
	// window has missed less, a move up that coverage needs waits DwellUp
	// like any other, so an excursion shorter than DwellUp is not chased; 0
	// makes such a move immediate.
	MissBudget float64 `json:"missBudget,omitempty"`
	// OverprovisionBudget is the over-provisioning (Σ excess / Σ observed,
	// as latch simulate measures it) that holding the declared level over
	// the window's traffic may cost before a move down is made: at or under
	// it, capacity held above the need is kept, and the commit a move down
	// costs is saved. A move down goes no lower than the highest level
	// within it, and waits less the further over it the level is. 0
	// releases as soon as the dwell down has passed.
	OverprovisionBudget float64 `json:"overprovisionBudget,omitempty"`
	// Min and Max bound the declared value from the policy; 0 means unset.
	// The HPA's min/max declared in git are passed to each step and also bind.
	Min int64 `json:"min,omitempty"`
	Max int64 `json:"max,omitempty"`
}
