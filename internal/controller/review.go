package controller

import (
	"context"
	"fmt"
	"strconv"

	"github.com/latch-gitops/latch/internal/cluster"
	"github.com/latch-gitops/latch/internal/decide"
	"github.com/latch-gitops/latch/internal/evidence"
	"github.com/latch-gitops/latch/internal/forge"
	"github.com/latch-gitops/latch/internal/gitrepo"
	"github.com/latch-gitops/latch/internal/manifest"
	"github.com/latch-gitops/latch/internal/objectid"
	"github.com/latch-gitops/latch/internal/review"
	"github.com/latch-gitops/latch/internal/reviewflow"
)

// ReviewOptions configure the review flow of a Latcher.
type ReviewOptions struct {
	// Mode is the review mode of workloads no latch.yaml rule gives one.
	Mode review.Mode
	// Forge is the forge client; nil when none is configured, and then a
	// latch that needs review is reported and left pending (never pushed
	// directly in its place).
	Forge *forge.Client
	// ForgeProblem says why there is no forge, for that report.
	ForgeProblem string
	// Labels go on every PR (default "latch"); the first one also finds
	// latch's open PRs for `latch status`.
	Labels    []string
	Reviewers []string
	Templates review.Templates
	// Step is reviewflow.Flow.Step (tests interrupt the flow with it).
	Step func(name string) error
}

// ReviewOutcome is what the review flow did for one workload.
type ReviewOutcome struct {
	objectid.Ref
	Field string `json:"field"`
	// From and To are the proposal (both 0: none, git declares the live
	// value); NeedsReview is set when it goes through a PR.
	From        int64         `json:"from,omitempty"`
	To          int64         `json:"to,omitempty"`
	NeedsReview bool          `json:"needsReview,omitempty"`
	Suspicious  []string      `json:"suspicious,omitempty"`
	Action      review.Action `json:"action,omitempty"`
	Why         string        `json:"why,omitempty"`
	// PR is the PR acted on or found (0: none), State its state as found.
	PR    int         `json:"pr,omitempty"`
	URL   string      `json:"url,omitempty"`
	State forge.State `json:"state,omitempty"`
	// Created, Updated and Closed report forge writes.
	Created bool `json:"created,omitempty"`
	Updated bool `json:"updated,omitempty"`
	Closed  bool `json:"closed,omitempty"`
	// Error says why the flow failed for this workload; its latch stays
	// pending and the next pass tries again.
	Error string `json:"error,omitempty"`
}

// ShortField is the field's last segment ("replicas").
func (r ReviewOutcome) ShortField() string { return evidence.Change{Field: r.Field}.ShortField() }

// PRRef is an open latch PR as `latch status` shows it.
type PRRef struct {
	Number int    `json:"number"`
	URL    string `json:"url,omitempty"`
	Title  string `json:"title,omitempty"`
}

func (o *ReviewOptions) labels() []string {
	if len(o.Labels) == 0 {
		return []string{"latch"}
	}
	return o.Labels
}

// latchedObjects is the set of workloads the branch's latch history has
// (the first-latch rule reads it); nil with review off. Trailers record
// kind, namespace and name, not the group (historyKey).
func (l *Latcher) latchedObjects(ctx context.Context) (map[objectid.Key]bool, error) {
	if l.Review == nil {
		return nil, nil
	}
	history, err := l.Repo.History(ctx, 0)
	if err != nil {
		return nil, err
	}
	out := map[objectid.Key]bool{}
	for key := range lastLatches(history) {
		out[key] = true
	}
	return out, nil
}

// lastLatches maps each object history's trailers name (historyKey) to the
// newest commit of history (newest first) that latched it.
func lastLatches(history []gitrepo.LatchCommit) map[objectid.Key]gitrepo.LatchCommit {
	out := map[objectid.Key]gitrepo.LatchCommit{}
	for _, c := range history {
		for _, ch := range c.Changes {
			key := historyKey(ch.Object)
			if _, seen := out[key]; !seen {
				out[key] = c
			}
		}
	}
	return out
}

func historyKey(ref objectid.Ref) objectid.Key {
	k := ref.Key()
	k.Group = ""
	return k
}

// proposal is the decision's latch for the flow: nil when git already
// declares the target (nothing to latch, or the value came back).
func proposal(d decide.Decision) *review.Proposal {
	if d.Evidence == nil {
		return nil
	}
	return &review.Proposal{From: d.Declared, To: d.Target}
}

func outcomeFor(d decide.Decision) ReviewOutcome {
	o := ReviewOutcome{Ref: d.Ref, Field: d.Field}
	if p := proposal(d); p != nil {
		o.From, o.To = p.From, p.To
	}
	if d.Review != nil {
		o.NeedsReview = d.Review.NeedsReview && d.Evidence != nil
		for _, r := range d.Review.Reasons {
			o.Suspicious = append(o.Suspicious, string(r.Rule))
		}
	}
	return o
}

// dryRunReviews lists the latches a dry run leaves to the review flow.
func dryRunReviews(decisions []decide.Decision) []ReviewOutcome {
	var out []ReviewOutcome
	for _, d := range decisions {
		if o := outcomeFor(d); o.NeedsReview {
			o.Why = "needs review (dry run: no forge call)"
			out = append(out, o)
		}
	}
	return out
}

// review runs the review flow for each decision of a workload in review
// mode, after the direct push res. A latch the push just recorded goes in
// as an ordinary proposal (the flow closes an open PR as superseded); a
// direct latch that did not make it into the push (a person won the round)
// is left alone.
// reviewFlow is the review flow of this latcher's repository and forge,
// pushing as the pass does (its cluster and log unless l.Push names
// others); nil when review is off or no forge is configured.
func (l *Latcher) reviewFlow() *reviewflow.Flow {
	if l.Review == nil || l.Review.Forge == nil {
		return nil
	}
	push := l.Push
	if push.Cluster == "" {
		push.Cluster = l.Cluster
	}
	if push.Log == nil {
		push.Log = l.Log
	}
	return &reviewflow.Flow{Repo: l.Repo, Forge: l.Review.Forge, Cluster: l.Cluster, Labels: l.Review.labels(),
		Reviewers: l.Review.Reviewers, Templates: l.Review.Templates, Push: push, Step: l.Review.Step}
}

func (l *Latcher) review(ctx context.Context, decisions []decide.Decision, res gitrepo.Result) []ReviewOutcome {
	if l.Review == nil || len(decisions) == 0 {
		return nil
	}
	pushed := map[objectid.Key]bool{}
	for _, c := range res.Changes {
		pushed[c.Object.Key()] = true
	}
	flow := l.reviewFlow()
	var out []ReviewOutcome
	for _, d := range decisions {
		o := outcomeFor(d)
		direct := d.Evidence != nil && !o.NeedsReview
		if direct && !pushed[d.Ref.Key()] {
			continue
		}
		if flow == nil {
			if o.NeedsReview {
				o.Error = "needs review, but no forge is configured: " + l.Review.ForgeProblem
				out = append(out, o)
			}
			continue
		}
		it := reviewflow.Item{Object: d.Ref, Field: d.Field, Proposal: proposal(d), NeedsReview: o.NeedsReview}
		if o.NeedsReview {
			it.Evidence = l.reviewEvidence(d)
			it.Edit = l.reviewEdit(d)
		}
		got, err := flow.Run(ctx, it)
		o.Action, o.Why, o.PR, o.URL, o.State = got.Decision.Action, got.Decision.Why, got.PR, got.URL, got.State
		o.Created, o.Updated, o.Closed = got.Created, got.Updated, got.Closed
		if err != nil {
			o.Error = err.Error()
			l.logger().Error("review flow failed; the next pass tries again", "kind", d.Ref.KindGroup(), "workload", d.Ref.NamespacedName(), "error", err)
		} else if o.Action != review.Nothing || o.NeedsReview {
			l.logger().Info("review", "kind", d.Ref.KindGroup(), "workload", d.Ref.NamespacedName(), "action", o.Action, "pr", o.PR, "why", o.Why)
		}
		if o.NeedsReview || o.Error != "" || o.PR != 0 || (o.Action != review.Nothing && o.Action != review.Push) {
			out = append(out, o)
		}
	}
	return out
}

// reviewEvidence is what the PR body shows for d.
func (l *Latcher) reviewEvidence(d decide.Decision) review.Evidence {
	e := review.Evidence{Cluster: l.Cluster, Object: d.Ref, Field: d.Field, File: d.Loc.File,
		From: d.Declared, To: d.Target, Observed: d.Observed, Min: d.Min, Max: d.Max, BoundsFrom: d.BoundsFrom,
		Reason: d.Reason, Mode: d.Review.Mode, Suspicious: d.Review.Reasons, HPA: d.Review.HPA,
		Series: l.observed.series(l.stateKey(d.Ref, d.Field))}
	if ev := d.Evidence; ev != nil {
		e.ChangedBy, e.Rule = ev.ChangedBy, ev.Rule
	}
	return e
}

// hpaMetrics is what the live HPA reports about load, for the suspicious
// rules and the PR body (nil when it reports no measured metric).
func hpaMetrics(h *cluster.HPA) *review.HPAMetrics {
	if len(h.Metrics) == 0 {
		return nil
	}
	out := &review.HPAMetrics{Replicas: h.CurrentReplicas, Metrics: make([]review.Metric, len(h.Metrics))}
	for i, m := range h.Metrics {
		out.Metrics[i] = review.Metric{Name: m.Name, Current: m.Current, Target: m.Target}
	}
	return out
}

// reviewEdit writes d's latch at the PR branch's base: it finds the field
// again there (the direct push may have moved the file's bytes) and
// refuses when git no longer declares what d was decided from.
func (l *Latcher) reviewEdit(d decide.Decision) gitrepo.EditFunc {
	return func(ctx context.Context, ws gitrepo.Workspace) ([]evidence.Change, error) {
		idx, err := manifest.BuildIndex(ws.Dir, manifest.IndexOptions{Path: l.Path})
		if err != nil {
			return nil, fmt.Errorf("indexing manifests at %s: %w", gitrepo.ShortID(ws.Head), err)
		}
		loc, err := idx.Lookup(d.Ref, d.Field)
		if err != nil {
			return nil, err
		}
		if loc.Value != strconv.FormatInt(d.Declared, 10) {
			return nil, fmt.Errorf("%s: git declares %s at %s, not %d as this pass read; the next pass decides again", loc, loc.Value, gitrepo.ShortID(ws.Head), d.Declared)
		}
		if _, err := manifest.ApplyEdits(ws.Dir, []manifest.Edit{{Loc: loc, NewValue: d.Target}}); err != nil {
			return nil, fmt.Errorf("editing manifests at %s: %w", gitrepo.ShortID(ws.Head), err)
		}
		ch := *d.Evidence
		ch.File = loc.File
		return []evidence.Change{ch}, nil
	}
}

// openPRs fills each status's PR from one listing of latch's open PRs (by
// its label, every page), matched by branch.
func (l *Latcher) openPRs(ctx context.Context, statuses []WorkloadStatus) error {
	if l.Review == nil || l.Review.Forge == nil {
		return nil
	}
	prs, err := l.Review.Forge.ListOpen(ctx, l.Review.labels()[0])
	if err != nil {
		return fmt.Errorf("listing latch's open pull requests: %w", err)
	}
	byBranch := map[string]forge.PR{}
	for _, pr := range prs {
		if pr.Base == l.Repo.Branch() {
			byBranch[pr.Branch] = pr
		}
	}
	for i := range statuses {
		if pr, ok := byBranch[review.Branch(l.Cluster, statuses[i].Ref)]; ok {
			statuses[i].PR = &PRRef{Number: pr.Number, URL: pr.URL, Title: pr.Title}
		}
	}
	return nil
}
