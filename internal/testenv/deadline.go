package testenv

import (
	"context"
	"fmt"
	"time"
)

// A test waits for real parts (a server starting, latch committing) as long
// as the test binary may run, never for a fixed wall-clock budget: on a
// loaded machine everything is slower, and a test that fails because the
// machine is busy is a benchmark in disguise. The bound is the binary's own
// deadline (go test -timeout, read through t.Deadline) less a reserve, so
// that a wait that gives up still leaves time for the cleanups that stop the
// servers and for a failure message that names what never happened.

// noDeadlineBound bounds the waits of a fixture used outside `go test`
// (Session, for `make demo` and the bench programs) or by a benchmark
// (testing.B has no Deadline): a broken part should still be named.
const noDeadlineBound = 10 * time.Minute

// cleanupReserve is kept back from the test binary's deadline: stopping a
// process takes up to 10 s (SIGTERM, then SIGKILL), kube-apiserver up to
// apiServerStopGrace.
const cleanupReserve = 30 * time.Second

// Deadline is when t's waits give up. With `go test -timeout 0` there is no
// deadline and a wait lasts until its condition holds.
func Deadline(t T) time.Time {
	d, ok := t.(interface{ Deadline() (time.Time, bool) })
	if !ok {
		return time.Now().Add(noDeadlineBound)
	}
	end, ok := d.Deadline()
	if !ok {
		return time.Now().Add(100 * 365 * 24 * time.Hour)
	}
	reserve := cleanupReserve
	if left := time.Until(end); left < 2*reserve {
		reserve = left / 2
	}
	return end.Add(-reserve)
}

// Context is cancelled at Deadline(t) or when t ends, whichever is first.
func Context(t T) context.Context {
	ctx, cancel := context.WithDeadline(context.Background(), Deadline(t))
	t.Cleanup(cancel)
	return ctx
}

// WaitUntil polls cond until it holds; at Deadline(t) it fails t naming
// what it waited for and for how long.
func WaitUntil(t T, what string, cond func() bool) {
	t.Helper()
	waitUntil(t, what, Deadline(t), "the test binary's deadline, go test -timeout, is near", cond)
}

// WaitWithin is WaitUntil for a wait whose usual length the test measured
// on this machine in this run (a warm restart, say): it gives up after
// limit, a generous multiple of that, or at Deadline(t) if sooner. A state
// that never comes then fails in minutes instead of eating the package's
// whole timeout, which kills the tests after it and leaks their servers.
func WaitWithin(t T, what string, limit time.Duration, cond func() bool) {
	t.Helper()
	deadline, why := Deadline(t), "the test binary's deadline, go test -timeout, is near"
	if end := time.Now().Add(limit); end.Before(deadline) {
		deadline, why = end, fmt.Sprintf("%s, a multiple of what the test measured for it", limit.Round(time.Millisecond))
	}
	waitUntil(t, what, deadline, why, cond)
}

func waitUntil(t T, what string, deadline time.Time, why string, cond func() bool) {
	t.Helper()
	start := time.Now()
	poll := 20 * time.Millisecond
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s after %s (%s)", what, time.Since(start).Round(time.Millisecond), why)
		}
		time.Sleep(poll)
		// Quick at first (most conditions hold soon), then gentle on a
		// busy machine.
		poll = min(2*poll, 250*time.Millisecond)
	}
}
