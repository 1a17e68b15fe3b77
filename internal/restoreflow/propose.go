package restoreflow

import (
	"context"
	"fmt"
	"time"

	"github.com/latch-gitops/latch/internal/evidence"
	"github.com/latch-gitops/latch/internal/forge"
	"github.com/latch-gitops/latch/internal/gitrepo"
	"github.com/latch-gitops/latch/internal/manifest"
	"github.com/latch-gitops/latch/internal/objectid"
	"github.com/latch-gitops/latch/internal/policyfile"
	"github.com/latch-gitops/latch/internal/restore"
	"github.com/latch-gitops/latch/internal/review"
	"github.com/latch-gitops/latch/internal/reviewflow"
)

// RevertModes is each revert's review mode: the latch.yaml rule's review
// for the workload at the head (read from dir, the checkout Gather left at
// the head), else def (the --review flag), as latch sync resolves it.
func RevertModes(dir, policyFile string, objects []*manifest.Declared, reverts []restore.Revert, def review.Mode) (map[objectid.Key]review.Mode, error) {
	out := map[objectid.Key]review.Mode{}
	if len(reverts) == 0 {
		return out, nil
	}
	if policyFile == "" {
		policyFile = policyfile.DefaultFile
	}
	pol, err := policyfile.Load(dir, policyFile)
	if err != nil {
		return nil, err
	}
	byKey := map[objectid.Key]*manifest.Declared{}
	hpa := map[objectid.Key]bool{}
	for _, d := range objects {
		byKey[d.Ref.Key()] = d
		if d.Ref.Group == "autoscaling" && d.Ref.Kind == "HorizontalPodAutoscaler" {
			spec, _ := d.Object["spec"].(map[string]any)
			target, _ := spec["scaleTargetRef"].(map[string]any)
			kind, _ := target["kind"].(string)
			name, _ := target["name"].(string)
			hpa[objectid.Key{Kind: kind, Namespace: d.Ref.Namespace, Name: name}] = true
		}
	}
	for _, r := range reverts {
		o := policyfile.Object{Ref: r.Ref, HasHPA: hpa[objectid.Key{Kind: r.Ref.Kind, Namespace: r.Ref.Namespace, Name: r.Ref.Name}]}
		if d := byKey[r.Ref.Key()]; d != nil {
			o.Labels = labelsOf(d.Object)
		}
		mode := def
		if m := pol.Resolve(o).Review; m != "" {
			mode = m
		}
		out[r.Ref.Key()] = mode
	}
	return out, nil
}

func labelsOf(obj map[string]any) map[string]string {
	meta, _ := obj["metadata"].(map[string]any)
	raw, _ := meta["labels"].(map[string]any)
	out := map[string]string{}
	for k, v := range raw {
		if s, ok := v.(string); ok {
			out[k] = s
		}
	}
	return out
}

// ProposeReverts puts each revert into its workload's PR through the
// review flow (review.RolloutBranch: base + one commit holding the file at
// its last good content and the record held), instead of a direct commit.
// A revert latch already proposes is found by the PR's marker and not
// proposed twice. The base branch is not touched.
func ProposeReverts(ctx context.Context, opts Options, flow *reviewflow.Flow, reverts []restore.Revert, now time.Time) ([]RevertResult, error) {
	if len(reverts) == 0 {
		return nil, nil
	}
	exported, cleanup, err := exportLastGood(ctx, opts.Repo, reverts)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	var results []RevertResult
	for _, r := range reverts {
		var why string
		edit := func(ctx context.Context, ws gitrepo.Workspace) ([]evidence.Change, error) {
			c, w, err := revertOne(ws, r, exported[r.LastGood], opts.Path, now, opts.PRRecords[r.Ref.Key()])
			if err != nil || c == nil {
				why = w
				return nil, err
			}
			return []evidence.Change{*c}, nil
		}
		ev := review.RolloutEvidence{Cluster: flow.Cluster, Object: r.Ref, Kind: review.Revert, File: r.File, RecordFile: r.Record,
			Revision: r.Revision, Health: r.Health, Milestone: r.Milestone, Percent: r.Percent,
			LastGood: r.LastGood, LastGoodImages: r.Images, Why: r.Why}
		res := RevertResult{Ref: r.Ref}
		if r.File == "" {
			_, res.Why, _ = revertOne(gitrepo.Workspace{}, r, "", opts.Path, now, nil)
			results = append(results, res)
			continue
		}
		out, err := flow.RunRollout(ctx, reviewflow.RolloutItem{Object: r.Ref, Kind: review.Revert, Key: review.RevertKey(r.LastGood, r.Why), Evidence: ev, Edit: edit})
		res.Action, res.PR, res.URL = string(out.Decision.Action), out.PR, out.URL
		switch {
		case err != nil:
			return results, fmt.Errorf("proposing the revert of %s: %w", r.Ref, err)
		case out.Empty:
			res.Why = why
			if res.Why == "" {
				res.Why = "the base branch already holds it"
			}
		case out.Created || out.Updated || out.State == forge.StateOpen && !out.Decision.Blocked:
			res.Proposed = true
			res.Why = out.Decision.Why
		default:
			res.Why = out.Decision.Why
		}
		results = append(results, res)
	}
	return results, nil
}
