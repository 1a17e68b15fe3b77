package controller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"k8s.io/client-go/discovery"

	"github.com/latch-gitops/latch/internal/cluster"
	"github.com/latch-gitops/latch/internal/evidence"
	"github.com/latch-gitops/latch/internal/gitrepo"
	"github.com/latch-gitops/latch/internal/manifest"
	"github.com/latch-gitops/latch/internal/objectid"
	"github.com/latch-gitops/latch/internal/policyfile"
	"github.com/latch-gitops/latch/internal/rollout"
	"github.com/latch-gitops/latch/internal/rolloutrecord"
)

// RolloutField is the field a rollout record's evidence names: its
// milestone, from the old record's to the new one's.
const RolloutField = "rollout.milestone"

// followRollouts is the rollout follower's part of a pass, at ws: for each
// observed rollout, rollout.Assess and rollout.Next decide whether its
// record changes (only when a rollout starts, passes a milestone, fails or
// completes); the records that do are written and returned as evidence, to
// be committed with the pass's other changes. A record a person broke is
// left alone (and logged), not overwritten.
//
// A workload whose record goes through a PR (viaPR: review mode always) is
// stepped from the record its open PR holds (inPRs) when there is one, and
// its new record is returned as a proposal instead of written into ws.
func (l *Latcher) followRollouts(ctx context.Context, ws gitrepo.Workspace, rollouts []cluster.Rollout, now time.Time, o rollout.Options, viaPR func(objectid.Ref) bool, inPRs map[objectid.Key]*rolloutrecord.Record) ([]evidence.Change, []recordProposal, error) {
	if len(rollouts) == 0 {
		return nil, nil, nil
	}
	set, broken, err := rolloutrecord.Load(ws.Dir)
	if err != nil {
		return nil, nil, fmt.Errorf("rollout records at %s: %w", gitrepo.ShortID(ws.Head), err)
	}
	var proposals []recordProposal
	brokenFile := map[string]bool{}
	for _, e := range broken {
		l.logger().Warn("rollout record not read; latch leaves it as it is", "problem", e.Error())
		var re *rolloutrecord.Error
		if errors.As(e, &re) {
			brokenFile[re.File] = true
		}
	}
	var idx *manifest.Index // built only when a new rollout needs its commits
	var changes []evidence.Change
	for _, r := range rollouts {
		if r.Skip != "" {
			l.logSkip(r)
			continue
		}
		file, err := rolloutrecord.Path(r.Ref)
		if err != nil || brokenFile[file] || !ws.Allowed(r.Ref, RolloutField) {
			continue
		}
		a := rollout.Assess(r.Snapshot, o)
		onBase := set.Get(r.Ref)
		rec := onBase
		viaReview := viaPR != nil && viaPR(r.Ref)
		// The record in latch's open PR is the newest, whatever the mode
		// is now. A workload whose rule left review mode always takes it
		// to the base branch (the PR is then closed, after the push).
		inPR := inPRs[r.Ref.Key()]
		if inPR != nil {
			rec = inPR
		}
		takeOver := !viaReview && inPR != nil
		var prev *rollout.State
		if rec != nil {
			s := rec.State()
			prev = &s
		}
		step := rollout.Next(prev, a, rollout.Commits{})
		if !step.Write {
			if takeOver {
				ch, err := takeOverRecord(ws, onBase, *inPR)
				if err != nil {
					return nil, nil, err
				}
				changes = append(changes, ch...)
				proposals = append(proposals, recordProposal{record: *inPR, closePR: true})
			}
			continue
		}
		if prev == nil || prev.Revision != a.Revision {
			if idx == nil {
				if idx, err = manifest.BuildIndex(ws.Dir, manifest.IndexOptions{Path: l.Path}); err != nil {
					return nil, nil, fmt.Errorf("indexing manifests at %s: %w", gitrepo.ShortID(ws.Head), err)
				}
			}
			var c rollout.Commits
			if files := idx.Files(r.Ref); len(files) > 0 {
				if c.DeclaredBy, c.Before, err = ws.LastChange(ctx, files...); err != nil {
					return nil, nil, err
				}
			}
			step = rollout.Next(prev, a, c)
		}
		next := recordOf(r, rec, step.Next, a, now)
		from := int64(0)
		if prev != nil && prev.Revision == a.Revision {
			from = int64(prev.Milestone)
		}
		change := evidence.Change{Object: r.Ref, Field: RolloutField, File: file,
			From: from, To: int64(next.Milestone), Observed: int64(a.Percent), Rule: "rollout", Reason: step.Why}
		if viaReview {
			proposals = append(proposals, recordProposal{record: next, change: change})
			continue
		}
		rel, err := rolloutrecord.Write(ws.Dir, next)
		if err != nil {
			return nil, nil, fmt.Errorf("writing the rollout record of %s: %w", r.Ref, err)
		}
		change.File = rel
		changes = append(changes, change)
		if takeOver {
			proposals = append(proposals, recordProposal{record: next, change: change, closePR: true})
		}
	}
	return changes, proposals, nil
}

// takeOverRecord writes inPR, the record latch's open PR proposes, to the
// base branch when the base branch's record (onBase, nil: none) is older,
// for a workload whose rule no longer sends records to review.
func takeOverRecord(ws gitrepo.Workspace, onBase *rolloutrecord.Record, inPR rolloutrecord.Record) ([]evidence.Change, error) {
	from := int64(0)
	if onBase != nil {
		if onBase.State() == inPR.State() && onBase.Current.Revision == inPR.Current.Revision {
			return nil, nil
		}
		if onBase.Current.Revision == inPR.Current.Revision {
			from = int64(onBase.Milestone)
		}
	}
	rel, err := rolloutrecord.Write(ws.Dir, inPR)
	if err != nil {
		return nil, fmt.Errorf("writing the rollout record of %s: %w", inPR.Object, err)
	}
	return []evidence.Change{{Object: inPR.Object, Field: RolloutField, File: rel, From: from, To: int64(inPR.Milestone),
		Observed: int64(inPR.Percent), Rule: "rollout",
		Reason: "the record latch's rollout PR proposed, now that the rule records this workload on the base branch"}}, nil
}

// ArgoRolloutsInstalled asks discovery once whether the cluster serves Argo
// Rollouts, for the follower to list them: installed later, they are
// followed from the next start. Not installed is the common case and
// logged at debug level only; a discovery failure is a warning, and the
// follower goes on without them.
func ArgoRolloutsInstalled(disc discovery.DiscoveryInterface, log *slog.Logger) bool {
	served, err := cluster.ArgoRolloutsServed(disc)
	switch {
	case err != nil:
		log.Warn("cannot tell whether Argo Rollouts is installed; its Rollouts are not followed until a restart", "error", err)
	case served:
		log.Info("following Argo Rollouts (rollouts.argoproj.io/v1alpha1) by their status")
	default:
		log.Debug("Argo Rollouts is not installed (no rollouts.argoproj.io); installed later, it is followed from the next start")
	}
	return served && err == nil
}

// logSkip says once per process and reason why the follower does not
// follow r (an Argo Rollout whose template is in a Deployment).
func (l *Latcher) logSkip(r cluster.Rollout) {
	if _, seen := l.skipsLogged.LoadOrStore(r.Ref.String()+"\x00"+r.Skip, true); seen {
		return
	}
	l.logger().Info("rollout not followed", "object", r.Ref.String(), "why", r.Skip)
}

// rolloutOptions is how the follower assesses rollouts this pass: the
// latch.yaml at the pass's commit (spec.defaults.rollouts) where it sets
// them, else Latcher.RolloutOptions (Go callers; zero: the defaults).
func (l *Latcher) rolloutOptions(pol *policyfile.Policy) rollout.Options {
	if pol == nil {
		return l.RolloutOptions
	}
	o, set := pol.Defaults.Rollouts, l.RolloutOptions
	if len(o.Milestones) == 0 {
		o.Milestones = set.Milestones
	}
	if o.NotReadyAfter == 0 {
		o.NotReadyAfter = set.NotReadyAfter
	}
	if o.CrashLoopRestarts == 0 {
		o.CrashLoopRestarts = set.CrashLoopRestarts
	}
	return o
}

// recordOf is the record to write for state next: the versions carried
// over from the old record when it follows the same revision; for a new
// rollout, the new ReplicaSet's images, and as last good the old record's
// version that completed, or its own last good, or the older ReplicaSet
// still running.
func recordOf(r cluster.Rollout, rec *rolloutrecord.Record, next rollout.State, a rollout.Assessment, now time.Time) rolloutrecord.Record {
	out := rolloutrecord.Record{Object: r.Ref, Milestone: next.Milestone, Percent: a.Percent, Health: next.Health,
		Reason: next.Reason, Complete: next.Complete, Held: next.Held, Updated: now}
	switch {
	case rec != nil && rec.Current.Revision == next.Revision:
		out.Current, out.LastGood = rec.Current, rec.LastGood
	default:
		out.Current = rolloutrecord.Version{Revision: next.Revision, Commit: next.DeclaredBy, Images: r.NewImages}
		switch {
		case rec != nil && next.LastGood != "" && next.LastGood == rec.Current.Commit:
			out.LastGood = rec.Current
		case rec != nil && next.LastGood != "" && next.LastGood == rec.LastGood.Commit:
			out.LastGood = rec.LastGood
		default:
			out.LastGood = rolloutrecord.Version{Revision: r.OldRevision, Commit: next.LastGood, Images: r.OldImages}
		}
	}
	if out.Milestone > 100 {
		out.Milestone = 100
	}
	return out
}
