package controller

import (
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/latch-gitops/latch/internal/testenv"
)

// TestRunWaitsForTheAPIServer: `latch run` started while its API server is
// down does not exit: it waits with backoff, says why in /readyz and the
// log, and once the API server is up it latches as usual.
func TestRunWaitsForTheAPIServer(t *testing.T) {
	cp := testenv.StartControlPlane(t)
	client := kubernetes.NewForConfigOrDie(cp.Config)
	remote := testenv.NewGitRemote(t)
	seed(t, remote, map[string]string{"apps/web.yaml": webManifest})
	createWeb(t, client)
	cp.StopAPIServer(t)

	probe := freeLoopbackAddr(t)
	in := startRun(t, cp.Config, remote, runSpec{cluster: "test", probeAddr: probe})
	readyz := func() (int, string) {
		resp, err := http.Get("http://" + probe + "/readyz")
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	var body string
	testenv.WaitUntil(t, "/readyz saying latch waits for the API server", func() bool {
		select {
		case err := <-in.done:
			t.Fatalf("Run returned while the API server was down: %v", err)
		default:
		}
		var code int
		code, body = readyz()
		return code == http.StatusServiceUnavailable && strings.Contains(body, "waiting for the API server at "+cp.Config.Host)
	})
	t.Logf("/readyz while the API server is down: %s", strings.TrimSpace(body))
	select {
	case err := <-in.done:
		t.Fatalf("Run returned while the API server was down: %v", err)
	default:
	}

	cp.StartAPIServer(t)
	testenv.WaitUntil(t, "the first pass once the API server is up", func() bool { return in.passes(t) >= 1 })
	testenv.WaitUntil(t, "/readyz ok", func() bool { code, _ := readyz(); return code == http.StatusOK })
	scaleWeb(t, client, 37)
	waitForFile(t, remote, "apps/web.yaml", "  replicas: 40 # latched by latch\n")
}

// freeLoopbackAddr is a loopback address no one listens on now.
func freeLoopbackAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

// TestWaitForAPIServerRetries checks the wait itself without a control
// plane: an address where nothing listens yet, then a server answering
// GET /version there (only that: a stand-in for kube-apiserver's /version,
// the one request the wait makes). The wait serves a failing /readyz
// meanwhile and returns once the server answers.
func TestWaitForAPIServerRetries(t *testing.T) {
	addr, probe := freeLoopbackAddr(t), freeLoopbackAddr(t)
	cfg := &rest.Config{Host: "http://" + addr}
	done := make(chan error, 1)
	go func() { done <- waitForAPIServer(testenv.Context(t), cfg, probe, slog.New(slog.DiscardHandler)) }()
	testenv.WaitUntil(t, "/readyz naming the API server it waits for", func() bool {
		resp, err := http.Get("http://" + probe + "/readyz")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode == http.StatusServiceUnavailable && strings.Contains(string(body), "waiting for the API server at http://"+addr)
	})
	select {
	case err := <-done:
		t.Fatalf("the wait returned with nothing listening: %v", err)
	default:
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"major":"1","minor":"37","gitVersion":"v1.37.2"}`)
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	testenv.WaitUntil(t, "the wait to return once the server answers", func() bool {
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("wait: %v", err)
			}
			return true
		default:
			return false
		}
	})
	// The probe port is free again for the controller's own probes.
	ln2, err := net.Listen("tcp", probe)
	if err != nil {
		t.Fatalf("the wait's probe server still holds %s: %v", probe, err)
	}
	_ = ln2.Close()
}
