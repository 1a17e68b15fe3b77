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

// RuleKind names a rounding rule.
type RuleKind string

const (
	RuleSigFig    RuleKind = "sigfig"    // one significant figure: 14→10, 15→20, 1234→1000
	RuleStep      RuleKind = "step"      // nearest multiple of Rule.Step
	RuleMagnitude RuleKind = "magnitude" // nearest power of ten, in log space
	RuleSeries    RuleKind = "series"    // preferred numbers: Rule.Series "1-2-5", "R5", "R10"
)

// Rule is a rounding rule and its parameter.
type Rule struct {
	Kind   RuleKind `json:"kind"`
	Step   int64    `json:"step,omitempty"`   // RuleStep only; > 0
	Series string   `json:"series,omitempty"` // RuleSeries only
}

// Params configures one workload's latch state machine. The zero value is
// not valid; start from DefaultParams.
type Params struct {
	Rule Rule `json:"rule"`
	// Hysteresis is how far past a rounding boundary (as a fraction of the
	// boundary) the observed value must go before the declared value moves.
	Hysteresis float64 `json:"hysteresis"`
	// DwellDown is how long a lower value must hold before latch declares it.
	DwellDown time.Duration `json:"dwellDown"`
	// DwellUp is how long a higher value must hold; 0 means move up at once
	// (under-declaring is the dangerous side).
	DwellUp time.Duration `json:"dwellUp"`
	// Min and Max bound the declared value from the policy; 0 means unset.
	// The HPA's min/max declared in git are passed to each step and also bind.
	Min int64 `json:"min,omitempty"`
	Max int64 `json:"max,omitempty"`
}
