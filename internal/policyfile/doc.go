// Package policyfile reads latch.yaml, the LatchPolicy file at the root of a
// GitOps repository that says, per workload and per field, where the field
// sits on latch's spectrum (immutable · latch · converge · ignore) and how a
// latched field is rounded (rule, hysteresis, dwell, min/max).
//
// Parsing is strict: an unknown or duplicate key, a wrong type, a bad rule,
// min > max, an invalid label selector or name glob is an error naming the
// file, line, column and field path, never a silent default. A repository
// without latch.yaml gets the built-in policy (Default). Resolve, which has no
// I/O, turns the policy into the per-field modes and parameters for one
// object; the decisions themselves live in internal/policy.
package policyfile
