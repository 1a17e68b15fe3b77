package controller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
	"time"

	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"

	"github.com/latch-gitops/latch/internal/backoff"
)

// APIServerBackoff spaces the attempts to reach an API server that does
// not answer at start: 1 s, doubling to 30 s, jittered.
var APIServerBackoff = backoff.Policy{Initial: time.Second, Max: 30 * time.Second}

// apiServerProbeTimeout bounds one attempt (a server that accepts the
// connection and never answers).
const apiServerProbeTimeout = 10 * time.Second

// waitForAPIServer returns once the API server answers GET /version, or
// when ctx ends. A controller started before its API server (a control
// plane coming up, a network not ready yet) waits and retries with backoff
// instead of exiting, as it already rides out an API server that goes away
// later. Each failed attempt is logged, and probeAddr (when not "0") serves
// /healthz ok and a failing /readyz that names the reason, until the
// controller's own probes take over.
func waitForAPIServer(ctx context.Context, cfg *rest.Config, probeAddr string, log *slog.Logger) error {
	probeCfg := rest.CopyConfig(cfg)
	probeCfg.Timeout = apiServerProbeTimeout
	disc, err := discovery.NewDiscoveryClientForConfig(probeCfg)
	if err != nil {
		return fmt.Errorf("discovery client: %w", err)
	}
	_, err = disc.ServerVersion()
	if err == nil {
		return nil
	}
	status := &waitStatus{}
	if probeAddr != "0" && probeAddr != "" {
		stop, err := serveWaitProbes(probeAddr, status)
		if err != nil {
			return err
		}
		defer stop()
	}
	var state backoff.State
	for err != nil {
		state = APIServerBackoff.Failed(state, time.Now(), rand.Float64())
		msg := fmt.Sprintf("waiting for the API server at %s (attempt %d failed: %v); next attempt in %s",
			cfg.Host, state.Failures, err, state.Wait.Round(100*time.Millisecond))
		status.set(msg)
		log.Warn("the API server does not answer; waiting for it", "server", cfg.Host, "attempt", state.Failures, "error", err, "retryIn", state.Wait)
		timer := time.NewTimer(state.Wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil
		case <-timer.C:
		}
		_, err = disc.ServerVersion()
	}
	log.Info("the API server answers", "server", cfg.Host, "after", state.Failures)
	return nil
}

// waitStatus is the reason /readyz gives while latch waits.
type waitStatus struct {
	mu  sync.Mutex
	msg string
}

func (s *waitStatus) set(msg string) {
	s.mu.Lock()
	s.msg = msg
	s.mu.Unlock()
}

func (s *waitStatus) get() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.msg
}

// serveWaitProbes serves /healthz and /readyz on addr until stop, which
// frees the port for the controller's own probe server.
func serveWaitProbes(addr string, status *waitStatus) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("health probe address %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = fmt.Fprintln(w, "ok") })
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "[-]apiserver failed: "+status.get(), http.StatusServiceUnavailable)
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			status.set("probe server: " + err.Error())
		}
	}()
	return func() {
		_ = srv.Close()
		<-done
	}, nil
}
