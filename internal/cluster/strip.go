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
// and an HPA's target, bounds and metrics (targets and current values). Pod templates, annotations (a
// last-applied-configuration alone can be many KiB), most of the statuses and the rest of
// managedFields are dropped: with thousands of workloads they are most of
// the memory an unstripped cache would hold.
func Strip(obj any) (any, error) {
	switch o := obj.(type) {
	case *appsv1.Deployment:
		// Paused and the status are what the rollout follower reads
		// (ListRollouts with CachedRollouts): a few numbers and the
		// Progressing condition.
		return &appsv1.Deployment{
			TypeMeta:   o.TypeMeta,
			ObjectMeta: stripMeta(o.ObjectMeta),
			Spec:       appsv1.DeploymentSpec{Replicas: o.Spec.Replicas, Paused: o.Spec.Paused},
			Status:     stripDeploymentStatus(o.Status),
		}, nil
	case *appsv1.ReplicaSet:
		// Watched only when rollouts are followed; trimmed to what
		// DeploymentRollout reads, copied out of the decoded object.
		out := trimReplicaSet(o)
		meta := stripMeta(o.ObjectMeta) // labels copied; no managedFields needed
		meta.ManagedFields = nil
		meta.Annotations = cloneStrings(out.Annotations)
		for _, r := range out.OwnerReferences {
			meta.OwnerReferences = append(meta.OwnerReferences, metav1.OwnerReference{APIVersion: strings.Clone(r.APIVersion),
				Kind: strings.Clone(r.Kind), Name: strings.Clone(r.Name), UID: types.UID(strings.Clone(string(r.UID))), Controller: r.Controller})
		}
		out.ObjectMeta, out.TypeMeta = meta, o.TypeMeta
		if sel := out.Spec.Selector; sel != nil {
			out.Spec.Selector = &metav1.LabelSelector{MatchLabels: cloneStrings(sel.MatchLabels)}
		}
		for i := range out.Spec.Template.Spec.Containers {
			c := &out.Spec.Template.Spec.Containers[i]
			c.Name, c.Image = strings.Clone(c.Name), strings.Clone(c.Image)
		}
		return &out, nil
	case *appsv1.StatefulSet:
		// The selector, partition, template images, revisions and counts
		// are what the rollout follower reads (StatefulSetRollout).
		return &appsv1.StatefulSet{
			TypeMeta:   o.TypeMeta,
			ObjectMeta: stripMeta(o.ObjectMeta),
			Spec:       stripStatefulSetSpec(o.Spec),
			Status:     stripStatefulSetStatus(o.Status),
		}, nil
	case *autoscalingv2.HorizontalPodAutoscaler:
		// The metrics' targets and current values (no selectors) are what
		// the review flow shows and its hpa-unexplained rule reads.
		metrics, current := stripHPAMetrics(o.Spec.Metrics, o.Status.CurrentMetrics)
		return &autoscalingv2.HorizontalPodAutoscaler{
			TypeMeta:   o.TypeMeta,
			ObjectMeta: metav1.ObjectMeta{Name: o.Name, Namespace: o.Namespace, UID: o.UID, ResourceVersion: o.ResourceVersion},
			Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
				ScaleTargetRef: o.Spec.ScaleTargetRef,
				MinReplicas:    o.Spec.MinReplicas,
				MaxReplicas:    o.Spec.MaxReplicas,
				Metrics:        metrics,
			},
			Status: autoscalingv2.HorizontalPodAutoscalerStatus{CurrentReplicas: o.Status.CurrentReplicas, CurrentMetrics: current},
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
		if isArgoRollout(o) {
			// An Argo Rollout: also what the rollout follower reads of
			// it (a few status fields, ArgoRollout), whether it is
			// watched for latching or only listed by the follower;
			// the generation, against status.observedGeneration.
			out.SetGeneration(o.GetGeneration())
			writeArgoRollout(out, readArgoRollout(o))
		}
		return out, nil
	}
	return obj, nil
}

// stripDeploymentStatus keeps the counts and the Progressing condition.
func stripDeploymentStatus(s appsv1.DeploymentStatus) appsv1.DeploymentStatus {
	out := appsv1.DeploymentStatus{ObservedGeneration: s.ObservedGeneration, Replicas: s.Replicas, UpdatedReplicas: s.UpdatedReplicas,
		ReadyReplicas: s.ReadyReplicas, AvailableReplicas: s.AvailableReplicas}
	for _, c := range s.Conditions {
		if c.Type == appsv1.DeploymentProgressing {
			out.Conditions = []appsv1.DeploymentCondition{{Type: c.Type, Status: c.Status,
				Reason: strings.Clone(c.Reason), Message: strings.Clone(c.Message)}}
		}
	}
	return out
}

// cloneStrings copies a string map and its strings (nil stays nil).
func cloneStrings(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[strings.Clone(k)] = strings.Clone(v)
	}
	return out
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
		out.Labels = cloneStrings(m.Labels)
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
