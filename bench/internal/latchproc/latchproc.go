// Package latchproc builds the real `latch` binary and runs `latch run` as
// a child process for the benchmarks that measure it from outside (memory,
// latency): it picks free ports for /metrics and /readyz, waits for the
// caches and the first pass, reads metrics and the resident set size, and
// always stops the process (SIGTERM, then SIGKILL) through the fixture's
// cleanup.
package latchproc

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/latch-gitops/latch/internal/testenv"
)

// Build compiles ./cmd/latch (from the module root, found from the working
// folder) into dir and returns the binary's path.
func Build(ctx context.Context, dir string) (string, error) {
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "latch")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/latch")
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build ./cmd/latch: %w: %s", err, out)
	}
	return bin, nil
}

func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the working folder")
		}
		dir = parent
	}
}

// Options start one `latch run`.
type Options struct {
	Bin, Kubeconfig, Repo string
	// Args are more `latch run` flags (e.g. --batch-window).
	Args []string
	// Env is added to the environment (credentials).
	Env []string
	// LogPath receives stdout and stderr.
	LogPath string
	// Pprof serves /debug/pprof on a free loopback port (Proc.Profile).
	Pprof bool
}

// Proc is a running `latch run`.
type Proc struct {
	opts                   Options
	cmd                    *exec.Cmd
	log                    *os.File
	logPath                string
	metricsAddr, probeAddr string
	pprofAddr              string
	done                   chan struct{}
	// relaunches counts the starts WaitReady made again because another
	// process took a port between freePort and latch's bind.
	relaunches int
	// deadline bounds WaitReady: the test's (testenv.Deadline), or a
	// generous bound for a benchmark program.
	deadline time.Time
}

// maxRelaunches bounds how often WaitReady starts latch again on a port
// another process took first: each time is a fresh race lost, so more than
// a few in a row means something else is wrong.
const maxRelaunches = 5

// Start starts latch run with free loopback ports for metrics and probes;
// it is stopped by t's cleanup if Stop was not called. A port is only free
// when it is chosen: another process may bind it before latch does, and
// WaitReady then starts latch again on other ports.
func Start(t testenv.T, opts Options) (*Proc, error) {
	p := &Proc{opts: opts, logPath: opts.LogPath, deadline: testenv.Deadline(t)}
	if err := p.launch(); err != nil {
		return nil, err
	}
	t.Cleanup(p.Stop)
	return p, nil
}

// launch picks the ports and starts the process, its log truncated.
func (p *Proc) launch() error {
	opts := p.opts
	metricsPort, err := freePort()
	if err != nil {
		return err
	}
	probePort, err := freePort()
	if err != nil {
		return err
	}
	p.done = make(chan struct{})
	p.metricsAddr, p.probeAddr = "127.0.0.1:"+strconv.Itoa(metricsPort), "127.0.0.1:"+strconv.Itoa(probePort)
	if p.log, err = os.Create(opts.LogPath); err != nil {
		return err
	}
	args := []string{"--kubeconfig", opts.Kubeconfig, "run", "--repo", opts.Repo,
		"--metrics-bind-address", p.metricsAddr, "--health-probe-bind-address", p.probeAddr}
	if opts.Pprof {
		port, err := freePort()
		if err != nil {
			p.log.Close()
			return err
		}
		p.pprofAddr = "127.0.0.1:" + strconv.Itoa(port)
		args = append(args, "--pprof-bind-address", p.pprofAddr)
	}
	args = append(args, opts.Args...)
	p.cmd = exec.Command(opts.Bin, args...)
	p.cmd.Env = append(os.Environ(), opts.Env...)
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	// If the benchmark dies, latch dies with it.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		p.log.Close()
		return fmt.Errorf("starting %s: %w", opts.Bin, err)
	}
	done := p.done
	go func(cmd *exec.Cmd) { _ = cmd.Wait(); close(done) }(p.cmd)
	return nil
}

// lostPort reports whether the process ended because one of the ports
// chosen for it was taken before it could bind (controller-runtime's
// metrics or probe listener, or the pprof one).
func (p *Proc) lostPort() bool {
	data, _ := os.ReadFile(p.logPath)
	return testenv.PortTaken(data)
}

// PID is the process id.
func (p *Proc) PID() int { return p.cmd.Process.Pid }

// Stop sends SIGTERM, waits up to 30 s, then kills. It is idempotent.
func (p *Proc) Stop() {
	select {
	case <-p.done:
	default:
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(30 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	}
	p.log.Close()
}

// Exited reports whether the process has ended.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// LogTail is the last n lines of the log, for errors.
func (p *Proc) LogTail(n int) string {
	data, _ := os.ReadFile(p.logPath)
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// WaitReady waits until /readyz answers 200 (caches synced) and at least
// one pass has ended well (latch_passes_total{result="ok"} ≥ 1), as long
// as ctx and the fixture's deadline allow (no fixed budget: see
// testenv.Deadline).
func (p *Proc) WaitReady(ctx context.Context) error {
	ctx, cancel := context.WithDeadline(ctx, p.deadline)
	defer cancel()
	start := time.Now()
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		if p.Exited() {
			if !p.lostPort() || p.relaunches >= maxRelaunches {
				return fmt.Errorf("latch run exited before it was ready (started %d times):\n%s", p.relaunches+1, p.LogTail(30))
			}
			// Another process bound a port between freePort and latch:
			// start again on other ports. controller-runtime opens its
			// listeners before it starts anything else, so the failed
			// start ran no pass.
			p.log.Close()
			p.relaunches++
			if err := p.launch(); err != nil {
				return fmt.Errorf("starting latch run again after a port was taken: %w", err)
			}
			continue
		}
		if resp, err := client.Get("http://" + p.probeAddr + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				if m, err := p.Metrics(ctx); err == nil && m[`latch_passes_total{result="ok"}`] >= 1 {
					return nil
				}
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("latch run not ready (readyz 200 and one ok pass) after %v:\n%s", time.Since(start).Round(time.Second), p.LogTail(30))
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// Metrics scrapes /metrics into "name{labels}" → value (untyped text
// format; histogram buckets included as they are written).
func (p *Proc) Metrics(ctx context.Context) (map[string]float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+p.metricsAddr+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("scraping latch /metrics: %w", err)
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			continue
		}
		out[line[:i]] = v
	}
	return out, sc.Err()
}

// Profile fetches /debug/pprof/NAME (e.g. "heap"; Options.Pprof must be set).
func (p *Proc) Profile(ctx context.Context, name string) ([]byte, error) {
	if p.pprofAddr == "" {
		return nil, fmt.Errorf("latch was started without Options.Pprof")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+p.pprofAddr+"/debug/pprof/"+name, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetching the %s profile: %w", name, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetching the %s profile: %s", name, resp.Status)
	}
	return io.ReadAll(resp.Body)
}

// Memory is a process's resident memory from /proc/PID/status, in bytes.
type Memory struct {
	// RSS is VmRSS: every resident page, the binary's text included.
	RSS int64
	// Anon is RssAnon: resident anonymous pages, i.e. the Go heap, stacks
	// and runtime structures, without the mapped binary.
	Anon int64
	// Peak is VmHWM: the highest RSS since the process started.
	Peak int64
}

// Memory reads the process's resident memory.
func (p *Proc) Memory() (Memory, error) { return ReadMemory(p.PID()) }

// ReadMemory reads VmRSS, RssAnon and VmHWM of any process from /proc.
func ReadMemory(pid int) (Memory, error) {
	path := fmt.Sprintf("/proc/%d/status", pid)
	data, err := os.ReadFile(path)
	if err != nil {
		return Memory{}, err
	}
	var m Memory
	found := 0
	for _, line := range bytes.Split(data, []byte("\n")) {
		key, rest, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		var into *int64
		switch string(key) {
		case "VmRSS":
			into = &m.RSS
		case "RssAnon":
			into = &m.Anon
		case "VmHWM":
			into = &m.Peak
		default:
			continue
		}
		fields := strings.Fields(string(rest))
		if len(fields) != 2 || fields[1] != "kB" {
			return Memory{}, fmt.Errorf("%s: unexpected line %q", path, line)
		}
		kb, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil {
			return Memory{}, fmt.Errorf("%s: %s: %w", path, key, err)
		}
		*into = kb * 1024
		found++
	}
	if found != 3 {
		return Memory{}, fmt.Errorf("%s: want VmRSS, RssAnon and VmHWM lines, found %d", path, found)
	}
	return m, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
