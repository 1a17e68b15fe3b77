package reviewflow

import (
	"context"
	"errors"
	"fmt"

	"github.com/latch-gitops/latch/internal/evidence"
	"github.com/latch-gitops/latch/internal/forge"
	"github.com/latch-gitops/latch/internal/gitrepo"
	"github.com/latch-gitops/latch/internal/review"
)

// RolloutItem is one workload's rollout change for a PR: its record (review
// mode always) or restore's revert.
type RolloutItem struct {
	Object review.Object
	Kind   review.RolloutKind
	// Key names the change (review.RecordKey, review.RevertKey).
	Key      string
	Evidence review.RolloutEvidence
	// Edit writes the change at the base branch's head. A change that
	// cannot be written leaves the work tree as it was and no commit is
	// made: the outcome is then Empty.
	Edit gitrepo.EditFunc
	// Direct (records only; Key, Evidence and Edit unused): the record
	// was committed to the base branch directly, so an open record PR of
	// the workload is closed (review.RolloutSituation.Direct).
	Direct bool
}

// RolloutOutcome is what RunRollout did.
type RolloutOutcome struct {
	Outcome
	Branch string
	// Empty: the edit changed nothing, so no PR was opened or updated.
	Empty bool
}

// RunRollout gathers the newest PR of the workload's rollout branch
// (review.RolloutBranch), decides with review.DecideRollout and acts as Run
// does: the branch first (base + one commit, leased on its previous head),
// the PR second, the marker last.
func (f *Flow) RunRollout(ctx context.Context, it RolloutItem) (RolloutOutcome, error) {
	branch := review.RolloutBranch(f.Cluster, it.Object)
	out := RolloutOutcome{Branch: branch}
	s := review.RolloutSituation{Kind: it.Kind, Key: it.Key, Direct: it.Direct}
	me, err := f.Forge.Me(ctx)
	if err != nil {
		return out, err
	}
	fp, err := f.Forge.FindByBranch(ctx, f.Repo.Branch(), branch)
	if err != nil {
		return out, err
	}
	var seen *gitrepo.ReviewHeads
	if fp != nil {
		pr := &review.PR{Number: fp.Number, State: review.State(fp.State), ByLatch: fp.Author == me, URL: fp.URL}
		if m, err := review.ParseMarker(fp.Body); err == nil && m.Key != "" && sameObject(m.Object, it.Object) && m.Cluster == f.Cluster {
			pr.Marker = &m
		}
		s.PR = pr
		out.URL, out.State = fp.URL, fp.State
		if fp.State == forge.StateOpen {
			h, err := f.Repo.ReviewHeads(ctx, branch)
			if err != nil {
				return out, err
			}
			s.BranchForeign, s.BranchHead, seen = h.Foreign, h.Head, &h
		}
	}
	d := review.DecideRollout(s)
	out.Decision, out.PR = d, d.PR
	switch d.Action {
	case review.Nothing:
		return out, nil
	case review.Close:
		if err := f.closePR(ctx, d.PR, fp.Body, *s.PR.Marker,
			"latch closes this pull request: the rule no longer sends this workload's rollout records to review, and latch recorded the rollout on the base branch directly."); err != nil {
			return out, err
		}
		out.Closed = true
		return out, nil
	case review.Open, review.Update, review.UpdateOnTop:
	default:
		return out, errors.New("reviewflow: unexpected rollout action " + string(d.Action))
	}
	if err := f.step("push-branch"); err != nil {
		return out, err
	}
	reported := 0
	edit := func(ctx context.Context, ws gitrepo.Workspace) ([]evidence.Change, error) {
		changes, err := it.Edit(ctx, ws)
		reported = len(changes)
		return changes, err
	}
	res, err := f.Repo.PushReview(ctx, f.Push, gitrepo.ReviewPush{Branch: branch, OnTop: d.Action == review.UpdateOnTop, Seen: seen}, edit)
	if err != nil {
		return out, fmt.Errorf("%s: %w", branch, err)
	}
	commit := res.Commit
	if commit == "" {
		if reported == 0 || res.Previous == "" {
			// The edit wrote nothing, or the base already holds it.
			out.Empty = true
			return out, nil
		}
		// The branch already holds it (an earlier push whose forge step did
		// not happen): the marker names the branch's head.
		commit = res.Previous
	}
	m := review.NewRolloutMarker(f.Cluster, it.Object, it.Kind, it.Key, commit)
	title, body := review.RolloutText(it.Evidence, m)
	if err := f.step("forge-write"); err != nil {
		return out, err
	}
	err = f.writePR(ctx, &out.Outcome, d.Action == review.Open, d.PR, branch, title, body)
	return out, err
}
