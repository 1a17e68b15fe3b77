package cluster

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	ctrlclient "sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/latch-gitops/latch/internal/rollout"
)

// argoObject is a Rollout shop/web of 4 replicas as the Argo Rollouts
// controller reports it (status as it writes it: observedGeneration a
// string), with status fields set from st.
func argoObject(st map[string]any) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
		"metadata": map[string]any{"name": "web", "namespace": "shop", "uid": "ro-1", "generation": int64(2),
			"annotations": map[string]any{"kubectl.kubernetes.io/last-applied-configuration": strings.Repeat("x", 4000)}},
		"spec": map[string]any{"replicas": int64(4),
			"selector": map[string]any{"matchLabels": map[string]any{"app": "web"}},
			"strategy": map[string]any{"canary": map[string]any{"steps": []any{
				map[string]any{"setWeight": int64(25)}, map[string]any{"pause": map[string]any{"duration": "1m"}},
				map[string]any{"setWeight": int64(75)}, map[string]any{"pause": map[string]any{}}}}},
			"template": map[string]any{"metadata": map[string]any{"labels": map[string]any{"app": "web"}},
				"spec": map[string]any{"containers": []any{map[string]any{"name": "web", "image": "example.com/web:2",
					"env": []any{map[string]any{"name": "A", "value": "b"}}}}}}},
	}}
	status := map[string]any{"observedGeneration": "2", "replicas": int64(4)}
	for k, v := range st {
		status[k] = v
	}
	u.Object["status"] = status
	return u
}

// argoReplicaSet is the Rollout's ReplicaSet of version hash with image,
// scaled to replicas, available of them available.
func argoReplicaSet(hash, image string, replicas, available int32) appsv1.ReplicaSet {
	labels := map[string]string{"app": "web", ArgoHashLabel: hash}
	return appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "web-" + hash, Namespace: "shop", UID: types.UID("rs-" + hash), Labels: labels,
		OwnerReferences: []metav1.OwnerReference{{APIVersion: "argoproj.io/v1alpha1", Kind: "Rollout", Name: "web", UID: "ro-1", Controller: ptr.To(true)}}},
		Spec: appsv1.ReplicaSetSpec{Replicas: ptr.To(replicas), Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: image}}}}},
		Status: appsv1.ReplicaSetStatus{Replicas: replicas, ReadyReplicas: available, AvailableReplicas: available}}
}

func TestArgoRollout(t *testing.T) {
	at := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	pod := func(name, hash string, ready bool, restarts int32) corev1.Pod {
		p := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": "web", ArgoHashLabel: hash},
			CreationTimestamp: metav1.NewTime(at.Add(-time.Minute))}}
		if ready {
			p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
		}
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "web", RestartCount: restarts}}
		return p
	}
	inFlight := func(extra map[string]any) map[string]any {
		st := map[string]any{"currentPodHash": "7c9d", "stableRS": "5f6a", "updatedReplicas": int64(3), "availableReplicas": int64(4), "readyReplicas": int64(4)}
		for k, v := range extra {
			st[k] = v
		}
		return st
	}
	cases := []struct {
		name      string
		obj       *unstructured.Unstructured
		rss       []appsv1.ReplicaSet
		pods      []corev1.Pod
		inFlight  bool
		percent   int
		health    rollout.Health
		reason    string
		oldImages bool
		skip      string
	}{
		{
			// setWeight 75, then pause {}: 3 of 4 on the new version, the
			// status counts the stable pod too (4 available).
			name:     "canary paused at 75 %",
			obj:      argoObject(inFlight(map[string]any{"phase": "Paused", "message": "CanaryPauseStep", "currentStepIndex": int64(3)})),
			rss:      []appsv1.ReplicaSet{argoReplicaSet("5f6a", "example.com/web:1", 1, 1), argoReplicaSet("7c9d", "example.com/web:2", 3, 3)},
			pods:     []corev1.Pod{pod("web-7c9d-a", "7c9d", true, 0), pod("web-7c9d-b", "7c9d", true, 0), pod("web-7c9d-c", "7c9d", true, 0), pod("web-5f6a-a", "5f6a", true, 0)},
			inFlight: true, percent: 75, health: rollout.Healthy, reason: "paused; canary step 3", oldImages: true,
		},
		{
			name: "aborted after a failed analysis",
			obj: argoObject(inFlight(map[string]any{"abort": true, "phase": "Degraded", "updatedReplicas": int64(0),
				"message": "RolloutAborted: Rollout aborted update to revision 2",
				"conditions": []any{map[string]any{"type": "Progressing", "status": "False", "reason": "RolloutAborted", "message": "Rollout aborted update to revision 2"},
					map[string]any{"type": "Available", "status": "True", "reason": "AvailableReason", "message": strings.Repeat("m", 300)}}})),
			rss:      []appsv1.ReplicaSet{argoReplicaSet("5f6a", "example.com/web:1", 4, 4), argoReplicaSet("7c9d", "example.com/web:2", 0, 0)},
			inFlight: true, percent: 0, health: rollout.Failed, reason: "aborted: RolloutAborted", oldImages: true,
		},
		{
			name:     "a crash-looping canary pod",
			obj:      argoObject(inFlight(map[string]any{"phase": "Progressing", "currentStepIndex": int64(0)})),
			rss:      []appsv1.ReplicaSet{argoReplicaSet("5f6a", "example.com/web:1", 3, 3), argoReplicaSet("7c9d", "example.com/web:2", 1, 0)},
			pods:     []corev1.Pod{pod("web-7c9d-a", "7c9d", false, 5)},
			inFlight: true, percent: 0, health: rollout.Failed, reason: "crash-looping (5 restarts)", oldImages: true,
		},
		{
			name: "finished: promoted",
			obj: argoObject(map[string]any{"currentPodHash": "7c9d", "stableRS": "7c9d", "phase": "Healthy",
				"updatedReplicas": int64(4), "availableReplicas": int64(4), "readyReplicas": int64(4)}),
			rss:      []appsv1.ReplicaSet{argoReplicaSet("5f6a", "example.com/web:1", 0, 0), argoReplicaSet("7c9d", "example.com/web:2", 4, 4)},
			inFlight: false, percent: 100, health: rollout.Healthy,
		},
		{
			// Its ReplicaSet not in the cache yet: the status alone, whose
			// counts are the one version's when nothing is in flight.
			name: "fresh, stableRS == currentPodHash, no ReplicaSet seen yet",
			obj: argoObject(map[string]any{"currentPodHash": "7c9d", "stableRS": "7c9d", "phase": "Progressing",
				"updatedReplicas": int64(4), "availableReplicas": int64(2), "readyReplicas": int64(2)}),
			inFlight: false, percent: 50, health: rollout.Healthy,
		},
		{
			name:     "not yet observed: no status",
			obj:      func() *unstructured.Unstructured { u := argoObject(nil); delete(u.Object, "status"); return u }(),
			inFlight: false, percent: 0, health: rollout.Progressing, reason: "has not reported on it yet",
		},
		{
			name: "template in a Deployment: skipped",
			obj: func() *unstructured.Unstructured {
				u := argoObject(inFlight(nil))
				spec := u.Object["spec"].(map[string]any)
				delete(spec, "template")
				spec["workloadRef"] = map[string]any{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}
				return u
			}(),
			skip: "Deployment/web (spec.workloadRef)",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ro := readArgoRollout(tc.obj)
			r := ArgoRollout(&ro, tc.rss, tc.pods, at)
			if r.Group != "argoproj.io" || r.Version != "v1alpha1" || r.Kind != "Rollout" || r.Namespace != "shop" || r.Name != "web" {
				t.Fatalf("ref %+v", r.Ref)
			}
			if tc.skip != "" || r.Skip != "" {
				if !strings.Contains(r.Skip, tc.skip) || tc.skip == "" {
					t.Fatalf("skip %q, want it to name %q", r.Skip, tc.skip)
				}
				return
			}
			a := rollout.Assess(r.Snapshot, rollout.Options{})
			if a.InFlight != tc.inFlight || a.Percent != tc.percent || a.Health != tc.health || !strings.Contains(a.Reason, tc.reason) {
				t.Fatalf("assessed %+v from %+v, want in flight %v, %d %%, %s (%q)", a, r.Snapshot, tc.inFlight, tc.percent, tc.health, tc.reason)
			}
			if len(tc.rss) > 0 && r.NewImages["web"] != "example.com/web:2" {
				t.Fatalf("new images %v", r.NewImages)
			}
			if got := r.OldImages["web"] == "example.com/web:1" && r.OldRevision == "5f6a"; got != tc.oldImages {
				t.Fatalf("old images %v (%q), want them: %v", r.OldImages, r.OldRevision, tc.oldImages)
			}
		})
	}
}

// Strip keeps of a Rollout what the follower reads (and spec.replicas, for
// latching its /scale), no template or annotations; the cached path reads
// the same as the live one, and a stripped Rollout strips to itself.
func TestStripArgoRolloutKeepsWhatTheFollowerReads(t *testing.T) {
	full := argoObject(map[string]any{"currentPodHash": "7c9d", "stableRS": "5f6a", "phase": "Paused", "message": "CanaryPauseStep",
		"currentStepIndex": int64(3), "updatedReplicas": int64(3), "availableReplicas": int64(4), "readyReplicas": int64(4), "abort": false,
		"pauseConditions": []any{map[string]any{"reason": "CanaryPauseStep", "startTime": "2026-12-03T11:59:00Z"}},
		"conditions": []any{map[string]any{"type": "Progressing", "status": "True", "reason": "RolloutPaused", "message": "Rollout is paused"},
			map[string]any{"type": "Paused", "status": "True", "reason": "RolloutPaused"}}})
	full.SetResourceVersion("17")
	full.SetLabels(map[string]string{"tier": "front"})
	obj, err := Strip(full)
	if err != nil {
		t.Fatal(err)
	}
	stripped := obj.(*unstructured.Unstructured)
	if _, found, _ := unstructured.NestedFieldNoCopy(stripped.Object, "spec", "template"); found {
		t.Fatalf("template kept: %v", stripped.Object)
	}
	if _, found, _ := unstructured.NestedFieldNoCopy(stripped.Object, "status", "pauseConditions"); found || stripped.GetAnnotations() != nil {
		t.Fatalf("kept more than the follower reads: %v", stripped.Object)
	}
	if n, _, _ := unstructured.NestedInt64(stripped.Object, "spec", "replicas"); n != 4 || stripped.GetResourceVersion() != "17" || stripped.GetLabels()["tier"] != "front" {
		t.Fatalf("replicas, resourceVersion or labels lost: %v", stripped.Object)
	}
	live, cached := readArgoRollout(full), readArgoRollout(stripped)
	if !reflect.DeepEqual(live, cached) {
		t.Fatalf("cached %+v\nlive   %+v", cached, live)
	}
	if live.CurrentPodHash != "7c9d" || live.StableRS != "5f6a" || live.ObservedGeneration != 2 || *live.CurrentStepIndex != 3 ||
		live.Progressing == nil || live.Progressing.Reason != "RolloutPaused" {
		t.Fatalf("read %+v", live)
	}
	again, _ := Strip(stripped)
	if !reflect.DeepEqual(again, stripped) {
		t.Fatalf("a stripped Rollout strips to\n%v\nnot itself\n%v", again.(*unstructured.Unstructured).Object, stripped.Object)
	}
	at := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	rss := []appsv1.ReplicaSet{argoReplicaSet("5f6a", "example.com/web:1", 1, 1), argoReplicaSet("7c9d", "example.com/web:2", 3, 3)}
	if a, b := ArgoRollout(&live, rss, nil, at), ArgoRollout(&cached, rss, nil, at); !reflect.DeepEqual(a, b) {
		t.Fatalf("snapshots differ: cached %+v, live %+v", b, a)
	}

	// An old controller's observedGeneration (a hash, not a number) counts
	// as observed, on both paths.
	old := argoObject(map[string]any{"observedGeneration": "6d9f7c8b5"})
	strippedOld, _ := Strip(old)
	if a, b := readArgoRollout(old), readArgoRollout(strippedOld.(*unstructured.Unstructured)); a.ObservedGeneration != 2 || !reflect.DeepEqual(a, b) {
		t.Fatalf("hash observedGeneration: live %+v, cached %+v", a, b)
	}
}

// forbidArgo answers every LIST from an empty fake cluster, but refuses
// Argo Rollouts as a role without rollouts.argoproj.io would.
type forbidArgo struct{ ctrlclient.Reader }

func (r forbidArgo) List(ctx context.Context, list ctrlclient.ObjectList, opts ...ctrlclient.ListOption) error {
	if _, ok := list.(*unstructured.UnstructuredList); ok {
		return apierrors.NewForbidden(schema.GroupResource{Group: "argoproj.io", Resource: "rollouts"}, "", errors.New("RBAC: no access"))
	}
	return r.Reader.List(ctx, list, opts...)
}

// Argo Rollouts that cannot be listed do not keep the other kinds from
// being followed: they come back with the error.
func TestListRolloutsWithoutArgoAccess(t *testing.T) {
	dep := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop", UID: "d1"}, Spec: appsv1.DeploymentSpec{Replicas: ptr.To(int32(2))}}
	src := LiveRollouts(forbidArgo{fake.NewClientBuilder().WithObjects(dep).Build()})
	src.ArgoRollouts = true
	got, err := ListRollouts(context.Background(), src, "", time.Now())
	if err == nil || !strings.Contains(err.Error(), "listing Argo Rollouts") || !apierrors.IsForbidden(err) {
		t.Fatalf("err = %v, want the Argo Rollouts' forbidden LIST named", err)
	}
	if len(got) != 1 || got[0].Kind != "Deployment" || got[0].Name != "web" {
		t.Fatalf("rollouts %+v, want the Deployment still", got)
	}
}
