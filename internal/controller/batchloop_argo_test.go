package controller

import (
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// A latched Argo Rollout keeps a few status fields in the cache for the
// rollout follower (cluster.Strip): their changes alone start no pass, a
// change of its scale does.
func TestSameForLatchingIgnoresArgoRolloutStatus(t *testing.T) {
	ro := func(rv string, replicas int64, hash string) *unstructured.Unstructured {
		return &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
			"metadata": map[string]any{"name": "web", "namespace": "shop", "resourceVersion": rv},
			"spec":     map[string]any{"replicas": replicas},
			"status":   map[string]any{"currentPodHash": hash, "stableRS": "h1"},
		}}
	}
	if !sameForLatching(ro("1", 4, "h1"), ro("2", 4, "h2")) {
		t.Error("a status change alone starts a pass")
	}
	if sameForLatching(ro("1", 4, "h1"), ro("2", 5, "h1")) {
		t.Error("a scale change starts no pass")
	}
}
