package manifest

import (
	"os"
	"path/filepath"
	"testing"
)

// TestQuotedReplicas is issue 9 item 5: `replicas: "2"` where the API wants
// an integer (the object's own manifest, a kustomize patch or replicas
// entry) is a problem of that object, naming file, line and field, and is
// never written; other objects are still latched. Before, the digits inside
// the quotes were edited, and the API rejected the manifest. A marker in
// Helm values may still point at a quoted value: the chart decides its type.
func TestQuotedReplicas(t *testing.T) {
	root := t.TempDir()
	const quoted = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\nspec:\n  replicas: \"2\"\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: api, namespace: shop}\nspec:\n  replicas: 3\n"
	writeFile(t, root, "deploy.yaml", quoted)
	writeFile(t, root, "k/kustomization.yaml", "resources: [d.yaml]\nreplicas:\n  - name: counted\n    count: '4'\npatches:\n  - target: {kind: Deployment, name: patched}\n    patch: |\n      - op: replace\n        path: /spec/replicas\n        value: \"5\"\n")
	writeFile(t, root, "k/d.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: counted, namespace: shop}\nspec: {replicas: 1}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: patched, namespace: shop}\nspec: {replicas: 1}\n")
	writeFile(t, root, "values.yaml", "worker:\n  replicas: \"2\" # {\"$latch\": \"apps/v1/StatefulSet/shop/worker\"}\n")

	idx, err := BuildIndex(root, IndexOptions{})
	must(t, err)
	const wants = "a string where the API wants an integer"
	checkLookups(t, idx, []wantLoc{
		{ref: "apps/v1/Deployment/shop/web", wantErr: ErrUnsupported, errHas: []string{"deploy.yaml:5:13: spec.replicas: \"2\" is " + wants}},
		{ref: "apps/v1/Deployment/shop/api", file: "deploy.yaml", line: 11, value: "3", via: ViaManifest},
		{ref: "apps/v1/Deployment/shop/counted", wantErr: ErrUnsupported, errHas: []string{"k/kustomization.yaml:4:12: spec.replicas: \"4\" is " + wants}},
		{ref: "apps/v1/Deployment/shop/patched", wantErr: ErrUnsupported, errHas: []string{"k/kustomization.yaml:10:16: spec.replicas: \"5\" is " + wants}},
		{ref: "apps/v1/StatefulSet/shop/worker", file: "values.yaml", line: 2, value: "2", via: ViaMarker},
	})

	api, err := idx.Lookup(mustRef(t, "apps/v1/Deployment/shop/api"), "spec.replicas")
	must(t, err)
	if _, err := ApplyEdits(root, []Edit{{Loc: api, NewValue: 7}}); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(root, "deploy.yaml"))
	must(t, err)
	if want := quoted[:len(quoted)-2] + "7\n"; string(got) != want {
		t.Errorf("deploy.yaml after latching api:\n%s\nwant web's quoted value untouched:\n%s", got, want)
	}
}
