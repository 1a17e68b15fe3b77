package review

import (
	"errors"
	"fmt"
	"math"
	"sort"
)

// Thresholds configure the suspicious rules. A zero field turns its rule
// off; DefaultThresholds has every rule on.
type Thresholds struct {
	// Jump: a latch moving the declared value by at least this factor,
	// either way (40 → 400 and 400 → 40 are both 10×).
	Jump float64 `json:"jump"`
	// AtMax: a latch declaring a value at or beyond the declared maximum.
	AtMax bool `json:"atMax"`
	// FirstLatch: the first latch latch makes for a workload.
	FirstLatch bool `json:"firstLatch"`
	// SurgeWorkloads and SurgeJump: when at least SurgeWorkloads workloads
	// each jump by at least SurgeJump in one window (a fleet-wide surge),
	// every one of those latches is suspicious.
	SurgeWorkloads int     `json:"surgeWorkloads"`
	SurgeJump      float64 `json:"surgeJump"`
	// HPATolerance: where the live HPA's metrics can be read, the replica
	// count they imply (current replicas × current / target, the HPA's own
	// rule) should be within this factor of the observed value; outside it,
	// the jump is not explained by load.
	HPATolerance float64 `json:"hpaTolerance"`
}

// DefaultThresholds are the documented defaults (docs/review.md).
func DefaultThresholds() Thresholds {
	return Thresholds{Jump: 10, AtMax: true, FirstLatch: true, SurgeWorkloads: 5, SurgeJump: 3, HPATolerance: 2}
}

// Validate reports the first threshold out of range, naming its field.
func (t Thresholds) Validate() error {
	var errs []error
	if t.Jump != 0 && !(t.Jump > 1) {
		errs = append(errs, fmt.Errorf("jump: %v: want a factor above 1 (or 0 to turn the rule off)", t.Jump))
	}
	if t.SurgeWorkloads < 0 || (t.SurgeWorkloads == 1) {
		errs = append(errs, fmt.Errorf("surge.workloads: %d: want 2 or more (or 0 to turn the rule off)", t.SurgeWorkloads))
	}
	if t.SurgeWorkloads > 0 && !(t.SurgeJump > 1) {
		errs = append(errs, fmt.Errorf("surge.jump: %v: want a factor above 1", t.SurgeJump))
	}
	if t.HPATolerance != 0 && !(t.HPATolerance > 1) {
		errs = append(errs, fmt.Errorf("hpaTolerance: %v: want a factor above 1 (or 0 to turn the rule off)", t.HPATolerance))
	}
	return errors.Join(errs...)
}

// Candidate is one latch of a window, as the suspicious rules see it.
type Candidate struct {
	Object Object
	// From is the value git declares, To the value latch would declare,
	// Observed the live value.
	From, To, Observed int64
	// Max is the declared maximum (the HPA's or the rule's; 0: none).
	Max int64
	// FirstLatch: history has no latch commit for this workload.
	FirstLatch bool
	// HPA holds the live HPA's metrics when they can be read (nil: not).
	HPA *HPAMetrics
}

// HPAMetrics is what the live HPA reports about load.
type HPAMetrics struct {
	// Replicas is the HPA's status.currentReplicas, the count its metrics
	// were measured at.
	Replicas int64
	Metrics  []Metric
}

// Metric is one HPA metric's current and target value (same unit).
type Metric struct {
	Name            string
	Current, Target float64
}

// Implied is the replica count the metrics ask for, by the HPA's own rule
// (ceil(replicas × current/target), the largest over metrics); ok is false
// when no metric is usable.
func (h *HPAMetrics) Implied() (n int64, ok bool) {
	if h == nil || h.Replicas <= 0 {
		return 0, false
	}
	for _, m := range h.Metrics {
		if !(m.Target > 0) || m.Current < 0 || math.IsInf(m.Current, 0) || math.IsNaN(m.Current) {
			continue
		}
		v := int64(math.Ceil(float64(h.Replicas) * m.Current / m.Target))
		if !ok || v > n {
			n, ok = v, true
		}
	}
	return n, ok
}

// Rule names a suspicious rule in reasons, PR labels and metrics.
type Rule string

const (
	RuleJump       Rule = "jump"
	RuleAtMax      Rule = "at-max"
	RuleFirstLatch Rule = "first-latch"
	RuleSurge      Rule = "surge"
	RuleHPA        Rule = "hpa-unexplained"
)

// Reason is one rule that found a latch suspicious, with a sentence a
// reviewer can check.
type Reason struct {
	Rule Rule
	Text string
}

// Assessment is what the rules found about one candidate.
type Assessment struct {
	Reasons []Reason
}

// Suspicious reports whether any rule fired.
func (a Assessment) Suspicious() bool { return len(a.Reasons) > 0 }

// Assess applies the rules to one window's candidates; the result is in
// the candidates' order.
func Assess(t Thresholds, window []Candidate) []Assessment {
	out := make([]Assessment, len(window))
	var surging []int
	if t.SurgeWorkloads > 0 {
		for i, c := range window {
			if factor(c.From, c.To) >= t.SurgeJump {
				surging = append(surging, i)
			}
		}
		if len(surging) < t.SurgeWorkloads {
			surging = nil
		}
	}
	for i, c := range window {
		var rs []Reason
		f := factor(c.From, c.To)
		if t.Jump > 0 && f >= t.Jump {
			rs = append(rs, Reason{RuleJump, fmt.Sprintf("the declared value jumps %s (%d → %d), at or beyond the %s threshold", times(f), c.From, c.To, times(t.Jump))})
		}
		if t.AtMax && c.Max > 0 && c.To >= c.Max {
			rs = append(rs, Reason{RuleAtMax, fmt.Sprintf("%d is at or beyond the declared maximum %d", c.To, c.Max)})
		}
		if t.FirstLatch && c.FirstLatch {
			rs = append(rs, Reason{RuleFirstLatch, "this is latch's first latch of this workload"})
		}
		if t.HPATolerance > 0 {
			if implied, ok := c.HPA.Implied(); ok && factor(implied, c.Observed) > t.HPATolerance {
				rs = append(rs, Reason{RuleHPA, fmt.Sprintf("the HPA's metrics imply %d replicas but %d are observed (more than %s apart): load does not explain it", implied, c.Observed, times(t.HPATolerance))})
			}
		}
		out[i] = Assessment{Reasons: rs}
	}
	for _, i := range surging {
		out[i].Reasons = append(out[i].Reasons, Reason{RuleSurge, fmt.Sprintf("%d workloads jumped %s or more in the same window (a fleet-wide surge; threshold %d)", len(surging), times(t.SurgeJump), t.SurgeWorkloads)})
	}
	for i := range out {
		sort.SliceStable(out[i].Reasons, func(a, b int) bool { return ruleOrder(out[i].Reasons[a].Rule) < ruleOrder(out[i].Reasons[b].Rule) })
	}
	return out
}

func ruleOrder(r Rule) int {
	for i, x := range []Rule{RuleJump, RuleAtMax, RuleSurge, RuleHPA, RuleFirstLatch} {
		if x == r {
			return i
		}
	}
	return 99
}

// factor is max(a/b, b/a) with values below 1 read as 1, so scaling to or
// from zero counts as a jump by the other value.
func factor(a, b int64) float64 {
	x, y := float64(max(a, 1)), float64(max(b, 1))
	if x > y {
		return x / y
	}
	return y / x
}

func times(f float64) string {
	if f == math.Trunc(f) && f < 1e15 {
		return fmt.Sprintf("%d×", int64(f))
	}
	return fmt.Sprintf("%.1f×", f)
}
