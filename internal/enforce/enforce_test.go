package enforce

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/applyconfigurations"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"
	"sigs.k8s.io/yaml"

	"github.com/latch-gitops/latch/internal/diff"
	"github.com/latch-gitops/latch/internal/manifest"
	"github.com/latch-gitops/latch/internal/objectid"
	"github.com/latch-gitops/latch/internal/policyfile"
)

const declared = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop, labels: {app: web}}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - {name: web, image: web:1.0, env: [{name: MODE, value: prod}]}
        - {name: side, image: side:1}
`

const policyText = `apiVersion: latch.dev/v1alpha1
kind: LatchPolicy
spec:
  rules:
    - name: all
      fields: {spec: immutable, metadata.labels: ignore}
`

func obj(t *testing.T, y string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := yaml.Unmarshal([]byte(y), &m); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(m)
	var u unstructured.Unstructured
	if err := u.UnmarshalJSON(b); err != nil {
		t.Fatal(err)
	}
	return u.Object
}

func report(t *testing.T, edit func(live map[string]any)) *diff.Report {
	t.Helper()
	live := obj(t, declared)
	edit(live)
	pol, err := policyfile.Parse("latch.yaml", []byte(policyText))
	if err != nil {
		t.Fatal(err)
	}
	tc := applyconfigurations.NewTypeConverter(scheme.Scheme)
	gvk := schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}
	return diff.Compare(diff.Input{
		Declared: []*manifest.Declared{{Ref: objectid.Ref{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "shop", Name: "web"}, Object: obj(t, declared)}},
		Live:     map[schema.GroupVersionKind]diff.KindList{gvk: {Namespaced: true, Objects: []*unstructured.Unstructured{{Object: live}}}},
		Types:    func(schema.GroupVersionKind) diff.TypeConverter { return tc },
		Policy:   pol,
	})
}

func TestPlanBodyHoldsOnlyDriftedImmutableFields(t *testing.T) {
	rep := report(t, func(live map[string]any) {
		cs, _, _ := unstructured.NestedSlice(live, "spec", "template", "spec", "containers")
		cs[0].(map[string]any)["image"] = "web:2.0"
		cs[0].(map[string]any)["env"] = []any{map[string]any{"name": "MODE", "value": "debug"}}
		cs[1].(map[string]any)["image"] = "side:9"
		_ = unstructured.SetNestedSlice(live, cs, "spec", "template", "spec", "containers")
		_ = unstructured.SetNestedField(live, int64(7), "spec", "replicas")
		_ = unstructured.SetNestedField(live, "hand", "metadata", "labels", "app")
	})
	plan := Plan(rep, nil)
	if len(plan) != 1 {
		t.Fatalf("plan %+v", plan)
	}
	// containers keyed by name: their order in an apply body does not matter
	got, _ := json.Marshal(plan[0].Body)
	want := `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","namespace":"shop"},"spec":{"template":{"spec":{"containers":[{"image":"side:1","name":"side"},{"env":[{"name":"MODE","value":"prod"}],"image":"web:1.0","name":"web"}]}}}}`
	if string(got) != want {
		t.Errorf("body\n got %s\nwant %s", got, want)
	}
	if len(plan[0].Skipped) != 1 || !strings.Contains(plan[0].Skipped[0], "spec.replicas is never reverted") {
		t.Errorf("skipped %v", plan[0].Skipped)
	}
	if len(plan[0].Fields) != 3 {
		t.Errorf("fields %v", plan[0].Fields)
	}
}

func TestPlanNothingWhenInSync(t *testing.T) {
	if plan := Plan(report(t, func(map[string]any) {}), nil); len(plan) != 0 {
		t.Errorf("plan for an object in sync: %+v", plan)
	}
	// only an ignored label drifted: nothing to revert.
	rep := report(t, func(live map[string]any) { _ = unstructured.SetNestedField(live, "hand", "metadata", "labels", "app") })
	if plan := Plan(rep, nil); len(plan) != 0 {
		t.Errorf("plan for an ignored field: %+v", plan)
	}
}

// An earlier revert left latch-enforce owning web's image. This revert
// (env drifted) must keep the image in its body, with git's value: left
// out, the API server would release it and delete it, since the force took
// it from the manager that had it. An owned field git no longer declares is
// released.
func TestPlanKeepsFieldsAnEarlierRevertOwns(t *testing.T) {
	rep := report(t, func(live map[string]any) {
		cs, _, _ := unstructured.NestedSlice(live, "spec", "template", "spec", "containers")
		cs[0].(map[string]any)["env"] = []any{map[string]any{"name": "MODE", "value": "debug"}}
		_ = unstructured.SetNestedSlice(live, cs, "spec", "template", "spec", "containers")
	})
	owned := &fieldpath.Set{}
	if err := owned.FromJSON(strings.NewReader(`{"f:metadata":{"f:name":{},"f:namespace":{}},"f:spec":{"f:template":{"f:spec":{"f:containers":{"k:{\"name\":\"web\"}":{".":{},"f:image":{},"f:name":{}},"k:{\"name\":\"gone\"}":{".":{},"f:image":{},"f:name":{}}}}}}}`)); err != nil {
		t.Fatal(err)
	}
	ref := objectid.Ref{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "shop", Name: "web"}
	plan := Plan(rep, map[objectid.Key]Owned{ref.Key(): {Fields: owned, Declared: obj(t, declared)}})
	if len(plan) != 1 {
		t.Fatalf("plan %+v", plan)
	}
	got, _ := json.Marshal(plan[0].Body)
	want := `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","namespace":"shop"},"spec":{"template":{"spec":{"containers":[{"env":[{"name":"MODE","value":"prod"}],"image":"web:1.0","name":"web"}]}}}}`
	if string(got) != want {
		t.Errorf("body\n got %s\nwant %s", got, want)
	}
	if len(plan[0].Fields) != 1 || len(plan[0].Skipped) != 0 {
		t.Errorf("fields %v skipped %v", plan[0].Fields, plan[0].Skipped)
	}
	// Nothing drifted: owning fields is no reason to apply.
	if plan := Plan(report(t, func(map[string]any) {}), map[objectid.Key]Owned{ref.Key(): {Fields: owned, Declared: obj(t, declared)}}); len(plan) != 0 {
		t.Errorf("plan without drift: %+v", plan)
	}
}

func TestLimitReportsAFight(t *testing.T) {
	ref := objectid.Ref{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "shop", Name: "web"}
	planned := []Revert{{Ref: ref, Fields: []string{".spec.template.spec.containers[name=\"web\"].image"}}}
	l := Limit{Max: 3, Window: 10 * time.Minute}
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	h := History{}
	var verdicts []Verdict
	for i := 0; i < 3; i++ {
		verdicts, h = l.Decide(h, planned, now.Add(time.Duration(i)*time.Minute))
		if !verdicts[0].Allowed || verdicts[0].Fight {
			t.Fatalf("revert %d: %+v", i+1, verdicts[0])
		}
	}
	verdicts, h2 := l.Decide(h, planned, now.Add(3*time.Minute))
	if verdicts[0].Allowed || !verdicts[0].Fight || !strings.Contains(verdicts[0].Reason, "another writer") {
		t.Fatalf("fourth revert in the window: %+v", verdicts[0])
	}
	if len(h2[ref.Key()]) != 3 {
		t.Errorf("a refused revert was recorded: %v", h2)
	}
	// Once the window has passed the oldest reverts, latch tries again.
	verdicts, _ = l.Decide(h2, planned, now.Add(11*time.Minute))
	if !verdicts[0].Allowed {
		t.Errorf("after the window: %+v", verdicts[0])
	}
	if len(h) != 1 || len(h[ref.Key()]) != 3 {
		t.Errorf("Decide modified its input history: %v", h)
	}
}

func TestParseMode(t *testing.T) {
	for _, s := range []string{"off", "dry-run", "on"} {
		if m, err := ParseMode(s); err != nil || string(m) != s {
			t.Errorf("ParseMode(%q) = %q, %v", s, m, err)
		}
	}
	if _, err := ParseMode("yes"); err == nil {
		t.Error("ParseMode(yes) accepted")
	}
}
