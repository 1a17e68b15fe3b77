package cluster

import (
	"reflect"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	ctrlclient "sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/latch-gitops/latch/internal/rollout"
	"github.com/latch-gitops/latch/internal/testenv"
)

// TestListArgoRollouts, against a real API server (no Argo Rollouts
// controller runs here: the test writes the Rollout's status, its
// ReplicaSets and their pods as the controller would). Without the CRD,
// discovery says so without an error and ListRollouts asks nothing of
// argoproj.io; with it, a canary paused at 75 % reads as in flight,
// healthy, with the stable ReplicaSet's images as the last good version,
// the same from latch run's stripped cache as live.
func TestListArgoRollouts(t *testing.T) {
	cfg := testenv.APIServer(t)
	ctx := testenv.Context(t)
	disc := discovery.NewDiscoveryClientForConfigOrDie(cfg)
	base, err := ctrlclient.New(cfg, ctrlclient.Options{})
	if err != nil {
		t.Fatal(err)
	}

	// Not installed.
	if served, err := ArgoRolloutsServed(disc); served || err != nil {
		t.Fatalf("ArgoRolloutsServed without the CRD = %v, %v; want false, no error", served, err)
	}
	reader := &countingReader{Reader: base}
	if _, err := ListRollouts(ctx, LiveRollouts(reader), "", time.Now()); err != nil {
		t.Fatal(err)
	}
	if n := reader.unstructured.Load(); n != 0 {
		t.Fatalf("%d LISTs of custom kinds without Argo Rollouts, want 0", n)
	}

	testenv.InstallArgoRolloutCRD(t, cfg, dynamic.NewForConfigOrDie(cfg))
	if served, err := ArgoRolloutsServed(disc); !served || err != nil {
		t.Fatalf("ArgoRolloutsServed with the CRD = %v, %v; want true", served, err)
	}
	ro := testenv.CreateArgoRollout(t, cfg, "shop", "web", 4, "example.com/web:1")
	ro.Version(t, "h1", "example.com/web:1", 4, 4)
	ro.SetStatus(t, map[string]any{"currentPodHash": "h1", "stableRS": "h1", "phase": "Healthy",
		"replicas": int64(4), "updatedReplicas": int64(4), "readyReplicas": int64(4), "availableReplicas": int64(4)})
	ro.SetImage(t, "example.com/web:2")
	ro.Version(t, "h2", "example.com/web:2", 3, 3)
	ro.Version(t, "h1", "example.com/web:1", 1, 1)
	ro.SetStatus(t, map[string]any{"currentPodHash": "h2", "stableRS": "h1", "phase": "Paused", "message": "CanaryPauseStep",
		"currentStepIndex": int64(3), "replicas": int64(4), "updatedReplicas": int64(3), "readyReplicas": int64(4), "availableReplicas": int64(4),
		"conditions": []any{map[string]any{"type": "Progressing", "status": "True", "reason": "RolloutPaused", "message": "Rollout is paused"}}})

	src := LiveRollouts(reader)
	src.ArgoRollouts = true
	at := time.Now()
	live, err := ListRollouts(ctx, src, "shop", at)
	if err != nil {
		t.Fatal(err)
	}
	if len(live) != 1 {
		t.Fatalf("rollouts %+v, want the Rollout alone", live)
	}
	r := live[0]
	a := rollout.Assess(r.Snapshot, rollout.Options{})
	if r.Kind != "Rollout" || r.Group != "argoproj.io" || !a.InFlight || a.Percent != 75 || a.Health != rollout.Healthy || len(r.Snapshot.NewPods) != 3 ||
		r.NewImages["web"] != "example.com/web:2" || r.OldImages["web"] != "example.com/web:1" || r.OldRevision != "h1" {
		t.Fatalf("read %+v, assessed %+v", r, a)
	}
	if n := reader.unstructured.Load(); n != 1 {
		t.Errorf("%d LISTs of Rollouts, want 1", n)
	}

	informers := strippedCache(t, ctx, cfg)
	csrc := CachedRollouts(informers, base)
	csrc.ArgoRollouts = true
	cached, err := ListRollouts(ctx, csrc, "shop", at)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cached, live) {
		t.Errorf("from the stripped cache:\n%+v\nlive:\n%+v", cached, live)
	}
	stored := &unstructured.UnstructuredList{}
	stored.SetGroupVersionKind(ArgoRolloutGVK.GroupVersion().WithKind("RolloutList"))
	if err := informers.List(ctx, stored); err != nil || len(stored.Items) != 1 {
		t.Fatalf("cached Rollouts %d, %v", len(stored.Items), err)
	}
	if _, found, _ := unstructured.NestedFieldNoCopy(stored.Items[0].Object, "spec", "template"); found {
		t.Errorf("the cache keeps a Rollout's template: %v", stored.Items[0].Object)
	}
}
