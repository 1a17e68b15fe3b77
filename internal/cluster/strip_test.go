package cluster

import (
	"reflect"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
)

func TestStripKeepsWhatLatchingNeeds(t *testing.T) {
	at := metav1.Unix(10, 0)
	full := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{
			Name: "web", Namespace: "shop", UID: "u1", ResourceVersion: "42", Generation: 7,
			Labels:      map[string]string{"tier": "front"},
			Annotations: map[string]string{"kubectl.kubernetes.io/last-applied-configuration": strings.Repeat("x", 10000)},
			ManagedFields: []metav1.ManagedFieldsEntry{
				{Manager: "flux", Time: &at, FieldsV1: &metav1.FieldsV1{Raw: []byte(`{"f:spec":{"f:template":{"f:spec":{}}}}`)}},
				{Manager: "kube-controller-manager", Subresource: "scale", Time: &at, FieldsV1: &metav1.FieldsV1{Raw: []byte(`{"f:spec":{"f:replicas":{}}}`)}},
			},
		},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](37),
			Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "example.com/web"}}}},
		},
		Status: appsv1.DeploymentStatus{Replicas: 37, Conditions: []appsv1.DeploymentCondition{
			{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue, Message: strings.Repeat("m", 500)},
			{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionTrue, Reason: "NewReplicaSetAvailable"}}},
	}
	got, err := Strip(full)
	if err != nil {
		t.Fatal(err)
	}
	d := got.(*appsv1.Deployment)
	if d.Name != "web" || d.Namespace != "shop" || d.ResourceVersion != "42" || d.Labels["tier"] != "front" || *d.Spec.Replicas != 37 {
		t.Errorf("identity, labels or replicas lost: %+v", d)
	}
	if len(d.Annotations) != 0 || len(d.Spec.Template.Spec.Containers) != 0 {
		t.Errorf("annotations or template kept: %+v", d)
	}
	// The rollout follower reads the status counts and Progressing.
	if d.Status.Replicas != 37 || len(d.Status.Conditions) != 1 || d.Status.Conditions[0].Reason != "NewReplicaSetAvailable" {
		t.Errorf("status = %+v, want the counts and the Progressing condition only", d.Status)
	}

	rsFull := &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: "web-abc", Namespace: "shop", Labels: map[string]string{"pod-template-hash": "abc"},
			Annotations: map[string]string{"deployment.kubernetes.io/revision": "4", "kubectl.kubernetes.io/last-applied-configuration": strings.Repeat("x", 10000)},
			OwnerReferences: []metav1.OwnerReference{{Kind: "Other", Name: "x"},
				{APIVersion: "apps/v1", Kind: "Deployment", Name: "web", UID: "u1", Controller: ptr.To(true)}},
			ManagedFields: full.ManagedFields},
		Spec: appsv1.ReplicaSetSpec{Replicas: ptr.To[int32](5), Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"pod-template-hash": "abc"}},
			Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "example.com/web:4",
				Env: []corev1.EnvVar{{Name: "A", Value: "b"}}}}}}},
		Status: appsv1.ReplicaSetStatus{Replicas: 5, AvailableReplicas: 4},
	}
	gotRS, _ := Strip(rsFull)
	rs := gotRS.(*appsv1.ReplicaSet)
	if rs.Annotations["deployment.kubernetes.io/revision"] != "4" || len(rs.Annotations) != 1 || len(rs.ManagedFields) != 0 {
		t.Errorf("ReplicaSet metadata = %+v, want the revision annotation alone", rs.ObjectMeta)
	}
	if c := metav1.GetControllerOf(rs); c == nil || c.UID != "u1" || len(rs.OwnerReferences) != 1 {
		t.Errorf("ReplicaSet owners = %+v, want the controlling Deployment alone", rs.OwnerReferences)
	}
	if cs := rs.Spec.Template.Spec.Containers; len(cs) != 1 || cs[0].Image != "example.com/web:4" || len(cs[0].Env) != 0 ||
		*rs.Spec.Replicas != 5 || rs.Status.AvailableReplicas != 4 || rs.Spec.Selector.MatchLabels["pod-template-hash"] != "abc" {
		t.Errorf("ReplicaSet spec/status = %+v / %+v", rs.Spec, rs.Status)
	}
	if m := ReplicasManager(d.ManagedFields); m != "kube-controller-manager" || len(d.ManagedFields) != 1 {
		t.Errorf("managedFields = %+v, want only the replicas owner", d.ManagedFields)
	}

	hpa := &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop", Annotations: map[string]string{"a": "b"}},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"},
			MinReplicas:    ptr.To[int32](2), MaxReplicas: 500,
			Metrics: []autoscalingv2.MetricSpec{
				{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{Name: "cpu",
					Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr.To[int32](70)}}},
				{Type: autoscalingv2.ExternalMetricSourceType, External: &autoscalingv2.ExternalMetricSource{
					Metric: autoscalingv2.MetricIdentifier{Name: "queue", Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"q": "orders"}}},
					Target: autoscalingv2.MetricTarget{Type: autoscalingv2.ValueMetricType, Value: ptr.To(resource.MustParse("30"))}}},
			},
		},
		Status: autoscalingv2.HorizontalPodAutoscalerStatus{CurrentReplicas: 40, DesiredReplicas: 52,
			Conditions: []autoscalingv2.HorizontalPodAutoscalerCondition{{Type: autoscalingv2.AbleToScale, Message: "long text"}},
			CurrentMetrics: []autoscalingv2.MetricStatus{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricStatus{Name: "cpu",
				Current: autoscalingv2.MetricValueStatus{AverageUtilization: ptr.To[int32](91), AverageValue: ptr.To(resource.MustParse("910m"))}}}}},
	}
	gotHPA, _ := Strip(hpa)
	h := gotHPA.(*autoscalingv2.HorizontalPodAutoscaler)
	if h.Spec.ScaleTargetRef.Name != "web" || *h.Spec.MinReplicas != 2 || h.Spec.MaxReplicas != 500 || len(h.Annotations) != 0 ||
		len(h.Status.Conditions) != 0 || h.Status.DesiredReplicas != 0 || h.Status.CurrentReplicas != 40 {
		t.Errorf("stripped HPA = %+v / %+v", h.Spec, h.Status)
	}
	if len(h.Spec.Metrics) != 2 || h.Spec.Metrics[1].External.Metric.Selector != nil || len(h.Status.CurrentMetrics) != 1 {
		t.Errorf("stripped HPA metrics = %+v / %+v, want both targets without the selector and the one current value", h.Spec.Metrics, h.Status.CurrentMetrics)
	}
	// What the review flow reads is the same from the stripped and the full HPA.
	if full, stripped := hpaMetrics(hpa), hpaMetrics(h); !reflect.DeepEqual(full, stripped) || len(full) != 1 {
		t.Errorf("hpaMetrics: full %+v, stripped %+v; want the one measured metric from both", full, stripped)
	}

	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
		"metadata": map[string]any{"name": "r", "namespace": "shop", "annotations": map[string]any{"a": "b"}},
		"spec":     map[string]any{"replicas": int64(12), "strategy": map[string]any{"canary": map[string]any{}}},
	}}
	gotU, _ := Strip(u)
	su := gotU.(*unstructured.Unstructured)
	if r, _, _ := unstructured.NestedInt64(su.Object, "spec", "replicas"); r != 12 || su.GetName() != "r" || su.GetKind() != "Rollout" {
		t.Errorf("stripped Rollout = %v", su.Object)
	}
	if _, found, _ := unstructured.NestedMap(su.Object, "spec", "strategy"); found || len(su.GetAnnotations()) != 0 {
		t.Errorf("stripped Rollout kept strategy or annotations: %v", su.Object)
	}
}
