package manifest

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latch-gitops/latch/internal/objectid"
)

const (
	benchFiles    = 10000
	benchOverlays = 50 // each over its own 10-file base: 50*(1+10+1) files of the total
	benchEdits    = 1000
)

// genRepo writes a checkout of benchFiles YAML files: plain two-document
// manifests in nested folders, plus kustomize bases with overlays.
func genRepo(tb testing.TB) string {
	tb.Helper()
	root := tb.TempDir()
	write := func(rel, content string) {
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	n := 0
	for o := 0; o < benchOverlays; o++ {
		base := fmt.Sprintf("kustomize/app%d/base", o)
		res := "resources:\n"
		for i := 0; i < 10; i++ {
			write(fmt.Sprintf("%s/d%d.yaml", base, i), fmt.Sprintf("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: k%d-%d\nspec:\n  replicas: 2\n", o, i))
			res += fmt.Sprintf("  - d%d.yaml\n", i)
			n++
		}
		write(base+"/kustomization.yaml", res)
		write(fmt.Sprintf("kustomize/app%d/prod/kustomization.yaml", o),
			fmt.Sprintf("resources: [../base]\nnamespace: prod\nreplicas:\n  - name: k%d-0\n    count: 5\n", o))
		n += 2
	}
	for i := 0; n < benchFiles; i++ {
		write(fmt.Sprintf("apps/team%d/svc%d/app%d.yaml", i%20, i%500/20, i), fmt.Sprintf(
			"# service %d\napiVersion: v1\nkind: Service\nmetadata:\n  name: app%d\n  namespace: ns%d\nspec:\n  ports: [{port: 80}]\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app%d\n  namespace: ns%d\n  labels: {app: app%d}\nspec:\n  replicas: 3 # latched\n  template:\n    spec:\n      containers: [{name: app, image: \"app:1\"}]\n",
			i, i, i%7, i, i%7, i))
		n++
	}
	return root
}

func BenchmarkBuildIndex(b *testing.B) {
	root := genRepo(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		idx, err := BuildIndex(root, IndexOptions{})
		if err != nil {
			b.Fatal(err)
		}
		if len(idx.Problems) > 0 {
			b.Fatal(idx.Problems)
		}
		if _, err := idx.Lookup(objectid.Ref{Group: "apps", Kind: "Deployment", Namespace: "prod", Name: "k3-0"}, ""); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkApplyEdits(b *testing.B) {
	root := genRepo(b)
	idx, err := BuildIndex(root, IndexOptions{})
	if err != nil {
		b.Fatal(err)
	}
	edits := make([]Edit, 0, benchEdits)
	for i := 0; i < benchEdits; i++ {
		ref := objectid.Ref{Group: "apps", Kind: "Deployment", Namespace: "ns" + strconv.Itoa(i%7), Name: "app" + strconv.Itoa(i)}
		loc, err := idx.Lookup(ref, "")
		if err != nil {
			b.Fatal(err)
		}
		edits = append(edits, Edit{Loc: loc, NewValue: 40})
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		changed, err := ApplyEdits(root, edits)
		if err != nil {
			b.Fatal(err)
		}
		if len(changed) != benchEdits {
			b.Fatalf("changed %d files, want %d", len(changed), benchEdits)
		}
		// Next round flips the values back, from what is now written.
		b.StopTimer()
		for j := range edits {
			old := edits[j].NewValue
			edits[j].Loc.Value = strconv.FormatInt(old, 10)
			edits[j].Loc.Length = len(edits[j].Loc.Value)
			edits[j].NewValue = 43 - old // 40 ↔ 3
		}
		b.StartTimer()
	}
}

// BenchmarkBuildIndexPeakHeap indexes the repository of bench/memory (100
// files of 100 Deployments and 50 HPAs each) and reports the peak of live
// heap objects while BuildIndex runs, against the YAML's own size: the
// first pass of `latch run` at 10,000 Deployments must fit the chart's
// memory limit beside the informer caches (issue 9). Parsing every file up
// front peaked at 133 MiB here (about 28× the YAML); streaming the files
// keeps only the index and the trees being parsed.
func BenchmarkBuildIndexPeakHeap(b *testing.B) {
	root := b.TempDir()
	var yamlBytes int
	for ns := 0; ns < 100; ns++ {
		var sb strings.Builder
		for i := ns * 100; i < (ns+1)*100; i++ {
			name, namespace := fmt.Sprintf("svc-%05d", i), fmt.Sprintf("bench-%03d", ns)
			fmt.Fprintf(&sb, "---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: %s\n  namespace: %s\nspec:\n  replicas: 3 # latched\n  selector:\n    matchLabels: {app.kubernetes.io/name: %s}\n  template:\n    metadata:\n      labels: {app.kubernetes.io/name: %s}\n    spec:\n      containers: [{name: app, image: \"registry.example.com/shop/%s:2.%d.0\"}]\n",
				name, namespace, name, name, name, i%17)
			if i%2 == 0 {
				fmt.Fprintf(&sb, "---\napiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata:\n  name: %s\n  namespace: %s\nspec:\n  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: %s}\n  minReplicas: 2\n  maxReplicas: 100\n",
					name, namespace, name)
			}
		}
		yamlBytes += sb.Len()
		if err := os.WriteFile(filepath.Join(root, fmt.Sprintf("ns%03d.yaml", ns)), []byte(sb.String()), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	var peak uint64
	for i := 0; i < b.N; i++ {
		runtime.GC()
		stop := startHeapPeak()
		idx, err := BuildIndex(root, IndexOptions{})
		peak = max(peak, stop())
		if err != nil {
			b.Fatal(err)
		}
		if got := len(idx.objects); got != 15000 {
			b.Fatalf("indexed %d objects, want 15000", got)
		}
	}
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
	b.ReportMetric(float64(peak)/float64(yamlBytes), "peak-heap/yaml")
}

// startHeapPeak samples the live heap objects until the returned function
// is called, which returns their peak.
func startHeapPeak() func() uint64 {
	var peak atomic.Uint64
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		for {
			metrics.Read(s)
			if v := s[0].Value.Uint64(); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-stop:
				return
			case <-time.After(200 * time.Microsecond):
			}
		}
	}()
	return func() uint64 {
		close(stop)
		<-done
		return peak.Load()
	}
}
