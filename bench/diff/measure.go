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
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/latch-gitops/latch/bench/internal/latchproc"
	"github.com/latch-gitops/latch/internal/testenv"
)

type config struct {
	objects, namespaces, runs int
	log                       func(format string, args ...any)
}

// toolRun is one timed run of one tool.
type toolRun struct {
	took     time.Duration
	found    []string // drifted objects, as group.version.Kind.namespace.name
	requests int
}

type result struct {
	kinds     int
	drifted   []string
	latch     []toolRun
	kubectl   toolRun // default concurrency
	kubectl16 toolRun
	applyTook time.Duration
}

func (r result) sameFound() bool {
	want := strings.Join(r.drifted, ",")
	for _, run := range append([]toolRun{r.kubectl, r.kubectl16}, r.latch...) {
		if strings.Join(run.found, ",") != want {
			return false
		}
	}
	return true
}

func measure(ctx context.Context, t testenv.T, cfg config) (result, error) {
	var res result
	cp := testenv.StartControlPlane(t)
	kubectl := filepath.Join(testenv.TestBinDir(), "kubectl")
	work := t.TempDir()
	repo := filepath.Join(work, "repo")
	files, kinds, err := writeRepo(repo, cfg.objects, cfg.namespaces)
	if err != nil {
		return res, err
	}
	res.kinds = kinds
	run := func(args ...string) (string, string, int, error) {
		cmd := exec.CommandContext(ctx, kubectl, append([]string{"--kubeconfig", cp.Kubeconfig}, args...)...)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code, err = ee.ExitCode(), nil
		}
		return out.String(), errb.String(), code, err
	}
	for i := 0; i < cfg.namespaces; i++ {
		if _, e, code, err := run("create", "namespace", nsName(i)); err != nil || code != 0 {
			return res, fmt.Errorf("kubectl create namespace: %v %s", err, e)
		}
	}
	cfg.log("applying %d objects with kubectl apply -f (one process per file)", cfg.objects)
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, len(files))
	sem := make(chan struct{}, 4)
	for _, f := range files {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			if _, e, code, err := run("apply", "-f", f); err != nil || code != 0 {
				errs <- fmt.Errorf("kubectl apply -f %s: %v %s", f, err, e)
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return res, err
	}
	res.applyTook = time.Since(start)

	// Five drifts, each as people make them.
	drifts := []struct {
		args []string
		id   string
	}{
		{[]string{"set", "image", "-n", nsName(0), "deployment/" + name("web", 3), "app=registry.example/app:hotfix"}, "apps.v1.Deployment." + nsName(0) + "." + name("web", 3)},
		{[]string{"set", "image", "-n", nsName(1), "deployment/" + name("web", 4), "sidecar=registry.example/proxy:9"}, "apps.v1.Deployment." + nsName(1) + "." + name("web", 4)},
		{[]string{"set", "env", "-n", nsName(2), "deployment/" + name("web", 5), "-c", "app", "MODE=debug"}, "apps.v1.Deployment." + nsName(2) + "." + name("web", 5)},
		{[]string{"patch", "configmap", "-n", nsName(0), name("cfg", 6), "--type", "merge", "-p", `{"data":{"mode":"slow"}}`}, "v1.ConfigMap." + nsName(0) + "." + name("cfg", 6)},
		{[]string{"patch", "service", "-n", nsName(1), name("svc", 7), "--type", "json", "-p", `[{"op":"replace","path":"/spec/ports/0/targetPort","value":9999}]`}, "v1.Service." + nsName(1) + "." + name("svc", 7)},
	}
	for _, d := range drifts {
		if _, e, code, err := run(d.args...); err != nil || code != 0 {
			return res, fmt.Errorf("kubectl %s: %v %s", strings.Join(d.args, " "), err, e)
		}
		res.drifted = append(res.drifted, d.id)
	}
	sort.Strings(res.drifted)

	bin, err := latchproc.Build(ctx, work)
	if err != nil {
		return res, err
	}
	for i := 0; i < cfg.runs; i++ {
		r, err := runLatch(ctx, bin, cp.Kubeconfig, repo)
		if err != nil {
			return res, err
		}
		cfg.log("latch diff run %d: %v, %d requests, found %v", i+1, r.took.Round(time.Millisecond), r.requests, r.found)
		res.latch = append(res.latch, r)
	}
	for _, conc := range []string{"", "16"} {
		args := []string{"diff", "-v=6", "-f", filepath.Join(repo, "manifests")}
		if conc != "" {
			args = append(args, "--concurrency="+conc)
		}
		start := time.Now()
		out, e, code, err := run(args...)
		took := time.Since(start)
		if err != nil || code > 1 {
			return res, fmt.Errorf("kubectl %s: exit %d %v %s", strings.Join(args, " "), code, err, lastLines(e))
		}
		r := toolRun{took: took, found: kubectlFound(out), requests: len(requestLine.FindAllString(e, -1))}
		cfg.log("kubectl diff (concurrency %q): %v, %d requests, found %v", conc, took.Round(time.Millisecond), r.requests, r.found)
		if conc == "" {
			res.kubectl = r
		} else {
			res.kubectl16 = r
		}
	}
	return res, nil
}

// requestLine is one request in kubectl's -v=6 log.
var requestLine = regexp.MustCompile(`(?m)"Response" verb="|\] (GET|PATCH|POST|PUT) https?://`)

var kubectlFile = regexp.MustCompile(`(?m)^diff -u -N \S+/LIVE-\d+/(\S+) `)

func kubectlFound(out string) []string {
	var found []string
	for _, m := range kubectlFile.FindAllStringSubmatch(out, -1) {
		found = append(found, m[1])
	}
	sort.Strings(found)
	return found
}

var requestsLogged = regexp.MustCompile(`requests=(\d+)`)

func runLatch(ctx context.Context, bin, kubeconfig, repo string) (toolRun, error) {
	cmd := exec.CommandContext(ctx, bin, "--kubeconfig", kubeconfig, "diff", "--repo", repo, "-o", "json", "-v")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err := cmd.Run()
	took := time.Since(start)
	if ee, ok := err.(*exec.ExitError); !ok && err != nil || ok && ee.ExitCode() != 1 {
		return toolRun{}, fmt.Errorf("latch diff: %v\n%s", err, lastLines(errb.String()))
	}
	var rep struct {
		Objects []struct {
			Ref struct {
				Group, Version, Kind, Namespace, Name string
			} `json:"ref"`
			Status string `json:"status"`
		} `json:"objects"`
	}
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		return toolRun{}, fmt.Errorf("latch diff -o json: %v", err)
	}
	r := toolRun{took: took}
	for _, o := range rep.Objects {
		if o.Status != "drift" && o.Status != "missing" {
			continue
		}
		id := o.Ref.Version + "." + o.Ref.Kind + "." + o.Ref.Namespace + "." + o.Ref.Name
		if o.Ref.Group != "" {
			id = o.Ref.Group + "." + id
		}
		r.found = append(r.found, id)
	}
	sort.Strings(r.found)
	if m := requestsLogged.FindStringSubmatch(errb.String()); m != nil {
		r.requests, _ = strconv.Atoi(m[1])
	}
	return r, nil
}

func lastLines(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > 10 {
		lines = lines[len(lines)-10:]
	}
	return strings.Join(lines, "\n")
}

func nsName(i int) string { return fmt.Sprintf("bench-%02d", i) }

func name(prefix string, i int) string { return fmt.Sprintf("%s-%04d", prefix, i) }

// writeRepo writes latch.yaml and one manifest file per namespace, and
// returns the manifest files and the number of kinds.
func writeRepo(repo string, objects, namespaces int) ([]string, int, error) {
	dir := filepath.Join(repo, "manifests")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, 0, err
	}
	policy := "apiVersion: latch.dev/v1alpha1\nkind: LatchPolicy\nspec:\n  rules:\n    - name: all\n      fields: {spec: immutable, data: immutable}\n"
	if err := os.WriteFile(filepath.Join(repo, "latch.yaml"), []byte(policy), 0o644); err != nil {
		return nil, 0, err
	}
	per := make([]strings.Builder, namespaces)
	for i := 0; i < objects; i++ {
		ns := i % namespaces
		b := &per[ns]
		j := i / namespaces // index within the namespace
		switch j % 3 {
		case 0:
			fmt.Fprintf(b, deployment, name("web", j/3), nsName(ns))
		case 1:
			fmt.Fprintf(b, service, name("svc", j/3), nsName(ns))
		case 2:
			fmt.Fprintf(b, configMap, name("cfg", j/3), nsName(ns))
		}
	}
	var files []string
	for i := range per {
		f := filepath.Join(dir, nsName(i)+".yaml")
		if err := os.WriteFile(f, []byte(per[i].String()), 0o644); err != nil {
			return nil, 0, err
		}
		files = append(files, f)
	}
	return files, 3, nil
}

// The manifests carry the traps a naive comparison trips on: quantities in
// other units than the server stores, a zero probe delay, ports without
// protocol, named target ports.
const deployment = `---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: %[1]s
  namespace: %[2]s
  labels: {app: %[1]s, tier: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: %[1]s}}
  template:
    metadata: {labels: {app: %[1]s}}
    spec:
      containers:
        - name: app
          image: registry.example/app:1.4.2
          ports: [{containerPort: 8080, name: http}]
          env: [{name: MODE, value: prod}, {name: REGION, value: eu}]
          resources:
            requests: {cpu: 250m, memory: 256Mi}
            limits: {cpu: 1000m, memory: 0.5Gi}
          readinessProbe: {httpGet: {path: /ready, port: http}, initialDelaySeconds: 0, periodSeconds: 5}
          livenessProbe: {tcpSocket: {port: 8080}, initialDelaySeconds: 10}
        - name: sidecar
          image: registry.example/proxy:8
          args: [--listen=:9090]
          resources: {requests: {cpu: 0.1}}
`

const service = `---
apiVersion: v1
kind: Service
metadata: {name: %[1]s, namespace: %[2]s}
spec:
  # Headless: the test API server's Service IP range holds fewer than the
  # 667 Services of a 2,000-object run.
  clusterIP: None
  selector: {app: %[1]s}
  ports: [{name: http, port: 80, targetPort: http}, {name: metrics, port: 9090}]
`

const configMap = `---
apiVersion: v1
kind: ConfigMap
metadata: {name: %[1]s, namespace: %[2]s}
data: {mode: fast, retries: "3", timeout: 30s}
`
