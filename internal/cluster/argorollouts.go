package cluster

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"

	"github.com/latch-gitops/latch/internal/objectid"
	"github.com/latch-gitops/latch/internal/objtree"
	"github.com/latch-gitops/latch/internal/rollout"
)

// An Argo Rollout (rollouts.argoproj.io) is read by its status, without
// Argo's Go module: the controller names each version by the hash of its pod
// template, writes it as the rollouts-pod-template-hash label on the
// version's ReplicaSet (owned by the Rollout, the label also in its
// selector) and on its pods, and reports status.currentPodHash (the version
// the spec asks for) and status.stableRS (the one that last finished; set to
// currentPodHash on full promotion). internal/rollout decides from that.

// ArgoRolloutGVK is the kind the follower reads where Argo Rollouts is
// installed.
var ArgoRolloutGVK = schema.GroupVersionKind{Group: "argoproj.io", Version: "v1alpha1", Kind: "Rollout"}

// ArgoHashLabel is the label naming an Argo Rollout's version on its
// ReplicaSets and pods.
const ArgoHashLabel = "rollouts-pod-template-hash"

// ArgoRolloutsServed reports whether the API server serves Argo Rollouts
// (rollouts in argoproj.io/v1alpha1): one discovery request. A group the
// server does not know is no error (Argo Rollouts is not installed).
func ArgoRolloutsServed(disc discovery.DiscoveryInterface) (bool, error) {
	list, err := disc.ServerResourcesForGroupVersion(ArgoRolloutGVK.GroupVersion().String())
	if err != nil {
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		return false, fmt.Errorf("discovering %s: %w", ArgoRolloutGVK.GroupVersion(), err)
	}
	for _, r := range list.APIResources {
		if r.Name == "rollouts" && r.Kind == ArgoRolloutGVK.Kind {
			return true, nil
		}
	}
	return false, nil
}

// argoRollout is what the follower reads of a Rollout: the live path reads
// it from the whole object, Strip keeps exactly it (writeArgoRollout), so
// both paths read the same.
type argoRollout struct {
	Name, Namespace, UID string
	Generation           int64
	Replicas             *int64
	Paused               bool
	// WorkloadRef names the object holding the pod template (spec.workloadRef:
	// "Deployment/web"), "" when the Rollout has its own spec.template.
	WorkloadRef string
	// ObservedGeneration is status.observedGeneration as a number (Argo
	// writes the generation as a string; a value that is no number, an old
	// controller's hash, counts as observed).
	ObservedGeneration int64
	CurrentPodHash     string
	StableRS           string
	Phase, Message     string
	Abort              bool
	CurrentStepIndex   *int64
	// UpdatedReplicas, ReadyReplicas and AvailableReplicas are the status
	// counts, across every version of the Rollout.
	UpdatedReplicas, ReadyReplicas, AvailableReplicas int64
	// Progressing is the Progressing condition (nil: none).
	Progressing *rollout.Condition
}

func isArgoRollout(u *unstructured.Unstructured) bool {
	gvk := u.GroupVersionKind()
	return gvk.Group == ArgoRolloutGVK.Group && gvk.Kind == ArgoRolloutGVK.Kind
}

// readArgoRollout reads what the follower needs from a Rollout. A field of
// the wrong type reads as absent: the CRD's schema is Argo's, not latch's.
func readArgoRollout(u *unstructured.Unstructured) argoRollout {
	r := argoRollout{Name: u.GetName(), Namespace: u.GetNamespace(), UID: string(u.GetUID()), Generation: u.GetGeneration()}
	obj := u.Object
	if n, ok := objtree.Int(obj, "spec", "replicas"); ok {
		r.Replicas = &n
	}
	r.Paused, _, _ = unstructured.NestedBool(obj, "spec", "paused")
	if ref, ok, _ := unstructured.NestedMap(obj, "spec", "workloadRef"); ok {
		kind, _ := ref["kind"].(string)
		name, _ := ref["name"].(string)
		r.WorkloadRef = kind + "/" + name
	}
	r.ObservedGeneration = r.Generation
	switch g := nestedAny(obj, "status", "observedGeneration").(type) {
	case string:
		if n, err := strconv.ParseInt(g, 10, 64); err == nil {
			r.ObservedGeneration = n
		}
	case int64:
		r.ObservedGeneration = g
	case nil:
		r.ObservedGeneration = 0
	}
	str := func(field string) string {
		s, _, _ := unstructured.NestedString(obj, "status", field)
		return s
	}
	r.CurrentPodHash, r.StableRS, r.Phase, r.Message = str("currentPodHash"), str("stableRS"), str("phase"), str("message")
	r.Abort, _, _ = unstructured.NestedBool(obj, "status", "abort")
	if n, ok := objtree.Int(obj, "status", "currentStepIndex"); ok {
		r.CurrentStepIndex = &n
	}
	r.UpdatedReplicas, _ = objtree.Int(obj, "status", "updatedReplicas")
	r.ReadyReplicas, _ = objtree.Int(obj, "status", "readyReplicas")
	r.AvailableReplicas, _ = objtree.Int(obj, "status", "availableReplicas")
	conds, _, _ := unstructured.NestedSlice(obj, "status", "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		if m["type"] != "Progressing" {
			continue
		}
		status, _ := m["status"].(string)
		reason, _ := m["reason"].(string)
		msg, _ := m["message"].(string)
		r.Progressing = &rollout.Condition{Status: status, Reason: reason, Message: msg}
	}
	return r
}

// writeArgoRollout sets r's fields on out (a stripped Rollout), as
// readArgoRollout reads them back, each string copied.
func writeArgoRollout(out *unstructured.Unstructured, r argoRollout) {
	spec, _ := out.Object["spec"].(map[string]any)
	if spec == nil {
		spec = map[string]any{}
	}
	if r.Replicas != nil {
		spec["replicas"] = *r.Replicas
	}
	if r.Paused {
		spec["paused"] = true
	}
	if r.WorkloadRef != "" {
		kind, name, _ := strings.Cut(r.WorkloadRef, "/")
		spec["workloadRef"] = map[string]any{"kind": strings.Clone(kind), "name": strings.Clone(name)}
	}
	if len(spec) > 0 {
		out.Object["spec"] = spec
	}
	status := map[string]any{}
	if r.ObservedGeneration != 0 {
		status["observedGeneration"] = strconv.FormatInt(r.ObservedGeneration, 10)
	}
	for k, v := range map[string]string{"currentPodHash": r.CurrentPodHash, "stableRS": r.StableRS, "phase": r.Phase, "message": r.Message} {
		if v != "" {
			status[k] = strings.Clone(v)
		}
	}
	if r.Abort {
		status["abort"] = true
	}
	if r.CurrentStepIndex != nil {
		status["currentStepIndex"] = *r.CurrentStepIndex
	}
	for k, v := range map[string]int64{"updatedReplicas": r.UpdatedReplicas, "readyReplicas": r.ReadyReplicas, "availableReplicas": r.AvailableReplicas} {
		if v != 0 {
			status[k] = v
		}
	}
	if c := r.Progressing; c != nil {
		status["conditions"] = []any{map[string]any{"type": "Progressing", "status": strings.Clone(c.Status),
			"reason": strings.Clone(c.Reason), "message": strings.Clone(c.Message)}}
	}
	if len(status) > 0 {
		out.Object["status"] = status
	}
}

func nestedAny(obj map[string]any, fields ...string) any {
	v, _, _ := unstructured.NestedFieldNoCopy(obj, fields...)
	return v
}

// argoInFlight: the controller reports a stable version other than the one
// the spec asks for.
func argoInFlight(r *argoRollout) bool {
	return r.StableRS != "" && r.CurrentPodHash != "" && r.StableRS != r.CurrentPodHash
}

// listArgoRollouts reads every Rollout in namespace and, for those in
// flight, the new version's pods (one live pod LIST each). owned are the
// ReplicaSets by their controller's UID.
func listArgoRollouts(ctx context.Context, src RolloutSource, namespace string, owned map[string][]appsv1.ReplicaSet, at time.Time) ([]Rollout, error) {
	var ros []argoRollout
	list := &unstructured.UnstructuredList{}
	list.SetGroupVersionKind(ArgoRolloutGVK.GroupVersion().WithKind(ArgoRolloutGVK.Kind + "List"))
	err := listPaged(ctx, src.Objects, namespace, src.Page, list, func(l *unstructured.UnstructuredList) {
		for i := range l.Items {
			ros = append(ros, readArgoRollout(&l.Items[i]))
		}
	})
	if err != nil {
		return nil, fmt.Errorf("listing Argo Rollouts: %w", err)
	}
	out := make([]Rollout, 0, len(ros))
	for i := range ros {
		ro := &ros[i]
		rss := owned[ro.UID]
		var pods []corev1.Pod
		if newRS := replicaSetByHash(rss, ro.CurrentPodHash); ro.WorkloadRef == "" && argoInFlight(ro) && newRS != nil && newRS.Spec.Selector != nil {
			var err error
			if pods, err = listPods(ctx, src.Pods, "Rollout", ro.Namespace, ro.Name, labels.SelectorFromSet(newRS.Spec.Selector.MatchLabels)); err != nil {
				return nil, err
			}
		}
		out = append(out, ArgoRollout(ro, rss, pods, at))
	}
	return out, nil
}

// replicaSetByHash is the ReplicaSet whose rollouts-pod-template-hash label
// is hash (nil: none, or hash empty).
func replicaSetByHash(rss []appsv1.ReplicaSet, hash string) *appsv1.ReplicaSet {
	if hash == "" {
		return nil
	}
	for i := range rss {
		if rss[i].Labels[ArgoHashLabel] == hash {
			return &rss[i]
		}
	}
	return nil
}

// ArgoRollout builds the snapshot of one Argo Rollout from its status, its
// ReplicaSets and the new version's pods (pure: the caller listed them).
// The new version's counts are its ReplicaSet's (the Rollout's status
// counts every version); without that ReplicaSet, the status' updated
// replicas, and as available those of the status' that are updated when
// nothing is in flight (every pod then runs the one version), none while
// an update is (the status counts the stable pods too). A Rollout whose
// template is in another object (spec.workloadRef) is returned with Skip
// set and no snapshot.
func ArgoRollout(ro *argoRollout, rss []appsv1.ReplicaSet, pods []corev1.Pod, at time.Time) Rollout {
	r := Rollout{Ref: objectid.Ref{Group: ArgoRolloutGVK.Group, Version: ArgoRolloutGVK.Version, Kind: ArgoRolloutGVK.Kind,
		Namespace: ro.Namespace, Name: ro.Name}}
	if ro.WorkloadRef != "" {
		r.Skip = fmt.Sprintf("its pod template is in %s (spec.workloadRef), which git declares apart from the Rollout: "+
			"latch records only Rollouts with their own spec.template", ro.WorkloadRef)
		return r
	}
	s := rollout.Snapshot{Kind: rollout.KindRollout, Generation: ro.Generation, ObservedGeneration: ro.ObservedGeneration,
		Desired: 1, Paused: ro.Paused, Revision: ro.CurrentPodHash, Progressing: ro.Progressing, At: at,
		Argo: &rollout.ArgoStatus{StableRevision: ro.StableRS, Phase: ro.Phase, Message: ro.Message, Aborted: ro.Abort}}
	if ro.Replicas != nil {
		s.Desired = int32(*ro.Replicas)
	}
	if i := ro.CurrentStepIndex; i != nil {
		step := int32(*i)
		s.Argo.Step = &step
	}
	inFlight := argoInFlight(ro)
	newRS := replicaSetByHash(rss, ro.CurrentPodHash)
	switch {
	case newRS != nil:
		if newRS.Spec.Replicas != nil {
			s.NewReplicas = *newRS.Spec.Replicas
		}
		s.NewReady, s.NewAvailable = newRS.Status.ReadyReplicas, newRS.Status.AvailableReplicas
		r.NewImages = images(newRS.Spec.Template.Spec.Containers)
	default:
		s.NewReplicas = int32(ro.UpdatedReplicas)
		if !inFlight {
			s.NewReady, s.NewAvailable = int32(min(ro.ReadyReplicas, ro.UpdatedReplicas)), int32(min(ro.AvailableReplicas, ro.UpdatedReplicas))
		}
	}
	for i := range rss {
		if newRS == nil || rss[i].UID != newRS.UID {
			s.OldReplicas += rss[i].Status.Replicas
		}
	}
	if inFlight {
		r.OldRevision = ro.StableRS
		if stable := replicaSetByHash(rss, ro.StableRS); stable != nil {
			r.OldImages = images(stable.Spec.Template.Spec.Containers)
		}
		s.NewPods = newVersionPods(pods, ArgoHashLabel, ro.CurrentPodHash)
	}
	r.Snapshot = s
	return r
}
