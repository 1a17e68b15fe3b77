package simulate

import (
	"archive/tar"
	"compress/bzip2"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseTraceGood(t *testing.T) {
	tests := []struct {
		name      string
		in        string
		integers  bool
		want      []float64
		wantTimes []time.Time
	}{
		{"whitespace and newlines", "1 2\n3\t4\n\n# comment\n5\n", true, []float64{1, 2, 3, 4, 5}, nil},
		{"csv unix seconds with header", "timestamp,replicas\n0,3\n15,4\n30.5,6\n", true, []float64{3, 4, 6},
			[]time.Time{time.Unix(0, 0).UTC(), time.Unix(15, 0).UTC(), time.Unix(30, 5e8).UTC()}},
		{"csv RFC 3339", "2026-01-01T00:00:00Z, 7\n2026-01-01T02:00:15+01:00,8\n", true, []float64{7, 8},
			[]time.Time{time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 1, 1, 1, 0, 15, 0, time.UTC)}},
		{"load decimals", "0.5 1e2 3", false, []float64{0.5, 100, 3}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr, err := ParseTrace(strings.NewReader(tt.in), "t.txt", tt.integers)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(tr.Values, tt.want) {
				t.Errorf("values %v, want %v", tr.Values, tt.want)
			}
			if !slices.EqualFunc(tr.Times, tt.wantTimes, time.Time.Equal) {
				t.Errorf("times %v, want %v", tr.Times, tt.wantTimes)
			}
		})
	}
}

func TestParseTraceErrors(t *testing.T) {
	tests := []struct {
		name, in string
		integers bool
		wantErr  string
	}{
		{"empty", "", true, "t.txt: empty trace: no samples in 0 lines"},
		{"only comments", "# nothing\n\n", true, "t.txt: empty trace: no samples in 2 lines"},
		{"negative", "1\n2\n-3\n", true, "t.txt:3: replica count -3 is negative"},
		{"NaN", "1\nNaN\n", true, `t.txt:2: replica count "NaN" is not a number`},
		{"NaN load", "1\nNaN\n", false, `t.txt:2: load "NaN" is not a number (NaN)`},
		{"negative load", "1 -0.5\n", false, "t.txt:1: load -0.5 is negative"},
		{"infinite load", "1\n+Inf\n", false, `t.txt:2: load "+Inf" is out of range`},
		{"word", "1\n2\nabc\n", true, `t.txt:3: replica count "abc" is not a number`},
		{"fraction", "1\n2.5\n", true, `t.txt:2: replica count "2.5" is not a whole number`},
		{"overflow", "99999999999999999999\n", true, `t.txt:1: replica count "99999999999999999999" is out of range`},
		{"csv in plain", "1\n2\n0,3\n", true, `t.txt:3: CSV row "0,3" in a trace of whitespace-separated numbers`},
		{"plain in csv", "0,1\n5\n", true, `t.txt:2: want a CSV row timestamp,value like the lines before, got "5"`},
		{"csv columns", "0,1,2\n", true, `t.txt:1: want 2 CSV columns timestamp,value, got 3 in "0,1,2"`},
		{"csv bad stamp", "0,1\nyesterday,2\n", true, `t.txt:2: timestamp: "yesterday" is neither RFC 3339 nor unix seconds`},
		{"csv going back", "2026-01-01T00:00:00Z,7\n2026-01-01T00:00:15+01:00,8\n", true, "t.txt:2: timestamp 2025-12-31T23:00:15Z is not after the previous sample's 2026-01-01T00:00:00Z"},
		{"csv bad value", "0,1\n15,-2\n", true, "t.txt:2: replica count -2 is negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseTrace(strings.NewReader(tt.in), "t.txt", tt.integers)
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("error = %v\nwant    %s", err, tt.wantErr)
			}
		})
	}
}

func FuzzParseTrace(f *testing.F) {
	for _, s := range []string{"1 2 3\n", "timestamp,replicas\n0,1\n15,2\n", "2026-01-01T00:00:00Z,3\n", "NaN", "-1", "1,2,3", "1e400"} {
		f.Add(s, true)
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, in string, integers bool) {
		tr, err := ParseTrace(strings.NewReader(in), "fuzz", integers)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		if tr.Len() == 0 {
			t.Fatal("no error but no samples")
		}
		if tr.Times != nil && len(tr.Times) != tr.Len() {
			t.Fatalf("%d times for %d values", len(tr.Times), tr.Len())
		}
		for i, v := range tr.Values {
			if !(v >= 0) || (integers && v != float64(int64(v))) {
				t.Fatalf("sample %d = %v accepted", i, v)
			}
			if i > 0 && tr.Times != nil && !tr.Times[i].After(tr.Times[i-1]) {
				t.Fatalf("times not increasing at %d", i)
			}
		}
	})
}

func TestSummarise(t *testing.T) {
	observed := []int64{10, 12, 12, 30, 8, 8}
	declared := []int64{10, 10, 10, 20, 20, 10}
	got, err := Summarise(observed, declared)
	if err != nil {
		t.Fatal(err)
	}
	// naive: 10→12, 12→30, 30→8 = 3; commits: 10→20, 20→10 = 2.
	// coverage: 10≥5, 10≥6, 10≥6, 20≥15, 20≥4, 10≥4: 6/6.
	// overprovision: (0+0+0+0+12+2) / 80.
	want := Summary{Samples: 6, NaiveCommits: 3, Commits: 2, Reduction: 1.5, Coverage: 1, Overprovision: 14.0 / 80, MaxDeclared: 20}
	if got != want {
		t.Errorf("Summarise = %+v\nwant        %+v", got, want)
	}
	got, _ = Summarise([]int64{9, 9}, []int64{4, 4})
	if got.Coverage != 0 || got.Reduction != 0 {
		t.Errorf("under half: %+v, want coverage 0", got)
	}
	if _, err := Summarise([]int64{1}, []int64{}); err == nil {
		t.Error("length mismatch accepted")
	}
}

// TestHPAReproducesNASA checks the HPA replay against the replica trace the
// NASA README derives with the same rule, when the shared traces are here.
func TestHPAReproducesNASA(t *testing.T) {
	if testing.Short() {
		t.Skip("reads the 5M-sample NASA load trace")
	}
	dir := filepath.Join("..", "..", "..", "shared", "traces", "nasa-1995")
	want := readTraceFile(t, filepath.Join(dir, "replicas-15s.txt"), true)
	load := readLoadArchive(t, filepath.Join(dir, "requests-per-second.tbz2"))
	got, err := StandardHPA(0.01).Replicas(load, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	wantR := want.Replicas()
	if len(got) < len(wantR) {
		t.Fatalf("%d replicas, want at least %d", len(got), len(wantR))
	}
	for i := range wantR {
		if got[i] != wantR[i] {
			t.Fatalf("sample %d: %d replicas, want %d", i, got[i], wantR[i])
		}
	}
}

// readLoadArchive reads workload.txt out of the NASA tar.bz2.
func readLoadArchive(t *testing.T, path string) []float64 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Skipf("trace not available: %v", err)
	}
	defer f.Close()
	tr := tar.NewReader(bzip2.NewReader(f))
	for {
		hdr, err := tr.Next()
		if err != nil {
			t.Fatalf("%s: no workload.txt: %v", path, err)
		}
		if filepath.Base(hdr.Name) == "workload.txt" {
			load, err := ParseTrace(tr, path, false)
			if err != nil {
				t.Fatal(err)
			}
			return load.Values
		}
	}
}

func readTraceFile(t *testing.T, path string, integers bool) Trace {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Skipf("trace not available: %v", err)
	}
	defer f.Close()
	tr, err := ParseTrace(f, path, integers)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func TestHPARule(t *testing.T) {
	h := StandardHPA(1)
	// 15 s of load per sample: the metric window is 5 samples.
	load := []float64{10, 10, 10, 10, 10, 10.5, 10.5, 30, 30, 30, 30, 30, 2, 2, 2}
	got, err := h.Replicas(load, 15*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	// First sync takes the recommendation; 10.5 is inside the 10 % tolerance;
	// the rise follows the window mean at once; the fall waits 300 s.
	want := []int64{10, 10, 10, 10, 10, 10, 10, 15, 19, 23, 27, 30, 30, 30, 30}
	if !slices.Equal(got, want) {
		t.Errorf("replicas %v\nwant     %v", got, want)
	}
	if _, err := StandardHPA(0).Replicas(load, time.Second); err == nil {
		t.Error("per-replica 0 accepted")
	}
	if _, err := StandardHPA(1).Replicas(load, 7*time.Second); err == nil {
		t.Error("sync not a multiple of the step accepted")
	}
}

func TestReplicaTrace(t *testing.T) {
	t0 := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	at := func(s ...int) []time.Time {
		out := make([]time.Time, len(s))
		for i, v := range s {
			out[i] = t0.Add(time.Duration(v) * time.Second)
		}
		return out
	}
	for _, c := range []struct {
		name    string
		times   []time.Time
		values  []float64
		wantErr string
	}{
		{"ok", at(0, 15, 45), []float64{1, 2, 3}, ""},
		{"empty", nil, nil, "s: empty trace: no samples"},
		{"negative", at(0, 15), []float64{1, -2}, "s: sample at 2026-06-01T00:00:15Z: replica count -2 is negative"},
		{"fraction", at(0), []float64{1.5}, "s: sample at 2026-06-01T00:00:00Z: replica count 1.5 is not a whole number"},
		{"NaN", at(0), []float64{math.NaN()}, "s: sample at 2026-06-01T00:00:00Z: replica count NaN is not a number"},
		{"order", at(15, 15), []float64{1, 1}, "s: sample at 2026-06-01T00:00:15Z is not after the previous sample's 2026-06-01T00:00:15Z"},
		{"lengths", at(0), []float64{1, 2}, "s: 1 times for 2 values"},
	} {
		t.Run(c.name, func(t *testing.T) {
			tr, err := ReplicaTrace("s", c.times, c.values)
			if c.wantErr == "" {
				if err != nil || tr.Len() != len(c.values) {
					t.Fatalf("%v, %d samples", err, tr.Len())
				}
				return
			}
			if err == nil || err.Error() != c.wantErr {
				t.Errorf("error %v\nwant  %s", err, c.wantErr)
			}
		})
	}
}
