package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/latch-gitops/latch/internal/objectid"
)

// Workload is what latch needs to know about one scalable object.
type Workload struct {
	// Ref is the object's identity, with the version it was listed at.
	objectid.Ref
	UID    types.UID
	Labels map[string]string
	// Replicas is the live spec.replicas: what the HPA (or a person) asked for.
	Replicas int64
	// ReplicasManager is the managedFields manager that owns spec.replicas,
	// e.g. "kube-controller-manager" when an HPA set it through /scale.
	ReplicasManager string
	// HPA is the autoscaler targeting this workload, if any.
	HPA *HPA
}

// HPA is the live HorizontalPodAutoscaler that scales a workload.
type HPA struct {
	Name        string
	MinReplicas int64
	MaxReplicas int64
	// CurrentReplicas is the HPA's status.currentReplicas, the count its
	// Metrics were measured at (0: not reported yet).
	CurrentReplicas int64
	// Metrics are the HPA's targets with the values it last measured (for
	// the review flow: the PR body and the hpa-unexplained rule).
	Metrics []HPAMetric
}

// GVK is the group, version and kind the workload was listed at.
func (w Workload) GVK() schema.GroupVersionKind {
	return schema.GroupVersionKind{Group: w.Group, Version: w.Version, Kind: w.Kind}
}

var (
	deploymentGVK  = appsv1.SchemeGroupVersion.WithKind("Deployment")
	statefulSetGVK = appsv1.SchemeGroupVersion.WithKind("StatefulSet")
)

// List reads every Deployment and StatefulSet in namespace ("" = all) —
// plus the objects of extraKinds, kinds with a /scale subresource whose
// replica count is at spec.replicas — with their HPAs, sorted by kind,
// namespace and name so output is stable. reader may be a live client or an
// informer cache (see Strip).
func List(ctx context.Context, reader client.Reader, namespace string, extraKinds ...schema.GroupVersionKind) ([]Workload, error) {
	in := client.InNamespace(namespace)
	var hpas autoscalingv2.HorizontalPodAutoscalerList
	if err := reader.List(ctx, &hpas, in); err != nil {
		return nil, fmt.Errorf("listing HorizontalPodAutoscalers: %w", err)
	}
	byTarget := hpaIndex(hpas.Items)

	var out []Workload
	var deps appsv1.DeploymentList
	if err := reader.List(ctx, &deps, in); err != nil {
		return nil, fmt.Errorf("listing Deployments: %w", err)
	}
	for i := range deps.Items {
		d := &deps.Items[i]
		out = append(out, newWorkload(deploymentGVK, d.ObjectMeta, d.Spec.Replicas, byTarget))
	}
	var sets appsv1.StatefulSetList
	if err := reader.List(ctx, &sets, in); err != nil {
		return nil, fmt.Errorf("listing StatefulSets: %w", err)
	}
	for i := range sets.Items {
		s := &sets.Items[i]
		out = append(out, newWorkload(statefulSetGVK, s.ObjectMeta, s.Spec.Replicas, byTarget))
	}
	for _, gvk := range extraKinds {
		list := &unstructured.UnstructuredList{}
		list.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
		if err := reader.List(ctx, list, in); err != nil {
			return nil, fmt.Errorf("listing %s: %w", gvk.Kind, err)
		}
		for i := range list.Items {
			u := &list.Items[i]
			meta := metav1.ObjectMeta{Name: u.GetName(), Namespace: u.GetNamespace(), UID: u.GetUID(), Labels: u.GetLabels(), ManagedFields: u.GetManagedFields()}
			var replicas *int32
			if v, found, err := unstructured.NestedInt64(u.Object, "spec", "replicas"); err == nil && found {
				r := int32(v)
				replicas = &r
			}
			out = append(out, newWorkload(gvk, meta, replicas, byTarget))
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		if a.Namespace != b.Namespace {
			return a.Namespace < b.Namespace
		}
		return a.Name < b.Name
	})
	return out, nil
}

type targetKey struct{ namespace, group, kind, name string }

// hpaIndex maps each scale target to its autoscaler. Two HPAs on one target
// is a misconfiguration Kubernetes itself reports; the first by name wins so
// the result is deterministic.
func hpaIndex(items []autoscalingv2.HorizontalPodAutoscaler) map[targetKey]*HPA {
	sort.Slice(items, func(i, j int) bool { return items[i].Name < items[j].Name })
	out := make(map[targetKey]*HPA, len(items))
	for i := range items {
		h := &items[i]
		gv, err := schema.ParseGroupVersion(h.Spec.ScaleTargetRef.APIVersion)
		if err != nil {
			continue
		}
		key := targetKey{h.Namespace, gv.Group, h.Spec.ScaleTargetRef.Kind, h.Spec.ScaleTargetRef.Name}
		if _, taken := out[key]; taken {
			continue
		}
		minReplicas := int64(1) // the API default when minReplicas is unset
		if h.Spec.MinReplicas != nil {
			minReplicas = int64(*h.Spec.MinReplicas)
		}
		out[key] = &HPA{Name: h.Name, MinReplicas: minReplicas, MaxReplicas: int64(h.Spec.MaxReplicas),
			CurrentReplicas: int64(h.Status.CurrentReplicas), Metrics: hpaMetrics(h)}
	}
	return out
}

func newWorkload(gvk schema.GroupVersionKind, meta metav1.ObjectMeta, replicas *int32, hpas map[targetKey]*HPA) Workload {
	w := Workload{
		Ref:             objectid.Ref{Group: gvk.Group, Version: gvk.Version, Kind: gvk.Kind, Namespace: meta.Namespace, Name: meta.Name},
		UID:             meta.UID,
		Labels:          meta.Labels,
		Replicas:        1, // the API default when spec.replicas is unset
		ReplicasManager: ReplicasManager(meta.ManagedFields),
		HPA:             hpas[targetKey{meta.Namespace, gvk.Group, gvk.Kind, meta.Name}],
	}
	if replicas != nil {
		w.Replicas = int64(*replicas)
	}
	return w
}

// ReplicasManager returns the manager that owns spec.replicas according to
// server-side field management, preferring the most recent writer when
// several entries list it (an Apply and an Update can both hold a field).
func ReplicasManager(entries []metav1.ManagedFieldsEntry) string {
	var best *metav1.ManagedFieldsEntry
	for i := range entries {
		e := &entries[i]
		if e.FieldsV1 == nil || !ownsReplicas(e.FieldsV1.Raw) {
			continue
		}
		if best == nil || (e.Time != nil && (best.Time == nil || best.Time.Before(e.Time))) {
			best = e
		}
	}
	if best == nil {
		return ""
	}
	return best.Manager
}

// ownsReplicas reports whether a FieldsV1 set contains f:spec → f:replicas.
func ownsReplicas(raw []byte) bool {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return false
	}
	specRaw, ok := fields["f:spec"]
	if !ok {
		return false
	}
	var spec map[string]json.RawMessage
	if err := json.Unmarshal(specRaw, &spec); err != nil {
		return false
	}
	_, ok = spec["f:replicas"]
	return ok
}
