package main

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"

	"github.com/latch-gitops/latch/internal/testenv"
)

// The real binary: `latch run` built from this package and run as a
// subprocess, probed over HTTP and stopped with SIGTERM as the kubelet does.

const runPolicy = `apiVersion: latch.dev/v1alpha1
kind: LatchPolicy
spec:
  defaults:
    latch:
      dwellUp: 0s
      dwellDown: 1h
      window: 0s
`

// buildLatch compiles this command into a temp folder.
func buildLatch(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "latch")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// latchProcess is a running `latch run`.
type latchProcess struct {
	cmd    *exec.Cmd
	output *syncBuffer
	done   chan struct{}
	err    error
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func startLatch(t *testing.T, bin string, remote *testenv.GitRemote, args ...string) *latchProcess {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "LATCH_GIT_USERNAME="+remote.Username, "LATCH_GIT_PASSWORD="+remote.Password)
	p := &latchProcess{cmd: cmd, output: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.output, p.output
	// Its own process group (git children included); killed if the test
	// binary dies.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-p.done
		}
		if t.Failed() {
			t.Logf("latch output:\n%s", p.output.String())
		}
	})
	return p
}

// startLatchOnFreeAddrs is startLatch with n loopback addresses free when
// chosen, passed to args: a port is only free when it is chosen, and
// another process of the suite may bind it before latch does. Until each
// address accepts connections, a latch that exits on "address already in
// use" (testenv.PortTaken) is started again on new addresses (at most
// five times); any other exit is left to the test's own waits, which
// report it.
func startLatchOnFreeAddrs(t *testing.T, bin string, remote *testenv.GitRemote, n int, args func(addrs []string) []string) (*latchProcess, []string) {
	t.Helper()
	for start := 1; ; start++ {
		addrs := make([]string, n)
		for i := range addrs {
			addrs[i] = freeAddr(t)
		}
		p := startLatch(t, bin, remote, args(addrs)...)
		lost := false
		testenv.WaitUntil(t, "latch listening on "+strings.Join(addrs, ", "), func() bool {
			select {
			case <-p.done:
				lost = testenv.PortTaken([]byte(p.output.String()))
				return true
			default:
			}
			for _, a := range addrs {
				c, err := net.DialTimeout("tcp", a, time.Second)
				if err != nil {
					return false
				}
				c.Close()
			}
			return true
		})
		if !lost || start == 5 {
			return p, addrs
		}
		t.Logf("latch run lost a port to another process (start %d); starting it again on others", start)
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func httpGet(addr, path string) (int, string) {
	client := &http.Client{Timeout: 2 * time.Second}
	resp, err := client.Get("http://" + addr + path)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// waitFor waits for cond as long as the test may (testenv.Deadline), failing
// at once if latch exits meanwhile.
func waitFor(t *testing.T, what string, p *latchProcess, cond func() bool) {
	t.Helper()
	testenv.WaitUntil(t, what, whileRunning(t, what, p, cond))
}

// waitForWithin is waitFor giving up after limit (testenv.WaitWithin).
func waitForWithin(t *testing.T, what string, limit time.Duration, p *latchProcess, cond func() bool) {
	t.Helper()
	testenv.WaitWithin(t, what, limit, whileRunning(t, what, p, cond))
}

// whileRunning is cond, failing t if latch exits before it holds.
func whileRunning(t *testing.T, what string, p *latchProcess, cond func() bool) func() bool {
	return func() bool {
		select {
		case <-p.done:
			t.Fatalf("latch exited (%v) while waiting for %s", p.err, what)
		default:
		}
		return cond()
	}
}

// metricValue reads an unlabelled sample (or the first with labels
// matching prefix) from a /metrics body; -1e9 when absent.
func metricValue(body, sample string) float64 {
	for _, line := range strings.Split(body, "\n") {
		if strings.HasPrefix(line, sample+" ") {
			var v float64
			if _, err := fmt.Sscanf(strings.TrimPrefix(line, sample+" "), "%g", &v); err == nil {
				return v
			}
		}
	}
	return -1e9
}

// TestRunBinaryProbesMetricsAndSIGTERM: the real `latch run` serves
// /healthz, /readyz once its caches are synced, and latch_* metrics; a
// SIGTERM during a pass in flight lets the pass finish (its commit lands
// whole) and exits 0 within the grace period, leaving no git lock behind.
func TestRunBinaryProbesMetricsAndSIGTERM(t *testing.T) {
	bin := buildLatch(t)
	cp := testenv.StartControlPlane(t)
	remote := testenv.NewGitRemote(t)
	human := remote.Human(t)
	human.WriteFile("latch.yaml", runPolicy)
	human.WriteFile("clusters/prod/web.yaml", seedFiles[sample.WebPath()])
	human.Commit("seed")
	human.Push()
	client := kubernetes.NewForConfigOrDie(cp.Config)
	createWorkloads(t, client, []liveWorkload{{name: "web", replicas: 3, min: 2, max: 500}})

	proxy := testenv.NewDelayProxy(t, remote)
	workDir := filepath.Join(t.TempDir(), "clone")
	// A grace long enough for the slowed pass on any machine: half of what
	// the test has left (the pass itself takes a few seconds).
	grace := (time.Until(testenv.Deadline(t)) / 2).Round(time.Second)
	p, addrs := startLatchOnFreeAddrs(t, bin, remote, 2, func(a []string) []string {
		return []string{"--kubeconfig", cp.Kubeconfig, "run", "--repo", proxy.URL, "--work-dir", workDir,
			"--cluster-name", "prod", "--batch-window", "1s", "--resync", "1m", "--shutdown-grace", grace.String(),
			"--metrics-bind-address", a[0], "--health-probe-bind-address", a[1]}
	})
	metricsAddr, probeAddr := addrs[0], addrs[1]

	waitFor(t, "/healthz 200", p, func() bool { code, _ := httpGet(probeAddr, "/healthz"); return code == 200 })
	waitFor(t, "/readyz 200", p, func() bool { code, _ := httpGet(probeAddr, "/readyz"); return code == 200 })
	var body string
	waitFor(t, "the first pass in /metrics", p, func() bool {
		_, body = httpGet(metricsAddr, "/metrics")
		return metricValue(body, `latch_passes_total{result="ok"}`) >= 1
	})
	for _, name := range []string{"latch_latches_total", "latch_commits_total", "latch_push_retries_total", "latch_push_failures_total",
		"latch_queue_depth", "latch_seconds_since_last_successful_push", "latch_pass_duration_seconds_count"} {
		if v := metricValue(body, name); v == -1e9 {
			t.Errorf("/metrics has no %s", name)
		}
	}

	// A change latched normally: the metrics count it.
	scale(t, client, "web", 37)
	waitFor(t, "replicas 40 in git", p, func() bool {
		return strings.Contains(git(t, remote.BareDir, "show", "main:clusters/prod/web.yaml"), "replicas: 40 # latched")
	})
	waitFor(t, "latch_commits_total 1", p, func() bool {
		_, body = httpGet(metricsAddr, "/metrics")
		return metricValue(body, "latch_commits_total") == 1 && metricValue(body, "latch_latches_total") == 1
	})

	// Hold the next pass in flight: every request to the remote now takes
	// 1.5 s, so its fetch and push take several seconds.
	before := remote.Head(t, "main")
	proxy.SetDelay(1500 * time.Millisecond)
	requests := proxy.Requests()
	scale(t, client, "web", 130)
	waitFor(t, "the pass reaching the remote", p, func() bool { return proxy.Requests() > requests })
	signalled := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.done:
	case <-time.After(time.Until(testenv.Deadline(t))):
		t.Fatalf("latch still running %s after SIGTERM (grace %s)", time.Since(signalled).Round(time.Second), grace)
	}
	took := time.Since(signalled)
	t.Logf("SIGTERM during a pass: exited %v after %s", p.err, took.Round(time.Millisecond))
	if p.err != nil {
		t.Errorf("latch exited with %v after SIGTERM, want 0", p.err)
	}

	// The pass finished: the remote holds its whole commit on top of the
	// previous head (or, had it been abandoned, the previous head itself).
	after := remote.Head(t, "main")
	switch {
	case after == before:
		t.Errorf("the pass in flight was abandoned although the grace (%s) was long enough", grace)
	default:
		if parent := git(t, remote.BareDir, "log", "-1", "--format=%P", after); parent != before {
			t.Errorf("new head %s has parent %s, want %s", after, parent, before)
		}
		if out, err := exec.Command("git", "-C", remote.BareDir, "fsck", "--no-dangling").CombinedOutput(); err != nil {
			t.Errorf("git fsck on the remote: %v\n%s", err, out)
		}
		content := git(t, remote.BareDir, "show", "main:clusters/prod/web.yaml")
		if !strings.Contains(content, "replicas: 160 # latched") {
			t.Errorf("head's manifest does not hold the latched 160:\n%s", content)
		}
	}
	for _, lock := range []string{"index.lock", "HEAD.lock", "refs/remotes/origin/main.lock", "shallow.lock"} {
		if _, err := os.Stat(filepath.Join(workDir, ".git", lock)); err == nil {
			t.Errorf("%s left in latch's work dir after shutdown", lock)
		}
	}
	if out := p.output.String(); !strings.Contains(out, "latched") {
		t.Errorf("latch did not log the latch it finished during shutdown:\n%s", out)
	}
}
