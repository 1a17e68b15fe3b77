// Package memlimit sets the Go runtime's soft memory limit (GOMEMLIMIT)
// from the container's cgroup memory limit, so a start-up burst is paid
// for in GC time rather than by the OOM killer.
package memlimit

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
)

// cgroupMemoryFiles are where a container's memory limit is readable from
// inside it: cgroup v2 first, then v1.
var cgroupMemoryFiles = []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"}

// SoftShare is the part of the container's memory limit the Go
// runtime is asked to stay under (GOMEMLIMIT): the rest is headroom for
// what the runtime does not count (the binary's pages, git and ssh child
// processes are in the same cgroup) before the kernel's OOM killer acts.
const SoftShare = 0.9

// cgroupLimit parses a cgroup memory limit file's content: the limit in
// bytes, or ok false for none ("max" in v2; v1 writes a number near
// 2^63 rounded to the page size).
func cgroupLimit(content string) (limit int64, ok bool, err error) {
	s := strings.TrimSpace(content)
	if s == "max" {
		return 0, false, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, false, fmt.Errorf("not a byte count: %q", s)
	}
	if n <= 0 || n >= 1<<62 {
		return 0, false, nil
	}
	return n, true, nil
}

// Soft is the GOMEMLIMIT latch sets from a container limit of limit bytes.
func Soft(limit int64) int64 { return int64(float64(limit) * SoftShare) }

// Apply sets the Go runtime's soft memory limit from the
// container's cgroup limit unless GOMEMLIMIT is set: under a limit the
// runtime collects harder as the heap nears it, so a start-up burst (the
// initial LISTs of a large cluster) is paid for in GC time rather than by
// the OOM killer. Outside a container (no cgroup file, or no limit) it does
// nothing.
func Apply(log *slog.Logger, env func(string) string, readFile func(string) ([]byte, error)) {
	if v := env("GOMEMLIMIT"); v != "" {
		log.Debug("memory limit from GOMEMLIMIT", "GOMEMLIMIT", v)
		return
	}
	for _, path := range cgroupMemoryFiles {
		content, err := readFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			log.Warn("cannot read the container's memory limit; the Go runtime has none", "file", path, "error", err)
			return
		}
		limit, ok, err := cgroupLimit(string(content))
		if err != nil {
			log.Warn("cannot read the container's memory limit; the Go runtime has none", "file", path, "error", err)
			return
		}
		if !ok {
			return
		}
		soft := Soft(limit)
		debug.SetMemoryLimit(soft)
		log.Info("Go memory limit set from the container's", "limitBytes", limit, "goMemLimitBytes", soft, "file", path)
		return
	}
}

// ApplyToProcess is Apply with this process's environment and files.
func ApplyToProcess(log *slog.Logger) { Apply(log, os.Getenv, os.ReadFile) }
