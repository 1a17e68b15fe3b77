package cluster

import (
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
)

// Strip is an informer transform that keeps only what latching needs from
// each object before it enters the cache: identity, labels, the replica
// count, the managedFields entry that owns spec.replicas (for attribution)
// and an HPA's target and bounds. Pod templates, annotations (a
// last-applied-configuration alone can be many KiB), statuses and the rest of
// managedFields are dropped: with thousands of workloads they are most of
// the memory an unstripped cache would hold.
func Strip(obj any) (any, error) {
	switch o := obj.(type) {
	case *appsv1.Deployment:
		return &appsv1.Deployment{
			TypeMeta:   o.TypeMeta,
			ObjectMeta: stripMeta(o.ObjectMeta),
			Spec:       appsv1.DeploymentSpec{Replicas: o.Spec.Replicas},
		}, nil
	case *appsv1.StatefulSet:
		return &appsv1.StatefulSet{
			TypeMeta:   o.TypeMeta,
			ObjectMeta: stripMeta(o.ObjectMeta),
			Spec:       appsv1.StatefulSetSpec{Replicas: o.Spec.Replicas},
		}, nil
	case *autoscalingv2.HorizontalPodAutoscaler:
		return &autoscalingv2.HorizontalPodAutoscaler{
			TypeMeta:   o.TypeMeta,
			ObjectMeta: metav1.ObjectMeta{Name: o.Name, Namespace: o.Namespace, UID: o.UID, ResourceVersion: o.ResourceVersion},
			Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
				ScaleTargetRef: o.Spec.ScaleTargetRef,
				MinReplicas:    o.Spec.MinReplicas,
				MaxReplicas:    o.Spec.MaxReplicas,
			},
		}, nil
	case *unstructured.Unstructured:
		// Extra kinds with a /scale subresource: keep spec.replicas only.
		out := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": o.GetAPIVersion(),
			"kind":       o.GetKind(),
		}}
		meta := stripMeta(metav1.ObjectMeta{
			Name: o.GetName(), Namespace: o.GetNamespace(), UID: o.GetUID(),
			ResourceVersion: o.GetResourceVersion(), Labels: o.GetLabels(), ManagedFields: o.GetManagedFields(),
		})
		out.SetName(meta.Name)
		out.SetNamespace(meta.Namespace)
		out.SetUID(meta.UID)
		out.SetResourceVersion(meta.ResourceVersion)
		out.SetLabels(meta.Labels)
		out.SetManagedFields(meta.ManagedFields)
		if replicas, found, err := unstructured.NestedInt64(o.Object, "spec", "replicas"); err == nil && found {
			_ = unstructured.SetNestedField(out.Object, replicas, "spec", "replicas")
		}
		return out, nil
	}
	return obj, nil
}

// replicasOnly is the FieldsV1 set kept for the owner of spec.replicas.
var replicasOnly = []byte(`{"f:spec":{"f:replicas":{}}}`)

// stripMeta copies what it keeps (strings.Clone, a new labels map) so that
// nothing in the cache points into the decoded object: a kept string that
// shares the decode buffer would pin the whole buffer, and scattered pinned
// buffers keep pages the runtime could otherwise return to the OS.
func stripMeta(m metav1.ObjectMeta) metav1.ObjectMeta {
	out := metav1.ObjectMeta{
		Name:            strings.Clone(m.Name),
		Namespace:       strings.Clone(m.Namespace),
		UID:             types.UID(strings.Clone(string(m.UID))),
		ResourceVersion: strings.Clone(m.ResourceVersion),
		Generation:      m.Generation,
	}
	if len(m.Labels) > 0 {
		out.Labels = make(map[string]string, len(m.Labels))
		for k, v := range m.Labels {
			out.Labels[strings.Clone(k)] = strings.Clone(v)
		}
	}
	if manager := ReplicasManager(m.ManagedFields); manager != "" {
		out.ManagedFields = []metav1.ManagedFieldsEntry{{
			Manager:    strings.Clone(manager),
			Operation:  metav1.ManagedFieldsOperationUpdate,
			FieldsType: "FieldsV1",
			FieldsV1:   &metav1.FieldsV1{Raw: replicasOnly},
		}}
	}
	return out
}
