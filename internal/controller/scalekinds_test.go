package controller

import (
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	fakediscovery "k8s.io/client-go/discovery/fake"
	clienttesting "k8s.io/client-go/testing"

	"github.com/latch-gitops/latch/internal/policyfile"
)

func parsePolicy(t *testing.T, rules string) *policyfile.Policy {
	t.Helper()
	pol, err := policyfile.Parse("latch.yaml", []byte(fastPolicy+rules))
	if err != nil {
		t.Fatalf("parsing latch.yaml: %v", err)
	}
	return pol
}

func TestPolicyScaleKinds(t *testing.T) {
	cases := []struct {
		name, rules string
		want        []schema.GroupKind
	}{
		{name: "default policy names no kind", want: nil},
		{name: "pinned group", rules: poolRule, want: []schema.GroupKind{{Group: "demo.latch.dev", Kind: "Pool"}}},
		{name: "Deployment and StatefulSet are always watched", rules: `  rules:
    - name: apps
      match: {kinds: [Deployment, StatefulSet.apps, Rollout]}
      fields: {spec.replicas: latch}
`, want: []schema.GroupKind{{Kind: "Rollout"}}},
		{name: "a Deployment of another group is another kind", rules: `  rules:
    - name: other
      match: {kinds: [Deployment.example.com]}
      fields: {spec.replicas: latch}
`, want: []schema.GroupKind{{Group: "example.com", Kind: "Deployment"}}},
		{name: "not latched", rules: `  rules:
    - name: pinned
      match: {kinds: [Pool.demo.latch.dev, Cache]}
      fields: {spec.replicas: immutable}
`, want: nil},
		{name: "named twice, listed once", rules: `  rules:
    - name: a
      match: {kinds: [Rollout.argoproj.io]}
      fields: {spec.replicas: latch}
    - name: b
      match: {kinds: [Rollout.argoproj.io], namespaces: [shop]}
      fields: {spec.replicas: latch}
`, want: []schema.GroupKind{{Group: "argoproj.io", Kind: "Rollout"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := policyScaleKinds(parsePolicy(t, tc.rules)); !slices.Equal(got, tc.want) {
				t.Errorf("policyScaleKinds = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestUnwatchedKinds(t *testing.T) {
	pol := parsePolicy(t, `  rules:
    - name: kinds
      match: {kinds: [Pool.demo.latch.dev, Rollout]}
      fields: {spec.replicas: latch}
`)
	rollout := schema.GroupVersionKind{Group: "argoproj.io", Version: "v1alpha1", Kind: "Rollout"}
	cases := []struct {
		name    string
		watched []schema.GroupVersionKind
		want    []schema.GroupKind
	}{
		{name: "none watched", want: []schema.GroupKind{{Group: "demo.latch.dev", Kind: "Pool"}, {Kind: "Rollout"}}},
		{name: "all watched", watched: []schema.GroupVersionKind{poolGVK, rollout}},
		{name: "a bare Kind is covered by any group", watched: []schema.GroupVersionKind{rollout}, want: []schema.GroupKind{{Group: "demo.latch.dev", Kind: "Pool"}}},
		{name: "a pinned group needs that group", watched: []schema.GroupVersionKind{{Group: "other.dev", Version: "v1", Kind: "Pool"}, rollout},
			want: []schema.GroupKind{{Group: "demo.latch.dev", Kind: "Pool"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := unwatchedKinds(pol, tc.watched); !slices.Equal(got, tc.want) {
				t.Errorf("unwatchedKinds = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestMergeKinds(t *testing.T) {
	poolV2 := poolGVK.GroupKind().WithVersion("v2")
	rollout := schema.GroupVersionKind{Group: "argoproj.io", Version: "v1alpha1", Kind: "Rollout"}
	got := mergeKinds([]schema.GroupVersionKind{poolGVK}, []schema.GroupVersionKind{poolV2, rollout})
	// The flag's version wins: watching two versions of one kind would
	// list each object twice.
	if want := []schema.GroupVersionKind{poolGVK, rollout}; !slices.Equal(got, want) {
		t.Errorf("mergeKinds = %v, want %v", got, want)
	}
}

// preferredDiscovery is the client-go fake, whose ServerPreferredResources
// returns nothing, answering with its resource lists.
type preferredDiscovery struct{ *fakediscovery.FakeDiscovery }

func (d preferredDiscovery) ServerPreferredResources() ([]*metav1.APIResourceList, error) {
	return d.Resources, nil
}

func TestResolveScaleKind(t *testing.T) {
	lists := []*metav1.APIResourceList{
		{GroupVersion: "demo.latch.dev/v1", APIResources: []metav1.APIResource{
			{Name: "pools", Kind: "Pool", Namespaced: true}, {Name: "pools/scale", Kind: "Scale", Group: "autoscaling", Version: "v1"},
			{Name: "caches", Kind: "Cache", Namespaced: true},
		}},
		{GroupVersion: "other.dev/v1beta1", APIResources: []metav1.APIResource{
			{Name: "pools", Kind: "Pool", Namespaced: true}, {Name: "pools/scale", Kind: "Scale", Group: "autoscaling", Version: "v1"},
		}},
	}
	disc := preferredDiscovery{&fakediscovery.FakeDiscovery{Fake: &clienttesting.Fake{Resources: lists}}}
	mapper := meta.NewDefaultRESTMapper([]schema.GroupVersion{poolGVK.GroupVersion(), {Group: "other.dev", Version: "v1beta1"}})
	mapper.Add(poolGVK, meta.RESTScopeNamespace)
	mapper.Add(schema.GroupVersionKind{Group: "demo.latch.dev", Version: "v1", Kind: "Cache"}, meta.RESTScopeNamespace)
	mapper.Add(schema.GroupVersionKind{Group: "other.dev", Version: "v1beta1", Kind: "Pool"}, meta.RESTScopeNamespace)

	cases := []struct {
		name    string
		kind    schema.GroupKind
		want    []schema.GroupVersionKind
		wantErr string
	}{
		{name: "pinned group", kind: schema.GroupKind{Group: "demo.latch.dev", Kind: "Pool"}, want: []schema.GroupVersionKind{poolGVK}},
		{name: "bare Kind: every group serving it", kind: schema.GroupKind{Kind: "Pool"},
			want: []schema.GroupVersionKind{poolGVK, {Group: "other.dev", Version: "v1beta1", Kind: "Pool"}}},
		{name: "no /scale", kind: schema.GroupKind{Group: "demo.latch.dev", Kind: "Cache"}, wantErr: "caches.demo.latch.dev has no /scale subresource"},
		{name: "not served", kind: schema.GroupKind{Group: "argoproj.io", Kind: "Rollout"}, wantErr: "not served"},
		{name: "bare Kind not served", kind: schema.GroupKind{Kind: "Rollout"}, wantErr: "no API group serves kind Rollout"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := resolveScaleKind(tc.kind, mapper, disc)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("resolveScaleKind(%s) = %v, %v; want error containing %q", tc.kind, got, err, tc.wantErr)
				}
				return
			}
			if err != nil || !slices.Equal(got, tc.want) {
				t.Errorf("resolveScaleKind(%s) = %v, %v; want %v", tc.kind, got, err, tc.want)
			}
		})
	}
}
