package testenv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// process is a child process a fixture started; it is stopped on cleanup.
type process struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	done    chan struct{}
	waitErr error
}

// startProcess runs bin with args, logging to a file in a temp dir, and
// registers a cleanup that stops it (SIGTERM, then SIGKILL after 10 s). The
// child also gets SIGKILL if the test binary dies (Pdeathsig), so a test
// killed by -timeout does not leave servers behind.
func startProcess(t T, name, bin string, args []string, env []string) *process {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), name+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatalf("creating log for %s: %v", name, err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		t.Fatalf("starting %s (%s): %v", name, bin, err)
	}
	p := &process{name: name, cmd: cmd, logPath: logPath, done: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		logFile.Close()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			t.Logf("--- last lines of %s log (%s) ---\n%s", name, logPath, p.tail(40))
		}
	})
	return p
}

// stop terminates the whole process group and waits for it.
func (p *process) stop() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-p.done:
	// SIGKILL after a pause, not a budget: no test fails on it.
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
}

// exited reports whether the process has ended, with its error.
func (p *process) exited() (bool, error) {
	select {
	case <-p.done:
		return true, p.waitErr
	default:
		return false, nil
	}
}

// tail returns the last n lines of the process log.
func (p *process) tail(n int) string {
	data, err := os.ReadFile(p.logPath)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	lines := bytes.Split(bytes.TrimRight(data, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}

// freePort asks the kernel for a free loopback port. A server given it must
// still be ready to retry: another process may take it first.
func freePort(t T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("finding a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// PortTaken reports whether a server's output says it could not bind a
// port because another process holds it: a port chosen free (by freePort
// or the like) may be taken before the server binds it, and the server is
// then started again on another. Other failures are the test's to report.
func PortTaken(output []byte) bool {
	return bytes.Contains(output, []byte("address already in use"))
}

func hostPort(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }

// waitFor polls check until it returns nil, the process dies or ctx ends
// (its deadline comes from the test's: see Deadline); the error says which.
func waitFor(ctx context.Context, what string, p *process, check func(context.Context) error) error {
	start := time.Now()
	var last error
	for {
		if p != nil {
			if ended, err := p.exited(); ended {
				return fmt.Errorf("%s: process %s exited (%v) before it was ready; log tail:\n%s", what, p.name, err, p.tail(20))
			}
		}
		if last = check(ctx); last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: not ready after %s: %w", what, time.Since(start).Round(time.Millisecond), errors.Join(last, ctx.Err()))
		case <-time.After(100 * time.Millisecond):
		}
	}
}
