// Package backoff decides how long to wait after a run of failures:
// exponential, capped, jittered from an injected source, and reset by a
// success. It holds no clock and draws no randomness of its own: the caller
// passes the time and the jitter source, so the same inputs always give the
// same waits (and tests need no sleeping).
package backoff

import (
	"fmt"
	"time"
)

// Policy is the shape of the waits.
type Policy struct {
	// Initial is the wait after the first failure; each further failure
	// doubles it, up to Max.
	Initial, Max time.Duration
}

// Check rejects a policy whose waits would not grow or not be bounded.
func (p Policy) Check() error {
	if p.Initial <= 0 {
		return fmt.Errorf("backoff: initial wait must be positive, got %s", p.Initial)
	}
	if p.Max < p.Initial {
		return fmt.Errorf("backoff: maximum wait %s is below the initial wait %s", p.Max, p.Initial)
	}
	return nil
}

// Ceiling is the un-jittered wait after failures consecutive failures
// (0 for none): Initial·2^(failures-1), at most Max.
func (p Policy) Ceiling(failures int) time.Duration {
	if failures <= 0 {
		return 0
	}
	d := p.Initial
	for i := 1; i < failures && d < p.Max; i++ {
		d *= 2
	}
	return min(d, p.Max)
}

// Jittered places the wait after failures at a point of the upper half of
// its ceiling: u is a uniform draw from [0, 1) (values outside are
// clamped). Two processes that failed together then retry apart, and no
// wait is shorter than half the ceiling.
func (p Policy) Jittered(failures int, u float64) time.Duration {
	ceiling := p.Ceiling(failures)
	u = max(0, min(u, 1))
	half := ceiling / 2
	return half + time.Duration(u*float64(ceiling-half))
}

// State is a run of consecutive failures and when the next attempt is due.
// The zero value is "no failure": always due.
type State struct {
	// Failures counts consecutive failures since the last success.
	Failures int
	// Until is when the next attempt is due (zero: now).
	Until time.Time
	// Wait is the last wait chosen (0 after a success).
	Wait time.Duration
}

// Failed records a failure at now with jitter draw u and returns the new
// state: the next attempt is due one jittered wait later.
func (p Policy) Failed(s State, now time.Time, u float64) State {
	s.Failures++
	s.Wait = p.Jittered(s.Failures, u)
	s.Until = now.Add(s.Wait)
	return s
}

// Succeeded resets the run: the next attempt is due at once.
func (p Policy) Succeeded(State) State { return State{} }

// Remaining is how long until an attempt is due at now (0: due).
func (s State) Remaining(now time.Time) time.Duration {
	if s.Until.IsZero() || !now.Before(s.Until) {
		return 0
	}
	return s.Until.Sub(now)
}
