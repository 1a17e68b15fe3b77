package testenv

import (
	"context"
	"fmt"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
)

const brokenImage = "example.com/web:v3-broken"

// TestClusterRollsOut proves the Cluster fixture is a working cluster: a
// Deployment gets Ready pods on kwok nodes, an image change rolls out to
// completion, and an image configured never-ready stalls a rollout with the
// old pods still serving.
func TestClusterRollsOut(t *testing.T) {
	cluster := Cluster(t, ClusterOptions{Nodes: 2, NeverReadyImages: []string{brokenImage}})
	ctx := context.Background()
	deployments := cluster.Client.AppsV1().Deployments("default")

	dep := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](5),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Strategy: appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
				Spec: corev1.PodSpec{
					Containers:  []corev1.Container{{Name: "web", Image: "example.com/web:v1"}},
					Tolerations: []corev1.Toleration{{Key: "kwok.x-k8s.io/node", Operator: corev1.TolerationOpExists}},
				},
			},
		},
	}
	if _, err := deployments.Create(ctx, dep, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create deployment: %v", err)
	}
	waitRolledOut(t, cluster.Client, "web", 5, "example.com/web:v1")

	pods, err := cluster.Client.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
	if err != nil {
		t.Fatal(err)
	}
	for _, pod := range pods.Items {
		if pod.Spec.NodeName == "" || pod.Status.Phase != corev1.PodRunning {
			t.Errorf("pod %s: node %q phase %s, want scheduled and Running", pod.Name, pod.Spec.NodeName, pod.Status.Phase)
		}
	}

	setImage(t, cluster.Client, "web", "example.com/web:v2")
	waitRolledOut(t, cluster.Client, "web", 5, "example.com/web:v2")

	// A broken version: new pods never become Ready, so the rollout stalls
	// with the v2 pods still available.
	setImage(t, cluster.Client, "web", brokenImage)
	// Watching a while for a rollout that must not complete (a slow machine
	// makes it even less likely to): not a budget.
	deadline := time.Now().Add(8 * time.Second)
	for time.Now().Before(deadline) {
		time.Sleep(500 * time.Millisecond)
		got, err := deployments.Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got.Status.UpdatedReplicas == 5 && got.Status.AvailableReplicas == 5 && got.Status.UnavailableReplicas == 0 {
			t.Fatalf("rollout to never-ready image %s completed: %+v", brokenImage, got.Status)
		}
	}
	// The window above is no bound on the controller creating the new pods:
	// wait for it (as long as the test may), then check.
	var got *appsv1.Deployment
	WaitUntil(t, "pods of the broken version created", func() bool {
		var err error
		if got, err = deployments.Get(ctx, "web", metav1.GetOptions{}); err != nil {
			t.Fatal(err)
		}
		return got.Status.UpdatedReplicas > 0
	})
	if got.Status.UpdatedReplicas == 0 {
		t.Errorf("no pods of the broken version were created: %+v", got.Status)
	}
	if got.Status.AvailableReplicas < 4 {
		t.Errorf("available replicas fell to %d during a stalled rollout; the old version should keep serving", got.Status.AvailableReplicas)
	}
}

func setImage(t *testing.T, client kubernetes.Interface, name, image string) {
	t.Helper()
	patch := fmt.Sprintf(`{"spec":{"template":{"spec":{"containers":[{"name":"web","image":%q}]}}}}`, image)
	if _, err := client.AppsV1().Deployments("default").Patch(context.Background(), name, types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		t.Fatalf("set image %s: %v", image, err)
	}
}

// waitRolledOut waits until the deployment's observed generation is current
// and all replicas run the image, updated and available.
func waitRolledOut(t *testing.T, client kubernetes.Interface, name string, replicas int32, image string) {
	t.Helper()
	start := time.Now()
	err := waitFor(Context(t), "deployment "+name+" rolled out to "+image, nil, func(ctx context.Context) error {
		d, err := client.AppsV1().Deployments("default").Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		s := d.Status
		if s.ObservedGeneration < d.Generation || s.UpdatedReplicas != replicas || s.ReadyReplicas != replicas ||
			s.AvailableReplicas != replicas || s.Replicas != replicas {
			return fmt.Errorf("status %+v", s)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	pods, err := client.CoreV1().Pods("default").List(context.Background(), metav1.ListOptions{LabelSelector: "app=" + name})
	if err != nil {
		t.Fatal(err)
	}
	running := 0
	for _, pod := range pods.Items {
		if pod.DeletionTimestamp == nil && pod.Spec.Containers[0].Image == image {
			running++
		}
	}
	if running != int(replicas) {
		t.Fatalf("%d pods run %s, want %d", running, image, replicas)
	}
	t.Logf("deployment %s rolled out to %s in %s", name, image, time.Since(start).Round(time.Millisecond))
}
