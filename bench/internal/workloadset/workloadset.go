// Package workloadset seeds the workloads the end-to-end benchmarks churn
// (latency, fleet): N Deployments with an HPA each in one namespace, as
// manifests spread over a few files of a repository folder and as live
// objects in the API server, both at the same replicas so latch's first
// pass has nothing to commit. It also scales them through /scale as an
// HPA does, and reads back what a commit of the remote declares.
package workloadset

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path"
	"strings"
	"sync"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"
)

// MachinePolicy is the latch.yaml the end-to-end benchmarks seed: a move
// up commits at once (dwell up 0, no window budgets), so they measure
// latch's machinery (watch → batch window → pass → push), not the dwell
// or budgets a real policy adds on purpose.
const MachinePolicy = `apiVersion: latch.dev/v1alpha1
kind: LatchPolicy
spec:
  defaults:
    latch:
      dwellUp: 0s
      window: 0s
`

// Set is N Deployments named svc-0000… in Namespace, each with an HPA of
// the same name, declared and running at Replicas.
type Set struct {
	Namespace string
	N         int
	// Replicas is the declared and the live scale before any churn.
	Replicas int32
	// MinReplicas and MaxReplicas are every HPA's bounds (git and live).
	MinReplicas, MaxReplicas int32
	// Files spreads the manifests over at most this many files (at least
	// one workload per file).
	Files int
}

// Name is the i-th workload's name.
func (s Set) Name(i int) string { return fmt.Sprintf("svc-%04d", i) }

// Key is the i-th workload's namespace/name, as Latch-Object trailers say it.
func (s Set) Key(i int) string { return s.Namespace + "/" + s.Name(i) }

// Manifests are the set's files under folder (slash path → content):
// folder/group-NN.yaml, workload i in file i mod files.
func (s Set) Manifests(folder string) map[string]string {
	files := max(1, min(s.Files, s.N))
	out := map[string]string{}
	for f := 0; f < files; f++ {
		var b strings.Builder
		for i := f; i < s.N; i += files {
			n := s.Name(i)
			fmt.Fprintf(&b, "---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: %s\n  namespace: %s\nspec:\n  replicas: %d # latched\n  selector:\n    matchLabels: {app: %s}\n  template:\n    metadata:\n      labels: {app: %s}\n    spec:\n      containers: [{name: app, image: registry.example.com/%s:1}]\n"+
				"---\napiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata:\n  name: %s\n  namespace: %s\nspec:\n  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: %s}\n  minReplicas: %d\n  maxReplicas: %d\n",
				n, s.Namespace, s.Replicas, n, n, n, n, s.Namespace, n, s.MinReplicas, s.MaxReplicas)
		}
		out[path.Join(folder, fmt.Sprintf("group-%02d.yaml", f))] = b.String()
	}
	return out
}

// Create makes the namespace, the Deployments at Replicas and their HPAs
// (field manager flux), with a few requests in parallel.
func (s Set) Create(ctx context.Context, client kubernetes.Interface) error {
	ns := s.Namespace
	if _, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("namespace %s: %w", ns, err)
	}
	jobs := make(chan int)
	errs := make(chan error, s.N)
	var wg sync.WaitGroup
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				if err := s.create(ctx, client, i); err != nil {
					errs <- err
				}
			}
		}()
	}
	for i := 0; i < s.N; i++ {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	close(errs)
	for err := range errs {
		return err
	}
	return nil
}

func (s Set) create(ctx context.Context, client kubernetes.Interface, i int) error {
	ns, name := s.Namespace, s.Name(i)
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(s.Replicas),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": name}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "registry.example.com/" + name + ":1"}}},
			},
		},
	}
	if _, err := client.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{FieldManager: "flux"}); err != nil {
		return fmt.Errorf("creating deployment %s/%s: %w", ns, name, err)
	}
	h := &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: name},
			MinReplicas:    ptr.To(s.MinReplicas), MaxReplicas: s.MaxReplicas,
		},
	}
	if _, err := client.AutoscalingV2().HorizontalPodAutoscalers(ns).Create(ctx, h, metav1.CreateOptions{FieldManager: "flux"}); err != nil {
		return fmt.Errorf("creating HPA %s/%s: %w", ns, name, err)
	}
	return nil
}

// Scale sets the i-th Deployment's replicas through /scale as the HPA
// controller does (field manager horizontal-pod-autoscaler).
func (s Set) Scale(ctx context.Context, client kubernetes.Interface, i int, replicas int32) error {
	sc := &autoscalingv1.Scale{ObjectMeta: metav1.ObjectMeta{Name: s.Name(i), Namespace: s.Namespace}, Spec: autoscalingv1.ScaleSpec{Replicas: replicas}}
	if _, err := client.AppsV1().Deployments(s.Namespace).UpdateScale(ctx, s.Name(i), sc, metav1.UpdateOptions{FieldManager: "horizontal-pod-autoscaler"}); err != nil {
		return fmt.Errorf("scaling %s to %d: %w", s.Key(i), replicas, err)
	}
	return nil
}

// Declared reads every Deployment's spec.replicas that the YAML files under
// folder declare at ref of the (bare) repository in gitDir, keyed
// namespace/name.
func Declared(ctx context.Context, gitDir, ref, folder string) (map[string]int64, error) {
	list, err := git(ctx, gitDir, "ls-tree", "-r", "--name-only", ref, "--", folder)
	if err != nil {
		return nil, err
	}
	out := map[string]int64{}
	for _, file := range strings.Fields(list) {
		if !strings.HasSuffix(file, ".yaml") {
			continue
		}
		text, err := git(ctx, gitDir, "show", ref+":"+file)
		if err != nil {
			return nil, err
		}
		for n, doc := range strings.Split(text, "\n---\n") {
			var obj struct {
				Kind     string `json:"kind"`
				Metadata struct {
					Name      string `json:"name"`
					Namespace string `json:"namespace"`
				} `json:"metadata"`
				Spec struct {
					Replicas *int64 `json:"replicas"`
				} `json:"spec"`
			}
			if err := yaml.Unmarshal([]byte(strings.TrimPrefix(doc, "---\n")), &obj); err != nil {
				return nil, fmt.Errorf("%s at %s, document %d: %w", file, ref, n+1, err)
			}
			if obj.Kind == "Deployment" && obj.Spec.Replicas != nil {
				out[obj.Metadata.Namespace+"/"+obj.Metadata.Name] = *obj.Spec.Replicas
			}
		}
	}
	return out, nil
}

func git(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", dir}, args...)...)
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null")
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("git %s (in %s): %w", strings.Join(args, " "), dir, err)
	}
	return string(out), nil
}
