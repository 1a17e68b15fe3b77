// Package restore decides, without any I/O, how latch restore rebuilds a
// cluster from git: given the objects git renders at the head (with their
// latched scales), the rollout records (internal/rolloutrecord), the
// workloads as rendered at each record's last-good commit, and what the
// cluster already has, it says for every object what to apply, in which
// phase (namespaces, then CRDs, then the rest), at which version and why.
//
// A workload with a rollout record comes back at the new version when the
// record says the rollout was healthy and at or past the forward threshold,
// and at the last good version otherwise (failed, or not far enough), so no
// pod of a failing version is created; its scale is git's latched one
// either way. Bad input (a manifest or record that does not parse, an
// object declared twice) is a Problem that stops the whole restore before
// anything is applied; a workload that cannot be restored safely (sent back
// with no last good version known) is a Failure of that object only.
package restore
