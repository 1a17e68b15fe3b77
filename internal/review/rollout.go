package review

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
)

// The fields a rollout PR's marker names: a record change (the follower's
// milestone) or a revert (latch restore went back to the last good version
// and marks the record held).
const (
	RecordField = "rollout.milestone"
	RevertField = "rollout.held"
)

// RolloutKind is what a rollout PR carries.
type RolloutKind string

const (
	// Record: the workload's rollout record as the follower would write it.
	Record RolloutKind = "record"
	// Revert: the workload's file back at its last good version and its
	// record held.
	Revert RolloutKind = "revert"
)

// Field is the marker field of k's PRs.
func (k RolloutKind) Field() string {
	if k == Revert {
		return RevertField
	}
	return RecordField
}

// rolloutSegment is the segment after the cluster in rollout branches. A
// value branch has a namespace there (a DNS label, or "_cluster"), never
// "_rollout"; so no value branch is a rollout branch or a folder of one
// (git cannot hold both latch/a/b and latch/a/b/c: a D/F conflict), and no
// rollout branch is a folder of a value branch.
const rolloutSegment = "_rollout"

// RolloutBranch is the one branch latch uses for a workload's rollout PRs
// (its record under review mode always, and restore's revert):
// latch/<cluster>/_rollout/<namespace>/<kind>/<name>, e.g.
// latch/prod/_rollout/shop/deployment.apps/web. One branch for both, so a
// revert supersedes a pending record change instead of conflicting with it.
func RolloutBranch(cluster string, o Object) string {
	if cluster == "" {
		cluster = "default"
	}
	ns := o.Namespace
	if ns == "" {
		ns = clusterScoped
	}
	return BranchPrefix + refSegment(cluster) + "/" + rolloutSegment + "/" + refSegment(ns) + "/" + refSegment(kindKey(o)) + "/" + refSegment(o.Name)
}

// RolloutNeedsReview says whether a rollout change of kind k for a workload
// whose review mode is m goes through a PR instead of a direct commit.
//
// A revert goes through a PR unless the mode is never: it is always
// "suspicious" (a failed rollout was rolled back), and it changes what
// runs. A record changes nothing that runs (appliers skip .latch/) and is
// what latch restore reads, so it is committed directly except under
// always, whose base branch may take changes only through PRs; under
// suspicious even a failed record goes directly: in a PR, restore (which
// reads the base branch) would not see the failure until a person merged
// it (docs/rollouts.md).
func RolloutNeedsReview(m Mode, k RolloutKind) bool {
	switch m {
	case Always:
		return true
	case Suspicious:
		return k == Revert
	}
	return false
}

// RecordKey names a record change for the marker: what moves it (the
// revision, milestone, health, completion, hold), not when it was written
// or the exact percentage, so passes wanting the same record find it in
// the PR and leave it alone.
func RecordKey(revision string, milestone int, health string, complete, held bool) string {
	return fmt.Sprintf("record:%s:%d:%s:%t:%t", revision, milestone, health, complete, held)
}

// RevertKey names a revert for the marker: the last good commit and what
// the record said (hashed: the reason can be long).
func RevertKey(lastGood, why string) string {
	sum := sha256.Sum256([]byte(lastGood + "\x00" + why))
	short := lastGood
	if len(short) > 12 {
		short = short[:12]
	}
	return "revert:" + short + ":" + hex.EncodeToString(sum[:6])
}

// RolloutSituation is what DecideRollout needs for one workload's rollout
// branch, gathered by I/O.
type RolloutSituation struct {
	Kind RolloutKind
	// Key names what latch wants the branch to propose ("" : nothing new).
	Key string
	// PR is the newest PR of the rollout branch (nil: none ever).
	PR *PR
	// BranchForeign, BranchHead: as in Situation.
	BranchForeign bool
	BranchHead    string
	// Direct: the workload's records now go to the base branch directly
	// (its rule is no longer review mode always), and the base branch
	// holds the newest one; an open record PR is then obsolete.
	Direct bool
}

// DecideRollout is the lifecycle of a rollout PR: open it, update it in
// place (the branch rebuilt as base + one commit, leased) when latch wants
// another change, leave it when it already proposes that change. A revert
// takes over an open record PR (it carries the record, held); a record
// change waits while the revert's PR is open. A change a person merged or
// closed unmerged is not proposed again.
func DecideRollout(s RolloutSituation) Decision {
	pr := s.PR
	open := pr != nil && pr.State == StateOpen
	field := s.Kind.Field()
	if open && (!pr.ByLatch || pr.Marker == nil) {
		return Decision{Action: Nothing, PR: pr.Number, Blocked: true,
			Why: fmt.Sprintf("PR #%d on latch's rollout branch was not opened by latch or lost its marker; latch leaves it alone", pr.Number)}
	}
	if open {
		m := pr.Marker
		switch {
		case s.Direct && m.Field == RecordField:
			// Left open, a merge by a person would put an older record
			// over the newer one latch wrote to the base branch.
			return Decision{Action: Close, PR: pr.Number,
				Why: fmt.Sprintf("the rule no longer sends this workload's rollout records to review: latch recorded it on the base branch and closes PR #%d", pr.Number)}
		case s.Direct:
			return Decision{Action: Nothing, PR: pr.Number, Why: fmt.Sprintf("PR #%d proposes the revert; it stays for a person", pr.Number)}
		case m.Field == RevertField && s.Kind == Record:
			return Decision{Action: Nothing, PR: pr.Number, Blocked: true,
				Why: fmt.Sprintf("PR #%d proposes the revert; the record waits until a person merges or closes it", pr.Number)}
		case s.Key == "":
			return Decision{Action: Nothing, PR: pr.Number, Why: fmt.Sprintf("PR #%d stays as it is", pr.Number)}
		case m.Field == field && m.Key == s.Key && (s.BranchForeign || m.Commit == s.BranchHead):
			return Decision{Action: Nothing, PR: pr.Number, Why: fmt.Sprintf("PR #%d already proposes this %s", pr.Number, s.Kind)}
		case s.BranchForeign:
			return Decision{Action: UpdateOnTop, PR: pr.Number, Why: fmt.Sprintf("PR #%d now proposes this %s; a person pushed to its branch, so latch adds its commit on top", pr.Number, s.Kind)}
		}
		return Decision{Action: Update, PR: pr.Number, Why: fmt.Sprintf("PR #%d now proposes this %s (was %s)", pr.Number, s.Kind, m.Key)}
	}
	if s.Key == "" || s.Direct {
		return Decision{Action: Nothing, Why: "nothing to propose"}
	}
	if pr != nil && pr.ByLatch && pr.Marker != nil && pr.Marker.Field == field && pr.Marker.Key == s.Key {
		switch {
		case pr.State == StateMerged:
			return Decision{Action: Nothing, PR: pr.Number, Why: fmt.Sprintf("PR #%d with this %s was merged", pr.Number, s.Kind)}
		case pr.State == StateClosed && !pr.Marker.ClosedByLatch:
			return Decision{Action: Nothing, PR: pr.Number, Why: fmt.Sprintf("a person closed PR #%d unmerged: latch does not propose this %s again", pr.Number, s.Kind)}
		}
	}
	return Decision{Action: Open, Why: fmt.Sprintf("this %s needs review", s.Kind)}
}

// RolloutBranchPrefix starts every rollout branch of cluster, to tell
// them from value branches in a listing of latch's PRs.
func RolloutBranchPrefix(cluster string) string {
	if cluster == "" {
		cluster = "default"
	}
	return BranchPrefix + refSegment(cluster) + "/" + rolloutSegment + "/"
}
