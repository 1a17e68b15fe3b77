package controller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"time"

	"github.com/latch-gitops/latch/internal/cluster"
	"github.com/latch-gitops/latch/internal/evidence"
	"github.com/latch-gitops/latch/internal/gitrepo"
	"github.com/latch-gitops/latch/internal/manifest"
	"github.com/latch-gitops/latch/internal/objectid"
	"github.com/latch-gitops/latch/internal/policy"
	"github.com/latch-gitops/latch/internal/policyfile"
)

// ReplicasField is the field latch writes back.
const ReplicasField = "spec.replicas"

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
	States  StateStore
	Log     *slog.Logger
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
}

// Sync runs one pass at time now over the observed workloads: it reads the
// policy and manifests at the remote head, steps each latched workload's
// state machine, edits the declaring bytes, and commits and pushes the
// edits as one commit (or, with dryRun, only returns their diff). Workloads
// that cannot be latched are reported in Outcome.Workloads, not fatal.
func (l *Latcher) Sync(ctx context.Context, workloads []cluster.Workload, now time.Time, dryRun bool) (Outcome, error) {
	var out Outcome
	var pending map[string]policy.State
	edit := func(ctx context.Context, ws gitrepo.Workspace) ([]evidence.Change, error) {
		changes, statuses, states, pol, err := l.plan(ws, workloads, now, true)
		out.Workloads, pending, out.Policy = statuses, states, pol
		return changes, err
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
	_, statuses, _, _, err := l.plan(gitrepo.Workspace{Dir: l.Repo.Dir(), Head: head, Attempt: 1}, workloads, now, false)
	if err != nil {
		return nil, err
	}
	history, err := l.Repo.History(ctx, 0)
	if err != nil {
		return nil, err
	}
	// Trailers record kind, namespace and name, not the group.
	last := map[objectid.Key]string{}
	for _, c := range history {
		for _, change := range c.Changes {
			key := change.Object.Key()
			if _, seen := last[key]; !seen {
				last[key] = gitrepo.ShortID(c.Commit) + " " + c.When.Format("2006-01-02 15:04")
			}
		}
	}
	for i := range statuses {
		key := statuses[i].Key()
		key.Group = ""
		statuses[i].LastLatch = last[key]
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

// plan decides every workload against the files in ws and, with apply,
// edits them.
func (l *Latcher) plan(ws gitrepo.Workspace, workloads []cluster.Workload, now time.Time, apply bool) ([]evidence.Change, []WorkloadStatus, map[string]policy.State, *policyfile.Policy, error) {
	pol, err := policyfile.Load(ws.Dir, l.policyFile())
	if err != nil {
		// A broken latch.yaml stops latching: guessing a policy would write
		// values nobody asked for.
		return nil, nil, nil, nil, fmt.Errorf("policy at %s: %w", gitrepo.ShortID(ws.Head), err)
	}
	idx, err := manifest.BuildIndex(ws.Dir, manifest.IndexOptions{Path: l.Path})
	if err != nil {
		return nil, nil, nil, pol, fmt.Errorf("indexing manifests at %s: %w", gitrepo.ShortID(ws.Head), err)
	}
	for _, p := range idx.Problems {
		l.logger().Warn("manifest problem", "file", p.File, "line", p.Line, "problem", p.Message)
	}

	var (
		edits    []manifest.Edit
		changes  []evidence.Change
		statuses []WorkloadStatus
		states   = map[string]policy.State{}
	)
	for _, w := range workloads {
		ref := w.Ref
		gitMin, gitMax, gitHPA := idx.HPAFor(ref)
		obj := policyfile.Object{Ref: ref, Labels: w.Labels, HasHPA: w.HPA != nil || gitHPA}
		field := pol.Resolve(obj).Field(ReplicasField)
		st := WorkloadStatus{Ref: ref, Mode: string(field.Mode), Observed: w.Replicas}
		if field.Mode != policy.ModeLatch || field.Latch == nil {
			if !apply {
				statuses = append(statuses, st) // status lists every workload
			}
			continue
		}
		loc, err := idx.Lookup(ref, ReplicasField)
		if err != nil {
			st.Error = err.Error()
			statuses = append(statuses, st)
			continue
		}
		st.Location = loc.String()
		declared, err := strconv.ParseInt(loc.Value, 10, 64)
		if err != nil {
			st.Error = fmt.Sprintf("%s: value %q is not an integer", loc, loc.Value)
			statuses = append(statuses, st)
			continue
		}
		st.Declared = declared

		// Bounds: the HPA declared in git is the truth; a live HPA git does
		// not declare (yet) still binds rather than being ignored.
		boundsFrom := "HPA"
		switch {
		case gitHPA:
			st.Min, st.Max = gitMin, gitMax
		case w.HPA != nil:
			st.Min, st.Max, boundsFrom = w.HPA.MinReplicas, w.HPA.MaxReplicas, "live HPA"
		}
		if st.Max > 0 {
			st.Bounds = fmt.Sprintf("%s %d..%d", boundsFrom, st.Min, st.Max)
		}

		key := l.stateKey(w)
		state, ok := l.States.Load(key)
		if !ok || !state.Valid || state.Declared != declared {
			// First sight, or git moved under us (a human edit, a lost
			// push): git is the truth to start from.
			state = policy.Resume(declared)
		}
		next, decision := policy.Step(*field.Latch, state, now, w.Replicas, st.Min, st.Max)
		states[key] = next
		st.Target, st.Reason = decision.Declared, decision.Reason
		if decision.Declared == declared {
			statuses = append(statuses, st)
			continue
		}
		if !ws.Allowed(ref, ReplicasField) {
			st.Target = declared
			st.Reason = "a person changed this field in git during this round; their value stands until the next pass"
			states[key] = policy.Resume(declared)
			statuses = append(statuses, st)
			continue
		}
		edits = append(edits, manifest.Edit{Loc: loc, NewValue: decision.Declared})
		changes = append(changes, evidence.Change{
			Object: ref, Field: ReplicasField, File: loc.File,
			From: declared, To: decision.Declared, Observed: w.Replicas,
			Rule: field.Latch.Ladder.String(), Min: st.Min, Max: st.Max, BoundsFrom: boundsFrom,
			ChangedBy: w.ReplicasManager, Reason: decision.Reason,
		})
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
	if len(edits) == 0 || !apply {
		return nil, statuses, states, pol, nil
	}
	if _, err := manifest.ApplyEdits(ws.Dir, edits); err != nil {
		if errors.Is(err, manifest.ErrConflict) {
			return nil, statuses, states, pol, fmt.Errorf("editing manifests at %s: a file changed while latch read it: %w", gitrepo.ShortID(ws.Head), err)
		}
		return nil, statuses, states, pol, fmt.Errorf("editing manifests at %s: %w", gitrepo.ShortID(ws.Head), err)
	}
	return changes, statuses, states, pol, nil
}

// stateKey identifies a workload's state machine across passes.
func (l *Latcher) stateKey(w cluster.Workload) string {
	return l.Cluster + "|" + w.Group + "/" + w.Kind + "|" + w.Namespace + "/" + w.Name
}

func (l *Latcher) logger() *slog.Logger {
	if l.Log != nil {
		return l.Log
	}
	return slog.New(slog.DiscardHandler)
}
