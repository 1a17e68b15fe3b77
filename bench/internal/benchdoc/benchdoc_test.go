package benchdoc

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestRewriteSection(t *testing.T) {
	sim := "<!-- BEGIN simulate -->\nsim v2\n<!-- END simulate -->\n"
	wb := "<!-- BEGIN writeback -->\nwb v2\n<!-- END writeback -->\n"
	tests := []struct {
		name, before, section, sectionName, want, wantErr string
		noFile                                            bool
	}{
		{name: "creates the file", noFile: true, sectionName: "writeback", section: wb,
			want: "# Benchmarks\n\n" + wb},
		{name: "appends after other sections", sectionName: "writeback", section: wb,
			before: "# Benchmarks\n\n<!-- BEGIN simulate -->\nsim v1\n<!-- END simulate -->\n",
			want:   "# Benchmarks\n\n<!-- BEGIN simulate -->\nsim v1\n<!-- END simulate -->\n\n" + wb},
		{name: "replaces only its own section", sectionName: "simulate", section: sim,
			before: "# B\n\n<!-- BEGIN simulate -->\nsim v1\n<!-- END simulate -->\n\n<!-- BEGIN writeback -->\nwb v1\n<!-- END writeback -->\ntail\n",
			want:   "# B\n\n" + sim + "\n<!-- BEGIN writeback -->\nwb v1\n<!-- END writeback -->\ntail\n"},
		{name: "appends a newline to a file without one", sectionName: "writeback", section: wb,
			before: "# B", want: "# B\n\n" + wb},
		{name: "refuses a lone begin marker", sectionName: "writeback", section: wb,
			before: "<!-- BEGIN writeback -->\nhalf\n", wantErr: "found only one"},
		{name: "refuses markers in the wrong order", sectionName: "writeback", section: wb,
			before: "<!-- END writeback -->\n<!-- BEGIN writeback -->\n", wantErr: "found only one"},
		{name: "refuses a section without its markers", sectionName: "writeback", section: "wb\n",
			before: "# B\n", wantErr: "must start with"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "docs", "benchmarks.md")
			if !tc.noFile {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(tc.before), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			err := RewriteSection(path, tc.sectionName, tc.section)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
				}
				got, _ := os.ReadFile(path)
				if string(got) != tc.before {
					t.Fatalf("file changed on error:\n%s", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Fatalf("got\n%q\nwant\n%q", got, tc.want)
			}
		})
	}
}

func TestSummarise(t *testing.T) {
	tests := []struct {
		name string
		in   []float64
		want Stats
	}{
		{"empty", nil, Stats{}},
		{"one", []float64{7}, Stats{N: 1, Min: 7, Median: 7, Max: 7, P50: 7, P90: 7, P99: 7, Mean: 7}},
		{"even count, unsorted", []float64{4, 1, 3, 2}, Stats{N: 4, Min: 1, Median: 2.5, Max: 4, P50: 2, P90: 4, P99: 4, Mean: 2.5}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Summarise(tc.in); got != tc.want {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
	hundred := make([]float64, 100)
	for i := range hundred {
		hundred[i] = float64(100 - i) // 100..1, reversed
	}
	s := Summarise(hundred)
	if s.P50 != 50 || s.P90 != 90 || s.P99 != 99 || s.Max != 100 {
		t.Fatalf("1..100: %+v", s)
	}
	if hundred[0] != 100 {
		t.Fatal("Summarise sorted its input in place")
	}
}

func TestMachine(t *testing.T) {
	got := Machine("writeback", []string{"/tmp/go-build/exe/writeback", "-quick", "-doc", "a b.md"}, time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC))
	for _, want := range []string{"CPUs (nproc)", "GOMAXPROCS", "go1.", "2026-01-02 03:04 UTC", "`go run ./bench/writeback -quick -doc \"a b.md\"`"} {
		if !strings.Contains(got, want) {
			t.Errorf("Machine() = %q, want it to contain %q", got, want)
		}
	}
}
