package testenv

import (
	"context"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
)

// Workload is a Deployment as a GitOps tool applies it, with an HPA when
// HPAMax > 0.
type Workload struct {
	Namespace, Name string
	// Replicas is what git declares (the Deployment's spec.replicas).
	Replicas int32
	// HPAMin and HPAMax bound its HPA (HPAMin 0: 1, the API default).
	HPAMin, HPAMax int32
}

// CreateWorkloads creates each workload's namespace (if new), Deployment and
// HPA with field manager "flux". Pods tolerate kwok's fake-node taint, so on
// the Cluster fixture they run.
func CreateWorkloads(t T, client kubernetes.Interface, workloads ...Workload) {
	t.Helper()
	ctx := context.Background()
	for _, w := range workloads {
		_, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: w.Namespace}}, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatalf("creating namespace %s: %v", w.Namespace, err)
		}
		dep := &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Name: w.Name, Namespace: w.Namespace},
			Spec: appsv1.DeploymentSpec{
				Replicas: ptr.To(w.Replicas),
				Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": w.Name}},
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": w.Name}},
					Spec: corev1.PodSpec{
						Containers:  []corev1.Container{{Name: w.Name, Image: "example.com/" + w.Name + ":1"}},
						Tolerations: []corev1.Toleration{{Key: "kwok.x-k8s.io/node", Operator: corev1.TolerationOpExists}},
					},
				},
			},
		}
		if _, err := client.AppsV1().Deployments(w.Namespace).Create(ctx, dep, metav1.CreateOptions{FieldManager: "flux"}); err != nil {
			t.Fatalf("creating Deployment %s/%s: %v", w.Namespace, w.Name, err)
		}
		if w.HPAMax <= 0 {
			continue
		}
		minReplicas := w.HPAMin
		if minReplicas <= 0 {
			minReplicas = 1
		}
		hpa := &autoscalingv2.HorizontalPodAutoscaler{
			ObjectMeta: metav1.ObjectMeta{Name: w.Name, Namespace: w.Namespace},
			Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
				ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: w.Name},
				MinReplicas:    ptr.To(minReplicas), MaxReplicas: w.HPAMax,
			},
		}
		if _, err := client.AutoscalingV2().HorizontalPodAutoscalers(w.Namespace).Create(ctx, hpa, metav1.CreateOptions{FieldManager: "flux"}); err != nil {
			t.Fatalf("creating HPA %s/%s: %v", w.Namespace, w.Name, err)
		}
	}
}

// ScaleAsHPA writes a Deployment's scale subresource with the HPA
// controller's field manager: exactly what an HPA does (no metrics server
// runs here, so this is how tests and the demo play the autoscaler).
func ScaleAsHPA(t T, client kubernetes.Interface, namespace, name string, replicas int32) {
	t.Helper()
	s := &autoscalingv1.Scale{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace}, Spec: autoscalingv1.ScaleSpec{Replicas: replicas}}
	if _, err := client.AppsV1().Deployments(namespace).UpdateScale(context.Background(), name, s, metav1.UpdateOptions{FieldManager: "horizontal-pod-autoscaler"}); err != nil {
		t.Fatalf("scaling %s/%s to %d: %v", namespace, name, replicas, err)
	}
}
