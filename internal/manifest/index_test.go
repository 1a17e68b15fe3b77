package manifest

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type wantLoc struct {
	ref     string
	file    string
	line    int
	value   string
	via     string
	wantErr error
	errHas  []string // substrings the error must name (places, reasons)
}

func checkLookups(t *testing.T, idx *Index, cases []wantLoc) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.ref, func(t *testing.T) {
			loc, err := idx.Lookup(mustRef(t, tc.ref), "spec.replicas")
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				for _, s := range tc.errHas {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q does not mention %q", err, s)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if loc.File != tc.file || loc.Line != tc.line || loc.Value != tc.value || loc.Via != tc.via {
				t.Fatalf("got %s value %q via %s, want %s:%d value %q via %s", loc, loc.Value, loc.Via, tc.file, tc.line, tc.value, tc.via)
			}
		})
	}
}

func buildFixture(t *testing.T, path string) *Index {
	t.Helper()
	idx, err := BuildIndex(filepath.Join("testdata", "repos"), IndexOptions{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	return idx
}

func TestIndexPlain(t *testing.T) {
	idx := buildFixture(t, "plain")
	if len(idx.Problems) > 0 {
		t.Fatalf("problems: %v", idx.Problems)
	}
	checkLookups(t, idx, []wantLoc{
		{ref: "apps/v1/Deployment/shop/web", file: "plain/apps/shop.yaml", line: 15, value: "3", via: ViaManifest},
		// declared without a namespace: matches the namespace it is applied to
		{ref: "apps/v1/Deployment/shop/api", file: "plain/apps/shop.yaml", line: 33, value: "2", via: ViaManifest},
		{ref: "apps/v1/Deployment/shop/cart", file: "plain/lists/list.yaml", line: 7, value: "4", via: ViaManifest},
		{ref: "apps/v1/Deployment/shop/search", file: "plain/lists/list.yaml", line: 12, value: "6", via: ViaManifest},
		{ref: "apps/v1/StatefulSet/jobs/worker", file: "plain/nested/deep/a/b/worker.yml", line: 7, value: "12", via: ViaManifest},
		// version is not part of identity
		{ref: "apps/v1beta1/StatefulSet/jobs/worker", file: "plain/nested/deep/a/b/worker.yml", line: 7, value: "12", via: ViaManifest},
		{ref: "apps/v1/Deployment/shop/ghost", wantErr: ErrNotFound},
		{ref: "apps/v1/Deployment/other/web", wantErr: ErrNotFound},
		{ref: "v1/Service/shop/web", wantErr: ErrNotFound, errHas: []string{"plain/apps/shop.yaml:1", "without the field"}},
	})
	if min, max, ok := idx.HPAFor(mustRef(t, "apps/v1/Deployment/shop/web")); !ok || min != 2 || max != 10 {
		t.Errorf("HPAFor(web) = %d, %d, %v; want 2, 10, true", min, max, ok)
	}
	if _, _, ok := idx.HPAFor(mustRef(t, "apps/v1/Deployment/shop/cart")); ok {
		t.Errorf("HPAFor(cart) found an HPA; none targets it")
	}
}

func TestIndexKustomize(t *testing.T) {
	idx := buildFixture(t, "kustomize")
	if len(idx.Problems) > 0 {
		t.Fatalf("problems: %v", idx.Problems)
	}
	checkLookups(t, idx, []wantLoc{
		// replicas: in the overlay decides over the base
		{ref: "apps/v1/Deployment/shop-prod/web", file: "kustomize/overlays/prod/kustomization.yaml", line: 6, value: "5", via: ViaKustomizeReplicas},
		// strategic-merge patch file
		{ref: "apps/v1/Deployment/shop-prod/api", file: "kustomize/overlays/prod/api-replicas.yaml", line: 6, value: "7", via: ViaKustomizePatch},
		// inline JSON 6902 patch in a literal block, with namePrefix
		{ref: "apps/v1/Deployment/shop-staging/staging-api", file: "kustomize/overlays/staging/kustomization.yaml", line: 14, value: "2", via: ViaKustomizePatch},
		// patches: with a strategic-merge file, patchesJson6902 with a file
		{ref: "apps/v1/Deployment/shop-eu/web", file: "kustomize/overlays/eu/web-replicas.yaml", line: 6, value: "4", via: ViaKustomizePatch},
		{ref: "apps/v1/Deployment/shop-eu/api", file: "kustomize/overlays/eu/api-json6902.yaml", line: 3, value: "8", via: ViaKustomizePatch},
		// only dev renders base's api replicas unpatched
		{ref: "apps/v1/Deployment/shop-dev/api", file: "kustomize/base/deployment.yaml", line: 15, value: "1", via: ViaManifest},
		// base's web replicas decide both dev and staging: editing one would move the other
		{ref: "apps/v1/Deployment/shop-dev/web", wantErr: ErrShared, errHas: []string{"kustomize/base/deployment.yaml:7", "shop-staging/staging-web"}},
		{ref: "apps/v1/Deployment/shop-staging/staging-web", wantErr: ErrShared},
		// the base alone is not a root: no namespace-less objects
		{ref: "apps/v1/Deployment/shop/web", wantErr: ErrNotFound},
		{ref: "apps/v1/Deployment/shop/unused", wantErr: ErrNotFound},
		{ref: "apps/v1/Deployment/shop-staging/web", wantErr: ErrNotFound},
	})
	for _, tc := range []struct {
		ref      string
		min, max int64
		ok       bool
	}{
		{"apps/v1/Deployment/shop-prod/web", 3, 30, true},
		{"apps/v1/Deployment/shop-staging/staging-web", 3, 30, true}, // target followed the prefix
		{"apps/v1/Deployment/shop-staging/web", 0, 0, false},
		{"apps/v1/Deployment/shop-prod/api", 0, 0, false},
	} {
		min, max, ok := idx.HPAFor(mustRef(t, tc.ref))
		if min != tc.min || max != tc.max || ok != tc.ok {
			t.Errorf("HPAFor(%s) = %d, %d, %v; want %d, %d, %v", tc.ref, min, max, ok, tc.min, tc.max, tc.ok)
		}
	}
}

func TestIndexKustomizeOverlayPickedWithPath(t *testing.T) {
	// With --path at one overlay, the base outside the path is still read,
	// and the base's web replicas decide only this rendering.
	idx := buildFixture(t, "kustomize/overlays/dev")
	checkLookups(t, idx, []wantLoc{
		{ref: "apps/v1/Deployment/shop-dev/web", file: "kustomize/base/deployment.yaml", line: 7, value: "1", via: ViaManifest},
	})
}

func TestIndexMarkers(t *testing.T) {
	idx := buildFixture(t, "helm")
	checkLookups(t, idx, []wantLoc{
		{ref: "apps/v1/Deployment/shop/web", file: "helm/charts/shop/values.yaml", line: 2, value: "3", via: ViaMarker},
		{ref: "apps/v1/StatefulSet/shop/worker", file: "helm/charts/shop/values.yaml", line: 4, value: "2", via: ViaMarker},
		{ref: "apps/v1/Deployment/shop/broken", wantErr: ErrNotFound},
	})
	want := map[int]string{6: "malformed latch marker", 8: "not a plain non-negative integer", 10: "object ref"}
	if len(idx.Problems) != len(want) {
		t.Fatalf("problems = %v, want one each on values.yaml lines 6, 8, 10 (templates are not parsed)", idx.Problems)
	}
	for _, p := range idx.Problems {
		if p.File != "helm/charts/shop/values.yaml" || !strings.Contains(p.Message, want[p.Line]) {
			t.Errorf("unexpected problem %v", p)
		}
	}
}

func TestIndexDuplicates(t *testing.T) {
	idx := buildFixture(t, "dup")
	checkLookups(t, idx, []wantLoc{
		{ref: "apps/v1/Deployment/shop/web", wantErr: ErrDuplicate, errHas: []string{"dup/a.yaml:1", "dup/b/b.yaml:1"}},
		{ref: "apps/v1/Deployment/shop/api", wantErr: ErrDuplicate, errHas: []string{"dup/marker/api.yaml:5", "dup/marker/values.yaml:1"}},
		// a marker on the manifest's own value confirms it
		{ref: "apps/v1/Deployment/shop/confirmed", file: "dup/marker/api.yaml", line: 11, value: "3", via: ViaManifest},
	})
}

func TestIndexSafety(t *testing.T) {
	const deploy = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: %s, namespace: shop}\nspec: {replicas: 3}\n"
	outside := t.TempDir()
	writeFile(t, outside, "secret.yaml", strings.ReplaceAll(deploy, "%s", "outside"))
	writeFile(t, outside, "base/kustomization.yaml", "resources: [d.yaml]\n")
	writeFile(t, outside, "base/d.yaml", strings.ReplaceAll(deploy, "%s", "outbase"))

	root := t.TempDir()
	writeFile(t, root, "good.yaml", strings.ReplaceAll(deploy, "%s", "good"))
	writeFile(t, root, "bad.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: bad\n   namespace: shop\nspec: [\n")
	writeFile(t, root, "big.yaml", strings.ReplaceAll(deploy, "%s", "big")+"# "+strings.Repeat("x", 3000)+"\n")
	writeFile(t, root, "binary.yaml", "kind: Deployment\x00\x01\x02")
	writeFile(t, root, "real/target.yaml", strings.ReplaceAll(deploy, "%s", "linked"))
	must(t, os.Symlink(filepath.Join(outside, "secret.yaml"), filepath.Join(root, "escape.yaml")))
	must(t, os.Symlink(filepath.Join(root, "real", "target.yaml"), filepath.Join(root, "inside-link.yaml")))
	must(t, os.Symlink(outside, filepath.Join(root, "outdir")))
	rel, err := filepath.Rel(filepath.Join(root, "k"), filepath.Join(outside, "base"))
	must(t, err)
	writeFile(t, root, "k/kustomization.yaml", "resources:\n  - "+filepath.ToSlash(rel)+"\n  - https://github.com/example/repo//base?ref=v1\n  - ../outdir/base\n  - d.yaml\n")
	writeFile(t, root, "k/d.yaml", strings.ReplaceAll(deploy, "%s", "kgood"))

	idx, err := BuildIndex(root, IndexOptions{MaxFileBytes: 1000})
	must(t, err)
	checkLookups(t, idx, []wantLoc{
		{ref: "apps/v1/Deployment/shop/good", file: "good.yaml", line: 4, value: "3", via: ViaManifest},
		{ref: "apps/v1/Deployment/shop/kgood", file: "k/d.yaml", line: 4, value: "3", via: ViaManifest},
		{ref: "apps/v1/Deployment/shop/linked", file: "real/target.yaml", line: 4, value: "3", via: ViaManifest},
		{ref: "apps/v1/Deployment/shop/outside", wantErr: ErrNotFound},
		{ref: "apps/v1/Deployment/shop/outbase", wantErr: ErrNotFound},
		{ref: "apps/v1/Deployment/shop/big", wantErr: ErrNotFound},
		{ref: "apps/v1/Deployment/shop/bad", wantErr: ErrNotFound},
	})
	wantProblems := []struct{ file, has string }{
		{"bad.yaml", "malformed YAML"},
		{"big.yaml", "over the 1000-byte limit"},
		{"binary.yaml", "binary"},
		{"escape.yaml", "refused"},
		{"k/kustomization.yaml", "escapes the checkout"},
		{"k/kustomization.yaml", "remote resource"},
		{"k/kustomization.yaml", "symlink leads outside"},
		{"outdir", "refused"},
	}
	for _, w := range wantProblems {
		found := false
		for _, p := range idx.Problems {
			found = found || p.File == w.file && strings.Contains(p.Message, w.has)
		}
		if !found {
			t.Errorf("no problem for %s mentioning %q in %v", w.file, w.has, idx.Problems)
		}
	}
	for _, p := range idx.Problems {
		if p.File == "bad.yaml" && p.Line != 5 {
			t.Errorf("malformed file reported at line %d, want 5: %v", p.Line, p)
		}
	}
	if len(idx.Problems) != len(wantProblems) {
		t.Errorf("got %d problems, want %d: %v", len(idx.Problems), len(wantProblems), idx.Problems)
	}

	if _, err := BuildIndex(root, IndexOptions{Path: "../" + filepath.Base(outside)}); err == nil {
		t.Errorf("--path outside the checkout accepted")
	}
	if _, err := BuildIndex(root, IndexOptions{Path: "outdir"}); err == nil {
		t.Errorf("--path through a symlink leaving the checkout accepted")
	}
}

func TestKustomizeCycleAndUnsupported(t *testing.T) {
	root := t.TempDir()
	writeFile(t, root, "a/kustomization.yaml", "resources: [../b]\n")
	writeFile(t, root, "b/kustomization.yaml", "resources: [../a]\n")
	writeFile(t, root, "c/kustomization.yaml", "resources: [d.yaml]\npatches:\n  - target: {kind: Deployment, labelSelector: \"tier in (web)\"}\n    patch: |\n      - op: replace\n        path: /spec/replicas\n        value: 9\nhelmCharts:\n  - name: x\n")
	writeFile(t, root, "c/d.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\nspec: {replicas: 3}\n")
	writeFile(t, root, "quoted/kustomization.yaml", "resources: [d.yaml]\nnamespace: q\npatches:\n  - target: {kind: Deployment}\n    patch: \"[{op: replace, path: /spec/replicas, value: 9}]\"\n")
	writeFile(t, root, "quoted/d.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec: {replicas: 3}\n")
	idx, err := BuildIndex(root, IndexOptions{})
	must(t, err)
	checkLookups(t, idx, []wantLoc{
		{ref: "apps/v1/Deployment/shop/web", wantErr: ErrUnsupported, errHas: []string{"tier in (web)"}},
		{ref: "apps/v1/Deployment/q/web", wantErr: ErrUnsupported, errHas: []string{"literal block"}},
	})
	var cycle, helm bool
	for _, p := range idx.Problems {
		cycle = cycle || strings.Contains(p.Message, "cycle")
		helm = helm || p.File == "c/kustomization.yaml" && strings.Contains(p.Message, "helmCharts")
	}
	if !cycle || !helm {
		t.Errorf("problems %v: want a kustomization cycle and unevaluated helmCharts reported", idx.Problems)
	}
}

func TestEditKustomizeInlinePatch(t *testing.T) {
	// The index's location inside an inline patch must be the file's
	// bytes: the edit changes the kustomization and still parses.
	root := t.TempDir()
	writeFile(t, root, "base/kustomization.yaml", "resources: [d.yaml]\n")
	writeFile(t, root, "base/d.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec: {replicas: 1}\n")
	kust := "resources:\r\n  - ../base\r\nnamespace: shop\r\npatches:\r\n  - target: {kind: Deployment, name: web}\r\n    patch: |-\r\n      - op: replace\r\n        path: /spec/replicas\r\n        value: 3   # latched\r\n"
	writeFile(t, root, "prod/kustomization.yaml", kust)
	idx, err := BuildIndex(root, IndexOptions{})
	must(t, err)
	loc, err := idx.Lookup(mustRef(t, "apps/v1/Deployment/shop/web"), "spec.replicas")
	must(t, err)
	if _, err := ApplyEdits(root, []Edit{{Loc: loc, NewValue: 40}}); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(filepath.Join(root, "prod", "kustomization.yaml"))
	if want := strings.Replace(kust, "value: 3 ", "value: 40 ", 1); string(got) != want {
		t.Fatalf("got %q\nwant %q", got, want)
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestKustomizeComponentsAndFluxKustomization(t *testing.T) {
	root := t.TempDir()
	// A Flux Kustomization object saved as kustomization.yaml is not a
	// kustomize config: the files beside it are plain manifests.
	writeFile(t, root, "flux/kustomization.yaml", "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: apps, namespace: flux-system}\nspec: {path: ./apps}\n")
	writeFile(t, root, "flux/app.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: plain, namespace: shop}\nspec: {replicas: 2}\n")
	// A component's patch decides over the base it is applied to.
	writeFile(t, root, "base/kustomization.yaml", "resources: [d.yaml]\n")
	writeFile(t, root, "base/d.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec: {replicas: 1}\n")
	writeFile(t, root, "components/ha/kustomization.yaml", "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\npatches:\n  - path: ha.yaml\n")
	writeFile(t, root, "components/ha/ha.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  replicas: 6\n")
	writeFile(t, root, "prod/kustomization.yaml", "resources: [../base]\ncomponents: [../components/ha]\nnamespace: shop\n")
	idx, err := BuildIndex(root, IndexOptions{})
	must(t, err)
	if len(idx.Problems) > 0 {
		t.Fatalf("problems: %v", idx.Problems)
	}
	checkLookups(t, idx, []wantLoc{
		{ref: "apps/v1/Deployment/shop/plain", file: "flux/app.yaml", line: 4, value: "2", via: ViaManifest},
		{ref: "apps/v1/Deployment/shop/web", file: "components/ha/ha.yaml", line: 5, value: "6", via: ViaKustomizePatch},
	})
}
