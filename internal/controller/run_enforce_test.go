package controller

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/latch-gitops/latch/internal/driftflow"
	"github.com/latch-gitops/latch/internal/enforce"
	"github.com/latch-gitops/latch/internal/testenv"
)

// enforceRepo is git's shop/web, as a GitOps tool applies it: an HPA owns
// its scale (spec.replicas latched), its pod template is immutable (the
// built-in rule) and its labels converge for an hour.
const enforceRepo = `apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  labels: {tier: web}
spec:
  replicas: 3 # latched by latch
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      tolerations: [{key: kwok.x-k8s.io/node, operator: Exists}]
      containers:
        - name: web
          image: example.com/web:1
          env: [{name: MODE, value: prod}]
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: web, namespace: shop}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  minReplicas: 2
  maxReplicas: 10
`

const enforcePolicy = `apiVersion: latch.dev/v1alpha1
kind: LatchPolicy
spec:
  defaults:
    latch: {dwellDown: 3s, dwellUp: 0s, window: 0s}
  rules:
    - name: labels
      fields:
        metadata.labels: {mode: converge, grace: 1h}
`

// kubectl runs the test binaries' kubectl against kubeconfig, as a person
// would.
func kubectl(t *testing.T, kubeconfig string, args ...string) string {
	t.Helper()
	cmd := exec.Command(filepath.Join(testenv.TestBinDir(), "kubectl"), append([]string{"--kubeconfig", kubeconfig}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// applyAsFlux applies the repository's objects the way Flux does: a forced
// server-side apply as kustomize-controller.
func applyAsFlux(t *testing.T, kubeconfig, manifests string) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "objects.yaml")
	if err := os.WriteFile(file, []byte(manifests), 0o600); err != nil {
		t.Fatal(err)
	}
	kubectl(t, kubeconfig, "apply", "--server-side", "--force-conflicts", "--field-manager=kustomize-controller", "-f", file)
}

func webImage(t *testing.T, client kubernetes.Interface) string {
	t.Helper()
	d, err := client.AppsV1().Deployments("shop").Get(context.Background(), "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return d.Spec.Template.Spec.Containers[0].Image
}

// enforceOwns returns what latch-enforce owns in shop/web (its FieldsV1).
func enforceOwns(t *testing.T, client kubernetes.Interface) string {
	t.Helper()
	d, err := client.AppsV1().Deployments("shop").Get(context.Background(), "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range d.ManagedFields {
		if mf.Manager == enforce.FieldManager && mf.FieldsV1 != nil {
			return string(mf.FieldsV1.Raw)
		}
	}
	return ""
}

// eventsIn lists the events of one reason in shop, as "reason: note".
func eventsIn(t *testing.T, client kubernetes.Interface, reason string) []string {
	t.Helper()
	list, err := client.EventsV1().Events("shop").List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, ev := range list.Items {
		if ev.Reason == reason {
			out = append(out, ev.Regarding.Kind+"/"+ev.Regarding.Name+" "+ev.Type+": "+ev.Note)
		}
	}
	return out
}

// waitPasses waits for n more successful passes (each runs the enforcement
// step after the latch pass).
func waitPasses(t *testing.T, in *instance, n float64) {
	t.Helper()
	target := in.passes(t) + n
	waitUntil(t, "more passes", func() bool { return in.passes(t) >= target })
}

// TestEnforceOnCluster runs latch run --enforce=on against a whole cluster
// (controller manager, scheduler, kwok nodes): kubectl set image is
// reverted within a batch window, by a body holding only the image; the
// HPA's scale and a label inside its converge grace are left alone; a
// second pass writes nothing; another controller that keeps setting the
// image back is reported as a fight, not looped.
func TestEnforceOnCluster(t *testing.T) {
	env := testenv.Cluster(t, testenv.ClusterOptions{Nodes: 2})
	client := env.Client
	remote := testenv.NewGitRemote(t)
	seedWithPolicy(t, remote, enforcePolicy, map[string]string{"apps/web.yaml": enforceRepo})
	applyAsFlux(t, env.Kubeconfig, enforceRepo)
	in := startRun(t, env.Config, remote, runSpec{cluster: "kind", enforce: enforce.On, enforceLimit: enforce.Limit{Max: 3, Window: 10 * time.Minute}})

	// A freshly applied repository: nothing to revert.
	waitPasses(t, in, 2)
	if got := in.metric(t, "latch_enforce_reverts_total"); got != 0 {
		t.Fatalf("%v reverts on a freshly applied repository", got)
	}
	if got := in.metric(t, "latch_drift_objects"); got != 0 {
		t.Fatalf("latch_drift_objects = %v on a freshly applied repository", got)
	}

	// kubectl set image: reverted, as latch-enforce, owning the image only.
	kubectl(t, env.Kubeconfig, "-n", "shop", "set", "image", "deployment/web", "web=example.com/web:hacked")
	changed := time.Now()
	waitUntil(t, "the image reverted", func() bool { return webImage(t, client) == "example.com/web:1" })
	t.Logf("kubectl set image reverted after %s", time.Since(changed).Round(time.Millisecond))
	owns := enforceOwns(t, client)
	if !strings.Contains(owns, `"f:image"`) || strings.Contains(owns, "f:replicas") || strings.Contains(owns, "f:env") || strings.Contains(owns, "f:labels") {
		t.Errorf("latch-enforce owns %s, want the image only", owns)
	}
	waitUntil(t, "a DriftReverted event", func() bool { return len(eventsIn(t, client, driftflow.ReasonReverted)) > 0 })
	if ev := eventsIn(t, client, driftflow.ReasonReverted)[0]; !strings.Contains(ev, "Deployment/web Normal: reverted .spec.template.spec.containers[name=\"web\"].image to \"example.com/web:1\" (live \"example.com/web:hacked\", set by kubectl-set") {
		t.Errorf("event %q", ev)
	}

	// A second pass writes nothing.
	d, _ := client.AppsV1().Deployments("shop").Get(context.Background(), "web", metav1.GetOptions{})
	generation := d.Generation
	waitPasses(t, in, 2)
	if got := in.metric(t, "latch_enforce_reverts_total"); got != 1 {
		t.Errorf("latch_enforce_reverts_total = %v after the revert settled, want 1", got)
	}
	d, _ = client.AppsV1().Deployments("shop").Get(context.Background(), "web", metav1.GetOptions{})
	if d.Generation != generation {
		t.Errorf("generation %d → %d: a pass in sync wrote the Deployment", generation, d.Generation)
	}

	// The HPA scales (inside its bounds) and a person relabels: neither is
	// reverted — spec.replicas is latched, the label within its grace.
	testenv.ScaleAsHPA(t, client, "shop", "web", 7)
	kubectl(t, env.Kubeconfig, "-n", "shop", "label", "deployment/web", "tier=hot", "--overwrite")
	waitPasses(t, in, 3)
	d, _ = client.AppsV1().Deployments("shop").Get(context.Background(), "web", metav1.GetOptions{})
	if *d.Spec.Replicas != 7 || d.Labels["tier"] != "hot" {
		t.Errorf("replicas %d label tier=%s: want the HPA's 7 and the person's hot", *d.Spec.Replicas, d.Labels["tier"])
	}
	if got := in.metric(t, "latch_enforce_reverts_total"); got != 1 {
		t.Errorf("latch_enforce_reverts_total = %v after an HPA scale and a converging label, want 1", got)
	}
	if owns := enforceOwns(t, client); strings.Contains(owns, "f:replicas") {
		t.Errorf("latch-enforce owns spec.replicas: %s", owns)
	}

	// Another controller keeps setting the image: latch reverts it up to the
	// limit (3 in the window, the first revert included), then reports a
	// fight and stops.
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		patch := []byte(`{"spec":{"template":{"spec":{"containers":[{"name":"web","image":"example.com/web:rogue"}]}}}}`)
		for ctx.Err() == nil {
			d, err := client.AppsV1().Deployments("shop").Get(ctx, "web", metav1.GetOptions{})
			if err == nil && d.Spec.Template.Spec.Containers[0].Image != "example.com/web:rogue" {
				_, _ = client.AppsV1().Deployments("shop").Patch(ctx, "web", types.StrategicMergePatchType, patch, metav1.PatchOptions{FieldManager: "rogue-controller"})
			}
			select {
			case <-ctx.Done():
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	defer func() { stop(); wg.Wait() }()
	waitUntil(t, "a fight reported", func() bool { return in.metric(t, "latch_enforce_fights_total") >= 1 })
	reverts := in.metric(t, "latch_enforce_reverts_total")
	if reverts != 3 {
		t.Errorf("latch_enforce_reverts_total = %v when the fight was reported, want 3 (the limit)", reverts)
	}
	waitPasses(t, in, 3)
	if got := in.metric(t, "latch_enforce_reverts_total"); got != reverts {
		t.Errorf("reverts went on during the fight: %v → %v", reverts, got)
	}
	if got := in.metric(t, "latch_enforce_fights_total"); got != 1 {
		t.Errorf("latch_enforce_fights_total = %v: one fight is reported once", got)
	}
	if got := in.metric(t, "latch_enforce_fighting_objects"); got != 1 {
		t.Errorf("latch_enforce_fighting_objects = %v, want 1", got)
	}
	waitUntil(t, "an EnforceFight event", func() bool { return len(eventsIn(t, client, driftflow.ReasonFight)) > 0 })
	if ev := eventsIn(t, client, driftflow.ReasonFight)[0]; !strings.Contains(ev, "Deployment/web Warning: reverted 3 times in 10m0s and drifted again") {
		t.Errorf("fight event %q", ev)
	}
}

// TestEnforceDryRun: --enforce=dry-run reports what it would revert (an
// Event naming the field, git's value, the live one and who set it) and
// changes nothing.
func TestEnforceDryRun(t *testing.T) {
	cp := testenv.StartControlPlane(t)
	client := kubernetes.NewForConfigOrDie(cp.Config)
	remote := testenv.NewGitRemote(t)
	seedWithPolicy(t, remote, enforcePolicy, map[string]string{"apps/web.yaml": enforceRepo})
	applyAsFlux(t, cp.Kubeconfig, enforceRepo)
	in := startRun(t, cp.Config, remote, runSpec{cluster: "kind", enforce: enforce.DryRun})

	kubectl(t, cp.Kubeconfig, "-n", "shop", "set", "image", "deployment/web", "web=example.com/web:hacked")
	waitUntil(t, "a DriftWouldRevert event", func() bool { return len(eventsIn(t, client, driftflow.ReasonWouldRevert)) > 0 })
	waitPasses(t, in, 3)
	if got := webImage(t, client); got != "example.com/web:hacked" {
		t.Errorf("dry-run changed the image to %s", got)
	}
	if owns := enforceOwns(t, client); owns != "" {
		t.Errorf("dry-run wrote as latch-enforce: %s", owns)
	}
	if got := in.metric(t, "latch_enforce_reverts_total"); got != 0 {
		t.Errorf("latch_enforce_reverts_total = %v in dry-run", got)
	}
	if got := in.metric(t, "latch_drift_objects"); got != 1 {
		t.Errorf("latch_drift_objects = %v, want 1", got)
	}
	events := eventsIn(t, client, driftflow.ReasonWouldRevert)
	if len(events) != 1 {
		t.Errorf("dry-run events (one per drift, not per pass): %q", events)
	}
	if !strings.Contains(events[0], `dry-run: would revert .spec.template.spec.containers[name="web"].image to "example.com/web:1" (live "example.com/web:hacked", set by kubectl-set`) {
		t.Errorf("event %q", events[0])
	}
}
