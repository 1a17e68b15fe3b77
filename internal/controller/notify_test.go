package controller

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/latch-gitops/latch/internal/cluster"
)

// TestNotifyUpdateOnlyOnWhatLatchingReads: the cache holds stripped
// objects, yet every status write bumps resourceVersion. Only a change that
// latching reads (replicas, labels, HPA bounds, the replicas owner) may mark
// the loop dirty; status churn during a rollout must not.
func TestNotifyUpdateOnlyOnWhatLatchingReads(t *testing.T) {
	deployment := func(rv string, generation int64, replicas int32, labels map[string]string, readyReplicas int32) any {
		d := &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop", ResourceVersion: rv, Generation: generation, Labels: labels},
			Spec:       appsv1.DeploymentSpec{Replicas: ptr.To(replicas)},
			Status:     appsv1.DeploymentStatus{ReadyReplicas: readyReplicas},
		}
		stripped, err := cluster.Strip(d)
		if err != nil {
			t.Fatal(err)
		}
		return stripped
	}
	hpa := func(rv string, maxReplicas int32) any {
		h := &autoscalingv2.HorizontalPodAutoscaler{
			ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop", ResourceVersion: rv},
			Spec:       autoscalingv2.HorizontalPodAutoscalerSpec{MinReplicas: ptr.To[int32](2), MaxReplicas: maxReplicas},
			Status:     autoscalingv2.HorizontalPodAutoscalerStatus{CurrentReplicas: maxReplicas / 2},
		}
		stripped, err := cluster.Strip(h)
		if err != nil {
			t.Fatal(err)
		}
		return stripped
	}
	app := map[string]string{"app": "web"}
	cases := []struct {
		name     string
		old, new any
		dirty    bool
	}{
		{"informer resync (same object)", deployment("7", 2, 3, app, 3), deployment("7", 2, 3, app, 3), false},
		{"status write during a rollout", deployment("7", 2, 3, app, 1), deployment("8", 2, 3, app, 2), false},
		{"scale through /scale", deployment("7", 2, 3, app, 3), deployment("9", 3, 40, app, 3), true},
		{"label change (policy selectors)", deployment("7", 2, 3, app, 3), deployment("9", 2, 3, map[string]string{"app": "web", "tier": "x"}, 3), true},
		{"HPA status loop", hpa("5", 30), hpa("6", 30), false},
		{"HPA max changed", hpa("5", 30), hpa("6", 50), true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			metrics, err := NewMetrics(prometheus.NewRegistry())
			if err != nil {
				t.Fatal(err)
			}
			b := &batchLoop{metrics: metrics, dirty: make(chan struct{}, 1)}
			b.leading.Store(true)
			b.notifyUpdate(tc.old, tc.new)
			if got := b.pending > 0; got != tc.dirty {
				t.Errorf("dirty = %v, want %v", got, tc.dirty)
			}
		})
	}
}

// TestFollowerKeepsNoQueue: a replica that does not lead counts nothing, so
// latch_queue_depth does not grow without bound on followers.
func TestFollowerKeepsNoQueue(t *testing.T) {
	metrics, err := NewMetrics(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	b := &batchLoop{metrics: metrics, dirty: make(chan struct{}, 1)}
	for range 100 {
		b.notify()
	}
	if b.pending != 0 || len(b.dirty) != 0 {
		t.Fatalf("follower queued %d changes (dirty %d)", b.pending, len(b.dirty))
	}
	b.leading.Store(true)
	b.notify()
	if b.pending != 1 || len(b.dirty) != 1 {
		t.Fatalf("leader: pending %d dirty %d, want 1 and 1", b.pending, len(b.dirty))
	}
}
