package diff

import (
	"fmt"
	"sort"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"
	"sigs.k8s.io/structured-merge-diff/v6/value"

	"github.com/latch-gitops/latch/internal/cluster"
	"github.com/latch-gitops/latch/internal/manifest"
	"github.com/latch-gitops/latch/internal/objtree"
	"github.com/latch-gitops/latch/internal/policy"
	"github.com/latch-gitops/latch/internal/policyfile"

	"github.com/latch-gitops/latch/internal/objectid"
)

// KindList is what one LIST of a kind returned (cluster.Reader.ListKinds).
type KindList = cluster.KindList

// Input is everything Compare needs; the caller gathers it.
type Input struct {
	// Declared is what the repository declares (manifest.Render).
	Declared []*manifest.Declared
	// Live holds one LIST per declared kind, by the declared apiVersion.
	Live map[schema.GroupVersionKind]KindList
	// DefaultNamespace is where a namespaced object declared without a
	// namespace is applied (kubectl's context namespace).
	DefaultNamespace string
	// Types returns the schema converter of a kind; nil (or a nil result)
	// compares without a schema: lists as a whole.
	Types func(schema.GroupVersionKind) TypeConverter
	// Normalizers rewrite each declared object before comparing; nil means
	// none (the caller passes DefaultNormalizers).
	Normalizers []Normalizer
	// Policy says each field's mode; nil means policyfile.Default().
	Policy *policyfile.Policy
	// Now is the time converge grace is measured against.
	Now time.Time
	// IncludeUnmanaged also reports live objects of the listed kinds, in
	// the namespaces the repository declares objects in, that the
	// repository does not declare.
	IncludeUnmanaged bool
	// Problems are what rendering the repository could not read (files
	// that do not parse, kustomizations that do not build); they go into
	// the report as they are.
	Problems []manifest.Problem
}

// Compare decides, for every declared object, whether the live object
// matches it in the fields the manifest sets, through the policy. It is pure.
func Compare(in Input) *Report {
	pol := in.Policy
	if pol == nil {
		pol = policyfile.Default()
	}
	rep := &Report{Problems: in.Problems}
	type liveKey struct {
		gvk       schema.GroupVersionKind
		namespace string
		name      string
	}
	live := map[liveKey]*unstructured.Unstructured{}
	for gvk, kl := range in.Live {
		for _, o := range kl.Objects {
			live[liveKey{gvk, o.GetNamespace(), o.GetName()}] = o
		}
	}
	hpas := hpaTargets(in.Declared, in.DefaultNamespace)
	declaredNS := map[string]bool{}
	declaredKeys := map[liveKey]bool{}

	for _, d := range in.Declared {
		gvk := schema.FromAPIVersionAndKind(d.Ref.APIVersion(), d.Ref.Kind)
		kl, listed := in.Live[gvk]
		ns := d.Ref.Namespace
		if ns == "" && kl.Namespaced {
			ns = in.DefaultNamespace
		}
		if listed && kl.Err == nil && !kl.Namespaced {
			ns = "" // cluster-scoped; a kind not listed keeps what git says
		}
		res := ObjectResult{Ref: d.Ref, Source: d.Origin, RenderedBy: d.RenderedBy}
		res.Ref.Namespace = ns
		key := liveKey{gvk, ns, d.Ref.Name}
		declaredKeys[key] = true
		if ns != "" {
			declaredNS[ns] = true
		}
		switch {
		case !listed:
			res.Status, res.Error = StatusError, "its kind was not listed"
		case kl.Err != nil:
			res.Status, res.Error = StatusError, kl.Err.Error()
		default:
			lo := live[key]
			if lo == nil {
				res.Status = StatusMissing
				res.Unified = unifiedText(res.Ref.String(), d.Object, nil)
				break
			}
			compareOne(&res, in, pol, d, gvk, lo, hpas[hpaKey{d.Ref.Group, d.Ref.Kind, ns, d.Ref.Name}])
		}
		rep.Objects = append(rep.Objects, res)
	}
	if in.IncludeUnmanaged {
		for gvk, kl := range in.Live {
			for _, o := range kl.Objects {
				k := liveKey{gvk, o.GetNamespace(), o.GetName()}
				if declaredKeys[k] || kl.Namespaced && !declaredNS[o.GetNamespace()] || !isUnmanagedCandidate(o) {
					continue
				}
				ref := objectid.Ref{Group: gvk.Group, Version: gvk.Version, Kind: gvk.Kind, Namespace: o.GetNamespace(), Name: o.GetName()}
				res := ObjectResult{Ref: ref, Status: StatusUnmanaged}
				if ch := ownersOf(o).latest(); ch != nil {
					res.Note = "last written by " + ch.String()
				}
				rep.Objects = append(rep.Objects, res)
			}
		}
	}
	sort.SliceStable(rep.Objects, func(i, j int) bool { return rep.Objects[i].Ref.String() < rep.Objects[j].Ref.String() })
	rep.tally()
	return rep
}

// isUnmanagedCandidate leaves out what nobody declares by hand: objects
// another object owns (ReplicaSets, Pods, EndpointSlices) and objects only
// the control plane wrote.
func isUnmanagedCandidate(o *unstructured.Unstructured) bool {
	return len(o.GetOwnerReferences()) == 0 && !ownersOf(o).controlPlaneOnly()
}

// compareOne fills res for one declared object and its live object.
func compareOne(res *ObjectResult, in Input, pol *policyfile.Policy, d *manifest.Declared, gvk schema.GroupVersionKind, lo *unstructured.Unstructured, hpa *hpaBounds) {
	declared := objtree.Copy(d.Object)
	for _, n := range in.Normalizers {
		if err := n.Normalize(gvk, declared); err != nil {
			res.Status, res.Error = StatusError, fmt.Sprintf("%s: %v", d.Origin, err)
			return
		}
	}
	var tc TypeConverter
	if in.Types != nil {
		tc = in.Types(gvk)
	}
	diffs, declTV, liveTV, err := compareObject(tc, declared, lo.Object)
	if err != nil {
		res.Status, res.Error = StatusError, fmt.Sprintf("%s: %v", d.Origin, err)
		return
	}
	labels := map[string]string{}
	if meta, ok := declared["metadata"].(map[string]any); ok {
		if l, ok := meta["labels"].(map[string]any); ok {
			for k, v := range l {
				labels[k] = fmt.Sprint(v)
			}
		}
	}
	resolved := pol.Resolve(policyfile.Object{
		Ref:    objectid.Ref{Group: gvk.Group, Version: gvk.Version, Kind: gvk.Kind, Namespace: res.Ref.Namespace, Name: res.Ref.Name},
		Labels: labels, HasHPA: hpa != nil,
	})
	var own *ownership // read from managedFields only when a field differs
	res.Status = StatusInSync
	res.Compared = true
	var shown []fieldpath.Path
	for _, df := range diffs {
		pp := policyPath(df.path)
		fp := resolved.Field(pp)
		f := FieldResult{
			Path:   df.path.String(),
			Policy: pp,
			Mode:   fp.Mode,
			Rule:   fp.From,
			Source: d.PositionOf(manifest.FieldKey(fieldKeyParts(declared, df.path)...)),
			path:   df.path,
		}
		if df.declared != nil {
			f.Declared = df.declared.Unstructured()
		}
		if df.live != nil {
			f.Live = df.live.Unstructured()
		}
		if df.live != nil {
			// who removed a field managedFields cannot tell
			if own == nil {
				o := ownersOf(lo)
				own = &o
			}
			f.ChangedBy = own.changedBy(df.path)
		}
		switch fp.Mode {
		case policy.ModeIgnore:
			res.Ignored++
			continue
		case policy.ModeImmutable:
			f.Status = FieldDrift
		case policy.ModeConverge:
			decideConverge(&f, fp.Grace, in.Now)
		case policy.ModeLatch:
			decideLatch(&f, fp, df, hpa, in.Now)
		}
		res.Fields = append(res.Fields, f)
		if f.Status != FieldLatched {
			shown = append(shown, df.path)
		}
	}
	res.Status = res.worst()
	if len(shown) > 0 {
		res.Unified = unified(res.Ref.String(), declTV, liveTV, shown)
	}
}

// decideConverge: a converge field may drift for its grace, counted from
// when its live value was written.
func decideConverge(f *FieldResult, grace time.Duration, now time.Time) {
	if f.ChangedBy == nil || f.ChangedBy.Time.IsZero() {
		f.Status, f.Note = FieldDrift, "when it changed is unknown; treated as past its grace"
		return
	}
	age := now.Sub(f.ChangedBy.Time)
	if age < grace {
		f.Status = FieldConverging
		f.Note = fmt.Sprintf("within its %s grace: drift in %s", grace, (grace - age).Round(time.Second))
		return
	}
	f.Status = FieldDrift
	f.Note = fmt.Sprintf("past its %s grace by %s", grace, (age - grace).Round(time.Second))
}

// decideLatch: the live value is in sync when latching it would keep the
// declared value; otherwise latch has a commit due ("latch pending"), which
// is latch's job, not drift.
func decideLatch(f *FieldResult, fp policyfile.FieldPolicy, df difference, hpa *hpaBounds, now time.Time) {
	declared, okD := asInt(df.declared)
	observed, okL := asInt(df.live)
	if !okD || !okL || fp.Latch == nil {
		f.Status, f.Note = FieldDrift, "a latch field must be an integer on both sides"
		return
	}
	var lo, hi int64
	if hpa != nil {
		lo, hi = hpa.min, hpa.max
	}
	st, dec := policy.Step(*fp.Latch, policy.Resume(declared), now, observed, lo, hi)
	switch {
	case dec.Changed:
		f.Status = FieldLatchPending
		f.Note = fmt.Sprintf("latch will declare %d: %s", dec.Declared, dec.Reason)
	case st.Pending != policy.DirNone:
		f.Status = FieldLatchPending
		f.Note = fmt.Sprintf("a move %s waits for its dwell", st.Pending)
	default:
		f.Status = FieldLatched
		f.Note = fmt.Sprintf("%d latches to the declared %d", observed, declared)
	}
}

func asInt(v value.Value) (int64, bool) {
	if v == nil {
		return 0, false
	}
	switch {
	case v.IsInt():
		return v.AsInt(), true
	case v.IsFloat() && v.AsFloat() == float64(int64(v.AsFloat())):
		return int64(v.AsFloat()), true
	}
	return 0, false
}

type hpaKey struct{ group, kind, namespace, name string }

type hpaBounds struct{ min, max int64 }

// hpaTargets maps each object a declared HorizontalPodAutoscaler scales to
// its declared bounds: git's HPA decides HasHPA and the latch bounds, as in
// a latch pass.
func hpaTargets(decl []*manifest.Declared, defaultNS string) map[hpaKey]*hpaBounds {
	out := map[hpaKey]*hpaBounds{}
	for _, d := range decl {
		if d.Ref.Group != "autoscaling" || d.Ref.Kind != "HorizontalPodAutoscaler" {
			continue
		}
		spec, _ := d.Object["spec"].(map[string]any)
		target, _ := spec["scaleTargetRef"].(map[string]any)
		kind, _ := target["kind"].(string)
		name, _ := target["name"].(string)
		apiVersion, _ := target["apiVersion"].(string)
		gv, _ := schema.ParseGroupVersion(apiVersion)
		ns := d.Ref.Namespace
		if ns == "" {
			ns = defaultNS
		}
		b := &hpaBounds{min: 1}
		if v, ok := spec["minReplicas"].(int64); ok {
			b.min = v
		}
		if v, ok := spec["maxReplicas"].(int64); ok {
			b.max = v
		}
		out[hpaKey{gv.Group, kind, ns, name}] = b
	}
	return out
}
