package restoreflow

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/latch-gitops/latch/internal/cluster"
	"github.com/latch-gitops/latch/internal/objectid"
	"github.com/latch-gitops/latch/internal/restore"
)

// Outcome of one object's apply.
const (
	Created    = "created"
	Configured = "configured"
	Unchanged  = "unchanged"
	Failed     = "failed"
	WouldApply = "would apply"
)

// Result is one object of the report.
type Result struct {
	Ref      objectid.Ref    `json:"ref"`
	Origin   string          `json:"origin,omitempty"`
	Version  restore.Version `json:"version"`
	Replicas int64           `json:"replicas"`
	Outcome  string          `json:"outcome"`
	Why      string          `json:"why"`
	Error    string          `json:"error,omitempty"`
}

// Report is what a restore did (or, dry, would do).
type Report struct {
	Head     string            `json:"head"`
	DryRun   bool              `json:"dryRun,omitempty"`
	Problems []string          `json:"problems,omitempty"`
	Results  []Result          `json:"results"`
	Failures []restore.Failure `json:"failures,omitempty"`
	Skipped  []restore.Skipped `json:"skipped,omitempty"`
	Reverts  []restore.Revert  `json:"reverts,omitempty"`
	// RevertCommit is the commit WriteReverts pushed ("" when none), and
	// RevertResults what it did per workload.
	RevertCommit  string         `json:"revertCommit,omitempty"`
	RevertResults []RevertResult `json:"revertResults,omitempty"`
	Changed       int            `json:"changed"`
	Counts        map[string]int `json:"counts"`
	Requests      int64          `json:"-"`
	Elapsed       time.Duration  `json:"-"`
	Plan          *restore.Plan  `json:"-"`
}

// Failed reports whether anything was not restored.
func (r *Report) Failed() bool {
	return len(r.Problems) > 0 || len(r.Failures) > 0 || r.Counts[Failed] > 0
}

// ApplyOptions tune the act step.
type ApplyOptions struct {
	DryRun bool
	// Workers is how many applies run at once (default 32).
	Workers int
	// DefaultNamespace: see Options.
	DefaultNamespace string
	// Progress, when set, is called after each object (a TTY progress line).
	Progress func(done, total int)
}

// ApplyQPS is the client rate for the Reader a restore goes through (see
// cluster.NewReaderRate): high enough that the Workers applies in flight,
// not a client-side limiter, bound the rate (at 200 per second 2,000
// objects took 8 s of waiting on the limiter alone); the API server's
// priority and fairness still protects it.
const (
	ApplyQPS   = 1000
	ApplyBurst = 1000
)

// ServeTimeout bounds the wait for a CRD the restore applied to be served.
const ServeTimeout = 2 * time.Minute

// Apply acts on the plan through reader (built with NewReaderRate at
// ApplyQPS): nothing when it has problems (bad input), else every action
// phase by phase, objects of a phase in parallel. An object the cluster
// already has as the plan would apply it is not sent (unchanged, no
// request). An object that fails is reported; the others are applied
// regardless.
func Apply(ctx context.Context, reader *cluster.Reader, g *Gathered, plan restore.Plan, opts ApplyOptions) (*Report, error) {
	started := time.Now()
	rep := &Report{Head: g.Head, DryRun: opts.DryRun, Problems: plan.Problems, Failures: plan.Failures,
		Skipped: plan.Skipped, Reverts: plan.Reverts, Counts: map[string]int{}, Plan: &plan}
	if len(plan.Problems) > 0 {
		return rep, nil
	}
	same := g.sameAsLive(plan.Actions, opts.DefaultNamespace)
	rep.Results = make([]Result, len(plan.Actions))
	for i, a := range plan.Actions {
		rep.Results[i] = Result{Ref: a.Ref, Origin: a.Origin.String(), Version: a.Version, Replicas: a.Replicas, Why: a.Why, Outcome: WouldApply}
		if same[i] {
			rep.Results[i].Outcome = Unchanged
		}
	}
	if !opts.DryRun {
		a := &applier{reader: reader, g: g, opts: opts, total: len(plan.Actions)}
		if a.opts.Workers <= 0 {
			a.opts.Workers = 32
		}
		for _, phase := range []restore.Phase{restore.PhaseNamespaces, restore.PhaseCRDs, restore.PhaseObjects} {
			var idx []int
			for i, act := range plan.Actions {
				if act.Phase == phase {
					idx = append(idx, i)
				}
			}
			a.run(ctx, plan.Actions, rep.Results, idx, same)
			if err := ctx.Err(); err != nil {
				return rep, err
			}
			if phase == restore.PhaseCRDs {
				a.waitServed(ctx, plan.Actions, rep.Results, idx)
			}
		}
	}
	for _, r := range rep.Results {
		rep.Counts[r.Outcome]++
		if r.Outcome == Created || r.Outcome == Configured {
			rep.Changed++
		}
	}
	rep.Requests, rep.Elapsed = reader.Requests(), time.Since(started)
	return rep, nil
}

type applier struct {
	reader *cluster.Reader
	g      *Gathered
	opts   ApplyOptions
	total  int
	done   atomic.Int64
}

func (a *applier) run(ctx context.Context, actions []restore.Action, results []Result, idx []int, same map[int]bool) {
	work := make(chan int)
	var wg sync.WaitGroup
	for range min(a.opts.Workers, len(idx)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				if !same[i] {
					outcome, err := a.apply(ctx, actions[i])
					results[i].Outcome = outcome
					if err != nil {
						results[i].Outcome, results[i].Error = Failed, err.Error()
					}
				}
				if a.opts.Progress != nil {
					a.opts.Progress(int(a.done.Add(1)), a.total)
				}
			}
		}()
	}
	for _, i := range idx {
		work <- i
	}
	close(work)
	wg.Wait()
}

func (a *applier) apply(ctx context.Context, act restore.Action) (string, error) {
	gvk := schema.GroupVersionKind{Group: act.Ref.Group, Version: act.Ref.Version, Kind: act.Ref.Kind}
	namespaced, err := a.reader.Namespaced(gvk)
	if err != nil {
		if errors.Is(err, cluster.ErrKindNotServed) {
			return Failed, fmt.Errorf("the cluster does not serve %s (is its CRD in the repository, or installed?)", act.Ref.APIVersion()+"/"+act.Ref.Kind)
		}
		return Failed, err
	}
	u := &unstructured.Unstructured{Object: act.Body}
	key := act.Ref.Key()
	if namespaced && key.Namespace == "" {
		key.Namespace = a.opts.DefaultNamespace
		u.SetNamespace(key.Namespace)
	}
	res, err := a.reader.Resource(gvk, key.Namespace)
	if err != nil {
		return Failed, err
	}
	before, existed := a.g.versions[key]
	out, err := res.Apply(ctx, act.Ref.Name, u, metav1.ApplyOptions{FieldManager: restore.Manager})
	if err != nil {
		if apierrors.IsConflict(err) {
			return Failed, fmt.Errorf("another field manager owns a field git sets differently (restore does not force): %w", err)
		}
		return Failed, err
	}
	switch {
	case !existed:
		return Created, nil
	case out.GetResourceVersion() == before:
		return Unchanged, nil
	}
	return Configured, nil
}

// waitServed waits until the kinds of the CRDs just applied are served
// (Established comes first, discovery after); a CRD whose kinds are not
// served within ServeTimeout, or before ctx ends, is a failure of its own.
func (a *applier) waitServed(ctx context.Context, actions []restore.Action, results []Result, idx []int) {
	ctx, cancel := context.WithTimeout(ctx, ServeTimeout)
	defer cancel()
	for _, i := range idx {
		if results[i].Outcome == Failed {
			continue
		}
		for _, gvk := range servedKinds(actions[i].Body) {
			if _, err := a.reader.Namespaced(gvk); err == nil {
				continue // served already (a second run)
			}
			for {
				if ok, _ := a.reader.Serves(gvk); ok {
					break
				}
				select {
				case <-ctx.Done():
					results[i].Outcome, results[i].Error = Failed, fmt.Sprintf("%s not served %v after it was applied (is the CRD Established? kubectl describe crd %s)", gvk, ServeTimeout, actions[i].Ref.Name)
					return
				case <-time.After(100 * time.Millisecond):
				}
			}
		}
	}
}

// servedKinds are the kinds a CRD body serves: its kind in each served
// version.
func servedKinds(crd map[string]any) []schema.GroupVersionKind {
	group, _, _ := unstructured.NestedString(crd, "spec", "group")
	kind, _, _ := unstructured.NestedString(crd, "spec", "names", "kind")
	versions, _, _ := unstructured.NestedSlice(crd, "spec", "versions")
	var out []schema.GroupVersionKind
	for _, v := range versions {
		m, _ := v.(map[string]any)
		name, _ := m["name"].(string)
		if served, _ := m["served"].(bool); served && name != "" {
			out = append(out, schema.GroupVersionKind{Group: group, Version: name, Kind: kind})
		}
	}
	return out
}
