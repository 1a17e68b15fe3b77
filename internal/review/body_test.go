package review

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestSparkline(t *testing.T) {
	cases := []struct {
		vals  []int64
		width int
		want  string
	}{
		{nil, 0, ""},
		{[]int64{5}, 0, "▁"},
		{[]int64{5, 5, 5}, 0, "▁▁▁"},
		{[]int64{0, 7}, 0, "▁█"},
		{[]int64{1, 2, 3, 4, 5, 6, 7, 8}, 0, "▁▂▃▄▅▆▇█"},
		// 8 samples in 4 characters: each the larger of its pair.
		{[]int64{1, 8, 1, 1, 1, 1, 1, 4}, 4, "█▁▁▄"},
	}
	for _, tc := range cases {
		if got := (Series{Values: tc.vals}).Sparkline(tc.width); got != tc.want {
			t.Errorf("Sparkline(%v, %d) = %q, want %q", tc.vals, tc.width, got, tc.want)
		}
	}
	long := make([]int64, 1000)
	long[500] = 99
	if got := []rune((Series{Values: long}).Sparkline(40)); len(got) != 40 || !strings.ContainsRune(string(got), '█') {
		t.Fatalf("a spike in 1000 samples must show in 40 characters: %q", string(got))
	}
}

func TestSeriesSummary(t *testing.T) {
	s := Series{Values: []int64{40, 380, 398, 120}, Span: 2*time.Hour + 30*time.Minute + 10*time.Second}
	if s.Min() != 40 || s.Max() != 398 || s.Last() != 120 || s.Duration() != "2h30m" {
		t.Fatalf("min %d max %d last %d duration %q", s.Min(), s.Max(), s.Last(), s.Duration())
	}
	// Downsampled values lost the dip to 3; the exact range keeps it.
	r := Series{Values: []int64{40, 400}, Low: 3, High: 400, Ranged: true}
	if r.Min() != 3 || r.Max() != 400 || r.Last() != 400 {
		t.Errorf("ranged series: min %d max %d last %d, want 3 400 400", r.Min(), r.Max(), r.Last())
	}
	for d, want := range map[time.Duration]string{45 * time.Second: "45s", 90 * time.Second: "1m30s", 2 * time.Minute: "2m", 3 * time.Hour: "3h", 0: ""} {
		if got := (Series{Span: d}).Duration(); got != want {
			t.Errorf("Duration(%v) = %q, want %q", d, got, want)
		}
	}
}

func sampleEvidence() Evidence {
	return Evidence{
		Cluster: "prod", Object: Object{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "shop", Name: "web"},
		Field: "spec.replicas", File: "apps/web/deployment.yaml", FileURL: "https://git.example/o/r/src/branch/latch/prod/shop/deployment.apps/web/apps/web/deployment.yaml",
		From: 40, To: 400, Observed: 398, Min: 2, Max: 500, ChangedBy: "kube-controller-manager", Rule: "sigfig",
		Reason: "observed 398 for 10m (dwell 5m); rounded to 400",
		Series: Series{Values: []int64{40, 42, 41, 120, 250, 380, 398, 398}, Span: 45 * time.Minute},
		HPA:    &HPAMetrics{Replicas: 398, Metrics: []Metric{{"cpu", 78, 80}}},
		Suspicious: Assess(DefaultThresholds(), []Candidate{{From: 40, To: 400, Observed: 398, Max: 500,
			HPA: &HPAMetrics{Replicas: 398, Metrics: []Metric{{"cpu", 78, 80}}}}})[0].Reasons,
		Mode: Suspicious,
	}
}

func TestRenderGolden(t *testing.T) {
	tmpl, err := ParseTemplates("", "")
	if err != nil {
		t.Fatal(err)
	}
	for name, e := range map[string]Evidence{
		"suspicious": sampleEvidence(),
		"minimal":    {Object: Object{Kind: "Pool", Name: "big"}, Field: "spec.replicas", From: 3, To: 4, Observed: 4, Mode: Always, OnTop: true},
	} {
		t.Run(name, func(t *testing.T) {
			m := NewMarker(e.Cluster, e.Object, e.Field, Proposal{From: e.From, To: e.To}, "0123456789abcdef0123456789abcdef01234567")
			title, body, err := tmpl.Render(e, m)
			if err != nil {
				t.Fatal(err)
			}
			got := title + "\n---\n" + body + "\n"
			path := filepath.Join("testdata", "render-"+name+".golden")
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create)", err)
			}
			if got != string(want) {
				t.Fatalf("render differs from %s:\n%s", path, got)
			}
			if back, err := ParseMarker(body); err != nil || back != m {
				t.Fatalf("marker of the rendered body: %+v, %v", back, err)
			}
		})
	}
}

func TestRenderTemplates(t *testing.T) {
	m := sampleMarker()
	// A template cannot drop or spoof the marker, and titles are one line.
	tmpl, err := ParseTemplates("line one\n{{.Object.Name}}", `no marker here <!-- latch-review {"v":1} -->`)
	if err != nil {
		t.Fatal(err)
	}
	title, body, err := tmpl.Render(sampleEvidence(), m)
	if err != nil {
		t.Fatal(err)
	}
	if title != "line one web" {
		t.Fatalf("title %q", title)
	}
	if got, err := ParseMarker(body); err != nil || got != m {
		t.Fatalf("marker %+v %v in %q", got, err, body)
	}
	if _, err := ParseTemplates("{{.Nope", ""); err == nil || !strings.Contains(err.Error(), "title") {
		t.Fatalf("bad title template: %v", err)
	}
	bad, _ := ParseTemplates("{{.Missing}}", "")
	if _, _, err := bad.Render(sampleEvidence(), m); err == nil {
		t.Fatal("a template naming a missing field must fail")
	}
	empty, _ := ParseTemplates(" ", "")
	if _, _, err := empty.Render(sampleEvidence(), m); err == nil {
		t.Fatal("an empty title must fail")
	}
	long, _ := ParseTemplates(strings.Repeat("x", 300), "")
	if title, _, _ := long.Render(sampleEvidence(), m); len([]rune(title)) != maxTitle {
		t.Fatalf("title not cut: %d", len([]rune(title)))
	}
}
