package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/latch-gitops/latch/bench/internal/latchproc"
	"github.com/latch-gitops/latch/internal/testenv"
)

type config struct {
	objects, namespaces, secondRuns int
	log                             func(format string, args ...any)
}

// run is one timed run of one tool.
type run struct {
	took time.Duration
	// cpu is the process's user + system time (latch's own work, less
	// sensitive to a loaded machine than the wall time).
	cpu      time.Duration
	requests int
	// changed and counts are latch's report; passes is how many kubectl
	// invocations it took until one exited 0.
	changed int
	counts  map[string]int
	passes  int
	// firstPass is kubectl's first invocation alone.
	firstPass time.Duration
}

type result struct {
	total  int
	first  run
	second []run
	// fresh is one more second restore without --work-dir: a clone of
	// its own, as a first restore on a new machine has.
	fresh   run
	kubectl run
	// applied are the objects each server holds afterwards (of the
	// repository's kinds and namespaces), latch's then kubectl's.
	latchHas, kubectlHas int
	// customResources is how many Pools the repository declares.
	customResources int
	// load is /proc/loadavg at the end.
	load string
}

func (r result) problem() string {
	switch {
	case r.first.counts["created"] != r.total:
		return fmt.Sprintf("latch's first restore created %d of %d objects", r.first.counts["created"], r.total)
	case r.latchHas != r.total || r.kubectlHas != r.total:
		return fmt.Sprintf("the servers hold %d (latch) and %d (kubectl) of %d objects", r.latchHas, r.kubectlHas, r.total)
	}
	for _, s := range append(r.second, r.fresh) {
		if s.changed != 0 {
			return fmt.Sprintf("a second restore changed %d objects", s.changed)
		}
	}
	return ""
}

func measure(ctx context.Context, t testenv.T, cfg config) (result, error) {
	res := result{}
	remote := testenv.NewGitRemote(t)
	human := remote.Human(t)
	repo, err := testenv.WriteObjectRepo(human.Dir, cfg.objects, cfg.namespaces)
	if err != nil {
		return res, err
	}
	res.total, res.customResources = repo.Total, repo.Counts["Pool"]
	human.Commit(fmt.Sprintf("%d objects", repo.Total))
	human.Push()
	forLatch := testenv.StartControlPlane(t)
	forKubectl := testenv.StartControlPlane(t)
	bin, err := latchproc.Build(ctx, t.TempDir())
	if err != nil {
		return res, err
	}
	env := append(os.Environ(), "LATCH_GIT_USERNAME="+remote.Username, "LATCH_GIT_PASSWORD="+remote.Password)
	// The restores share one --work-dir, as an operator re-running restore
	// does: the clone is made once, and later runs fetch what is new.
	workDir := filepath.Join(t.TempDir(), "work")
	restore := func(extra ...string) (run, error) {
		args := append([]string{"--kubeconfig", forLatch.Kubeconfig, "restore", "--repo", remote.URL, "--path", testenv.ObjectRepoDir, "-o", "json", "-v"}, extra...)
		cmd := exec.CommandContext(ctx, bin, args...)
		cmd.Env = env
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		start := time.Now()
		err := cmd.Run()
		r := run{took: time.Since(start)}
		if cmd.ProcessState != nil {
			r.cpu = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
		}
		if err != nil {
			return r, fmt.Errorf("latch restore: %v\n%s", err, lastLines(errb.String()+out.String()))
		}
		var rep struct {
			Changed int            `json:"changed"`
			Counts  map[string]int `json:"counts"`
		}
		if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
			return r, fmt.Errorf("latch restore -o json: %v", err)
		}
		r.changed, r.counts = rep.Changed, rep.Counts
		if m := requestsLogged.FindStringSubmatch(errb.String()); m != nil {
			r.requests, _ = strconv.Atoi(m[1])
		}
		return r, nil
	}
	cfg.log("latch restore of %d objects into an empty API server", repo.Total)
	if res.first, err = restore("--work-dir", workDir); err != nil {
		return res, err
	}
	cfg.log("latch restore: %v (cpu %v), %d requests, %v", res.first.took.Round(time.Millisecond), res.first.cpu.Round(time.Millisecond), res.first.requests, res.first.counts)
	for i := 0; i < cfg.secondRuns; i++ {
		r, err := restore("--work-dir", workDir)
		if err != nil {
			return res, err
		}
		cfg.log("latch restore again: %v (cpu %v), %d requests, %v", r.took.Round(time.Millisecond), r.cpu.Round(time.Millisecond), r.requests, r.counts)
		res.second = append(res.second, r)
	}
	if res.fresh, err = restore(); err != nil {
		return res, err
	}
	cfg.log("latch restore again from a fresh clone: %v (cpu %v), %d requests, %v", res.fresh.took.Round(time.Millisecond), res.fresh.cpu.Round(time.Millisecond), res.fresh.requests, res.fresh.counts)

	kubectl := filepath.Join(testenv.TestBinDir(), "kubectl")
	dir := filepath.Join(human.Dir, testenv.ObjectRepoDir)
	cfg.log("kubectl apply --server-side -R -f of the same files into a second empty API server")
	// kubectl resolves every object's kind before applying any: the custom
	// resources fail until their CRD is served, so it takes a second
	// invocation, as people run it.
	for res.kubectl.passes < 5 {
		res.kubectl.passes++
		cmd := exec.CommandContext(ctx, kubectl, "--kubeconfig", forKubectl.Kubeconfig, "apply", "--server-side", "-R", "-f", dir, "-v=6")
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		start := time.Now()
		err := cmd.Run()
		res.kubectl.took += time.Since(start)
		if res.kubectl.passes == 1 {
			res.kubectl.firstPass = time.Since(start)
		}
		res.kubectl.requests += len(requestLine.FindAllString(errb.String(), -1))
		cfg.log("kubectl pass %d: %v (%v in all), exit %v", res.kubectl.passes, time.Since(start).Round(time.Millisecond), res.kubectl.took.Round(time.Millisecond), err)
		if err == nil {
			break
		}
		if _, ok := err.(*exec.ExitError); !ok {
			return res, fmt.Errorf("kubectl apply: %v", err)
		}
	}
	if data, err := os.ReadFile("/proc/loadavg"); err == nil {
		res.load = strings.Join(strings.Fields(string(data))[:3], " ")
	}
	if res.latchHas, err = countObjects(ctx, kubectl, forLatch.Kubeconfig, repo); err != nil {
		return res, err
	}
	if res.kubectlHas, err = countObjects(ctx, kubectl, forKubectl.Kubeconfig, repo); err != nil {
		return res, err
	}
	return res, nil
}

// countObjects counts the repository's objects a server holds, with one
// kubectl get per kind.
func countObjects(ctx context.Context, kubectl, kubeconfig string, repo testenv.ObjectRepo) (int, error) {
	n := 0
	declared := map[string]bool{}
	for _, ns := range repo.Namespaces {
		declared[ns] = true
	}
	for _, kind := range []string{"namespaces", "customresourcedefinitions", "deployments", "services", "configmaps", "horizontalpodautoscalers.autoscaling", "pools.demo.latch.dev"} {
		out, err := exec.CommandContext(ctx, kubectl, "--kubeconfig", kubeconfig, "get", kind, "-A", "--no-headers", "-o", "custom-columns=NS:.metadata.namespace,NAME:.metadata.name").Output()
		if err != nil {
			return 0, fmt.Errorf("kubectl get %s: %v", kind, err)
		}
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			f := strings.Fields(line)
			switch {
			case len(f) != 2:
			case kind == "namespaces":
				if declared[f[1]] {
					n++
				}
			case kind == "customresourcedefinitions":
				n++
			case declared[f[0]] && !(kind == "configmaps" && f[1] == "kube-root-ca.crt"):
				n++
			}
		}
	}
	return n, nil
}

// requestLine is one request in kubectl's -v=6 log.
var requestLine = regexp.MustCompile(`(?m)"Response" verb="|\] (GET|PATCH|POST|PUT) https?://`)

var requestsLogged = regexp.MustCompile(`requests=(\d+)`)

func lastLines(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > 10 {
		lines = lines[len(lines)-10:]
	}
	return strings.Join(lines, "\n")
}
