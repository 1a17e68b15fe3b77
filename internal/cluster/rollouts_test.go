package cluster

import (
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"github.com/latch-gitops/latch/internal/rollout"
)

func rs(name, hash, revision, image string, spec, replicas, available int32) appsv1.ReplicaSet {
	return appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: name, UID: types.UID(name), Labels: map[string]string{"pod-template-hash": hash},
			Annotations: map[string]string{"deployment.kubernetes.io/revision": revision}},
		Spec: appsv1.ReplicaSetSpec{Replicas: ptr.To(spec), Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "web", Image: image}}}}},
		Status: appsv1.ReplicaSetStatus{Replicas: replicas, ReadyReplicas: available, AvailableReplicas: available},
	}
}

func TestDeploymentRollout(t *testing.T) {
	at := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop", Generation: 3},
		Spec: appsv1.DeploymentSpec{Replicas: ptr.To(int32(10)), Paused: true},
		Status: appsv1.DeploymentStatus{ObservedGeneration: 3, Conditions: []appsv1.DeploymentCondition{
			{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue},
			{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionTrue, Reason: "ReplicaSetUpdated"}}}}
	sets := []appsv1.ReplicaSet{
		rs("web-a", "a", "1", "example.com/web:0", 0, 0, 0), // long gone
		rs("web-c", "c", "3", "example.com/web:2", 9, 9, 9), // new (revision 10 sorts after 9 as a number)
		rs("web-b", "b", "2", "example.com/web:1", 1, 1, 1), // old, still running
	}
	pod := func(name, hash string, ready bool, restarts int32, waiting string) corev1.Pod {
		p := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"pod-template-hash": hash},
			CreationTimestamp: metav1.NewTime(at.Add(-time.Minute))}}
		if ready {
			p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
		}
		cs := corev1.ContainerStatus{Name: "web", RestartCount: restarts}
		if waiting != "" {
			cs.State.Waiting = &corev1.ContainerStateWaiting{Reason: waiting}
		}
		p.Status.ContainerStatuses = []corev1.ContainerStatus{cs}
		return p
	}
	r := DeploymentRollout(d, sets, []corev1.Pod{pod("web-c-1", "c", true, 0, ""), pod("web-c-2", "c", false, 4, "CrashLoopBackOff"), pod("web-b-1", "b", true, 0, "")}, at)
	s := r.Snapshot
	if s.Revision != "c" || s.NewReplicas != 9 || s.NewAvailable != 9 || s.OldReplicas != 1 || s.Desired != 10 || !s.Paused ||
		s.Progressing == nil || s.Progressing.Reason != "ReplicaSetUpdated" || s.At != at {
		t.Fatalf("snapshot %+v", s)
	}
	if len(s.NewPods) != 2 || s.NewPods[1].Restarts != 4 || s.NewPods[1].Waiting != "CrashLoopBackOff" || !s.NewPods[0].Ready {
		t.Fatalf("new pods %+v, want the two of revision c", s.NewPods)
	}
	if r.NewImages["web"] != "example.com/web:2" || r.OldImages["web"] != "example.com/web:1" || r.OldRevision != "b" {
		t.Fatalf("images new %v old %v (%s)", r.NewImages, r.OldImages, r.OldRevision)
	}
	if a := rollout.Assess(s, rollout.Options{}); a.Health != rollout.Failed {
		t.Fatalf("a crash-looping new pod assessed %+v", a)
	}
	// No ReplicaSet yet: no revision, nothing to follow.
	if r := DeploymentRollout(d, nil, nil, at); r.Snapshot.Revision != "" || r.NewImages != nil {
		t.Fatalf("without ReplicaSets: %+v", r)
	}
}
