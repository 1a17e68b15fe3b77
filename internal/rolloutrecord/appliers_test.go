package rolloutrecord_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"

	"github.com/latch-gitops/latch/internal/objectid"
	"github.com/latch-gitops/latch/internal/rollout"
	"github.com/latch-gitops/latch/internal/rolloutrecord"
	"github.com/latch-gitops/latch/internal/samplerepo"
	"github.com/latch-gitops/latch/internal/testenv"
)

// sampleWithRecords writes the sample repository into a fresh folder and,
// when records is set, the rollout records latch writes for web (healthy,
// past the threshold) and api (failed at 0 %).
func sampleWithRecords(t *testing.T, records bool) string {
	t.Helper()
	dir := t.TempDir()
	for rel, content := range samplerepo.Files(samplerepo.Options{Cluster: "prod"}) {
		path := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if !records {
		return dir
	}
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	for _, r := range []rolloutrecord.Record{
		{Object: objectid.Ref{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: samplerepo.Namespace, Name: "web"},
			Current:   rolloutrecord.Version{Revision: "6d5f8c7b9", Commit: strings.Repeat("1a", 20), Images: map[string]string{"web": "example.com/web:2"}},
			LastGood:  rolloutrecord.Version{Revision: "5c4b3a291", Commit: strings.Repeat("0b", 20), Images: map[string]string{"web": "example.com/web:1"}},
			Milestone: 75, Percent: 90, Health: rollout.Healthy, Reason: "9 of 10 available", Updated: now},
		{Object: objectid.Ref{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: samplerepo.Namespace, Name: "api"},
			Current:   rolloutrecord.Version{Revision: "7e6d5c4b3", Commit: strings.Repeat("2c", 20), Images: map[string]string{"api": "example.com/api:2"}},
			LastGood:  rolloutrecord.Version{Revision: "4b3a29180", Commit: strings.Repeat("0d", 20), Images: map[string]string{"api": "example.com/api:1"}},
			Milestone: 0, Percent: 0, Health: rollout.Failed, Reason: "progress deadline exceeded", Updated: now},
	} {
		if _, err := rolloutrecord.Write(dir, r); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestRecordsApplyWithKubectl is issue 13's story (d), kubectl half: the
// repository's plain manifests with latch's records beside them apply with
// `kubectl apply -R --dry-run=server` against a real API server with zero
// errors and exactly the objects of the repository without records.
// (kubectl reads only .yaml, .yml and .json; the kustomization and the Helm
// values are not plain manifests, so the folder kubectl gets is the one a
// directory applier would: the plain manifests' cluster folder, and the
// records at the root of the repository, walked with -R.)
func TestRecordsApplyWithKubectl(t *testing.T) {
	cp := testenv.StartControlPlane(t) // skips loudly without kubectl; fails under CI=true
	kubectl := filepath.Join(testenv.TestBinDir(), "kubectl")
	run := func(args ...string) (string, error) {
		t.Helper()
		cmd := exec.CommandContext(testenv.Context(t), kubectl, append([]string{"--kubeconfig", cp.Kubeconfig}, args...)...)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		if err != nil || errb.Len() > 0 {
			return out.String(), fmt.Errorf("kubectl %s: %v: %s", strings.Join(args, " "), err, errb.String())
		}
		return out.String(), nil
	}
	if _, err := run("create", "namespace", samplerepo.Namespace); err != nil {
		t.Fatal(err)
	}
	applied := func(records bool) []string {
		t.Helper()
		dir := sampleWithRecords(t, records)
		// What a directory app is pointed at: the plain manifests (the api
		// kustomization is not one), with the .latch folder moved under
		// them so that -R walks the records too.
		root := filepath.Join(dir, "clusters", "prod")
		if err := os.RemoveAll(filepath.Join(root, "api")); err != nil {
			t.Fatal(err)
		}
		if records {
			if err := os.Rename(filepath.Join(dir, ".latch"), filepath.Join(root, ".latch")); err != nil {
				t.Fatal(err)
			}
		}
		out, err := run("apply", "-R", "--dry-run=server", "-f", root, "-o", "name")
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Fields(out)
		slices.Sort(lines)
		return lines
	}
	without, with := applied(false), applied(true)
	t.Logf("kubectl apply -R --dry-run=server: %v", with)
	if len(without) == 0 || !slices.Equal(with, without) {
		t.Fatalf("with records kubectl applies %v, without %v: want the same, non-empty", with, without)
	}
}

// TestRecordsRenderWithKustomize is story (d), kustomize half: Flux's
// generated kustomization (every folder with a kustomization.yaml as a
// resource, elsewhere every .yaml, .yml and .json file holding an object)
// over the repository with records renders with krusty to exactly the
// objects it renders without them, and so does the api overlay.
func TestRecordsRenderWithKustomize(t *testing.T) {
	render := func(records bool) []string {
		t.Helper()
		dir := sampleWithRecords(t, records)
		if err := os.WriteFile(filepath.Join(dir, "kustomization.yaml"), generatedKustomization(t, dir), 0o644); err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, k := range []string{dir, filepath.Join(dir, "clusters", "prod", "api")} {
			res, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), k)
			if err != nil {
				t.Fatalf("kustomize build %s (records %v): %v", k, records, err)
			}
			for _, r := range res.Resources() {
				ids = append(ids, k[len(dir):]+": "+r.CurId().String())
			}
		}
		slices.Sort(ids)
		return ids
	}
	without, with := render(false), render(true)
	t.Logf("kustomize renders: %v", with)
	if len(without) < 4 || !slices.Equal(with, without) {
		t.Fatalf("with records kustomize renders %v, without %v: want the same, at least the 4 sample objects", with, without)
	}
}

// generatedKustomization is what Flux's kustomize-controller generates for
// a folder without a kustomization.yaml.
func generatedKustomization(t *testing.T, root string) []byte {
	t.Helper()
	var resources []string
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() {
			if rel == "." {
				return nil
			}
			if _, err := os.Stat(filepath.Join(path, "kustomization.yaml")); err == nil {
				resources = append(resources, filepath.ToSlash(rel))
				return filepath.SkipDir
			}
			return nil
		}
		switch filepath.Ext(path) {
		case ".yaml", ".yml", ".json":
		default:
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		var obj struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
		}
		first, _, _ := strings.Cut(string(data), "\n---")
		if yaml.Unmarshal([]byte(first), &obj) == nil && obj.APIVersion != "" && obj.Kind != "" {
			resources = append(resources, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	out, err := yaml.Marshal(map[string]any{"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization", "resources": resources})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
