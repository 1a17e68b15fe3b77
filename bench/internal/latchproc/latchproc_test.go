package latchproc

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
)

func TestReadMemoryOfThisProcess(t *testing.T) {
	m, err := ReadMemory(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if m.RSS <= 0 || m.Anon <= 0 || m.Anon > m.RSS || m.Peak < m.RSS {
		t.Fatalf("implausible memory %+v: want 0 < RssAnon ≤ VmRSS ≤ VmHWM", m)
	}
	if _, err := ReadMemory(-1); err == nil {
		t.Fatal("no error for a process that cannot exist")
	}
}

func TestMetricsParsesTextFormat(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(strings.Join([]string{
			"# HELP latch_passes_total Latch passes by result.",
			"# TYPE latch_passes_total counter",
			`latch_passes_total{result="ok"} 3`,
			`latch_passes_total{result="error"} 0`,
			"latch_commits_total 1.5e+01",
			"garbage-line",
			"",
		}, "\n")))
	}))
	defer srv.Close()
	p := &Proc{metricsAddr: strings.TrimPrefix(srv.URL, "http://")}
	m, err := p.Metrics(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]float64{`latch_passes_total{result="ok"}`: 3, `latch_passes_total{result="error"}`: 0, "latch_commits_total": 15} {
		if got, ok := m[key]; !ok || got != want {
			t.Errorf("%s = %v (present %v), want %v", key, got, ok, want)
		}
	}
	if len(m) != 3 {
		t.Errorf("parsed %d samples, want 3: %v", len(m), m)
	}
}
