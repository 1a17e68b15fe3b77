package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"

	"github.com/latch-gitops/latch/internal/diff"
	"github.com/latch-gitops/latch/internal/testenv"
)

// diffRepo is a small GitOps repository as people write them: probes,
// resources in other units than the server stores, ports without protocol,
// an HPA, a CRD and its object, a kustomize overlay with a patch.
var diffRepo = map[string]string{
	"latch.yaml": `apiVersion: latch.dev/v1alpha1
kind: LatchPolicy
spec:
  defaults:
    converge: {grace: 1h}
  rules:
    - name: everything
      fields:
        spec: immutable
        data: immutable
        metadata.labels: converge
    - name: scaled
      match: {hasHPA: true}
      fields:
        spec.replicas: latch
`,
	"latch-short-grace.yaml": `apiVersion: latch.dev/v1alpha1
kind: LatchPolicy
spec:
  defaults:
    converge: {grace: 1s}
  rules:
    - name: everything
      fields:
        spec: immutable
        data: immutable
        metadata.labels: converge
    - name: scaled
      match: {hasHPA: true}
      fields:
        spec.replicas: latch
`,
	"crds/pool.yaml": `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: pools.demo.latch.dev
spec:
  group: demo.latch.dev
  scope: Namespaced
  names: {plural: pools, singular: pool, kind: Pool, listKind: PoolList}
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              properties:
                replicas: {type: integer, default: 1}
                size: {type: string}
                members:
                  type: array
                  x-kubernetes-list-type: map
                  x-kubernetes-list-map-keys: [name]
                  items:
                    type: object
                    required: [name]
                    properties:
                      name: {type: string}
                      weight: {type: integer}
`,
	"apps/namespace.yaml": "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n",
	"apps/web.yaml": `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  labels: {app: web, tier: frontend}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: registry.example/web:1.0
          ports: [{containerPort: 8080, name: http}]
          env: [{name: MODE, value: prod}]
          resources:
            requests: {cpu: 1000m, memory: 512Mi}
            limits: {cpu: 1.5, memory: 1Gi}
          readinessProbe:
            httpGet: {path: /healthz, port: http}
            initialDelaySeconds: 0
            periodSeconds: 10
          livenessProbe:
            tcpSocket: {port: 8080}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: http}]
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: web, namespace: shop}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  minReplicas: 2
  maxReplicas: 20
  metrics:
    - type: Resource
      resource: {name: cpu, target: {type: Utilization, averageUtilization: 70}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: shop}
data: {mode: fast, retries: "3"}
`,
	"apps/pool.yaml": `apiVersion: demo.latch.dev/v1
kind: Pool
metadata: {name: pool, namespace: shop}
spec:
  size: large
  members: [{name: a, weight: 1}, {name: b}]
`,
	"overlay/kustomization.yaml": `resources: [../base]
namespace: shop
namePrefix: eu-
replicas: [{name: api, count: 2}]
patches:
  - target: {kind: Deployment, name: api}
    patch: |
      - op: replace
        path: /spec/template/spec/containers/0/image
        value: registry.example/api:2.0
`,
	"base/kustomization.yaml": "resources: [api.yaml]\n",
	"base/api.yaml": `apiVersion: apps/v1
kind: Deployment
metadata: {name: api, labels: {app: api}}
spec:
  replicas: 1
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec:
      containers:
        - name: api
          image: registry.example/api:1.0
          resources: {requests: {memory: 0.5Gi}}
`,
}

func writeRepo(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for p, content := range files {
		full := filepath.Join(root, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

type kubectlRunner struct {
	t          *testing.T
	kubeconfig string
}

func (k kubectlRunner) run(args ...string) string {
	k.t.Helper()
	cmd := exec.Command(filepath.Join(testenv.TestBinDir(), "kubectl"), append([]string{"--kubeconfig", k.kubeconfig}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		k.t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// runDiffCLI runs latch diff in-process and returns its output and exit code.
func runDiffCLI(t *testing.T, kubeconfig string, args ...string) (string, int) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := newRootCommand(&stdout, &stderr)
	cmd.SetArgs(append([]string{"--kubeconfig", kubeconfig, "diff"}, args...))
	err := cmd.Execute()
	code := 0
	var exit *exitCodeError
	switch {
	case errors.As(err, &exit):
		code = exit.code
	case err != nil:
		code = 1
		t.Logf("error: %v", err)
	}
	if exit != nil && exit.err != nil {
		stderr.WriteString("latch: " + exit.err.Error() + "\n")
	}
	return stdout.String() + stderr.String(), code
}

func TestDiffEndToEnd(t *testing.T) {
	cp := testenv.StartControlPlane(t)
	root := writeRepo(t, diffRepo)
	k := kubectlRunner{t, cp.Kubeconfig}
	k.run("apply", "-f", filepath.Join(root, "crds"))
	// As long as the test may run (testenv.Deadline), not a fixed 60 s.
	k.run("wait", "--for=condition=Established", "crd/pools.demo.latch.dev", "--timeout="+time.Until(testenv.Deadline(t)).Round(time.Second).String())
	k.run("apply", "-f", filepath.Join(root, "apps", "namespace.yaml"))
	k.run("apply", "-f", filepath.Join(root, "apps"))
	k.run("apply", "-k", filepath.Join(root, "overlay"))
	client := kubernetes.NewForConfigOrDie(cp.Config)

	expect := func(step string, wantCode int, args []string, has ...string) string {
		t.Helper()
		out, code := runDiffCLI(t, cp.Kubeconfig, append([]string{"--repo", root}, args...)...)
		if code != wantCode {
			t.Fatalf("%s: exit %d, want %d:\n%s", step, code, wantCode, out)
		}
		for _, h := range has {
			if !strings.Contains(out, h) {
				t.Errorf("%s: output lacks %q:\n%s", step, h, out)
			}
		}
		return out
	}

	// Freshly applied: no drift, though every manifest differs from what
	// the server stores (quantities, defaults, zero probe delay, protocol).
	expect("freshly applied", 0, nil, "8 declared, 8 compared: 8 in sync, 0 drifted, 0 missing, 0 pending")

	// kubectl set image: drift, with the manager and the live image.
	k.run("set", "image", "-n", "shop", "deployment/web", "web=registry.example/web:1.1-hotfix")
	expect("after kubectl set image", 1, nil,
		"apps/v1/Deployment/shop/web drift",
		`.spec.template.spec.containers[name="web"].image: drift (immutable, rule everything)`,
		"live registry.example/web:1.1-hotfix, changed by kubectl-set at ",
		"git registry.example/web:1.0 at apps/web.yaml:",
		"+      - image: registry.example/web:1.1-hotfix")
	// The server's dry-run apply of git's object confirms it (one request
	// more), and shows the fresh objects' many differences from git were no
	// drift at all.
	expect("after kubectl set image, --server-confirm", 1, []string{"--server-confirm"},
		"apps/v1/Deployment/shop/web drift",
		"confirmed by a server-side dry-run", "0 missing")
	out, code := runDiffCLI(t, cp.Kubeconfig, "--repo", root, "-o", "json")
	var rep diff.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil || code != 1 {
		t.Fatalf("-o json: exit %d, %v:\n%s", code, err, out)
	}
	if d := rep.Drifted(); len(d) != 1 || d[0].Fields[0].ChangedBy == nil || d[0].Fields[0].ChangedBy.Manager != "kubectl-set" || d[0].Fields[0].Live != "registry.example/web:1.1-hotfix" {
		t.Errorf("json drift: %+v", d)
	}
	k.run("set", "image", "-n", "shop", "deployment/web", "web=registry.example/web:1.0")
	expect("image set back", 0, nil, "0 drifted")
	expect("image set back, --server-confirm", 0, []string{"--server-confirm"}, "0 drifted")

	// The HPA scales inside the latch band (3 declared, R5: 4 keeps 3): in sync.
	testenv.ScaleAsHPA(t, client, "shop", "web", 4)
	expect("HPA scale in band", 0, nil, "0 drifted, 0 missing, 0 pending")
	// Outside it: a latch commit is due, not drift.
	testenv.ScaleAsHPA(t, client, "shop", "web", 17)
	expect("HPA scale out of band", 0, nil, "apps/v1/Deployment/shop/web pending", ".spec.replicas: latch pending (latch", "changed by horizontal-pod-autoscaler (scale)", "1 pending")
	testenv.ScaleAsHPA(t, client, "shop", "web", 3)

	// A converge label: converging within its grace, drift after.
	k.run("label", "-n", "shop", "--overwrite", "deployment/web", "tier=backend")
	expect("label within grace", 0, nil, ".metadata.labels.tier: converging (converge", "changed by kubectl-label")
	testenv.WaitUntil(t, "the label to become drift after a 1s grace", func() bool {
		out, code := runDiffCLI(t, cp.Kubeconfig, "--repo", root, "--policy", "latch-short-grace.yaml")
		return code == 1 && strings.Contains(out, ".metadata.labels.tier: drift (converge") && strings.Contains(out, "past its 1s grace")
	})
	k.run("label", "-n", "shop", "--overwrite", "deployment/web", "tier=frontend")

	// An object only the cluster has, with --include-unmanaged.
	k.run("create", "configmap", "-n", "shop", "hand-made", "--from-literal=a=b")
	expect("unmanaged", 1, []string{"--include-unmanaged"}, "v1/ConfigMap/shop/hand-made unmanaged", "last written by kubectl-create")
	expect("unmanaged not asked for", 0, nil)

	// Bad input: a file that does not parse, a kind the cluster does not
	// serve. Each is reported by name; the rest is still compared.
	bad := writeRepo(t, map[string]string{
		"apps/web.yaml":    diffRepo["apps/web.yaml"],
		"apps/broken.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: broken\n   namespace: shop\n",
		"apps/widget.yaml": "apiVersion: widgets.example.com/v1\nkind: Widget\nmetadata: {name: w, namespace: shop}\nspec: {size: 1}\n",
		"latch.yaml":       diffRepo["latch.yaml"],
	})
	out, code = runDiffCLI(t, cp.Kubeconfig, "--repo", bad)
	if code != 0 {
		t.Errorf("bad input beside good objects: exit %d, want 0 (the good ones are in sync)\n%s", code, out)
	}
	for _, h := range []string{"apps/broken.yaml:5: malformed YAML", "widgets.example.com/v1/Widget/shop/w not compared: widgets.example.com/v1/Widget: the cluster does not serve this kind", "4 in sync"} {
		if !strings.Contains(out, h) {
			t.Errorf("bad input: output lacks %q:\n%s", h, out)
		}
	}
	only := writeRepo(t, map[string]string{"apps/widget.yaml": "apiVersion: widgets.example.com/v1\nkind: Widget\nmetadata: {name: w, namespace: shop}\n"})
	if out, code := runDiffCLI(t, cp.Kubeconfig, "--repo", only); code != 2 {
		t.Errorf("nothing comparable: exit %d, want 2\n%s", code, out)
	}
}
