package memlimit

import (
	"bytes"
	"io/fs"
	"log/slog"
	"runtime/debug"
	"strings"
	"testing"
)

func TestCgroupLimit(t *testing.T) {
	for _, tc := range []struct {
		content string
		limit   int64
		ok      bool
		err     bool
	}{
		{"268435456\n", 268435456, true, false},
		{"max\n", 0, false, false},
		{"9223372036854771712\n", 0, false, false}, // cgroup v1: no limit
		{"0", 0, false, false},
		{"lots", 0, false, true},
	} {
		limit, ok, err := cgroupLimit(tc.content)
		if limit != tc.limit || ok != tc.ok || (err != nil) != tc.err {
			t.Errorf("cgroupLimit(%q) = %d, %v, %v; want %d, %v, error %v", tc.content, limit, ok, err, tc.limit, tc.ok, tc.err)
		}
	}
}

func TestApplyMemoryLimit(t *testing.T) {
	before := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(before) })
	files := func(m map[string]string) func(string) ([]byte, error) {
		return func(path string) ([]byte, error) {
			if s, ok := m[path]; ok {
				return []byte(s), nil
			}
			return nil, fs.ErrNotExist
		}
	}
	noEnv := func(string) string { return "" }
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))

	// The chart's 256Mi under cgroup v1: 90 % of it.
	Apply(log, noEnv, files(map[string]string{"/sys/fs/cgroup/memory/memory.limit_in_bytes": "268435456"}))
	if got, want := debug.SetMemoryLimit(-1), int64(241591910); got != want {
		t.Errorf("limit %d, want %d (90 %% of 256Mi)", got, want)
	}
	// GOMEMLIMIT set by the operator wins: nothing changes.
	debug.SetMemoryLimit(before)
	Apply(log, func(k string) string {
		if k == "GOMEMLIMIT" {
			return "100MiB"
		}
		return ""
	}, files(map[string]string{"/sys/fs/cgroup/memory.max": "268435456"}))
	if got := debug.SetMemoryLimit(-1); got != before {
		t.Errorf("with GOMEMLIMIT set the limit became %d", got)
	}
	// No limit, and a garbled file: nothing changes, the garbled one is said.
	Apply(log, noEnv, files(map[string]string{"/sys/fs/cgroup/memory.max": "max"}))
	Apply(log, noEnv, files(map[string]string{"/sys/fs/cgroup/memory.max": "lots"}))
	if got := debug.SetMemoryLimit(-1); got != before {
		t.Errorf("without a limit the limit became %d", got)
	}
	if !strings.Contains(logs.String(), `not a byte count: \"lots\"`) {
		t.Errorf("the garbled file is not reported:\n%s", logs.String())
	}
}
