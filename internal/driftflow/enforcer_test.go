package driftflow

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/applyconfigurations"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"

	"github.com/latch-gitops/latch/internal/diff"
	"github.com/latch-gitops/latch/internal/enforce"
	"github.com/latch-gitops/latch/internal/manifest"
	"github.com/latch-gitops/latch/internal/objectid"
)

const gitWeb = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: "web:1.0"}]
`

func unstr(t *testing.T, y string) *unstructured.Unstructured {
	t.Helper()
	u := &unstructured.Unstructured{}
	b, err := yaml.YAMLToJSON([]byte(y))
	if err != nil {
		t.Fatal(err)
	}
	if err := u.UnmarshalJSON(b); err != nil {
		t.Fatal(err)
	}
	return u
}

// input is git's web (declared without a namespace) against a live web in
// "shop" whose image someone set to live, with the managedFields given.
func input(t *testing.T, image string, managed []metav1.ManagedFieldsEntry) diff.Input {
	t.Helper()
	live := unstr(t, strings.Replace(gitWeb, "web:1.0", image, 1))
	live.SetNamespace("shop")
	live.SetUID("uid-1")
	live.SetManagedFields(managed)
	tc := applyconfigurations.NewTypeConverter(scheme.Scheme)
	gvk := schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}
	return diff.Input{
		Declared:         []*manifest.Declared{{Ref: objectid.Ref{Group: "apps", Version: "v1", Kind: "Deployment", Name: "web"}, Object: unstr(t, gitWeb).Object}},
		Live:             map[schema.GroupVersionKind]diff.KindList{gvk: {Namespaced: true, Objects: []*unstructured.Unstructured{live}}},
		DefaultNamespace: "shop",
		Types:            func(schema.GroupVersionKind) diff.TypeConverter { return tc },
		Now:              time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC),
	}
}

func entry(manager string, op metav1.ManagedFieldsOperationType, fields string) metav1.ManagedFieldsEntry {
	return metav1.ManagedFieldsEntry{Manager: manager, Operation: op, FieldsType: "FieldsV1", FieldsV1: &metav1.FieldsV1{Raw: []byte(fields)},
		Time: &metav1.Time{Time: time.Date(2026, 12, 1, 11, 59, 0, 0, time.UTC)}}
}

const imageFields = `{"f:spec":{"f:template":{"f:spec":{"f:containers":{"k:{\"name\":\"web\"}":{"f:image":{}}}}}}}`

// The index resolves git's namespace-less object to the live one, and only
// latch-enforce's own apply entry counts as owned.
func TestOwnedReadsOnlyLatchEnforceApplyEntries(t *testing.T) {
	for _, tc := range []struct {
		name    string
		managed []metav1.ManagedFieldsEntry
		want    bool
	}{
		{"latch-enforce apply", []metav1.ManagedFieldsEntry{entry(enforce.FieldManager, metav1.ManagedFieldsOperationApply, imageFields)}, true},
		{"latch-enforce update", []metav1.ManagedFieldsEntry{entry(enforce.FieldManager, metav1.ManagedFieldsOperationUpdate, imageFields)}, false},
		{"another applier", []metav1.ManagedFieldsEntry{entry("kustomize-controller", metav1.ManagedFieldsOperationApply, imageFields)}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := input(t, "web:2.0", append(tc.managed, entry("kubectl-set", metav1.ManagedFieldsOperationUpdate, `{"f:metadata":{"f:labels":{}}}`)))
			rep := diff.Compare(in)
			if rep.Summary.Drifted != 1 {
				t.Fatalf("report %+v", rep.Summary)
			}
			owned := indexInput(in).owned(rep)
			o, ok := owned[rep.Objects[0].Ref.Key()]
			if ok != tc.want {
				t.Fatalf("owned = %v, want an entry: %v", owned, tc.want)
			}
			if ok && (o.Fields.Empty() || o.Declared["kind"] != "Deployment") {
				t.Errorf("owned entry %+v", o)
			}
		})
	}
}

func newTestEnforcer(t *testing.T, mode enforce.Mode, events *[]string) (*Enforcer, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	e, err := New(&rest.Config{Host: "https://127.0.0.1:1"}, Options{Mode: mode, Registry: reg,
		Events: func(r corev1.ObjectReference, typ, reason, note string) {
			*events = append(*events, r.Namespace+"/"+r.Name+" "+string(r.UID)+" "+typ+" "+reason+": "+note)
		}})
	if err != nil {
		t.Fatal(err)
	}
	return e, reg
}

// dry-run tells what it would revert (git's value, the live one, who set
// it) once, and again only when that changes.
func TestDryRunReportsOnceAndOnChange(t *testing.T) {
	var events []string
	e, reg := newTestEnforcer(t, enforce.DryRun, &events)
	step := func(image string) {
		in := input(t, image, []metav1.ManagedFieldsEntry{entry("kubectl-set", metav1.ManagedFieldsOperationUpdate, imageFields)})
		rep := diff.Compare(in)
		idx := indexInput(in)
		byKey := map[objectid.Key]*diff.ObjectResult{}
		for i := range rep.Objects {
			byKey[rep.Objects[i].Ref.Key()] = &rep.Objects[i]
		}
		e.dryRun(enforce.Plan(rep, idx.owned(rep)), byKey, idx)
	}
	step("web:2.0")
	step("web:2.0")
	if len(events) != 1 {
		t.Fatalf("events after two passes with the same drift: %q", events)
	}
	want := `shop/web uid-1 Normal DriftWouldRevert: dry-run: would revert .spec.template.spec.containers[name="web"].image to "web:1.0" (live "web:2.0", set by kubectl-set at 2026-12-01T11:59:00Z) as latch-enforce`
	if events[0] != want {
		t.Errorf("event\n got %s\nwant %s", events[0], want)
	}
	step("web:3.0")
	if len(events) != 2 || !strings.Contains(events[1], `live "web:3.0"`) {
		t.Errorf("events after the drift changed: %q", events)
	}
	if got := counter(t, reg, "latch_enforce_would_revert_total"); got != 3 {
		t.Errorf("latch_enforce_would_revert_total = %v, want 3", got)
	}
	if got := counter(t, reg, "latch_enforce_reverts_total"); got != 0 {
		t.Errorf("latch_enforce_reverts_total = %v in dry-run", got)
	}
}

func TestInScopeKeepsTheNamespace(t *testing.T) {
	var events []string
	e, _ := newTestEnforcer(t, enforce.On, &events)
	e.opts.Namespace, e.opts.DefaultNamespace = "shop", "shop"
	objs := []*manifest.Declared{
		{Ref: objectid.Ref{Kind: "ConfigMap", Version: "v1", Namespace: "shop", Name: "a"}},
		{Ref: objectid.Ref{Kind: "ConfigMap", Version: "v1", Name: "b"}},
		{Ref: objectid.Ref{Kind: "ConfigMap", Version: "v1", Namespace: "other", Name: "c"}},
	}
	var got []string
	for _, d := range e.inScope(objs) {
		got = append(got, d.Ref.Name)
	}
	if strings.Join(got, ",") != "a,b" {
		t.Errorf("in scope: %v", got)
	}
}

func TestNewRefusesABadMode(t *testing.T) {
	if _, err := New(&rest.Config{}, Options{Mode: "yes"}); err == nil || !strings.Contains(err.Error(), "want off, dry-run or on") {
		t.Errorf("err = %v", err)
	}
}

func counter(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == name {
			return f.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatalf("metric %s not registered", name)
	return 0
}
