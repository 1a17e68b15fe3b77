package restoreflow

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"

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

// ApplyQPS is the client rate for the applies: they run in parallel, and
// client-go's default of 5 per second would serialise them again.
const (
	ApplyQPS   = 200
	ApplyBurst = 400
)

// Apply acts on the plan: nothing when it has problems (bad input), else
// every action phase by phase, objects of a phase in parallel. An object
// that fails is reported; the others are applied regardless.
func Apply(ctx context.Context, cfg *rest.Config, g *Gathered, plan restore.Plan, opts ApplyOptions) (*Report, error) {
	started := time.Now()
	rep := &Report{Head: g.Head, DryRun: opts.DryRun, Problems: plan.Problems, Failures: plan.Failures,
		Skipped: plan.Skipped, Reverts: plan.Reverts, Counts: map[string]int{}, Plan: &plan}
	if len(plan.Problems) > 0 {
		return rep, nil
	}
	rep.Results = make([]Result, len(plan.Actions))
	for i, a := range plan.Actions {
		rep.Results[i] = Result{Ref: a.Ref, Origin: a.Origin.String(), Version: a.Version, Replicas: a.Replicas, Why: a.Why, Outcome: WouldApply}
	}
	if opts.DryRun {
		rep.Counts[WouldApply] = len(plan.Actions)
		rep.Elapsed = time.Since(started)
		return rep, nil
	}
	c := rest.CopyConfig(cfg)
	c.QPS, c.Burst = ApplyQPS, ApplyBurst
	var requests atomic.Int64
	c.Wrap(func(rt httpRoundTripper) httpRoundTripper { return counting{rt, &requests} })
	dyn, err := dynamic.NewForConfig(c)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	dc, err := discovery.NewDiscoveryClientForConfig(c)
	if err != nil {
		return nil, fmt.Errorf("kubernetes discovery: %w", err)
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))
	a := &applier{dyn: dyn, mapper: mapper, g: g, opts: opts, total: len(plan.Actions)}
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
		a.run(ctx, plan.Actions, rep.Results, idx)
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		if phase == restore.PhaseCRDs && len(idx) > 0 {
			a.waitEstablished(ctx, plan.Actions, rep.Results, idx)
			mapper.Reset() // their kinds are served now
		}
	}
	for _, r := range rep.Results {
		rep.Counts[r.Outcome]++
		if r.Outcome == Created || r.Outcome == Configured {
			rep.Changed++
		}
	}
	rep.Requests, rep.Elapsed = requests.Load(), time.Since(started)
	return rep, nil
}

type applier struct {
	dyn    dynamic.Interface
	mapper meta.ResettableRESTMapper
	g      *Gathered
	opts   ApplyOptions
	total  int
	done   atomic.Int64
}

func (a *applier) run(ctx context.Context, actions []restore.Action, results []Result, idx []int) {
	work := make(chan int)
	var wg sync.WaitGroup
	for range min(a.opts.Workers, len(idx)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				outcome, err := a.apply(ctx, actions[i])
				results[i].Outcome = outcome
				if err != nil {
					results[i].Outcome, results[i].Error = Failed, err.Error()
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
	mapping, err := a.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		if meta.IsNoMatchError(err) {
			return Failed, fmt.Errorf("the cluster does not serve %s (is its CRD in the repository, or installed?)", act.Ref.APIVersion()+"/"+act.Ref.Kind)
		}
		return Failed, fmt.Errorf("resolving %s: %w", act.Ref.Kind, err)
	}
	u := &unstructured.Unstructured{Object: act.Body}
	key := act.Ref.Key()
	var res dynamic.ResourceInterface = a.dyn.Resource(mapping.Resource)
	if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
		ns := act.Ref.Namespace
		if ns == "" {
			ns = a.opts.DefaultNamespace
			key.Namespace = ns
		}
		u.SetNamespace(ns)
		res = a.dyn.Resource(mapping.Resource).Namespace(ns)
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

// waitEstablished waits for the CRDs just applied to be served; one that
// does not become Established before ctx ends is a failure of its own.
func (a *applier) waitEstablished(ctx context.Context, actions []restore.Action, results []Result, idx []int) {
	crds := a.dyn.Resource(schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"})
	for _, i := range idx {
		if results[i].Outcome == Failed {
			continue
		}
		for {
			u, err := crds.Get(ctx, actions[i].Ref.Name, metav1.GetOptions{})
			if err == nil && established(u) {
				break
			}
			select {
			case <-ctx.Done():
				results[i].Outcome, results[i].Error = Failed, "not Established before the restore was stopped"
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
}

func established(u *unstructured.Unstructured) bool {
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		if m["type"] == "Established" && m["status"] == "True" {
			return true
		}
	}
	return false
}
