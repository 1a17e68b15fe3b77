package testenv

import (
	"context"
	"fmt"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
)

// PoolGVK is a custom resource with a /scale subresource, as an Argo
// Rollout or an operator's own kind has.
var (
	PoolGVK = schema.GroupVersionKind{Group: "demo.latch.dev", Version: "v1", Kind: "Pool"}
	poolGVR = schema.GroupVersionResource{Group: "demo.latch.dev", Version: "v1", Resource: "pools"}
	crdGVR  = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
)

// PoolManifest is shop/pool and its HPA as git declares them.
const PoolManifest = `apiVersion: demo.latch.dev/v1
kind: Pool
metadata:
  name: pool
  namespace: shop
spec:
  replicas: 3 # latched by latch
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: pool
  namespace: shop
spec:
  scaleTargetRef: {apiVersion: demo.latch.dev/v1, kind: Pool, name: pool}
  minReplicas: 2
  maxReplicas: 500
`

// PoolRule names Pool in latch.yaml, so `latch run` watches it without
// --extra-scale-kinds.
const PoolRule = `  rules:
    - name: pools
      match:
        kinds: [Pool.demo.latch.dev]
      fields:
        spec.replicas: latch
`

// PoolCRD is the CustomResourceDefinition of Pool (namespaced, /scale at
// spec.replicas).
func PoolCRD() map[string]any {
	return map[string]any{
		"apiVersion": "apiextensions.k8s.io/v1",
		"kind":       "CustomResourceDefinition",
		"metadata":   map[string]any{"name": "pools.demo.latch.dev"},
		"spec": map[string]any{
			"group": "demo.latch.dev",
			"scope": "Namespaced",
			"names": map[string]any{"plural": "pools", "singular": "pool", "kind": "Pool", "listKind": "PoolList"},
			"versions": []any{map[string]any{
				"name": "v1", "served": true, "storage": true,
				"schema": map[string]any{"openAPIV3Schema": map[string]any{
					"type": "object", "x-kubernetes-preserve-unknown-fields": true,
				}},
				"subresources": map[string]any{
					"status": map[string]any{},
					"scale":  map[string]any{"specReplicasPath": ".spec.replicas", "statusReplicasPath": ".status.replicas"},
				},
			}},
		},
	}
}

// InstallPoolCRD installs Pool (PoolCRD) and waits until the API server
// serves it and its discovery names it.
func InstallPoolCRD(t T, cfg *rest.Config, dyn dynamic.Interface) {
	t.Helper()
	ctx := context.Background()
	crd := &unstructured.Unstructured{Object: PoolCRD()}
	if _, err := dyn.Resource(crdGVR).Create(ctx, crd, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating CRD pools.demo.latch.dev: %v", err)
	}
	poll(t, "CRD pools.demo.latch.dev established", func() bool {
		got, err := dyn.Resource(crdGVR).Get(ctx, "pools.demo.latch.dev", metav1.GetOptions{})
		if err != nil {
			return false
		}
		conditions, _, _ := unstructured.NestedSlice(got.Object, "status", "conditions")
		for _, c := range conditions {
			m, _ := c.(map[string]any)
			if m["type"] == "Established" && m["status"] == "True" {
				return true
			}
		}
		return false
	})
	// Established can precede the resource appearing in discovery and
	// being served; list until it answers.
	poll(t, "pools served", func() bool {
		_, err := dyn.Resource(poolGVR).Namespace("shop").List(ctx, metav1.ListOptions{})
		return err == nil
	})
	waitDiscovered(t, cfg, poolGVR.GroupVersion(), "pools", "pools/scale")
}

// waitDiscovered waits until discovery lists resources in gv, both ways
// latch reads it (aggregated, and per group version): discovery is updated
// apart from serving, so a CRD can answer a List before latch can map it.
func waitDiscovered(t T, cfg *rest.Config, gv schema.GroupVersion, resources ...string) {
	t.Helper()
	disc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		t.Fatalf("discovery client: %v", err)
	}
	lists := func(list *metav1.APIResourceList) bool {
		have := map[string]bool{}
		for _, r := range list.APIResources {
			have[r.Name] = true
		}
		for _, r := range resources {
			if !have[r] {
				return false
			}
		}
		return true
	}
	poll(t, gv.String()+" "+fmt.Sprint(resources)+" in discovery", func() bool {
		_, all, _ := disc.ServerGroupsAndResources()
		found := false
		for _, list := range all {
			found = found || (list.GroupVersion == gv.String() && lists(list))
		}
		if !found {
			return false
		}
		list, err := disc.ServerResourcesForGroupVersion(gv.String())
		return err == nil && lists(list)
	})
}

// CreatePool creates namespace shop, shop/pool at replicas as a GitOps tool
// would, and its HPA (2..500) targeting the Pool.
func CreatePool(t T, cfg *rest.Config, dyn dynamic.Interface, replicas int64) {
	t.Helper()
	ctx := context.Background()
	client := kubernetes.NewForConfigOrDie(cfg)
	if _, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop"}}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating namespace shop: %v", err)
	}
	pool := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "demo.latch.dev/v1", "kind": "Pool",
		"metadata": map[string]any{"name": "pool", "namespace": "shop"},
		"spec":     map[string]any{"replicas": replicas},
	}}
	if _, err := dyn.Resource(poolGVR).Namespace("shop").Create(ctx, pool, metav1.CreateOptions{FieldManager: "flux"}); err != nil {
		t.Fatalf("creating Pool shop/pool: %v", err)
	}
	hpa := &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: "pool", Namespace: "shop"},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "demo.latch.dev/v1", Kind: "Pool", Name: "pool"},
			MinReplicas:    ptr.To(int32(2)), MaxReplicas: 500,
		},
	}
	if _, err := client.AutoscalingV2().HorizontalPodAutoscalers("shop").Create(ctx, hpa, metav1.CreateOptions{FieldManager: "flux"}); err != nil {
		t.Fatalf("creating HPA shop/pool: %v", err)
	}
}

// ScalePool writes shop/pool's /scale subresource with the HPA controller's
// field manager, as an HPA would.
func ScalePool(t T, dyn dynamic.Interface, replicas int64) {
	t.Helper()
	scale := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "autoscaling/v1", "kind": "Scale",
		"metadata": map[string]any{"name": "pool", "namespace": "shop"},
		"spec":     map[string]any{"replicas": replicas},
	}}
	if _, err := dyn.Resource(poolGVR).Namespace("shop").Update(context.Background(), scale, metav1.UpdateOptions{FieldManager: "horizontal-pod-autoscaler"}, "scale"); err != nil {
		t.Fatalf("scaling Pool shop/pool to %d through /scale: %v", replicas, err)
	}
	got, err := dyn.Resource(poolGVR).Namespace("shop").Get(context.Background(), "pool", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if v, _, _ := unstructured.NestedInt64(got.Object, "spec", "replicas"); v != replicas {
		t.Fatalf("after /scale to %d, Pool spec.replicas is %d", replicas, v)
	}
}

// poll waits for cond, checking every 200ms, for as long as the test may
// run: a busy machine makes the API server slow, not wrong.
func poll(t T, what string, cond func() bool) {
	t.Helper()
	deadline, ok := time.Time{}, false
	if d, has := t.(interface{ Deadline() (time.Time, bool) }); has {
		deadline, ok = d.Deadline()
	}
	for !cond() {
		if ok && time.Until(deadline) < 5*time.Second {
			t.Fatalf("gave up waiting for %s: the test deadline is near", what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
