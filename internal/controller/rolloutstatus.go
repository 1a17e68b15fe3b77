package controller

import (
	"context"
	"time"

	"github.com/latch-gitops/latch/internal/cluster"
	"github.com/latch-gitops/latch/internal/objectid"
	"github.com/latch-gitops/latch/internal/policy"
	"github.com/latch-gitops/latch/internal/policyfile"
	"github.com/latch-gitops/latch/internal/rollout"
	"github.com/latch-gitops/latch/internal/rolloutrecord"
)

// RolloutStatus is a workload's rollout as latch status shows it: what the
// cluster runs now, and what git's record (.latch/rollouts/) says a restore
// would go by.
type RolloutStatus struct {
	// InFlight: a new version is being rolled out now.
	InFlight bool   `json:"inFlight"`
	Revision string `json:"revision,omitempty"`
	// Percent is the share of desired replicas updated and available on
	// the new version now.
	Percent int            `json:"percent"`
	Health  rollout.Health `json:"health,omitempty"`
	Reason  string         `json:"reason,omitempty"`
	// Recorded is the record in git (nil: none).
	Recorded *RecordedRollout `json:"recorded,omitempty"`
}

// RecordedRollout is the latched part of a rollout: its record in git.
type RecordedRollout struct {
	File      string         `json:"file"`
	Revision  string         `json:"revision,omitempty"`
	Milestone int            `json:"milestone"`
	Health    rollout.Health `json:"health"`
	Reason    string         `json:"reason,omitempty"`
	Complete  bool           `json:"complete,omitempty"`
	Held      bool           `json:"held,omitempty"`
	// InPR: the record is the one latch's open rollout PR proposes (review
	// mode always), newer than the base branch's; File is then the file
	// the PR writes.
	InPR bool `json:"inPR,omitempty"`
}

// rolloutStatuses sets each status's Rollout from the observed rollouts
// and the records at the head: a workload gets one while a rollout is in
// flight or while its record is not complete (a record held by latch
// restore, a failed one), so the column names only what a restore would
// treat specially. A record in inPR (latch's open rollout PRs) stands in
// for the base branch's, as it does for the follower and for restore. An
// observed rollout of a workload that has no status (an Argo Rollout whose
// scale latch.yaml does not latch) is added, mode ignore, on the same
// terms. It decides nothing else and reads nothing.
func rolloutStatuses(statuses []WorkloadStatus, rollouts []cluster.Rollout, records *rolloutrecord.Set, inPR map[objectid.Key]*rolloutrecord.Record, o rollout.Options) []WorkloadStatus {
	live := make(map[objectid.Key]rollout.Assessment, len(rollouts))
	for _, r := range rollouts {
		if r.Skip == "" {
			live[r.Key()] = rollout.Assess(r.Snapshot, o)
		}
	}
	records = records.With(inPR)
	listed := make(map[objectid.Key]bool, len(statuses))
	for i := range statuses {
		listed[statuses[i].Key()] = true
	}
	for _, r := range rollouts {
		if r.Skip != "" || listed[r.Key()] {
			continue
		}
		listed[r.Key()] = true
		rec := records.Get(r.Ref)
		if live[r.Key()].InFlight || (rec != nil && !rec.Complete) {
			statuses = append(statuses, WorkloadStatus{Ref: r.Ref, Mode: string(policy.ModeIgnore), Observed: int64(r.Snapshot.Desired)})
		}
	}
	for i := range statuses {
		key := statuses[i].Key()
		a, observed := live[key]
		rec := records.Get(statuses[i].Ref)
		if !a.InFlight && (rec == nil || rec.Complete) {
			continue
		}
		st := &RolloutStatus{}
		if observed {
			st.InFlight, st.Revision, st.Percent, st.Health, st.Reason = a.InFlight, a.Revision, a.Percent, a.Health, a.Reason
		}
		if rec != nil {
			st.Recorded = &RecordedRollout{File: records.Files[key], Revision: rec.Current.Revision, Milestone: rec.Milestone,
				Health: rec.Health, Reason: rec.Reason, Complete: rec.Complete, Held: rec.Held, InPR: inPR[key] != nil}
		}
		statuses[i].Rollout = st
	}
	return statuses
}

// statusRollouts fills the rollout column of Status when the latcher
// follows rollouts. Neither a failed observation nor unreadable records
// stop the status: they are logged, and the column stays empty.
func (l *Latcher) statusRollouts(ctx context.Context, statuses []WorkloadStatus, now time.Time, o rollout.Options, pol *policyfile.Policy) []WorkloadStatus {
	if l.Rollouts == nil {
		return statuses
	}
	rollouts, err := l.Rollouts(ctx, now)
	if err != nil {
		l.logger().Warn("status without rollouts", "error", err)
		if len(rollouts) == 0 {
			return statuses
		}
	}
	records, broken, err := rolloutrecord.Load(l.Repo.Dir())
	if err != nil {
		l.logger().Warn("status without rollout records", "error", err)
	}
	for _, e := range broken {
		l.logger().Warn("rollout record not read", "problem", e.Error())
	}
	var inPR map[objectid.Key]*rolloutrecord.Record
	if l.mayReviewRecords(pol) {
		inPR = l.recordsInPRs(ctx)
	}
	for _, r := range rollouts {
		if r.Skip != "" {
			l.logSkip(r)
		}
	}
	return rolloutStatuses(statuses, rollouts, records, inPR, o)
}
