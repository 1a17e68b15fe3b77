package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/latch-gitops/latch/internal/promsource"
	"github.com/latch-gitops/latch/internal/testenv"
)

// backfillStart is where the backfilled series begin.
var backfillStart = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)

// promTrace is a deterministic replica trace of n 15 s samples: a daily
// cycle between about 20 and 200 with noise and a few short spikes.
func promTrace(n int) []int64 {
	rng := rand.New(rand.NewPCG(10, 3))
	out := make([]int64, n)
	for i := range out {
		day := float64(i) * 15 / 86400
		v := 110 + 90*math.Sin(2*math.Pi*day) + rng.NormFloat64()*8
		if rng.IntN(2000) == 0 {
			v *= 4
		}
		out[i] = max(1, int64(v))
	}
	return out
}

// openMetrics renders series (one family each, in order) as OpenMetrics
// text with a sample every 15 s from backfillStart.
func openMetrics(families map[string]map[string][]int64) []byte {
	var b bytes.Buffer
	for _, name := range slicesSorted(families) {
		fmt.Fprintf(&b, "# TYPE %s gauge\n", name)
		for _, labels := range slicesSorted(families[name]) {
			for i, v := range families[name][labels] {
				fmt.Fprintf(&b, "%s{%s} %d %d\n", name, labels, v, backfillStart.Unix()+int64(i)*15)
			}
		}
	}
	b.WriteString("# EOF\n")
	return b.Bytes()
}

func slicesSorted[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func runSimulateCLIStderr(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := newRootCommand(&stdout, &stderr)
	cmd.SetArgs(args)
	err := cmd.Execute()
	return stdout.String(), stderr.String(), err
}

// TestSimulatePrometheus backfills a real Prometheus with a series that
// takes three query_range requests and checks latch simulate --prometheus
// gives exactly what the same trace gives from a file, then the error cases
// against the same server.
func TestSimulatePrometheus(t *testing.T) {
	const n = 25000 // 104 h at 15 s: three requests of ≤ 10,000 points
	web := promTrace(n)
	small := promTrace(3000)
	prom := testenv.Prometheus(t, openMetrics(map[string]map[string][]int64{
		promsource.HPADesired: {
			`namespace="shop",horizontalpodautoscaler="web"`: web,
		},
		promsource.DeploymentSpec: {
			`namespace="shop",deployment="api"`:              small,
			`namespace="shop",deployment="dup",instance="a"`: small,
			`namespace="shop",deployment="dup",instance="b"`: small,
		},
	}))
	dir := t.TempDir()
	traceFile := filepath.Join(dir, "web.txt")
	var b strings.Builder
	for _, v := range web {
		fmt.Fprintln(&b, v)
	}
	if err := os.WriteFile(traceFile, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	end := backfillStart.Add(time.Duration(n-1) * 15 * time.Second)
	window := []string{"--since", (end.Sub(backfillStart)).String(), "--until", end.Format(time.RFC3339)}

	fromFile, _, err := runSimulateCLIStderr(t, "simulate", "--trace", traceFile, "-o", "json", "--series-out", filepath.Join(dir, "file.series"))
	if err != nil {
		t.Fatal(err)
	}
	args := append([]string{"simulate", "--prometheus", prom.URL, "--workload", "shop/web", "-o", "json", "--series-out", filepath.Join(dir, "prom.series")}, window...)
	fromProm, stderr, err := runSimulateCLIStderr(t, args...)
	if err != nil {
		t.Fatal(err)
	}
	if fromProm != fromFile {
		t.Errorf("--prometheus summary differs from the file's:\n%s\nfile:\n%s", fromProm, fromFile)
	}
	if a, b := readInts(t, filepath.Join(dir, "prom.series")), readInts(t, filepath.Join(dir, "file.series")); !slices.Equal(a, b) {
		t.Errorf("--series-out differs: %d values from Prometheus, %d from the file", len(a), len(b))
	}
	if want := fmt.Sprintf("%d samples in 3 requests", n); !strings.Contains(stderr, want) {
		t.Errorf("stderr %q lacks %q", stderr, want)
	}

	// --all: one row, the HPA; its commits are the file's.
	out, err := runSimulateCLI(t, append([]string{"simulate", "--prometheus", prom.URL, "--all", "-o", "json"}, window...)...)
	if err != nil {
		t.Fatal(err)
	}
	var rows []allRow
	// summary is the part of a --trace JSON report the --all rows are
	// compared with.
	type summary struct {
		Commits       int
		Overprovision float64
	}
	var file summary
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatalf("--all output: %v\n%s", err, out)
	}
	_ = json.Unmarshal([]byte(fromFile), &file)
	if len(rows) != 1 || rows[0].Workload != "shop/web" || rows[0].Samples != n || rows[0].Commits != file.Commits {
		t.Errorf("--all rows %+v, want one for shop/web with %d samples and %d commits", rows, n, file.Commits)
	}

	// --all --passes: the row replays at latch run's cadence, as the file
	// does with --passes (a coarse one, which this trace tells apart from
	// the per-sample replay by its over-provisioning).
	var atCadence summary
	cadence := []string{"--passes", "--resync", "10m", "--batch-window", "5m"}
	passesFromFile, err := runSimulateCLI(t, append([]string{"simulate", "--trace", traceFile, "-o", "json"}, cadence...)...)
	if err != nil {
		t.Fatal(err)
	}
	_ = json.Unmarshal([]byte(passesFromFile), &atCadence)
	if atCadence == file {
		t.Fatalf("this trace gives %+v with and without %v: it cannot tell the cadence apart", file, cadence)
	}
	out, err = runSimulateCLI(t, append(append([]string{"simulate", "--prometheus", prom.URL, "--all", "-o", "json"}, cadence...), window...)...)
	if err != nil {
		t.Fatal(err)
	}
	rows = nil
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatalf("--all %v output: %v\n%s", cadence, err, out)
	}
	if len(rows) != 1 || rows[0].Commits != atCadence.Commits || rows[0].Overprovision != atCadence.Overprovision {
		t.Errorf("--all %v rows %+v, want one with the file's %+v at that cadence", cadence, rows, atCadence)
	}

	// The Deployment fallback, over its own 3,000 samples (a wider window
	// would also see Prometheus repeat the last one for its 5 min lookback).
	apiEnd := backfillStart.Add(2999 * 15 * time.Second)
	out, err = runSimulateCLI(t, "simulate", "--prometheus", prom.URL, "--workload", "shop/api", "-o", "json",
		"--since", apiEnd.Sub(backfillStart).String(), "--until", apiEnd.Format(time.RFC3339))
	if err != nil || !strings.Contains(out, `"samples": 3000`) {
		t.Errorf("fallback to %s: %v\n%s", promsource.DeploymentSpec, err, out)
	}

	partial := filepath.Join(dir, "partial.series")
	plot := filepath.Join(dir, "partial.svg")
	for _, c := range []struct {
		name, url, workload, want string
	}{
		{"no series", prom.URL, "shop/none", `workload shop/none: no series from kube_horizontalpodautoscaler_status_desired_replicas{namespace="shop",horizontalpodautoscaler="none"} nor kube_deployment_spec_replicas{namespace="shop",deployment="none"}`},
		{"several series", prom.URL, "shop/dup", `returned 2 series, want one: {__name__="kube_deployment_spec_replicas", deployment="dup", instance="a", namespace="shop"}, {__name__="kube_deployment_spec_replicas", deployment="dup", instance="b", namespace="shop"}`},
		{"down", "http://127.0.0.1:1" /* nothing listens on port 1 */, "shop/web", "connect: connection refused"},
		{"404", prom.URL + "/nothing-here", "shop/web", "HTTP 404"},
	} {
		t.Run(c.name, func(t *testing.T) {
			args := append([]string{"simulate", "--prometheus", c.url, "--workload", c.workload, "--series-out", partial, "--plot", plot}, window...)
			_, _, err := runSimulateCLIStderr(t, args...)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v\nwant it to contain %s", err, c.want)
			}
			if !strings.Contains(err.Error(), "query") && !strings.Contains(err.Error(), "series") {
				t.Errorf("error %v names neither the query nor the series", err)
			}
			for _, f := range []string{partial, plot} {
				if _, err := os.Stat(f); !os.IsNotExist(err) {
					t.Errorf("%s written on error (stat: %v)", f, err)
				}
			}
		})
	}
}
