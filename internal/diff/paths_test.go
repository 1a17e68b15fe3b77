package diff

import (
	"encoding/json"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/applyconfigurations"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"
	"sigs.k8s.io/structured-merge-diff/v6/value"
	"sigs.k8s.io/yaml"

	"github.com/latch-gitops/latch/internal/manifest"
	"github.com/latch-gitops/latch/internal/objectid"
	"github.com/latch-gitops/latch/internal/policyfile"
)

func yamlObject(t *testing.T, y string) map[string]any {
	t.Helper()
	b, err := yaml.YAMLToJSON([]byte(y))
	if err != nil {
		t.Fatal(err)
	}
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(b); err != nil {
		t.Fatal(err)
	}
	return u.Object
}

// Confirm keeps a drifted field the server's dry-run would change and
// drops one it would leave at the live value.
func TestConfirm(t *testing.T) {
	const git = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: "web:1", workingDir: /srv}]
`
	live := strings.NewReplacer(`"web:1"`, `"web:2"`, "/srv", "/srv/app").Replace(git)
	tc := applyconfigurations.NewTypeConverter(scheme.Scheme)
	gvk := schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}
	rep := Compare(Input{
		Declared: []*manifest.Declared{{Ref: objectid.Ref{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "shop", Name: "web"}, Object: yamlObject(t, git)}},
		Live:     map[schema.GroupVersionKind]KindList{gvk: {Namespaced: true, Objects: []*unstructured.Unstructured{{Object: yamlObject(t, live)}}}},
		Types:    func(schema.GroupVersionKind) TypeConverter { return tc },
		Policy:   policyfile.Default(),
	})
	if rep.Summary.Drifted != 1 || len(rep.Objects[0].Fields) != 2 {
		t.Fatalf("before: %+v %+v", rep.Summary, rep.Objects[0].Fields)
	}
	// The server would set the image back to git's but (say, a mutating
	// webhook) keep the working dir as it runs: only the image is drift.
	merged := yamlObject(t, strings.Replace(live, `"web:2"`, `"web:1"`, 1))
	rep.Confirm(0, merged)
	o := rep.Objects[0]
	if len(o.Fields) != 1 || !strings.HasSuffix(o.Fields[0].Path, ".image") || !strings.Contains(o.Fields[0].Note, "confirmed by a server-side dry-run") {
		t.Errorf("after: %+v", o.Fields)
	}
	if o.Status != StatusDrift || !strings.Contains(o.Note, "1 field(s) the server's dry-run apply showed in sync") || rep.ExitCode() != 1 {
		t.Errorf("after: status %s note %q exit %d", o.Status, o.Note, rep.ExitCode())
	}
	// Both at the live value: nothing drifted.
	rep.Confirm(0, yamlObject(t, live))
	if rep.Objects[0].Status != StatusInSync || rep.Summary.Drifted != 0 || rep.ExitCode() != 0 {
		t.Errorf("all defaults: %+v %+v", rep.Objects[0], rep.Summary)
	}
}

func TestValueAt(t *testing.T) {
	var obj map[string]any
	if err := json.Unmarshal([]byte(`{"spec": {"containers": [{"name": "a", "image": "x"}, {"name": "b", "image": "y"}], "finalizers": ["f1", "f2"]}}`), &obj); err != nil {
		t.Fatal(err)
	}
	key := func(name string) any { return &value.FieldList{{Name: "name", Value: value.NewValueInterface(name)}} }
	for _, tc := range []struct {
		path fieldpath.Path
		want any
		ok   bool
	}{
		{fieldpath.MakePathOrDie("spec", "containers", key("b"), "image"), "y", true},
		{fieldpath.MakePathOrDie("spec", "containers", key("c"), "image"), nil, false},
		{fieldpath.MakePathOrDie("spec", "finalizers", value.NewValueInterface("f2")), "f2", true},
		{fieldpath.MakePathOrDie("spec", "nothing"), nil, false},
	} {
		got, ok := ValueAt(obj, tc.path)
		if ok != tc.ok || got != tc.want {
			t.Errorf("%s: %v %v, want %v %v", tc.path, got, ok, tc.want, tc.ok)
		}
	}
}
