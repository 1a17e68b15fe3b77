package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/latch-gitops/latch/internal/objectid"
	"github.com/latch-gitops/latch/internal/rollout"
)

// A StatefulSet has no ReplicaSets: its versions are ControllerRevisions,
// status.updateRevision names the new one and status.currentRevision the
// one the pods not yet updated run, and each pod carries its revision in the
// controller-revision-hash label. A rollout is in flight while the two
// differ (a partition holds it there on purpose); the StatefulSet
// controller sets currentRevision to updateRevision once every pod runs it.

// listStatefulSetRollouts reads every StatefulSet in namespace and, for
// those in flight, the pods of the new revision and the current
// revision's images: one pod LIST and one ControllerRevision GET each, live.
func listStatefulSetRollouts(ctx context.Context, src RolloutSource, namespace string, at time.Time) ([]Rollout, error) {
	var sets []appsv1.StatefulSet
	err := listPaged(ctx, src.Objects, namespace, src.Page, &appsv1.StatefulSetList{}, func(l *appsv1.StatefulSetList) {
		for i := range l.Items {
			sets = append(sets, trimStatefulSet(&l.Items[i]))
		}
	})
	if err != nil {
		return nil, fmt.Errorf("listing StatefulSets: %w", err)
	}
	out := make([]Rollout, 0, len(sets))
	for i := range sets {
		s := &sets[i]
		var pods []corev1.Pod
		var oldImages map[string]string
		if statefulSetInFlight(s) && s.Spec.Selector != nil {
			sel, err := metav1.LabelSelectorAsSelector(s.Spec.Selector)
			if err != nil {
				return nil, fmt.Errorf("StatefulSet %s/%s: spec.selector: %w", s.Namespace, s.Name, err)
			}
			if pods, err = listPods(ctx, src.Pods, "StatefulSet", s.Namespace, s.Name, sel); err != nil {
				return nil, err
			}
			if oldImages, err = revisionImages(ctx, src.Pods, s.Namespace, s.Status.CurrentRevision); err != nil {
				return nil, fmt.Errorf("StatefulSet %s/%s: current revision %s: %w", s.Namespace, s.Name, s.Status.CurrentRevision, err)
			}
		}
		out = append(out, StatefulSetRollout(s, oldImages, pods, at))
	}
	return out, nil
}

// statefulSetInFlight: the StatefulSet's controller reports two revisions,
// the pods not yet updated on the current one (a StatefulSet it has not
// reported on yet, with no revisions, is not in flight).
func statefulSetInFlight(s *appsv1.StatefulSet) bool {
	st := s.Status
	return st.CurrentRevision != "" && st.UpdateRevision != "" && st.CurrentRevision != st.UpdateRevision
}

// trimStatefulSet copies what StatefulSetRollout reads, as Strip keeps it.
func trimStatefulSet(s *appsv1.StatefulSet) appsv1.StatefulSet {
	out := appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: s.Name, Namespace: s.Namespace, UID: s.UID, Generation: s.Generation},
		Spec:       stripStatefulSetSpec(s.Spec),
		Status:     stripStatefulSetStatus(s.Status),
	}
	return out
}

// stripStatefulSetSpec keeps the replicas, the selector, the partition and
// the template's container names and images.
func stripStatefulSetSpec(s appsv1.StatefulSetSpec) appsv1.StatefulSetSpec {
	out := appsv1.StatefulSetSpec{Replicas: s.Replicas, UpdateStrategy: appsv1.StatefulSetUpdateStrategy{Type: s.UpdateStrategy.Type}}
	if ru := s.UpdateStrategy.RollingUpdate; ru != nil && ru.Partition != nil {
		p := *ru.Partition
		out.UpdateStrategy.RollingUpdate = &appsv1.RollingUpdateStatefulSetStrategy{Partition: &p}
	}
	if sel := s.Selector; sel != nil {
		out.Selector = &metav1.LabelSelector{MatchLabels: cloneStrings(sel.MatchLabels)}
		for _, e := range sel.MatchExpressions {
			out.Selector.MatchExpressions = append(out.Selector.MatchExpressions, metav1.LabelSelectorRequirement{
				Key: strings.Clone(e.Key), Operator: e.Operator, Values: cloneSlice(e.Values)})
		}
	}
	for _, c := range s.Template.Spec.Containers {
		out.Template.Spec.Containers = append(out.Template.Spec.Containers, corev1.Container{Name: strings.Clone(c.Name), Image: strings.Clone(c.Image)})
	}
	return out
}

// stripStatefulSetStatus keeps the counts and the two revisions.
func stripStatefulSetStatus(s appsv1.StatefulSetStatus) appsv1.StatefulSetStatus {
	return appsv1.StatefulSetStatus{ObservedGeneration: s.ObservedGeneration, Replicas: s.Replicas, ReadyReplicas: s.ReadyReplicas,
		CurrentReplicas: s.CurrentReplicas, UpdatedReplicas: s.UpdatedReplicas, AvailableReplicas: s.AvailableReplicas,
		CurrentRevision: strings.Clone(s.CurrentRevision), UpdateRevision: strings.Clone(s.UpdateRevision)}
}

func cloneSlice(in []string) []string {
	if in == nil {
		return nil
	}
	out := make([]string, len(in))
	for i, v := range in {
		out[i] = strings.Clone(v)
	}
	return out
}

// revisionImages reads the container images of a StatefulSet's
// ControllerRevision (its data is the pod template as a patch). A revision
// that is gone, or that latch may not read, gives no images (the record's
// last good version then names the revision and commit alone), not an error.
func revisionImages(ctx context.Context, reader client.Reader, namespace, name string) (map[string]string, error) {
	if name == "" {
		return nil, nil
	}
	var cr appsv1.ControllerRevision
	if err := reader.Get(ctx, types.NamespacedName{Namespace: namespace, Name: name}, &cr); err != nil {
		if apierrors.IsNotFound(err) || apierrors.IsForbidden(err) {
			return nil, nil
		}
		return nil, err
	}
	return templateImages(cr.Data.Raw)
}

// templateImages reads spec.template.spec.containers' names and images from
// a StatefulSet ControllerRevision's data.
func templateImages(raw []byte) (map[string]string, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	var data struct {
		Spec struct {
			Template struct {
				Spec struct {
					Containers []corev1.Container `json:"containers"`
				} `json:"spec"`
			} `json:"template"`
		} `json:"spec"`
	}
	if err := json.Unmarshal(raw, &data); err != nil {
		return nil, fmt.Errorf("reading its data: %w", err)
	}
	return images(data.Spec.Template.Spec.Containers), nil
}

// StatefulSetRollout builds the snapshot of one StatefulSet from its status,
// the current revision's images and the pods (pure: the caller read them).
// While in flight the new version's available count is its pods that are
// Ready (the status counts only all pods); otherwise it is the status's.
func StatefulSetRollout(s *appsv1.StatefulSet, oldImages map[string]string, pods []corev1.Pod, at time.Time) Rollout {
	r := Rollout{Ref: objectid.Ref{Group: "apps", Version: "v1", Kind: "StatefulSet", Namespace: s.Namespace, Name: s.Name}}
	st := s.Status
	snap := rollout.Snapshot{Kind: rollout.KindStatefulSet, Generation: s.Generation, ObservedGeneration: st.ObservedGeneration,
		Desired: 1, Revision: st.UpdateRevision, CurrentRevision: st.CurrentRevision, At: at,
		NewReplicas: st.UpdatedReplicas, NewReady: st.ReadyReplicas, NewAvailable: st.AvailableReplicas}
	if s.Spec.Replicas != nil {
		snap.Desired = *s.Spec.Replicas
	}
	if ru := s.Spec.UpdateStrategy.RollingUpdate; ru != nil && ru.Partition != nil {
		snap.Partition = *ru.Partition
	}
	if st.UpdateRevision == "" {
		r.Snapshot = snap
		return r
	}
	r.NewImages = images(s.Spec.Template.Spec.Containers)
	if !statefulSetInFlight(s) {
		r.Snapshot = snap
		return r
	}
	snap.OldReplicas = max(st.Replicas-st.UpdatedReplicas, 0)
	snap.NewPods = newVersionPods(pods, appsv1.StatefulSetRevisionLabel, st.UpdateRevision)
	ready := int32(0)
	for _, p := range snap.NewPods {
		if p.Ready {
			ready++
		}
	}
	snap.NewReady, snap.NewAvailable = ready, ready
	r.OldImages, r.OldRevision = oldImages, st.CurrentRevision
	r.Snapshot = snap
	return r
}
