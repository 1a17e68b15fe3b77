// Package rollout decides, from a snapshot of one workload's rollout that
// the caller gathered (its ReplicaSets or revisions, replica counts, the
// Progressing condition and the new version's pods; for an Argo Rollout also
// its status' stable version, phase and abort), how far the new version
// has come (the milestone: the share of desired replicas updated and
// available on it), whether it is healthy, and whether the record latch keeps
// in git must change. It does no I/O and reads no clock: the snapshot carries
// the time it was taken.
//
// The record changes only when the rollout starts, passes a milestone,
// fails, or completes, so a rollout writes at most one commit per milestone
// (five with the default 0, 25, 50, 75, 100): a failure is final for that
// revision and takes the place of the milestones it will never reach.
package rollout
