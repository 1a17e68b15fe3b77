package simulate

import (
	"fmt"
	"math"
	"time"

	"github.com/latch-gitops/latch/internal/policy"
)

// Summary is what latch simulate reports; the JSON keys are part of the CLI
// contract and every figure can be recomputed from the observed trace and
// the declared series (--series-out) with Summarise.
type Summary struct {
	// Samples is the number of observations.
	Samples int `json:"samples"`
	// NaiveCommits is how often the observed value changes: the commits of
	// writing every change back.
	NaiveCommits int `json:"naive_commits"`
	// Commits is how often the declared value changes.
	Commits int `json:"commits"`
	// Reduction is NaiveCommits / max(Commits, 1).
	Reduction float64 `json:"reduction"`
	// Coverage is the fraction of samples where declared ≥ ⌈observed/2⌉: a
	// restore at that moment brings at least half the capacity needed.
	Coverage float64 `json:"coverage"`
	// Overprovision is Σ max(0, declared − observed) / Σ observed: the extra
	// replica-time a restore would start with, as a fraction of the
	// replica-time needed (the denominator is taken as 1 if Σ observed is 0).
	Overprovision float64 `json:"overprovision"`
	// MaxDeclared is the highest declared value.
	MaxDeclared int64 `json:"max_declared"`
}

// Summarise computes the figures of a run from the observed and declared
// series, which must be of equal, non-zero length.
func Summarise(observed, declared []int64) (Summary, error) {
	if len(observed) != len(declared) {
		return Summary{}, fmt.Errorf("summarise: %d observed samples but %d declared", len(observed), len(declared))
	}
	if len(observed) == 0 {
		return Summary{}, fmt.Errorf("summarise: no samples")
	}
	s := Summary{Samples: len(observed)}
	covered := 0
	var excess, need float64
	for i, obs := range observed {
		d := declared[i]
		if i > 0 {
			if obs != observed[i-1] {
				s.NaiveCommits++
			}
			if d != declared[i-1] {
				s.Commits++
			}
		}
		if d >= policy.MinSafe(obs) {
			covered++
		}
		if d > obs {
			excess += float64(d - obs)
		}
		need += float64(obs)
		s.MaxDeclared = max(s.MaxDeclared, d)
	}
	s.Reduction = float64(s.NaiveCommits) / float64(max(s.Commits, 1))
	s.Coverage = float64(covered) / float64(len(observed))
	s.Overprovision = excess / math.Max(need, 1)
	return s, nil
}

// Options configures a replay.
type Options struct {
	Params policy.Params
	// Min and Max are the bounds declared in git (an HPA's min/max); 0 is unset.
	Min, Max int64
	// Start and Step place a trace of bare numbers in time; a CSV trace
	// carries its own timestamps.
	Start time.Time
	Step  time.Duration
	// Passes, when set, steps the policy only where the controller's
	// write-back loop would run a pass, and holds the declared value
	// between passes; nil steps it on every sample.
	Passes *Passes
}

// Passes is the cadence of latch run's write-back loop: a pass every
// Resync (a ticker that changes do not reset), and one BatchWindow after
// the first change of the observed value since the last pass; any pass
// takes every change before it. A pass steps the policy with the value
// observed at its time: the newest sample at or before it. The first
// sample is a pass, as the controller's first pass is at its start.
//
// The controller's passes also wait for a git fetch and push, and a tick
// that falls inside a batch window runs right after it; simulate leaves
// both out, so its passes are the cadence's, not a recording of one.
type Passes struct {
	Resync, BatchWindow time.Duration
}

func (c Passes) validate() error {
	if c.Resync <= 0 {
		return fmt.Errorf("passes: resync must be > 0, got %v", c.Resync)
	}
	if c.BatchWindow < 0 {
		return fmt.Errorf("passes: batch window must be ≥ 0, got %v", c.BatchWindow)
	}
	return nil
}

// Run replays observed through the latch state machine, from a fresh state,
// and returns the declared value after every sample.
func Run(tr Trace, o Options) ([]int64, error) {
	if err := o.Params.Validate(); err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	if tr.Times == nil && o.Step <= 0 {
		return nil, fmt.Errorf("step: must be > 0 for a trace without timestamps, got %v", o.Step)
	}
	if o.Passes != nil {
		if err := o.Passes.validate(); err != nil {
			return nil, err
		}
		return runPasses(tr, o), nil
	}
	declared := make([]int64, tr.Len())
	var st policy.State
	for i, v := range tr.Values {
		var d policy.Decision
		st, d = policy.Step(o.Params, st, tr.At(i, o.Start, o.Step), int64(v), o.Min, o.Max)
		declared[i] = d.Declared
	}
	return declared, nil
}

// runPasses is Run at the cadence of o.Passes (validated).
func runPasses(tr Trace, o Options) []int64 {
	declared := make([]int64, tr.Len())
	if tr.Len() == 0 {
		return declared
	}
	c := *o.Passes
	var (
		st      policy.State
		current int64
		pending time.Time // the first change since the last pass; zero: none
	)
	pass := func(at time.Time, observed float64) {
		var d policy.Decision
		st, d = policy.Step(o.Params, st, at, int64(observed), o.Min, o.Max)
		current, pending = d.Declared, time.Time{}
	}
	// due is the time of the next pass, and whether it is a tick.
	due := func(tick time.Time) (time.Time, bool) {
		if !pending.IsZero() && pending.Add(c.BatchWindow).Before(tick) {
			return pending.Add(c.BatchWindow), false
		}
		return tick, true
	}
	first := tr.At(0, o.Start, o.Step)
	pass(first, tr.Values[0])
	tick := first.Add(c.Resync)
	declared[0] = current
	for i := 1; i < tr.Len(); i++ {
		now := tr.At(i, o.Start, o.Step)
		// Passes between the last sample and this one see the last one.
		for at, isTick := due(tick); at.Before(now); at, isTick = due(tick) {
			pass(at, tr.Values[i-1])
			if isTick {
				tick = tick.Add(c.Resync)
			}
		}
		if tr.Values[i] != tr.Values[i-1] && pending.IsZero() {
			pending = now
		}
		// A pass due at this sample's time sees it.
		for at, isTick := due(tick); !at.After(now); at, isTick = due(tick) {
			pass(at, tr.Values[i])
			if isTick {
				tick = tick.Add(c.Resync)
			}
		}
		declared[i] = current
	}
	return declared
}
