// Package controller wires latch's pipeline together: it takes what
// internal/cluster observed, asks internal/policy (through the repository's
// latch.yaml) what git should declare, finds the declaring bytes with
// internal/manifest, and records the result with internal/gitrepo. One pass
// (Latcher.Sync) serves `latch sync --once`; `latch run` calls it from its
// watch loop.
package controller
