package restoreflow

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"time"

	"github.com/latch-gitops/latch/internal/evidence"
	"github.com/latch-gitops/latch/internal/gitrepo"
	"github.com/latch-gitops/latch/internal/manifest"
	"github.com/latch-gitops/latch/internal/objectid"
	"github.com/latch-gitops/latch/internal/restore"
	"github.com/latch-gitops/latch/internal/rolloutrecord"
	"github.com/latch-gitops/latch/internal/safefile"
)

// HeldField is the field a revert's evidence names.
const HeldField = "rollout.held"

// RevertResult says what became of one revert.
type RevertResult struct {
	Ref objectid.Ref `json:"ref"`
	// Written: the workload's file is back at its last good content and
	// its record held, in Commit. Otherwise Why says why not.
	Written bool   `json:"written"`
	Why     string `json:"why,omitempty"`
	// Proposed: the revert is in PR (review flow); URL its page, Action
	// what the flow did (open, update, nothing: already proposed).
	Proposed bool   `json:"proposed,omitempty"`
	PR       int    `json:"pr,omitempty"`
	URL      string `json:"url,omitempty"`
	Action   string `json:"action,omitempty"`
}

// WriteReverts writes to git what restore did for the workloads it sent
// back, so that a GitOps tool applying the head does not roll the failing
// version out again: each workload's own manifest file as its last good
// commit has it (git's latched scale kept), and its record marked held, in
// one commit pushed without force. A workload whose revert cannot be
// written safely (rendered by a kustomization, its file moved, the result
// not rendering to the last good images) is left as it is and reported.
func WriteReverts(ctx context.Context, opts Options, push gitrepo.PushOptions, reverts []restore.Revert, now time.Time) (gitrepo.Result, []RevertResult, error) {
	if len(reverts) == 0 {
		return gitrepo.Result{}, nil, nil
	}
	exported, cleanup, err := exportLastGood(ctx, opts.Repo, reverts)
	if err != nil {
		return gitrepo.Result{}, nil, err
	}
	defer cleanup()
	var results []RevertResult
	edit := func(ctx context.Context, ws gitrepo.Workspace) ([]evidence.Change, error) {
		results = results[:0]
		var changes []evidence.Change
		for _, r := range reverts {
			if !ws.Allowed(r.Ref, HeldField) {
				continue
			}
			c, why, err := revertOne(ws, r, exported[r.LastGood], opts.Path, now, opts.PRRecords[r.Ref.Key()])
			if err != nil {
				return nil, err
			}
			results = append(results, RevertResult{Ref: r.Ref, Written: c != nil, Why: why})
			if c != nil {
				changes = append(changes, *c)
			}
		}
		return changes, nil
	}
	res, err := opts.Repo.CommitAndPush(ctx, push, edit)
	return res, results, err
}

// exportLastGood exports each last good commit the reverts go back to
// into a temporary folder (commit → folder); cleanup removes them.
func exportLastGood(ctx context.Context, repo *gitrepo.Repo, reverts []restore.Revert) (map[string]string, func(), error) {
	tmp, err := os.MkdirTemp("", "latch-revert-")
	if err != nil {
		return nil, nil, err
	}
	cleanup := func() { os.RemoveAll(tmp) }
	exported := map[string]string{}
	for _, r := range reverts {
		if _, done := exported[r.LastGood]; done {
			continue
		}
		dir := filepath.Join(tmp, r.LastGood)
		if err := repo.ExportTree(ctx, r.LastGood, dir); err != nil {
			cleanup()
			return nil, nil, err
		}
		exported[r.LastGood] = dir
	}
	return exported, cleanup, nil
}

// revertOne writes one revert into ws, or says why it does not. fromPR,
// when set, is the workload's record as its rollout PR holds it (newer than
// ws's), which the revert marks held.
func revertOne(ws gitrepo.Workspace, r restore.Revert, oldDir, path string, now time.Time, fromPR *rolloutrecord.Record) (*evidence.Change, string, error) {
	if r.File == "" {
		return nil, "a kustomization renders it (its base may serve other clusters): revert it in git by hand", nil
	}
	old, err := safefile.ReadFile(oldDir, r.File, 0)
	if err != nil {
		return nil, "its file at the last good commit cannot be read: " + err.Error(), nil
	}
	current, err := safefile.ReadFile(ws.Dir, r.File, 0)
	if err != nil {
		return nil, "its file at the head cannot be read: " + err.Error(), nil
	}
	target := filepath.Join(ws.Dir, filepath.FromSlash(r.File))
	undo := func(why string) (*evidence.Change, string, error) {
		if err := safefile.WriteFile(target, current, 0o644); err != nil {
			return nil, "", fmt.Errorf("putting %s back: %w", r.File, err)
		}
		return nil, why, nil
	}
	if err := safefile.WriteFile(target, old, 0o644); err != nil {
		return nil, "", fmt.Errorf("writing %s: %w", r.File, err)
	}
	if r.Replicas >= 0 {
		idx, err := manifest.BuildIndex(ws.Dir, manifest.IndexOptions{Path: path})
		if err != nil {
			return undo("the reverted file does not index: " + err.Error())
		}
		loc, err := idx.Lookup(r.Ref, objectid.ReplicasField)
		if err != nil {
			return undo("the reverted file does not declare the scale: " + err.Error())
		}
		if loc.Value != fmt.Sprint(r.Replicas) {
			if _, err := manifest.ApplyEdits(ws.Dir, []manifest.Edit{{Loc: loc, NewValue: r.Replicas}}); err != nil {
				return undo("keeping the latched scale: " + err.Error())
			}
		}
	}
	rendering, err := manifest.Render(ws.Dir, manifest.RenderOptions{Path: path})
	if err != nil {
		return undo("the reverted repository does not render: " + err.Error())
	}
	var got map[string]string
	for _, d := range rendering.Objects {
		if d.Ref.Key() == r.Ref.Key() {
			got = restore.Images(d.Object)
		}
	}
	if !maps.Equal(got, r.Images) {
		return undo(fmt.Sprintf("the reverted file renders other images than the last good version (%v, want %v)", got, r.Images))
	}
	set, _, err := rolloutrecord.Load(ws.Dir)
	if err != nil {
		return undo("its rollout record cannot be read: " + err.Error())
	}
	rec := set.Get(r.Ref)
	if fromPR != nil {
		copied := *fromPR
		rec = &copied
	}
	if rec == nil {
		return undo("its rollout record is gone")
	}
	rec.Held, rec.Updated = true, now
	rec.Reason = "latch restore went back to the last good version: " + r.Why
	if _, err := rolloutrecord.Write(ws.Dir, *rec); err != nil {
		return nil, "", err
	}
	return &evidence.Change{Object: r.Ref, Field: HeldField, File: r.File, From: 0, To: 1, Observed: int64(rec.Milestone),
		Rule: "restore", Reason: fmt.Sprintf("back to %s: %s", gitrepo.ShortID(r.LastGood), r.Why)}, "", nil
}
