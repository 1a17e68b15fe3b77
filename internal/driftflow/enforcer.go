package driftflow

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/latch-gitops/latch/internal/cluster"
	"github.com/latch-gitops/latch/internal/diff"
	"github.com/latch-gitops/latch/internal/enforce"
	"github.com/latch-gitops/latch/internal/manifest"
	"github.com/latch-gitops/latch/internal/objectid"
	"github.com/latch-gitops/latch/internal/policyfile"
)

// EventFunc posts an Event about regarding (eventType corev1.EventTypeNormal
// or EventTypeWarning).
type EventFunc func(regarding corev1.ObjectReference, eventType, reason, note string)

// Event reasons.
const (
	ReasonReverted     = "DriftReverted"
	ReasonWouldRevert  = "DriftWouldRevert"
	ReasonFight        = "EnforceFight"
	ReasonRevertFailed = "RevertFailed"
)

// Options configures an Enforcer.
type Options struct {
	Mode enforce.Mode
	// Limit is the fight limit (zero: enforce.DefaultLimit).
	Limit enforce.Limit
	// DefaultNamespace is where an object git declares without a namespace
	// lives (default "default").
	DefaultNamespace string
	// Namespace limits enforcement to one namespace ("" = every namespace
	// git declares objects in), as latch run's -n limits its watch.
	Namespace string
	Registry  prometheus.Registerer
	Events    EventFunc
	Log       *slog.Logger
}

// Enforcer runs the enforcement step of a latch pass. It keeps the revert
// history the fight limit needs, so one Enforcer serves the whole run; its
// methods are not safe for concurrent use (latch run's passes are serial).
type Enforcer struct {
	opts    Options
	reader  *cluster.Reader
	metrics *Metrics
	history enforce.History
	// fighting: objects in a fight, reported once when it starts.
	fighting map[objectid.Key]bool
	// reported: what dry-run last said about each object, so its Event is
	// sent when that changes, not every pass.
	reported map[objectid.Key]string
}

// New builds an Enforcer over cfg and registers its metrics.
func New(cfg *rest.Config, opts Options) (*Enforcer, error) {
	if _, err := enforce.ParseMode(string(opts.Mode)); err != nil {
		return nil, fmt.Errorf("enforce mode: %w", err)
	}
	if opts.Limit.Max <= 0 || opts.Limit.Window <= 0 {
		opts.Limit = enforce.DefaultLimit
	}
	if opts.DefaultNamespace == "" {
		opts.DefaultNamespace = "default"
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Events == nil {
		opts.Events = func(corev1.ObjectReference, string, string, string) {}
	}
	reg := opts.Registry
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	m, err := NewMetrics(reg)
	if err != nil {
		return nil, fmt.Errorf("registering enforce metrics: %w", err)
	}
	reader, err := cluster.NewReader(cfg)
	if err != nil {
		return nil, err
	}
	return &Enforcer{opts: opts, reader: reader, metrics: m, history: enforce.History{},
		fighting: map[objectid.Key]bool{}, reported: map[objectid.Key]string{}}, nil
}

// Mode is the enforcer's mode.
func (e *Enforcer) Mode() enforce.Mode { return e.opts.Mode }

// Result is what one enforcement step found and did.
type Result struct {
	// Drifted counts the objects the diff found drifted (or missing).
	Drifted int
	// Planned counts the objects with fields latch may revert.
	Planned  int
	Reverted int
	Fights   int
	Failed   int
	// Requests is how many API requests the step made.
	Requests int64
}

// Pass gathers at the checkout dir (manifests under path, the policy the
// latch pass read), decides and, in mode on, reverts.
func (e *Enforcer) Pass(ctx context.Context, dir, path string, pol *policyfile.Policy, now time.Time) (Result, error) {
	var res Result
	if e.opts.Mode == enforce.Off {
		return res, nil
	}
	before := e.reader.Requests()
	defer func() { res.Requests = e.reader.Requests() - before }()
	rendering, err := manifest.Render(dir, manifest.RenderOptions{Path: path})
	if err != nil {
		return res, fmt.Errorf("enforce: rendering the manifests: %w", err)
	}
	declared := e.inScope(rendering.Objects)
	in, err := Gather(ctx, e.reader, declared, rendering.Problems, e.opts.DefaultNamespace)
	if err != nil {
		return res, fmt.Errorf("enforce: reading the cluster: %w", err)
	}
	in.Policy, in.Now = pol, now
	rep := diff.Compare(in)
	res.Drifted = rep.Summary.Drifted + rep.Summary.Missing
	e.metrics.Drifted.Set(float64(res.Drifted))
	for _, o := range rep.Objects {
		if o.Status == diff.StatusError {
			e.opts.Log.Debug("enforce: object not compared", "object", o.Ref.String(), "source", o.Source.String(), "reason", o.Error)
		}
	}

	idx := indexInput(in)
	plan := enforce.Plan(rep, idx.owned(rep))
	byKey := map[objectid.Key]*diff.ObjectResult{}
	for i := range rep.Objects {
		byKey[rep.Objects[i].Ref.Key()] = &rep.Objects[i]
	}
	for _, r := range plan {
		for _, s := range r.Skipped {
			e.opts.Log.Debug("enforce: drifted field not reverted", "object", r.Ref.String(), "field", s)
		}
		if len(r.Fields) > 0 {
			res.Planned++
		}
	}
	if e.opts.Mode == enforce.DryRun {
		e.dryRun(plan, byKey, idx)
		return res, nil
	}
	verdicts, next := e.opts.Limit.Decide(e.history, plan, now)
	e.history = next
	fighting := map[objectid.Key]bool{}
	for _, v := range verdicts {
		key := v.Ref.Key()
		regarding := idx.regarding(v.Ref)
		switch {
		case v.Fight:
			res.Fights++
			fighting[key] = true
			if !e.fighting[key] {
				e.metrics.Fights.Inc()
				e.opts.Log.Warn("enforce: fight", "object", v.Ref.String(), "fields", v.Fields, "reason", v.Reason)
				e.opts.Events(regarding, corev1.EventTypeWarning, ReasonFight, v.Reason)
			}
		case v.Allowed:
			note := describe(v.Revert, byKey[key])
			if err := e.apply(ctx, v.Revert); err != nil {
				res.Failed++
				e.metrics.Failures.Inc()
				e.opts.Log.Error("enforce: revert failed", "object", v.Ref.String(), "fields", v.Fields, "error", err)
				e.opts.Events(regarding, corev1.EventTypeWarning, ReasonRevertFailed, "could not revert: "+err.Error())
				continue
			}
			res.Reverted++
			e.metrics.Reverts.Inc()
			e.metrics.RevertedFields.Add(float64(len(v.Fields)))
			e.opts.Log.Info("enforce: reverted drift", "object", v.Ref.String(), "fields", v.Fields, "manager", enforce.FieldManager)
			e.opts.Events(regarding, corev1.EventTypeNormal, ReasonReverted, "reverted "+note)
		}
	}
	e.fighting = fighting
	e.metrics.Fighting.Set(float64(len(fighting)))
	return res, nil
}

// inScope keeps the objects in the Enforcer's namespace (all without one).
func (e *Enforcer) inScope(objs []*manifest.Declared) []*manifest.Declared {
	if e.opts.Namespace == "" {
		return objs
	}
	var out []*manifest.Declared
	for _, d := range objs {
		ns := d.Ref.Namespace
		if ns == "" {
			ns = e.opts.DefaultNamespace
		}
		if ns == e.opts.Namespace {
			out = append(out, d)
		}
	}
	return out
}

// dryRun reports what mode on would revert, an Event when it changes.
func (e *Enforcer) dryRun(plan []enforce.Revert, byKey map[objectid.Key]*diff.ObjectResult, idx inputIndex) {
	seen := map[objectid.Key]string{}
	for _, r := range plan {
		if len(r.Fields) == 0 {
			continue
		}
		key := r.Ref.Key()
		note := describe(r, byKey[key])
		seen[key] = note
		e.metrics.WouldRevert.Inc()
		if e.reported[key] == note {
			continue
		}
		e.opts.Log.Info("enforce dry-run: would revert drift", "object", r.Ref.String(), "fields", r.Fields, "body", bodyJSON(r.Body))
		e.opts.Events(idx.regarding(r.Ref), corev1.EventTypeNormal, ReasonWouldRevert, "dry-run: would revert "+note)
	}
	e.reported = seen
}

// apply is the revert: a server-side apply of the body, forced, as
// enforce.FieldManager. The body holds only the fields to revert (and those
// the manager already owns), so force takes only them.
func (e *Enforcer) apply(ctx context.Context, r enforce.Revert) error {
	gvk := schema.FromAPIVersionAndKind(r.Ref.APIVersion(), r.Ref.Kind)
	res, err := e.reader.Resource(gvk, r.Ref.Namespace)
	if err != nil {
		return err
	}
	_, err = res.Apply(ctx, r.Ref.Name, &unstructured.Unstructured{Object: r.Body}, metav1.ApplyOptions{FieldManager: enforce.FieldManager, Force: true})
	if err != nil {
		return fmt.Errorf("server-side apply of %s as %s: %w", r.Ref.String(), enforce.FieldManager, err)
	}
	return nil
}

// describe says what a revert sets back: each field, git's value, the live
// one and who set it.
func describe(r enforce.Revert, o *diff.ObjectResult) string {
	var parts []string
	for _, p := range r.Fields {
		s := p
		if o != nil {
			for _, f := range o.Fields {
				if f.Path != p {
					continue
				}
				s += fmt.Sprintf(" to %s (live %s", diff.JSONLine(f.Declared), diff.JSONLine(f.Live))
				if f.ChangedBy != nil {
					s += ", set by " + f.ChangedBy.String()
				}
				s += ")"
			}
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "; ") + " as " + enforce.FieldManager
}

func bodyJSON(body map[string]any) string {
	b, _ := json.Marshal(body)
	return string(b)
}

// inputIndex finds the live and declared object of a report's ref.
type inputIndex struct {
	live     map[objectid.Key]*unstructured.Unstructured
	declared map[objectid.Key]*manifest.Declared
}

func indexInput(in diff.Input) inputIndex {
	idx := inputIndex{live: map[objectid.Key]*unstructured.Unstructured{}, declared: map[objectid.Key]*manifest.Declared{}}
	namespaced := map[schema.GroupVersionKind]bool{}
	for gvk, kl := range in.Live {
		namespaced[gvk] = kl.Namespaced
		for _, o := range kl.Objects {
			ref := objectid.Ref{Group: gvk.Group, Version: gvk.Version, Kind: gvk.Kind, Namespace: o.GetNamespace(), Name: o.GetName()}
			idx.live[ref.Key()] = o
		}
	}
	for _, d := range in.Declared {
		ref := d.Ref
		gvk := schema.FromAPIVersionAndKind(ref.APIVersion(), ref.Kind)
		switch {
		case !namespaced[gvk]:
			ref.Namespace = ""
		case ref.Namespace == "":
			ref.Namespace = in.DefaultNamespace
		}
		idx.declared[ref.Key()] = d
	}
	return idx
}

// owned decodes, for each drifted object, the fields enforce.FieldManager
// already owns by apply.
func (idx inputIndex) owned(rep *diff.Report) map[objectid.Key]enforce.Owned {
	out := map[objectid.Key]enforce.Owned{}
	for _, o := range rep.Objects {
		if o.Status != diff.StatusDrift {
			continue
		}
		key := o.Ref.Key()
		live, d := idx.live[key], idx.declared[key]
		if live == nil || d == nil {
			continue
		}
		for _, mf := range live.GetManagedFields() {
			if mf.Manager != enforce.FieldManager || mf.Operation != metav1.ManagedFieldsOperationApply || mf.FieldsV1 == nil || mf.Subresource != "" {
				continue
			}
			s := &fieldpath.Set{}
			if err := s.FromJSON(bytes.NewReader(mf.FieldsV1.Raw)); err != nil {
				continue
			}
			out[key] = enforce.Owned{Fields: s, Declared: d.Object}
		}
	}
	return out
}

// regarding is the Event's object reference for ref.
func (idx inputIndex) regarding(ref objectid.Ref) corev1.ObjectReference {
	r := corev1.ObjectReference{APIVersion: ref.APIVersion(), Kind: ref.Kind, Namespace: ref.Namespace, Name: ref.Name}
	if live := idx.live[ref.Key()]; live != nil {
		r.UID = live.GetUID()
	}
	return r
}
