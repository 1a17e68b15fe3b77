// Command demo is `make demo`: it starts a local Kubernetes control plane
// (etcd, kube-apiserver, controller manager, scheduler, kwok fake nodes) and
// a local git remote seeded with sample manifests — a plain manifest, a
// Kustomize overlay and Helm values with a latch marker — runs `latch run`
// against them, and plays a scale story through the scale subresource the
// way an HPA would, printing what latch writes to git as it goes. Everything
// it starts is stopped before it exits, also on Ctrl-C.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"k8s.io/client-go/kubernetes"

	"github.com/latch-gitops/latch/internal/samplerepo"
	"github.com/latch-gitops/latch/internal/testenv"
)

func main() {
	fast := flag.Bool("fast", false, "shorter pauses (for tests of the demo)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	session := &testenv.Session{}
	err := session.Run(func() error { return run(ctx, session, *fast) })
	if err != nil {
		fmt.Fprintf(os.Stderr, "\ndemo: %v\n", err)
		os.Exit(1)
	}
}

// step is one move of the story: the HPA sets a workload's scale.
type step struct {
	workload string
	replicas int32
	say      string
	// expectCommit: latch should write this change to git (false: it is
	// inside the band, or waits for its dwell).
	expectCommit bool
}

var story = []step{
	{"web", 8, "morning traffic: the HPA scales web 3 → 8", true},
	{"web", 9, "a small wobble 8 → 9: inside the band, latch writes nothing", false},
	{"web", 47, "the campaign starts: web 9 → 47", true},
	{"api", 130, "api follows: 4 → 130", true},
	{"web", 480, "the campaign goes viral: web 47 → 480", true},
	{"web", 4000, "front page of everything: web 480 → 4,000 (HPA max is 5,000)", true},
	{"worker", 40, "the worker queue backs up: worker 2 → 40", true},
	{"web", 90, "evening: web 4,000 → 90. Going down is the safe side to wait on: latch holds 4,000 until the lower scale has lasted a dwell (4h by default, 20s in this demo; shorter in proportion when the drop is this deep)", true},
}

func run(ctx context.Context, s *testenv.Session, fast bool) error {
	say := func(format string, args ...any) { fmt.Printf(format+"\n", args...) }
	pause := func(d time.Duration) {
		if fast {
			d /= 4
		}
		select {
		case <-ctx.Done():
		case <-time.After(d):
		}
	}

	say("latch demo — a local cluster, a local git remote, and latch keeping git near the live scale.\n")
	say("▶ starting a local control plane: etcd, kube-apiserver, controller manager, scheduler, kwok fake nodes…")
	start := time.Now()
	cluster := testenv.Cluster(s, testenv.ClusterOptions{Nodes: 3})
	say("  ready in %s; kubeconfig: %s", time.Since(start).Round(100*time.Millisecond), cluster.Kubeconfig)

	say("▶ starting a local git remote (smart HTTP with basic auth) seeded with sample manifests…")
	remote := testenv.NewGitRemote(s)
	human := remote.Human(s)
	for path, content := range samplerepo.Files(sample) {
		human.WriteFile(path, content)
	}
	human.Commit("Add shop: web, api and worker")
	human.Push()
	say("  %s", remote.URL)
	for _, line := range samplerepo.Summary(sample) {
		say("    %s", line)
	}

	say("▶ applying the manifests to the cluster, as Flux or Argo CD would…")
	client := kubernetes.NewForConfigOrDie(cluster.Config)
	apply(s, client)

	say("▶ building and starting `latch run` (batch window 3s)…")
	bin := filepath.Join(s.TempDir(), "latch")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/latch")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("building latch: %w", err)
	}
	logPath := filepath.Join(s.TempDir(), "latch.log")
	latch, err := startLatch(s, bin, cluster.Kubeconfig, remote, logPath)
	if err != nil {
		return err
	}
	say("  latch logs: %s", logPath)
	waitHead(ctx, remote, "", 15*time.Second) // the first pass commits nothing: git and cluster agree
	pause(2 * time.Second)

	say("\n▶ the story — an HPA scales the workloads (we write the scale subresource, exactly as the HPA controller does):\n")
	head := remote.Head(s, "main")
	for _, st := range story {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		say("  ⟶ %s", st.say)
		scale(s, client, st.workload, st.replicas)
		timeout := 20 * time.Second
		if strings.HasPrefix(st.say, "evening") {
			timeout = 60 * time.Second
		}
		if !st.expectCommit {
			pause(6 * time.Second)
			if now := remote.Head(s, "main"); now != head {
				say("    (latch committed after all: %s)", subject(remote, now))
				head = now
			} else {
				say("    git unchanged ✓")
			}
			continue
		}
		began := time.Now()
		now := waitHead(ctx, remote, head, timeout)
		if now == head {
			return fmt.Errorf("latch did not commit within %s; see %s", timeout, logPath)
		}
		head = now
		say("    %s  %s  (%.1fs after the scale change)", now[:7], subject(remote, now), time.Since(began).Seconds())
		pause(2 * time.Second)
	}

	say("\n▶ git log — one commit per meaningful change, each with its evidence:\n")
	out, _ := gitOut(remote.BareDir, "log", "--format=  %h %<(15,trunc)%an %s", "main")
	fmt.Print(out)
	say("\n▶ the newest commit in full (the trailers make it machine-readable):\n")
	out, _ = gitOut(remote.BareDir, "log", "-1", "--format=%B", "main")
	for _, line := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		say("    %s", line)
	}
	say("\n▶ latch status:\n")
	status := exec.CommandContext(ctx, bin, "--kubeconfig", cluster.Kubeconfig, "status", "--repo", remote.URL)
	status.Env = append(os.Environ(), "LATCH_GIT_USERNAME="+remote.Username, "LATCH_GIT_PASSWORD="+remote.Password)
	status.Stdout, status.Stderr = os.Stdout, os.Stderr
	if err := status.Run(); err != nil {
		return fmt.Errorf("latch status: %w", err)
	}

	say("\n▶ stopping latch (SIGTERM), the cluster and the remote…")
	if err := latch.Process.Signal(syscall.SIGTERM); err == nil {
		_ = latch.Wait()
	}
	say("  done. Rebuild this cluster from git now and web starts at the round number above, not at 3.")
	return nil
}

func startLatch(s *testenv.Session, bin, kubeconfig string, remote *testenv.GitRemote, logPath string) (*exec.Cmd, error) {
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "--kubeconfig", kubeconfig, "run",
		"--repo", remote.URL, "--cluster-name", "demo", "--git-author", "latch <latch@demo.local>",
		"--batch-window", "3s", "--resync", "3s", "--metrics-bind-address", "0", "--health-probe-bind-address", "0")
	cmd.Env = append(os.Environ(), "LATCH_GIT_USERNAME="+remote.Username, "LATCH_GIT_PASSWORD="+remote.Password)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("starting latch: %w", err)
	}
	s.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			done := make(chan struct{})
			go func() { _ = cmd.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				_ = cmd.Process.Kill()
			}
		}
		logFile.Close()
	})
	return cmd, nil
}

// waitHead waits until the remote's main differs from old (old "" waits a
// fixed time) and returns the new head.
func waitHead(ctx context.Context, remote *testenv.GitRemote, old string, timeout time.Duration) string {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		out, err := gitOut(remote.BareDir, "rev-parse", "main")
		if err == nil && old != "" && strings.TrimSpace(out) != old {
			return strings.TrimSpace(out)
		}
		time.Sleep(200 * time.Millisecond)
	}
	out, _ := gitOut(remote.BareDir, "rev-parse", "main")
	return strings.TrimSpace(out)
}

func subject(remote *testenv.GitRemote, commit string) string {
	out, _ := gitOut(remote.BareDir, "log", "-1", "--format=%s", commit)
	return strings.TrimSpace(out)
}

func gitOut(dir string, args ...string) (string, error) {
	var out, errOut bytes.Buffer
	cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return "", errors.New(strings.TrimSpace(errOut.String()))
	}
	return out.String(), nil
}

func scale(s *testenv.Session, client kubernetes.Interface, name string, replicas int32) {
	testenv.ScaleAsHPA(s, client, "shop", name, replicas)
}

// apply creates what the seed manifests declare (the demo plays Flux).
// apply creates the sample's workloads as git declares them, each with its HPA.
func apply(s *testenv.Session, client kubernetes.Interface) {
	for _, w := range sample.Workloads() {
		testenv.CreateWorkloads(s, client, testenv.Workload{Namespace: samplerepo.Namespace, Name: w.Name, Replicas: w.Replicas, HPAMin: w.HPAMin, HPAMax: w.HPAMax})
	}
}

// sample is the demo's repository: the shared sample, with a 20s dwell down
// so the story's lull becomes a commit within the demo.
var sample = samplerepo.Options{Cluster: "demo", WebMaxReplicas: 5000, DwellDown: "20s"}
