package controller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/latch-gitops/latch/internal/cluster"
	"github.com/latch-gitops/latch/internal/decide"
	"github.com/latch-gitops/latch/internal/evidence"
	"github.com/latch-gitops/latch/internal/gitrepo"
	"github.com/latch-gitops/latch/internal/manifest"
	"github.com/latch-gitops/latch/internal/objectid"
	"github.com/latch-gitops/latch/internal/policy"
	"github.com/latch-gitops/latch/internal/policyfile"
	"github.com/latch-gitops/latch/internal/review"
	"github.com/latch-gitops/latch/internal/rollout"
	"github.com/latch-gitops/latch/internal/rolloutrecord"
	"github.com/latch-gitops/latch/internal/state"
)

// ReplicasField is the field latch writes back.
const ReplicasField = objectid.ReplicasField

// Latcher runs latch passes against one repository branch.
type Latcher struct {
	Repo *gitrepo.Repo
	// PolicyFile is latch.yaml's path in the repository (default policyfile.DefaultFile).
	PolicyFile string
	// Path limits the manifests latch reads to a folder of the repository.
	Path string
	// Cluster names this cluster in keys, commit messages and trailers.
	Cluster string
	Push    gitrepo.PushOptions
	States  state.Store
	Log     *slog.Logger
	// Review turns the review flow on (nil: every latch is pushed
	// directly and latch makes no forge call).
	Review *ReviewOptions
	// Rollouts, when set, observes the rollouts (Deployments, StatefulSets,
	// Argo Rollouts where installed) at the start
	// of each pass; the pass then keeps their records in git
	// (.latch/rollouts/, docs/rollouts.md), committed with its latches.
	Rollouts func(ctx context.Context, now time.Time) ([]cluster.Rollout, error)
	// RolloutOptions tune the assessment (milestones, failure thresholds).
	RolloutOptions rollout.Options

	// observed is what the passes of this process saw of each workload in
	// review mode since its last latch (the PR body's series).
	observed observedLog
	// noRecordReview: the last pass's latch.yaml and the flag send no
	// workload to review mode always, so the next pass need not read the
	// records in latch's rollout PRs (false until a pass has read it).
	noRecordReview bool
	// skipsLogged are the workloads the rollout follower skipped (and
	// said why) in this process: one log line each, not one a pass.
	skipsLogged sync.Map
}

// WorkloadStatus is what one pass found and decided for one workload.
type WorkloadStatus struct {
	// Ref is the workload (kind, namespace and name in JSON beside the rest).
	objectid.Ref
	Mode     string `json:"mode"`
	Observed int64  `json:"observed"`
	// Declared is the value in git at the head the pass read (0: not found).
	Declared int64 `json:"declared,omitempty"`
	// Target is what latch declares after this pass.
	Target   int64  `json:"target,omitempty"`
	Min      int64  `json:"min,omitempty"`
	Max      int64  `json:"max,omitempty"`
	Bounds   string `json:"bounds,omitempty"`
	Location string `json:"location,omitempty"`
	Reason   string `json:"reason,omitempty"`
	// LastLatch is the newest latch commit that changed this workload
	// (status only).
	LastLatch string `json:"lastLatch,omitempty"`
	// Error says why the workload could not be latched (not found in git,
	// declared twice, …); other workloads are latched regardless.
	Error string `json:"error,omitempty"`
	// Review is the workload's review mode (with review on), Suspicious the
	// rules that found the pending latch suspicious.
	Review     string   `json:"review,omitempty"`
	Suspicious []string `json:"suspicious,omitempty"`
	// PR is latch's open pull request for the workload (status only).
	PR *PRRef `json:"pr,omitempty"`
	// Rollout is the workload's rollout in flight or its unfinished record
	// in git (status only, when the latcher follows rollouts).
	Rollout *RolloutStatus `json:"rollout,omitempty"`
}

// Outcome is what Sync did.
type Outcome struct {
	Result    gitrepo.Result   `json:"result"`
	Workloads []WorkloadStatus `json:"workloads"`
	// Diff is the change a dry run would commit.
	Diff   string `json:"diff,omitempty"`
	DryRun bool   `json:"dryRun,omitempty"`
	// Policy is latch.yaml as the pass read it (nil if it could not).
	Policy *policyfile.Policy `json:"-"`
	// Reviews is what the review flow did per workload in review mode;
	// ReviewFailed counts those with an Error (their latches are retried).
	Reviews      []ReviewOutcome `json:"reviews,omitempty"`
	ReviewFailed int             `json:"reviewFailed,omitempty"`
}

// Sync runs one pass at time now over the observed workloads: it reads the
// policy and manifests at the remote head, steps each latched workload's
// state machine, edits the declaring bytes, and commits and pushes the
// edits as one commit (or, with dryRun, only returns their diff). Workloads
// that cannot be latched are reported in Outcome.Workloads, not fatal.
func (l *Latcher) Sync(ctx context.Context, workloads []cluster.Workload, now time.Time, dryRun bool) (Outcome, error) {
	return l.sync(ctx, workloads, now, dryRun, nil)
}

// Refold lets a pass fold in what changed in the cluster while its push
// was retried: one commit then carries them, instead of their waiting for
// a pass of their own (gitrepo.PushOptions.Changed).
type Refold struct {
	// Changed reports whether the cluster changed since List last ran (or
	// since the pass observed it).
	Changed func() bool
	// List observes the workloads again.
	List func(ctx context.Context) ([]cluster.Workload, error)
}

// SyncFolding is Sync (not a dry run) for the watch loop: a retry after a
// lost push observes the workloads again when refold says they changed and
// decides them at the new head, with the time then as the pass's time.
func (l *Latcher) SyncFolding(ctx context.Context, workloads []cluster.Workload, now time.Time, refold Refold) (Outcome, error) {
	return l.sync(ctx, workloads, now, false, &refold)
}

func (l *Latcher) sync(ctx context.Context, workloads []cluster.Workload, now time.Time, dryRun bool, refold *Refold) (Outcome, error) {
	var out Outcome
	var pending map[string]policy.State
	var reviews []decide.Decision
	latched, err := l.latchedObjects(ctx)
	if err != nil {
		return out, err
	}
	var rollouts []cluster.Rollout
	if l.Rollouts != nil {
		if rollouts, err = l.Rollouts(ctx, now); err != nil {
			// Latching does not wait for the follower: its records catch
			// up on a later pass.
			l.logger().Warn("rollouts not observed this pass", "error", err)
		}
	}
	// Records waiting in latch's rollout PRs (review mode always): the
	// follower steps those workloads from them.
	var inPRs map[objectid.Key]*rolloutrecord.Record
	if len(rollouts) > 0 && !dryRun && !l.noRecordReview {
		inPRs = l.recordsInPRs(ctx)
	}
	var proposals []recordProposal
	edit := func(ctx context.Context, ws gitrepo.Workspace) ([]evidence.Change, error) {
		if refold != nil && ws.Attempt > 1 && refold.Changed() {
			fresh, err := refold.List(ctx)
			if err != nil {
				return nil, fmt.Errorf("observing the workloads again for attempt %d: %w", ws.Attempt, err)
			}
			workloads, now = fresh, time.Now()
		}
		p, err := l.plan(ws, workloads, now, true, latched)
		out.Workloads, pending, out.Policy, reviews = p.statuses, p.states, p.policy, p.reviews
		if err != nil {
			return p.changes, err
		}
		recorded, props, err := l.followRollouts(ctx, ws, rollouts, now, l.rolloutOptions(p.policy), l.recordsViaPR(p.policy, workloads), inPRs)
		proposals = props
		l.noRecordReview = !l.mayReviewRecords(p.policy)
		return append(p.changes, recorded...), err
	}
	if dryRun {
		head, err := l.Repo.Refresh(ctx)
		if err != nil {
			return out, err
		}
		changes, err := edit(ctx, gitrepo.Workspace{Dir: l.Repo.Dir(), Head: head, Attempt: 1})
		if err != nil {
			return out, err
		}
		out.DryRun = true
		out.Result = gitrepo.Result{Base: head, Changes: changes, Attempts: 1}
		out.Reviews = dryRunReviews(reviews)
		if out.Diff, err = l.Repo.Diff(ctx); err != nil {
			return out, err
		}
		// Leave the work tree as the remote has it.
		if _, err := l.Repo.Refresh(ctx); err != nil {
			return out, err
		}
		return out, nil
	}
	push := l.Push
	if push.Cluster == "" {
		push.Cluster = l.Cluster
	}
	if push.Log == nil {
		push.Log = l.Log
	}
	// The edit reads the policy: a push lost to a person's change of it is
	// edited again, never replayed.
	push.Inputs = append(append([]string(nil), push.Inputs...), l.policyFile())
	if refold != nil {
		push.Changed = refold.Changed
	}
	res, err := l.Repo.CommitAndPush(ctx, push, edit)
	out.Result = res
	if err != nil {
		return out, err
	}
	// Keep the decisions only once git holds them. A state whose declared
	// value differs from git next time (push lost, human won) resumes from
	// git, so saving it early would be harmless, but this keeps the file honest.
	if err := l.States.Save(pending); err != nil {
		return out, fmt.Errorf("saving latch state: %w", err)
	}
	// The review flow acts after the direct push, at the new head: a PR
	// branch is the base branch as it is now plus one latch commit. Its
	// bodies show what the passes observed, this one included.
	l.observed.record(reviews, func(d decide.Decision) string { return l.stateKey(d.Ref, d.Field) }, now)
	out.Reviews = append(l.review(ctx, reviews, res), l.reviewRecords(ctx, proposals)...)
	for _, r := range out.Reviews {
		if r.Error != "" {
			out.ReviewFailed++
		}
	}
	return out, nil
}

// Status decides every workload against the remote head without editing
// anything: what git declares, what latch would declare now, and why not
// when it cannot. It uses the stored dwell state when the store has it (a
// fresh store: a pass starting now).
func (l *Latcher) Status(ctx context.Context, workloads []cluster.Workload, now time.Time) ([]WorkloadStatus, error) {
	head, err := l.Repo.Refresh(ctx)
	if err != nil {
		return nil, err
	}
	latched, err := l.latchedObjects(ctx)
	if err != nil {
		return nil, err
	}
	p, err := l.plan(gitrepo.Workspace{Dir: l.Repo.Dir(), Head: head, Attempt: 1}, workloads, now, false, latched)
	if err != nil {
		return nil, err
	}
	statuses := p.statuses
	history, err := l.Repo.History(ctx, 0)
	if err != nil {
		return nil, err
	}
	last := lastLatches(history)
	for i := range statuses {
		if c, ok := last[historyKey(statuses[i].Ref)]; ok {
			statuses[i].LastLatch = gitrepo.ShortID(c.Commit) + " " + c.When.Format("2006-01-02 15:04")
		}
	}
	statuses = l.statusRollouts(ctx, statuses, now, l.rolloutOptions(p.policy), p.policy)
	if err := l.openPRs(ctx, statuses); err != nil {
		// The rest of the status stands without the PR column.
		l.logger().Warn("status without latch's open PRs", "error", err)
	}
	return statuses, nil
}

// policyFile is latch.yaml's path in the repository.
func (l *Latcher) policyFile() string {
	if l.PolicyFile == "" {
		return policyfile.DefaultFile
	}
	return l.PolicyFile
}

// Gathered is what a pass read before deciding: the policy and index at
// the head, and the decide step's input. status, sync and run share it.
type Gathered struct {
	Policy *policyfile.Policy
	Index  *manifest.Index
	Input  decide.Input
}

// gather reads latch.yaml and the manifests at ws and, for each observed
// workload, what the decide step needs: the resolved policy, where git
// declares each latched field, the bounds and the stored state.
func (l *Latcher) gather(ws gitrepo.Workspace, workloads []cluster.Workload, now time.Time, latched map[objectid.Key]bool) (*Gathered, error) {
	pol, err := policyfile.Load(ws.Dir, l.policyFile())
	if err != nil {
		// A broken latch.yaml stops latching: guessing a policy would write
		// values nobody asked for.
		return nil, fmt.Errorf("policy at %s: %w", gitrepo.ShortID(ws.Head), err)
	}
	idx, err := manifest.BuildIndex(ws.Dir, manifest.IndexOptions{Path: l.Path})
	if err != nil {
		return &Gathered{Policy: pol}, fmt.Errorf("indexing manifests at %s: %w", gitrepo.ShortID(ws.Head), err)
	}
	for _, p := range idx.Problems {
		l.logger().Warn("manifest problem", "file", p.File, "line", p.Line, "problem", p.Message)
	}
	g := &Gathered{Policy: pol, Index: idx, Input: decide.Input{Now: now, Objects: make([]decide.Object, 0, len(workloads))}}
	if l.Review != nil {
		g.Input.Review = &decide.ReviewInput{Default: l.Review.Mode, Thresholds: pol.Defaults.Review}
	}
	for _, w := range workloads {
		o := decide.Object{Ref: w.Ref, ChangedBy: w.ReplicasManager,
			// The informer keeps spec.replicas only (cluster.Strip).
			Live: map[string]int64{ReplicasField: w.Replicas}, Latched: latched[historyKey(w.Ref)]}
		if min, max, ok := idx.HPAFor(w.Ref); ok {
			o.GitBounds = &decide.Bounds{Min: min, Max: max}
		}
		if w.HPA != nil {
			o.LiveBounds = &decide.Bounds{Min: w.HPA.MinReplicas, Max: w.HPA.MaxReplicas}
			o.HPAMetrics = hpaMetrics(w.HPA)
		}
		o.Policy = pol.Resolve(policyfile.Object{Ref: w.Ref, Labels: w.Labels, HasHPA: o.LiveBounds != nil || o.GitBounds != nil})
		for _, field := range o.Policy.Paths() {
			if _, live := o.Live[field]; !live || o.Policy.Field(field).Mode != policy.ModeLatch {
				continue
			}
			var decl decide.Declared
			if loc, err := idx.Lookup(w.Ref, field); err != nil {
				decl.Problem = err.Error()
			} else {
				decl.Loc = loc
			}
			if stored, ok := l.States.Load(l.stateKey(w.Ref, field)); ok {
				decl.Stored = &stored
			}
			decl.PersonChanged = !ws.Allowed(w.Ref, field)
			if o.Fields == nil {
				o.Fields = map[string]decide.Declared{}
			}
			o.Fields[field] = decl
		}
		g.Input.Objects = append(g.Input.Objects, o)
	}
	return g, nil
}

// planned is what plan gathered and decided.
type planned struct {
	changes  []evidence.Change
	statuses []WorkloadStatus
	states   map[string]policy.State
	policy   *policyfile.Policy
	// reviews are the decisions of workloads in review mode always or
	// suspicious: latches that need a person (not edited here) and the
	// rest, whose open PR the review flow may close.
	reviews []decide.Decision
}

// plan gathers at ws, decides, and with apply writes the edits (act). A
// latch that needs review is not edited here and its state is not kept:
// git still declares the old value until a person merges the PR, and the
// stored state must go on proposing the same value meanwhile.
func (l *Latcher) plan(ws gitrepo.Workspace, workloads []cluster.Workload, now time.Time, apply bool, latched map[objectid.Key]bool) (planned, error) {
	var p planned
	g, err := l.gather(ws, workloads, now, latched)
	if err != nil {
		if g != nil {
			p.policy = g.Policy
		}
		return p, err
	}
	p.policy = g.Policy
	decisions := decide.Decide(g.Input)
	p.statuses = statusesOf(g.Input, decisions, !apply)
	p.states = map[string]policy.State{}
	var edits []manifest.Edit
	for _, d := range decisions {
		if r := d.Review; r != nil && r.Mode != review.Never && d.Problem == "" {
			p.reviews = append(p.reviews, d)
			if r.NeedsReview && d.Evidence != nil {
				continue
			}
		}
		if d.Next != nil {
			p.states[l.stateKey(d.Ref, d.Field)] = *d.Next
		}
		if d.Evidence != nil {
			edits = append(edits, manifest.Edit{Loc: d.Loc, NewValue: d.Target})
			p.changes = append(p.changes, *d.Evidence)
		}
	}
	if len(edits) == 0 || !apply {
		p.changes = nil
		return p, nil
	}
	if _, err := manifest.ApplyEdits(ws.Dir, edits); err != nil {
		p.changes = nil
		if errors.Is(err, manifest.ErrConflict) {
			return p, fmt.Errorf("editing manifests at %s: a file changed while latch read it: %w", gitrepo.ShortID(ws.Head), err)
		}
		return p, fmt.Errorf("editing manifests at %s: %w", gitrepo.ShortID(ws.Head), err)
	}
	return p, nil
}

// statusesOf reports the spec.replicas decision of each workload, sorted by
// namespace/name then kind; all lists the workloads that are not latched too.
func statusesOf(in decide.Input, decisions []decide.Decision, all bool) []WorkloadStatus {
	byKey := map[objectid.Key]decide.Decision{}
	for _, d := range decisions {
		if d.Field == ReplicasField {
			byKey[d.Ref.Key()] = d
		}
	}
	var statuses []WorkloadStatus
	for _, o := range in.Objects {
		st := WorkloadStatus{Ref: o.Ref, Mode: string(o.Policy.Field(ReplicasField).Mode), Observed: o.Live[ReplicasField]}
		d, latched := byKey[o.Ref.Key()]
		switch {
		case !latched && !all:
			continue
		case latched && d.Problem != "":
			st.Error = d.Problem
		case latched:
			st.Declared, st.Target, st.Reason = d.Declared, d.Target, d.Reason
			st.Location = d.Loc.String()
			st.Min, st.Max, st.Bounds = d.Min, d.Max, d.Bounds()
		}
		if latched && d.Review != nil {
			st.Review = string(d.Review.Mode)
			for _, r := range d.Review.Reasons {
				st.Suspicious = append(st.Suspicious, string(r.Rule))
			}
		}
		statuses = append(statuses, st)
	}
	sort.Slice(statuses, func(i, j int) bool {
		a, b := statuses[i], statuses[j]
		if a.NamespacedName() != b.NamespacedName() {
			return a.NamespacedName() < b.NamespacedName()
		}
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		return a.Group < b.Group
	})
	return statuses
}

// stateKey identifies a field's state machine across passes. spec.replicas
// keeps the key state files have always used.
func (l *Latcher) stateKey(ref objectid.Ref, field string) string {
	key := l.Cluster + "|" + ref.Group + "/" + ref.Kind + "|" + ref.Namespace + "/" + ref.Name
	if field != ReplicasField {
		key += "|" + field
	}
	return key
}

func (l *Latcher) logger() *slog.Logger {
	if l.Log != nil {
		return l.Log
	}
	return slog.New(slog.DiscardHandler)
}
