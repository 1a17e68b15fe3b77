package manifest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// renderView is what the golden files hold: every object, whole, with its
// origin and the positions of a few fields.
type renderView struct {
	Ref        string         `json:"ref"`
	Origin     string         `json:"origin"`
	RenderedBy string         `json:"renderedBy,omitempty"`
	Partial    bool           `json:"partial,omitempty"`
	Object     map[string]any `json:"object"`
	Replicas   string         `json:"replicasAt,omitempty"`
}

func TestRenderGolden(t *testing.T) {
	for _, dir := range []string{"plain", "kustomize", "helm", "dup"} {
		t.Run(dir, func(t *testing.T) {
			r, err := Render(filepath.Join("testdata", "repos"), RenderOptions{Path: dir})
			must(t, err)
			var views []renderView
			for _, d := range r.Objects {
				v := renderView{Ref: d.Ref.String(), Origin: d.Origin.String(), RenderedBy: d.RenderedBy, Partial: d.Partial, Object: d.Object}
				if _, ok := valueAt(d.Object, []any{"spec", "replicas"}); ok {
					v.Replicas = d.PositionOf("spec.replicas").String()
				}
				views = append(views, v)
			}
			got, err := json.MarshalIndent(struct {
				Objects  []renderView `json:"objects"`
				Problems []Problem    `json:"problems"`
			}{views, r.Problems}, "", "  ")
			must(t, err)
			golden := filepath.Join("testdata", "render", dir+".json")
			if *update {
				must(t, os.MkdirAll(filepath.Dir(golden), 0o755))
				must(t, os.WriteFile(golden, append(got, '\n'), 0o644))
			}
			want, err := os.ReadFile(golden)
			must(t, err)
			if strings.TrimSpace(string(want)) != strings.TrimSpace(string(got)) {
				t.Errorf("render of %s differs from %s (rerun with -update and review):\n%s", dir, golden, got)
			}
		})
	}
}

// TestRenderKustomize checks what kustomize itself applies, and that
// positions name the file that wrote each value.
func TestRenderKustomize(t *testing.T) {
	root := t.TempDir()
	writeFile(t, root, "base/kustomization.yaml", "resources: [deploy.yaml, cm.yaml]\n")
	writeFile(t, root, "base/deploy.yaml", `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  template:
    spec:
      containers:
        - name: web
          image: web:1
          resources: {limits: {cpu: 1000m}}
        - name: side
          image: side:1
      volumes:
        - name: cfg
          configMap: {name: settings}
`)
	writeFile(t, root, "base/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {a: \"1\"}\n")
	writeFile(t, root, "prod/kustomization.yaml", `resources: [../base]
namespace: shop
namePrefix: prod-
replicas: [{name: web, count: 5}]
patches:
  - target: {kind: Deployment, name: web}
    patch: |
      - op: replace
        path: /spec/template/spec/containers/1/image
        value: side:2
`)
	r, err := Render(root, RenderOptions{Path: "prod"})
	must(t, err)
	if len(r.Problems) > 0 {
		t.Fatalf("problems: %v", r.Problems)
	}
	byName := map[string]*Declared{}
	for _, d := range r.Objects {
		byName[d.Ref.String()] = d
	}
	dep := byName["apps/v1/Deployment/shop/prod-web"]
	cm := byName["v1/ConfigMap/shop/prod-settings"]
	if dep == nil || cm == nil || len(r.Objects) != 2 {
		t.Fatalf("objects = %v", keys(byName))
	}
	checks := []struct {
		parts []any
		want  any
		at    string
	}{
		{[]any{"spec", "replicas"}, int64(5), "prod/kustomization.yaml"},
		{[]any{"spec", "template", "spec", "containers", 0, "image"}, "web:1", "base/deploy.yaml:11:11"},
		{[]any{"spec", "template", "spec", "containers", 1, "image"}, "side:2", "prod/kustomization.yaml"},
		{[]any{"spec", "template", "spec", "containers", 0, "resources", "limits", "cpu"}, "1000m", "base/deploy.yaml:12:32"},
		// kustomize's name references: the volume follows the renamed ConfigMap.
		{[]any{"spec", "template", "spec", "volumes", 0, "configMap", "name"}, "prod-settings", "prod/kustomization.yaml"},
		{[]any{"metadata", "namespace"}, "shop", "prod/kustomization.yaml"},
	}
	for _, c := range checks {
		got, ok := valueAt(dep.Object, c.parts)
		if !ok || got != c.want {
			t.Errorf("%s = %v (%T), want %v", FieldKey(c.parts...), got, got, c.want)
		}
		pos := dep.PositionOf(FieldKey(c.parts...))
		if c.at == "prod/kustomization.yaml" {
			// a transformer wrote it: no source position may claim it.
			if pos.String() != c.at {
				t.Errorf("%s at %s, want %s", FieldKey(c.parts...), pos, c.at)
			}
			if p, ok := dep.Fields[FieldKey(c.parts...)]; ok {
				t.Errorf("%s placed at %s, but that file does not hold the rendered value", FieldKey(c.parts...), p)
			}
			continue
		}
		if pos.String() != c.at {
			t.Errorf("%s at %s, want %s", FieldKey(c.parts...), pos, c.at)
		}
	}
	if dep.RenderedBy != "prod/kustomization.yaml" || dep.Origin.String() != "base/deploy.yaml:1:1" {
		t.Errorf("renderedBy %q origin %s", dep.RenderedBy, dep.Origin)
	}
	if _, ok := valueAt(dep.Object, []any{"metadata", "annotations"}); ok {
		t.Errorf("build annotations leaked into the object: %v", dep.Object["metadata"])
	}
}

func TestRenderSafetyAndProblems(t *testing.T) {
	outside := t.TempDir()
	writeFile(t, outside, "secret.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: secret}\ndata: {password: hunter2}\n")
	root := t.TempDir()
	writeFile(t, root, "ok.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ok, namespace: shop}\n")
	writeFile(t, root, "bad.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bad\n   namespace: shop\n")
	must(t, os.Symlink(filepath.Join(outside, "secret.yaml"), filepath.Join(root, "secret-link.yaml")))
	writeFile(t, root, "k/kustomization.yaml", "resources: [../secret-link.yaml]\n")
	writeFile(t, root, "big/kustomization.yaml", "resources: [big.yaml]\n")
	writeFile(t, root, "big/big.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: big}\n# "+strings.Repeat("x", 3000)+"\n")

	r, err := Render(root, RenderOptions{MaxFileBytes: 1000})
	must(t, err)
	if len(r.Objects) != 1 || r.Objects[0].Ref.Name != "ok" {
		t.Errorf("objects: %v", r.Objects)
	}
	want := map[string]string{"bad.yaml": "malformed YAML", "k/kustomization.yaml": "kustomize build", "big/kustomization.yaml": "over the 1000-byte limit", "secret-link.yaml": "refused"}
	for file, has := range want {
		found := false
		for _, p := range r.Problems {
			found = found || p.File == file && strings.Contains(p.Message, has)
		}
		if !found {
			t.Errorf("no problem for %s mentioning %q in %v", file, has, r.Problems)
		}
	}
	for _, p := range r.Problems {
		if strings.Contains(p.Message, "hunter2") || strings.Contains(p.Message, root) {
			t.Errorf("problem echoes content or absolute path: %v", p)
		}
	}
}

func TestFieldKey(t *testing.T) {
	cases := []struct {
		parts  []any
		want   string
		parent string
	}{
		{[]any{"spec", "replicas"}, "spec.replicas", "spec"},
		{[]any{"spec", "ports", 0, "port"}, "spec.ports[0].port", "spec.ports[0]"},
		{[]any{"spec", "ports", 3}, "spec.ports[3]", "spec.ports"},
		{[]any{"metadata", "labels", "app.kubernetes.io/name"}, `metadata.labels["app.kubernetes.io/name"]`, "metadata.labels"},
		{[]any{"metadata", "annotations", `a"[b]`, "x"}, `metadata.annotations["a\"[b]"].x`, `metadata.annotations["a\"[b]"]`},
		{[]any{"data", ""}, `data[""]`, "data"},
		{[]any{"kind"}, "kind", ""},
	}
	for _, c := range cases {
		if got := FieldKey(c.parts...); got != c.want {
			t.Errorf("FieldKey(%v) = %s, want %s", c.parts, got, c.want)
		}
		if got := parentKey(c.want); got != c.parent {
			t.Errorf("parentKey(%s) = %q, want %q", c.want, got, c.parent)
		}
	}
}

func keys(m map[string]*Declared) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
