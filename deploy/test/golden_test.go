package deploytest

import (
	"flag"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"helm.sh/helm/v4/pkg/chart/common"
	chartutil "helm.sh/helm/v4/pkg/chart/common/util"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"helm.sh/helm/v4/pkg/engine"
	"sigs.k8s.io/kustomize/api/krusty"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// TestGoldenRenderings keeps what a default install applies in testdata/, so
// a change to the chart or the base shows up as a diff of the manifests a
// reviewer can read, not only as a template change.
func TestGoldenRenderings(t *testing.T) {
	tests := []struct {
		name   string
		golden string
		render func(t *testing.T) string
	}{
		{"chart with required values", "chart-defaults.yaml", func(t *testing.T) string {
			chart, err := loader.Load(chartDir)
			if err != nil {
				t.Fatal(err)
			}
			options := common.ReleaseOptions{Name: releaseName, Namespace: releaseNamespace, Revision: 1, IsInstall: true}
			values, err := chartutil.ToRenderValuesWithSchemaValidation(chart, requiredValues(), options, common.DefaultCapabilities, false)
			if err != nil {
				t.Fatal(err)
			}
			files, err := engine.Render(chart, values)
			if err != nil {
				t.Fatal(err)
			}
			var out strings.Builder
			for _, name := range slices.Sorted(maps.Keys(files)) {
				if !strings.HasSuffix(name, ".yaml") || strings.TrimSpace(files[name]) == "" {
					continue
				}
				out.WriteString("---\n# Source: " + name + "\n" + strings.TrimLeft(files[name], "\n"))
				if !strings.HasSuffix(files[name], "\n") {
					out.WriteString("\n")
				}
			}
			return out.String()
		}},
		{"kustomize example overlay", "kustomize-example.yaml", func(t *testing.T) string {
			resources, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(kustomizeFS(t), kustomizeExample)
			if err != nil {
				t.Fatal(err)
			}
			data, err := resources.AsYaml()
			if err != nil {
				t.Fatal(err)
			}
			return string(data)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.render(t)
			path := filepath.Join("testdata", tt.golden)
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run deploy/test/run.sh -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("%s differs from the rendering; review and run deploy/test/run.sh -run Golden -update\n%s", path, firstDiff(string(want), got))
			}
		})
	}
}

// firstDiff shows the first differing line with its number.
func firstDiff(want, got string) string {
	wantLines, gotLines := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < max(len(wantLines), len(gotLines)); i++ {
		var w, g string
		if i < len(wantLines) {
			w = wantLines[i]
		}
		if i < len(gotLines) {
			g = gotLines[i]
		}
		if w != g {
			return "line " + strconv.Itoa(i+1) + ":\n  golden: " + w + "\n  now:    " + g
		}
	}
	return ""
}
