package samplerepo

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/latch-gitops/latch/internal/manifest"
	"github.com/latch-gitops/latch/internal/objectid"
)

// The sample must stay a repository latch can latch: each workload's
// replicas found where its layout says, at the seeded value, with the line
// helpers matching the bytes latch will rewrite.
func TestSampleIsLatchable(t *testing.T) {
	for _, o := range []Options{{}, {Cluster: "prod", WebMaxReplicas: 5000, DwellDown: "3s", Readme: "infra\n"}} {
		t.Run(o.cluster(), func(t *testing.T) {
			root := t.TempDir()
			for rel, content := range Files(o) {
				path := filepath.Join(root, filepath.FromSlash(rel))
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			idx, err := manifest.BuildIndex(root, manifest.IndexOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if len(idx.Problems) != 0 {
				t.Fatalf("problems: %v", idx.Problems)
			}
			want := map[string]struct {
				file, via, line string
			}{
				"web":    {o.WebPath(), manifest.ViaManifest, ReplicasLine(3)},
				"api":    {o.APIOverlayPath(), manifest.ViaKustomizeReplicas, APICountLine(4) + "\n"},
				"worker": {WorkerValuesPath, manifest.ViaMarker, WorkerValuesLine(2) + "\n"},
			}
			for _, w := range o.Workloads() {
				ref := objectid.Ref{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: Namespace, Name: w.Name}
				loc, err := idx.Lookup(ref, objectid.ReplicasField)
				if err != nil {
					t.Fatalf("%s: %v", w.Name, err)
				}
				exp := want[w.Name]
				if loc.File != exp.file || loc.Via != exp.via || loc.Value != itoa(w.Replicas) {
					t.Errorf("%s at %+v, want %s via %s value %d", w.Name, loc, exp.file, exp.via, w.Replicas)
				}
				if !strings.Contains(Files(o)[exp.file], exp.line) {
					t.Errorf("%s: %q is not a line of %s", w.Name, exp.line, exp.file)
				}
				if lo, hi, ok := idx.HPAFor(ref); ok && (lo != int64(w.HPAMin) || hi != int64(w.HPAMax)) {
					t.Errorf("%s: git HPA %d..%d, Workloads says %d..%d", w.Name, lo, hi, w.HPAMin, w.HPAMax)
				}
			}
			if _, ok := Files(o)["latch.yaml"]; ok != (o.DwellDown != "") {
				t.Errorf("latch.yaml present %v with DwellDown %q", ok, o.DwellDown)
			}
		})
	}
}

func itoa(v int32) string { return strconv.Itoa(int(v)) }
