package cluster

import (
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/latch-gitops/latch/internal/rollout"
)

func TestStatefulSetRollout(t *testing.T) {
	at := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	set := func(current, update string, replicas, updated, ready int32, partition *int32) *appsv1.StatefulSet {
		s := &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: "shop", Generation: 2},
			Spec: appsv1.StatefulSetSpec{Replicas: ptr.To(replicas),
				Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "db"}},
				Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "db", Image: "example.com/db:2"}}}}},
			Status: appsv1.StatefulSetStatus{ObservedGeneration: 2, Replicas: replicas, UpdatedReplicas: updated, ReadyReplicas: ready, AvailableReplicas: ready,
				CurrentRevision: current, UpdateRevision: update}}
		if partition != nil {
			s.Spec.UpdateStrategy = appsv1.StatefulSetUpdateStrategy{Type: appsv1.RollingUpdateStatefulSetStrategyType,
				RollingUpdate: &appsv1.RollingUpdateStatefulSetStrategy{Partition: partition}}
		}
		return s
	}
	pod := func(name, revision string, ready bool, restarts int32) corev1.Pod {
		p := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": "db", appsv1.StatefulSetRevisionLabel: revision},
			CreationTimestamp: metav1.NewTime(at.Add(-time.Minute))}}
		if ready {
			p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
		}
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "db", RestartCount: restarts}}
		return p
	}
	old := map[string]string{"db": "example.com/db:1"}

	cases := []struct {
		name      string
		set       *appsv1.StatefulSet
		pods      []corev1.Pod
		inFlight  bool
		percent   int
		milestone int
		health    rollout.Health
		oldImages bool
	}{
		{
			// Partition 1 of 4: ordinals 1..3 updated and Ready, db-0
			// held on the old revision on purpose.
			name:     "held by a partition at 75 %, healthy",
			set:      set("db-1", "db-2", 4, 3, 4, ptr.To(int32(1))),
			pods:     []corev1.Pod{pod("db-0", "db-1", true, 0), pod("db-1", "db-2", true, 0), pod("db-2", "db-2", true, 0), pod("db-3", "db-2", true, 0)},
			inFlight: true, percent: 75, milestone: 75, health: rollout.Healthy, oldImages: true,
		},
		{
			// The highest ordinal is updated first and crash-loops: the
			// controller stops there.
			name:     "new pod crash-looping at 0 %, failed",
			set:      set("db-1", "db-2", 4, 1, 3, nil),
			pods:     []corev1.Pod{pod("db-0", "db-1", true, 0), pod("db-1", "db-1", true, 0), pod("db-2", "db-1", true, 0), pod("db-3", "db-2", false, 5)},
			inFlight: true, percent: 0, milestone: 0, health: rollout.Failed, oldImages: true,
		},
		{
			// Done: the controller set currentRevision to updateRevision.
			name:     "finished: one revision",
			set:      set("db-2", "db-2", 4, 4, 4, nil),
			inFlight: false, percent: 100, milestone: 100, health: rollout.Healthy,
		},
		{
			// A fresh cluster: a partition keeps nothing on an older
			// version, both revisions start equal.
			name:     "fresh with a partition: nothing in flight",
			set:      set("db-2", "db-2", 4, 4, 4, ptr.To(int32(3))),
			inFlight: false, percent: 100, milestone: 100, health: rollout.Healthy,
		},
		{
			name:     "not yet observed by its controller",
			set:      set("", "", 4, 0, 0, nil),
			inFlight: false, percent: 0, milestone: 0, health: rollout.Progressing,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := StatefulSetRollout(tc.set, old, tc.pods, at)
			if r.Kind != "StatefulSet" || r.Group != "apps" || r.Namespace != "shop" || r.Name != "db" {
				t.Fatalf("ref %+v", r.Ref)
			}
			a := rollout.Assess(r.Snapshot, rollout.Options{})
			if a.InFlight != tc.inFlight || a.Percent != tc.percent || a.Milestone != tc.milestone || a.Health != tc.health {
				t.Fatalf("assessed %+v from %+v, want in flight %v, %d %%, milestone %d, %s", a, r.Snapshot, tc.inFlight, tc.percent, tc.milestone, tc.health)
			}
			if tc.set.Status.UpdateRevision != "" && r.NewImages["db"] != "example.com/db:2" {
				t.Fatalf("new images %v", r.NewImages)
			}
			if got := r.OldImages["db"] == "example.com/db:1" && r.OldRevision == "db-1"; got != tc.oldImages {
				t.Fatalf("old images %v (%q), want them: %v", r.OldImages, r.OldRevision, tc.oldImages)
			}
		})
	}
}

func TestTemplateImages(t *testing.T) {
	// The shape the StatefulSet controller writes into a ControllerRevision.
	raw := []byte(`{"spec":{"template":{"$patch":"replace","metadata":{"labels":{"app":"db"}},"spec":{"containers":[{"name":"db","image":"example.com/db:1","ports":[{"containerPort":5432}]},{"name":"exporter","image":"example.com/exp:3"}]}}}}`)
	got, err := templateImages(raw)
	if err != nil || len(got) != 2 || got["db"] != "example.com/db:1" || got["exporter"] != "example.com/exp:3" {
		t.Fatalf("templateImages = %v, %v", got, err)
	}
	if got, err := templateImages(nil); err != nil || got != nil {
		t.Fatalf("no data: %v, %v", got, err)
	}
	if _, err := templateImages([]byte(`{"spec":`)); err == nil {
		t.Fatal("broken data accepted")
	}
}

// Strip and the live path's trim keep the same of a StatefulSet, and a
// stripped one trims to itself (the cached path trims it again).
func TestStripStatefulSetKeepsWhatTheFollowerReads(t *testing.T) {
	s := &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: "shop", UID: "u1", Generation: 4,
		Annotations: map[string]string{"big": "x"}},
		Spec: appsv1.StatefulSetSpec{Replicas: ptr.To(int32(4)),
			Selector:       &metav1.LabelSelector{MatchLabels: map[string]string{"app": "db"}, MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "tier", Operator: metav1.LabelSelectorOpIn, Values: []string{"data"}}}},
			UpdateStrategy: appsv1.StatefulSetUpdateStrategy{Type: appsv1.RollingUpdateStatefulSetStrategyType, RollingUpdate: &appsv1.RollingUpdateStatefulSetStrategy{Partition: ptr.To(int32(1))}},
			Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "db", Image: "example.com/db:2",
				Env: []corev1.EnvVar{{Name: "A", Value: "b"}}}}}}},
		Status: appsv1.StatefulSetStatus{ObservedGeneration: 4, Replicas: 4, UpdatedReplicas: 3, ReadyReplicas: 4, AvailableReplicas: 4, CurrentRevision: "db-1", UpdateRevision: "db-2"}}
	obj, err := Strip(s)
	if err != nil {
		t.Fatal(err)
	}
	stripped := obj.(*appsv1.StatefulSet)
	if stripped.Annotations != nil || len(stripped.Spec.Template.Spec.Containers[0].Env) != 0 {
		t.Fatalf("kept more than the follower reads: %+v", stripped)
	}
	at := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	live := StatefulSetRollout(ptr.To(trimStatefulSet(s)), nil, nil, at)
	cached := StatefulSetRollout(ptr.To(trimStatefulSet(stripped)), nil, nil, at)
	if live.Snapshot.Partition != 1 || live.Snapshot.Revision != "db-2" || live.Snapshot.CurrentRevision != "db-1" || live.NewImages["db"] != "example.com/db:2" {
		t.Fatalf("live snapshot %+v %v", live.Snapshot, live.NewImages)
	}
	if live.Snapshot.Partition != cached.Snapshot.Partition || live.Snapshot.Revision != cached.Snapshot.Revision ||
		live.Snapshot.NewReplicas != cached.Snapshot.NewReplicas || live.Snapshot.OldReplicas != cached.Snapshot.OldReplicas || live.NewImages["db"] != cached.NewImages["db"] {
		t.Fatalf("cached %+v differs from live %+v", cached.Snapshot, live.Snapshot)
	}
	if sel := stripped.Spec.Selector; sel == nil || len(sel.MatchExpressions) != 1 || sel.MatchExpressions[0].Values[0] != "data" {
		t.Fatalf("selector %+v", sel)
	}
}
