// Package controller wires latch's pipeline together: a pass gathers what
// internal/cluster observed, latch.yaml (internal/policyfile) and where git
// declares each field (internal/manifest) into a plain input; the pure
// internal/decide turns it into decisions; the pass then writes the edits
// and records them with internal/gitrepo and internal/evidence. One pass
// (Latcher.Sync) serves `latch sync --once`; `latch run` calls it from its
// watch loop; `latch status` decides without editing. State between passes
// lives in internal/state.
package controller
