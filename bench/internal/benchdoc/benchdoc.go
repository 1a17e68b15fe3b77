// Package benchdoc writes one benchmark program's section of a shared
// markdown file (docs/benchmarks.md): each program owns the text between
// <!-- BEGIN name --> and <!-- END name --> and rewrites only that, so
// several generators share one file. It also holds the small helpers every
// benchmark report needs: the machine line and order statistics.
package benchdoc

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Begin and End are the markers around the section called name.
func Begin(name string) string { return "<!-- BEGIN " + name + " -->" }

// End is the closing marker of the section called name.
func End(name string) string { return "<!-- END " + name + " -->" }

// RewriteSection replaces the section called name in the file at path with
// section (which must start with Begin(name) and end with End(name) and a
// newline), or appends it, creating the file with a "# Benchmarks" title
// when it does not exist. Text outside the markers is left alone.
func RewriteSection(path, name, section string) error {
	begin, end := Begin(name), End(name)
	if !strings.HasPrefix(section, begin) || !strings.HasSuffix(section, end+"\n") {
		return fmt.Errorf("section %s: must start with %q and end with %q and a newline", name, begin, end)
	}
	old, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	text := string(old)
	b := strings.Index(text, begin)
	e := strings.Index(text, end)
	switch {
	case b >= 0 && e > b:
		rest := text[e+len(end):]
		rest = strings.TrimPrefix(rest, "\n")
		text = text[:b] + section + rest
	case b >= 0 || e >= 0:
		return fmt.Errorf("%s: found only one of %q and %q (or in the wrong order); fix the file by hand", path, begin, end)
	case text == "":
		text = "# Benchmarks\n\n" + section
	default:
		if !strings.HasSuffix(text, "\n") {
			text += "\n"
		}
		text += "\n" + section
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// Machine describes where and how a benchmark ran, for the section's
// header: CPUs, GOMAXPROCS, date, Go version and the command line (args is
// os.Args; the program path is shown as `go run ./bench/<name>`).
func Machine(program string, args []string, now time.Time) string {
	cmd := "go run ./bench/" + program
	for _, a := range args[1:] {
		cmd += " " + quoteArg(a)
	}
	return fmt.Sprintf("Machine: %d CPUs (nproc), GOMAXPROCS %d, %s/%s, %s; run %s; command `%s`.",
		runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.GOOS, runtime.GOARCH, runtime.Version(),
		now.UTC().Format("2006-01-02 15:04 MST"), cmd)
}

func quoteArg(a string) string {
	if a == "" || strings.ContainsAny(a, " \t'\"`$\\") {
		return strconv.Quote(a)
	}
	return a
}

// Stats summarises repeated measurements of one quantity.
type Stats struct {
	N                   int
	Min, Median, Max    float64
	P50, P90, P99, Mean float64
}

// Summarise computes Stats of xs (which it does not modify); the zero Stats
// for no values. Percentiles use the nearest-rank method, so P99 of 10
// values is the maximum and every reported number was actually measured.
func Summarise(xs []float64) Stats {
	if len(xs) == 0 {
		return Stats{}
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	sum := 0.0
	for _, x := range s {
		sum += x
	}
	return Stats{
		N: len(s), Min: s[0], Max: s[len(s)-1], Mean: sum / float64(len(s)),
		Median: median(s), P50: Percentile(s, 50), P90: Percentile(s, 90), P99: Percentile(s, 99),
	}
}

func median(sorted []float64) float64 {
	n := len(sorted)
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}

// Percentile is the nearest-rank p-th percentile (0 < p ≤ 100) of sorted
// values: the smallest value with at least p % of the values at or below it.
func Percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return math.NaN()
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}

// Seconds converts durations to seconds, for Summarise.
func Seconds(ds []time.Duration) []float64 {
	out := make([]float64, len(ds))
	for i, d := range ds {
		out[i] = d.Seconds()
	}
	return out
}
