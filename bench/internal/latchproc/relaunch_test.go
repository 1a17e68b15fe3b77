package latchproc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestMain lets this test binary stand in for `latch run` (fakeLatch).
func TestMain(m *testing.M) {
	if mode := os.Getenv("LATCHPROC_FAKE_LATCH"); mode != "" {
		os.Exit(fakeLatch(mode, os.Getenv("LATCHPROC_FAKE_MARKER"), os.Args[1:]))
	}
	os.Exit(m.Run())
}

// fakeLatch binds --metrics-bind-address and --health-probe-bind-address
// as latch run does and answers /readyz and /metrics as a latch after its
// first pass. mode "taken-once" fails the first start the way
// controller-runtime does when another process holds the port (marker
// records that it happened), "taken" fails every start so, and "broken"
// fails with another error.
func fakeLatch(mode, marker string, args []string) int {
	taken := func() int {
		fmt.Fprintln(os.Stderr, "latch: failed to start metrics server: failed to create listener: listen tcp 127.0.0.1:1: bind: address already in use")
		return 1
	}
	switch mode {
	case "broken":
		fmt.Fprintln(os.Stderr, "latch: latch.yaml:3:1: spec.rules[0]: unknown field")
		return 1
	case "taken":
		return taken()
	case "taken-once":
		if _, err := os.Stat(marker); errors.Is(err, os.ErrNotExist) {
			_ = os.WriteFile(marker, nil, 0o644)
			return taken()
		}
	}
	var metrics, probe string
	for i := 0; i+1 < len(args); i++ {
		switch args[i] {
		case "--metrics-bind-address":
			metrics = args[i+1]
		case "--health-probe-bind-address":
			probe = args[i+1]
		}
	}
	var listeners []net.Listener
	for _, addr := range []string{metrics, probe} {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			fmt.Fprintf(os.Stderr, "latch: failed to create listener: %v\n", err)
			return 1
		}
		listeners = append(listeners, l)
	}
	go func() {
		_ = http.Serve(listeners[0], http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			_, _ = w.Write([]byte(`latch_passes_total{result="ok"} 1` + "\n"))
		}))
	}()
	_ = http.Serve(listeners[1], http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	return 0
}

// TestWaitReadyRelaunchesOnATakenPort: a port free when Start chose it
// can be bound by another process before latch binds it (what failed
// TestFleet once under the full suite). WaitReady starts latch again on
// other ports instead of failing, a bounded number of times, and fails at
// once for any other exit.
func TestWaitReadyRelaunchesOnATakenPort(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		mode           string
		wantErr        string // "" : ready
		wantRelaunches int
	}{
		{"taken-once", "", 1},
		{"taken", "started 6 times", maxRelaunches},
		{"broken", "unknown field", 0},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			dir := t.TempDir()
			t.Setenv("LATCHPROC_FAKE_LATCH", tt.mode)
			t.Setenv("LATCHPROC_FAKE_MARKER", filepath.Join(dir, "taken"))
			p, err := Start(t, Options{Bin: self, LogPath: filepath.Join(dir, "latch.log")})
			if err != nil {
				t.Fatal(err)
			}
			err = p.WaitReady(context.Background())
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("WaitReady: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("WaitReady = %v, want an error containing %q", err, tt.wantErr)
			}
			if p.relaunches != tt.wantRelaunches {
				t.Errorf("relaunches = %d, want %d", p.relaunches, tt.wantRelaunches)
			}
		})
	}
}
