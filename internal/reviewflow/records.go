package reviewflow

import (
	"context"
	"fmt"
	"strings"

	"github.com/latch-gitops/latch/internal/objectid"
	"github.com/latch-gitops/latch/internal/review"
	"github.com/latch-gitops/latch/internal/rolloutrecord"
)

// RecordsInPRs reads the rollout records latch's open record PRs of this
// cluster propose (review mode always: they wait there instead of on the
// base branch): one listing of latch's open PRs (by its first label), then
// each such rollout branch's head. A PR whose record cannot be read is
// passed to warn and skipped.
func (f *Flow) RecordsInPRs(ctx context.Context, warn func(msg string, args ...any)) (map[objectid.Key]*rolloutrecord.Record, error) {
	prs, err := f.Forge.ListOpen(ctx, f.labels()[0])
	if err != nil {
		return nil, err
	}
	me, err := f.Forge.Me(ctx)
	if err != nil {
		return nil, err
	}
	prefix := review.RolloutBranchPrefix(f.Cluster)
	out := map[objectid.Key]*rolloutrecord.Record{}
	for _, pr := range prs {
		if pr.Base != f.Repo.Branch() || pr.Author != me || !strings.HasPrefix(pr.Branch, prefix) {
			continue
		}
		m, err := review.ParseMarker(pr.Body)
		if err != nil || m.Field != review.RecordField || m.Cluster != f.Cluster {
			continue
		}
		rec, err := f.recordAt(ctx, pr.Branch, m.Object)
		if err != nil {
			if warn != nil {
				warn("record of a rollout PR not read", "pr", pr.Number, "branch", pr.Branch, "error", err)
			}
			continue
		}
		if rec != nil {
			out[rec.Object.Key()] = rec
		}
	}
	return out, nil
}

// recordAt reads ref's record at the head of branch (nil: none there): its
// one file, read from git without writing the branch's tree anywhere, and
// refused as the checkout guard would refuse it (not a plain file, over
// rolloutrecord.MaxBytes).
func (f *Flow) recordAt(ctx context.Context, branch string, ref objectid.Ref) (*rolloutrecord.Record, error) {
	h, err := f.Repo.ReviewHeads(ctx, branch)
	if err != nil || h.Head == "" {
		return nil, err
	}
	rel, err := rolloutrecord.Path(ref)
	if err != nil {
		return nil, err
	}
	data, found, err := f.Repo.ReadFileAt(ctx, h.Head, rel, rolloutrecord.MaxBytes)
	if err != nil || !found {
		return nil, err
	}
	rec, err := rolloutrecord.Parse(rel, data)
	if err != nil {
		return nil, err
	}
	if rec.Object.Key() != ref.Key() {
		return nil, fmt.Errorf("%s on %s: the record is of %s, not %s", rel, branch, rec.Object, ref)
	}
	return rec, nil
}
