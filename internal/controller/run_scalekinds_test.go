package controller

import (
	"context"
	"strings"
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"

	"github.com/latch-gitops/latch/internal/testenv"
)

// poolGVK is a custom resource with a /scale subresource, as an Argo
// Rollout or an operator's own kind has.
var (
	poolGVK = schema.GroupVersionKind{Group: "demo.latch.dev", Version: "v1", Kind: "Pool"}
	poolGVR = schema.GroupVersionResource{Group: "demo.latch.dev", Version: "v1", Resource: "pools"}
	crdGVR  = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
)

// poolManifest is shop/pool and its HPA as git declares them.
const poolManifest = `apiVersion: demo.latch.dev/v1
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

// poolRule names Pool in latch.yaml, so `latch run` watches it without
// --extra-scale-kinds.
const poolRule = `  rules:
    - name: pools
      match:
        kinds: [Pool.demo.latch.dev]
      fields:
        spec.replicas: latch
`

// TestRunLatchesCustomScaleKind: a custom resource with a /scale
// subresource, scaled through /scale as an HPA does, is latched like a
// Deployment — when --extra-scale-kinds names it, and when only latch.yaml
// does.
func TestRunLatchesCustomScaleKind(t *testing.T) {
	cases := []struct {
		name string
		// extraKinds is --extra-scale-kinds; policy is latch.yaml.
		extraKinds []schema.GroupVersionKind
		policy     string
	}{
		{name: "flag", extraKinds: []schema.GroupVersionKind{poolGVK}, policy: fastPolicy},
		{name: "policy", policy: fastPolicy + poolRule},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testenv.APIServer(t)
			dyn := dynamic.NewForConfigOrDie(cfg)
			installPoolCRD(t, dyn)
			createPool(t, cfg, dyn, 3)
			remote := testenv.NewGitRemote(t)
			seedWithPolicy(t, remote, tc.policy, map[string]string{"apps/pool.yaml": poolManifest})

			in := startRun(t, cfg, remote, runSpec{cluster: "test", extraKinds: tc.extraKinds})
			waitUntil(t, "a first pass", 20*time.Second, func() bool { return in.passes(t) >= 1 })
			scalePool(t, dyn, 37)
			changed := time.Now()
			waitForFile(t, remote, "apps/pool.yaml", "  replicas: 40 # latched by latch\n", 20*time.Second)
			t.Logf("Pool scaled 37 → commit 40 visible after %s (window 1s)", time.Since(changed).Round(time.Millisecond))

			body := remote.Log(t, "main", "%B")
			message := strings.Join(body, "\n")
			for _, want := range []string{"Latch-Kind: Pool", "Latch-Object: shop/pool", "Latch-Observed: 37", "Latch-Bounds: HPA 2..500"} {
				if !strings.Contains(message, want) {
					t.Errorf("newest commit lacks %q:\n%s", want, message)
				}
			}
			if got := latchCommits(t, remote); got != 1 {
				t.Errorf("%d latch commits, want 1: %v", got, remote.Log(t, "main", "%s"))
			}
		})
	}
}

// installPoolCRD installs Pool (namespaced, /scale at spec.replicas) and
// waits until the API server serves it.
func installPoolCRD(t *testing.T, dyn dynamic.Interface) {
	t.Helper()
	ctx := context.Background()
	crd := &unstructured.Unstructured{Object: map[string]any{
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
	}}
	if _, err := dyn.Resource(crdGVR).Create(ctx, crd, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating CRD pools.demo.latch.dev: %v", err)
	}
	waitUntil(t, "CRD pools.demo.latch.dev established", 30*time.Second, func() bool {
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
	waitUntil(t, "pools served", 30*time.Second, func() bool {
		_, err := dyn.Resource(poolGVR).Namespace("shop").List(ctx, metav1.ListOptions{})
		return err == nil
	})
}

// createPool creates namespace shop, shop/pool at replicas as a GitOps tool
// would, and its HPA (2..500) targeting the Pool.
func createPool(t *testing.T, cfg *rest.Config, dyn dynamic.Interface, replicas int64) {
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

// scalePool writes shop/pool's /scale subresource with the HPA controller's
// field manager, as an HPA would.
func scalePool(t *testing.T, dyn dynamic.Interface, replicas int64) {
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
