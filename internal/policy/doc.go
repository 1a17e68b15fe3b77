// Package policy decides, with no I/O, what git should declare for a
// workload's environment-decided fields: the latch rules that round an
// observed scale (one significant figure, multiples of N, orders of
// magnitude, preferred-number series), the hysteresis and dwell that keep
// the declared value from flapping, the clamp to the min/max declared in git,
// and the per-field mode on the spectrum immutable · latch · converge · ignore.
package policy
