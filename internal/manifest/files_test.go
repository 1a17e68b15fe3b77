package manifest

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/latch-gitops/latch/internal/objectid"
)

func TestIndexFiles(t *testing.T) {
	dir := t.TempDir()
	for rel, content := range map[string]string{
		"apps/web.yaml":                    "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\nspec: {replicas: 3}\n",
		"base/api/deployment.yaml":         "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: api}\nspec: {replicas: 1}\n",
		"base/api/kustomization.yaml":      "resources: [deployment.yaml]\n",
		"clusters/prod/kustomization.yaml": "namespace: shop\nresources: [../../base/api]\n",
	} {
		p := filepath.Join(dir, rel)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	idx, err := BuildIndex(dir, IndexOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ref := func(name string) objectid.Ref {
		return objectid.Ref{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "shop", Name: name}
	}
	for _, tc := range []struct {
		name string
		want []string
	}{
		{"web", []string{"apps/web.yaml"}},
		{"api", []string{"base/api/deployment.yaml", "clusters/prod/kustomization.yaml"}},
		{"none", nil},
	} {
		if got := idx.Files(ref(tc.name)); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Files(%s) = %q, want %q", tc.name, got, tc.want)
		}
	}
}
