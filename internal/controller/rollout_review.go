package controller

import (
	"context"

	"github.com/latch-gitops/latch/internal/cluster"
	"github.com/latch-gitops/latch/internal/evidence"
	"github.com/latch-gitops/latch/internal/gitrepo"
	"github.com/latch-gitops/latch/internal/objectid"
	"github.com/latch-gitops/latch/internal/policyfile"
	"github.com/latch-gitops/latch/internal/review"
	"github.com/latch-gitops/latch/internal/reviewflow"
	"github.com/latch-gitops/latch/internal/rolloutrecord"
)

// recordProposal is a record the follower would write for a workload in
// review mode always: it goes to the workload's rollout PR instead of the
// pass's commit (docs/rollouts.md).
//
// With closePR set it is instead a workload whose record went into the
// pass's commit although latch's open record PR held it (its rule left
// review mode always): that PR is closed once the push landed.
type recordProposal struct {
	record  rolloutrecord.Record
	change  evidence.Change
	closePR bool
}

// recordsViaPR says, from the pass's policy, which workloads' records go
// through a PR (review.RolloutNeedsReview): with review on, those whose
// mode (their latch.yaml rule's review, else the flag's) is always.
func (l *Latcher) recordsViaPR(pol *policyfile.Policy, workloads []cluster.Workload) func(objectid.Ref) bool {
	if l.Review == nil || pol == nil {
		return func(objectid.Ref) bool { return false }
	}
	byKey := map[objectid.Key]cluster.Workload{}
	for _, w := range workloads {
		byKey[w.Ref.Key()] = w
	}
	return func(ref objectid.Ref) bool {
		o := policyfile.Object{Ref: ref}
		if w, ok := byKey[ref.Key()]; ok {
			o.Labels, o.HasHPA = w.Labels, w.HPA != nil
		}
		mode := l.Review.Mode
		if m := pol.Resolve(o).Review; m != "" {
			mode = m
		}
		return review.RolloutNeedsReview(mode, review.Record)
	}
}

// mayReviewRecords: some workload may be in review mode always under pol
// (the flag's mode, or a rule's).
func (l *Latcher) mayReviewRecords(pol *policyfile.Policy) bool {
	if l.Review == nil || pol == nil {
		return l.Review != nil
	}
	if l.Review.Mode == review.Always {
		return true
	}
	for _, r := range pol.Rules {
		if r.Review == review.Always {
			return true
		}
	}
	return false
}

// recordsInPRs reads the records latch's open rollout PRs propose
// (reviewflow.Flow.RecordsInPRs), so that the follower steps a workload
// whose record waits in a PR from that record, not from the older one on
// the base branch. Without a forge, or when the forge cannot be read, it
// returns none (the follower then goes by the base branch, and the flow
// finds the PR as it acts).
func (l *Latcher) recordsInPRs(ctx context.Context) map[objectid.Key]*rolloutrecord.Record {
	flow := l.reviewFlow()
	if flow == nil {
		return nil
	}
	recs, err := flow.RecordsInPRs(ctx, func(msg string, args ...any) { l.logger().Warn(msg, args...) })
	if err != nil {
		l.logger().Warn("latch's open rollout PRs not read; the follower goes by the base branch's records", "error", err)
		return nil
	}
	return recs
}

// reviewRecords sends each record proposal to its workload's rollout PR
// (reviewflow.RunRollout), after the pass's push.
func (l *Latcher) reviewRecords(ctx context.Context, proposals []recordProposal) []ReviewOutcome {
	if len(proposals) == 0 {
		return nil
	}
	flow := l.reviewFlow()
	var out []ReviewOutcome
	for _, p := range proposals {
		rec, ch := p.record, p.change
		if p.closePR {
			if flow == nil {
				continue
			}
			o := ReviewOutcome{Ref: rec.Object, Field: review.RecordField, From: ch.From, To: ch.To}
			got, err := flow.RunRollout(ctx, reviewflow.RolloutItem{Object: rec.Object, Kind: review.Record, Direct: true})
			o.Action, o.Why, o.PR, o.URL, o.State, o.Closed = got.Decision.Action, got.Decision.Why, got.PR, got.URL, got.State, got.Closed
			if err != nil {
				o.Error = err.Error()
				l.logger().Error("closing the obsolete rollout record PR failed; the next start tries again", "kind", rec.Object.KindGroup(), "workload", rec.Object.NamespacedName(), "pr", o.PR, "error", err)
			} else if o.Action != review.Nothing {
				l.logger().Info("rollout record review", "kind", rec.Object.KindGroup(), "workload", rec.Object.NamespacedName(), "action", o.Action, "pr", o.PR, "why", o.Why)
			}
			out = append(out, o)
			continue
		}
		o := ReviewOutcome{Ref: rec.Object, Field: review.RecordField, From: ch.From, To: ch.To, NeedsReview: true}
		if flow == nil {
			o.Error = "the rollout record needs review (mode always), but no forge is configured: " + l.Review.ForgeProblem
			out = append(out, o)
			continue
		}
		file, _ := rolloutrecord.Path(rec.Object)
		edit := func(ctx context.Context, ws gitrepo.Workspace) ([]evidence.Change, error) {
			if _, err := rolloutrecord.Write(ws.Dir, rec); err != nil {
				return nil, err
			}
			return []evidence.Change{ch}, nil
		}
		ev := review.RolloutEvidence{Cluster: l.Cluster, Object: rec.Object, Kind: review.Record, RecordFile: file,
			Revision: rec.Current.Revision, Health: string(rec.Health), Milestone: rec.Milestone, Percent: rec.Percent,
			Reason: rec.Reason, Complete: rec.Complete, LastGood: rec.LastGood.Commit}
		key := review.RecordKey(rec.Current.Revision, rec.Milestone, string(rec.Health), rec.Complete, rec.Held)
		got, err := flow.RunRollout(ctx, reviewflow.RolloutItem{Object: rec.Object, Kind: review.Record, Key: key, Evidence: ev, Edit: edit})
		o.Action, o.Why, o.PR, o.URL, o.State = got.Decision.Action, got.Decision.Why, got.PR, got.URL, got.State
		o.Created, o.Updated = got.Created, got.Updated
		if err != nil {
			o.Error = err.Error()
			l.logger().Error("rollout record PR failed; the next pass tries again", "kind", rec.Object.KindGroup(), "workload", rec.Object.NamespacedName(), "error", err)
		} else {
			l.logger().Info("rollout record review", "kind", rec.Object.KindGroup(), "workload", rec.Object.NamespacedName(), "action", o.Action, "pr", o.PR, "why", o.Why)
		}
		out = append(out, o)
	}
	return out
}
