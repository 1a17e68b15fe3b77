package main

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/latch-gitops/latch/internal/controller"
	"github.com/latch-gitops/latch/internal/policy"
	"github.com/latch-gitops/latch/internal/simulate"
)

func runSimulateCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := newRootCommand(&stdout, &stderr)
	cmd.SetArgs(args)
	err := cmd.Execute()
	return stdout.String(), err
}

func readInts(t *testing.T, path string) []int64 {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []int64
	for _, f := range strings.Fields(string(data)) {
		v, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out = append(out, v)
	}
	return out
}

// TestSimulateJSONMatchesSeries runs the command and recomputes every figure
// from the trace and --series-out by hand, independently of Summarise.
func TestSimulateJSONMatchesSeries(t *testing.T) {
	series := filepath.Join(t.TempDir(), "declared.txt")
	trace := filepath.Join("testdata", "simulate-trace.txt")
	out, err := runSimulateCLI(t, "simulate", "--trace", trace, "--series-out", series, "--min", "2", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]float64
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out)
	}
	keys := make([]string, 0, len(got))
	for k := range got {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if want := "commits coverage max_declared naive_commits overprovision reduction samples"; strings.Join(keys, " ") != want {
		t.Fatalf("JSON keys %v, want exactly %s", keys, want)
	}

	observed, declared := readInts(t, trace), readInts(t, series)
	if len(declared) != len(observed) {
		t.Fatalf("%d declared values for %d samples", len(declared), len(observed))
	}
	naive, commits, covered, maxDeclared := 0, 0, 0, int64(0)
	excess, need := 0.0, 0.0
	for i := range observed {
		if i > 0 && observed[i] != observed[i-1] {
			naive++
		}
		if i > 0 && declared[i] != declared[i-1] {
			commits++
		}
		if 2*declared[i] >= observed[i] {
			covered++
		}
		excess += math.Max(0, float64(declared[i]-observed[i]))
		need += float64(observed[i])
		maxDeclared = max(maxDeclared, declared[i])
		if declared[i] < 2 {
			t.Fatalf("sample %d: declared %d below --min 2", i, declared[i])
		}
	}
	want := map[string]float64{
		"samples": float64(len(observed)), "naive_commits": float64(naive), "commits": float64(commits),
		"reduction": float64(naive) / math.Max(float64(commits), 1), "coverage": float64(covered) / float64(len(observed)),
		"overprovision": excess / need, "max_declared": float64(maxDeclared),
	}
	for k, w := range want {
		if math.Abs(got[k]-w) > 1e-12*math.Max(1, math.Abs(w)) {
			t.Errorf("%s = %v, recomputed from --series-out %v", k, got[k], w)
		}
	}
	if commits == 0 || commits >= naive {
		t.Errorf("commits %d against naive %d: the test trace should exercise moves both ways", commits, naive)
	}
}

func TestSimulateText(t *testing.T) {
	out, err := runSimulateCLI(t, "simulate", "--trace", filepath.Join("testdata", "simulate-trace.txt"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"policy         built-in policy: " + policy.DefaultParams().Ladder.String(), "samples        2000", "naive commits", "reduction", "coverage", "overprovision", "max declared"} {
		if !strings.Contains(out, want) {
			t.Errorf("text output lacks %q:\n%s", want, out)
		}
	}
}

func TestSimulateOptimum(t *testing.T) {
	out, err := runSimulateCLI(t, "simulate", "--optimum", "--trace", filepath.Join("testdata", "simulate-trace.txt"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"optimum        ", "latch÷optimum  "} {
		if !strings.Contains(out, want) {
			t.Errorf("text output lacks %q:\n%s", want, out)
		}
	}
}

func TestSimulateLoad(t *testing.T) {
	dir := t.TempDir()
	trace := filepath.Join(dir, "load.txt")
	// 2 minutes of 1 req/s then 2 minutes of 4 req/s, one sample a second.
	var b strings.Builder
	for i := range 240 {
		if i < 120 {
			b.WriteString("1\n")
		} else {
			b.WriteString("4\n")
		}
	}
	if err := os.WriteFile(trace, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := runSimulateCLI(t, "simulate", "--trace", trace, "--load", "--per-replica", "0.1", "--step", "1s", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Samples     int   `json:"samples"`
		MaxDeclared int64 `json:"max_declared"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	// 240 s of load is 16 HPA syncs; the HPA climbs to 4 req/s ÷ 0.1 = 40
	// replicas. The default R5 ladder declares 25 on the way (≥ 16) and
	// holds it: 40 is inside its band (below 31.6 × 1.5 and below 2 × 25).
	if got.Samples != 16 || got.MaxDeclared != 25 {
		t.Errorf("load replay: %+v, want 16 samples and max declared 25", got)
	}
}

func TestSimulateErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.txt")
	if err := os.WriteFile(bad, []byte("3\n4\n-1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty.txt")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	noLatch := filepath.Join(dir, "latch.yaml")
	tests := []struct {
		args    []string
		wantErr string
	}{
		{[]string{"simulate"}, "no trace: give --trace FILE or --prometheus URL"},
		{[]string{"simulate", "--trace", bad}, bad + ":3: replica count -1 is negative"},
		{[]string{"simulate", "--trace", empty}, "empty trace"},
		{[]string{"simulate", "--trace", filepath.Join(dir, "missing.txt")}, "flag --trace: open"},
		{[]string{"simulate", "--trace", bad, "--min", "5", "--max", "3"}, "flag --min: 5 is above --max 3"},
		{[]string{"simulate", "--trace", bad, "--load"}, "flag --per-replica: must be > 0 with --load"},
		{[]string{"simulate", "--trace", bad, "--policy", noLatch}, "flag --policy: open"},
	}
	for _, tt := range tests {
		_, err := runSimulateCLI(t, tt.args...)
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("latch %v: error %v, want it to contain %q", tt.args, err, tt.wantErr)
		}
	}
}

// TestSimulatePolicyFile checks --policy takes the latch parameters of an
// HPA-scaled Deployment's spec.replicas from latch.yaml: the bare sigfig
// rule with no hysteresis or dwell commits far more than the default.
func TestSimulatePolicyFile(t *testing.T) {
	trace := filepath.Join("testdata", "simulate-trace.txt")
	commits := func(args ...string) float64 {
		out, err := runSimulateCLI(t, append([]string{"simulate", "--trace", trace, "-o", "json"}, args...)...)
		if err != nil {
			t.Fatal(err)
		}
		var got map[string]float64
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatal(err)
		}
		return got["commits"]
	}
	bare, def := commits("--policy", filepath.Join("testdata", "simulate-policy.yaml")), commits()
	if !(bare > 3*def) {
		t.Errorf("bare sigfig policy from the file: %v commits, default %v: the file was not applied", bare, def)
	}
	out, err := runSimulateCLI(t, "simulate", "--trace", trace, "--policy", filepath.Join("testdata", "simulate-policy.yaml"))
	if err != nil || !strings.Contains(out, "simulate-policy.yaml (rule builtin/hpa-replicas): sigfig, hysteresis 0") {
		t.Errorf("text output does not name the policy file and rule: %v\n%s", err, out)
	}
}

// TestSimulatePasses checks --passes replays at latch run's cadence: it
// declares what simulate.Run does at that cadence (the defaults, and a
// coarse one that tells it apart from the per-sample replay on this trace),
// and with a pass at every 15 s sample it declares what the per-sample
// replay does.
func TestSimulatePasses(t *testing.T) {
	dir := t.TempDir()
	trace := filepath.Join("testdata", "simulate-trace.txt")
	series := func(name string, args ...string) []int64 {
		t.Helper()
		path := filepath.Join(dir, name)
		if _, err := runSimulateCLI(t, append([]string{"simulate", "--trace", trace, "--series-out", path, "-o", "json"}, args...)...); err != nil {
			t.Fatal(err)
		}
		return readInts(t, path)
	}
	f, err := os.Open(trace)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr, err := simulate.ParseTrace(f, trace, true)
	if err != nil {
		t.Fatal(err)
	}
	atCadence := func(p *simulate.Passes) []int64 {
		t.Helper()
		declared, err := simulate.Run(tr, simulate.Options{Params: policy.DefaultParams(), Start: time.Unix(0, 0).UTC(), Step: 15 * time.Second, Passes: p})
		if err != nil {
			t.Fatal(err)
		}
		return declared
	}

	perSample := series("per-sample.txt")
	if got, want := series("passes.txt", "--passes"), atCadence(&simulate.Passes{Resync: controller.DefaultResync, BatchWindow: controller.DefaultBatchWindow}); !slices.Equal(got, want) {
		t.Errorf("--passes declared a series other than simulate.Run at latch run's default cadence")
	}
	coarse := series("coarse.txt", "--passes", "--resync", "10m", "--batch-window", "5m")
	if want := atCadence(&simulate.Passes{Resync: 10 * time.Minute, BatchWindow: 5 * time.Minute}); !slices.Equal(coarse, want) {
		t.Errorf("--passes --resync 10m --batch-window 5m declared a series other than simulate.Run at that cadence")
	}
	if slices.Equal(coarse, perSample) {
		t.Errorf("--passes --resync 10m --batch-window 5m declared the per-sample series: the cadence is not applied (or the trace no longer tells them apart)")
	}
	if everySample := series("every-sample.txt", "--passes", "--resync", "15s", "--batch-window", "0s"); !slices.Equal(everySample, perSample) {
		t.Errorf("--passes --resync 15s --batch-window 0s on a 15 s trace differs from the per-sample replay")
	}

	out, err := runSimulateCLI(t, "simulate", "--trace", trace, "--passes", "--resync", "2m")
	if err != nil {
		t.Fatal(err)
	}
	if want := "cadence        latch run's passes: every 2m0s, and 30s after a change"; !strings.Contains(out, want) {
		t.Errorf("text output lacks %q:\n%s", want, out)
	}

	for _, tt := range []struct {
		args    []string
		wantErr string
	}{
		{[]string{"--resync", "1m"}, "flag --batch-window / --resync: only with --passes"},
		{[]string{"--batch-window", "10s"}, "flag --batch-window / --resync: only with --passes"},
		{[]string{"--passes", "--resync", "0s"}, "flag --resync: must be > 0, got 0s"},
		{[]string{"--passes", "--batch-window", "-1s"}, "flag --batch-window: must be ≥ 0, got -1s"},
	} {
		_, err := runSimulateCLI(t, append([]string{"simulate", "--trace", trace}, tt.args...)...)
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("latch simulate %v: error %v, want it to contain %q", tt.args, err, tt.wantErr)
		}
	}
}
