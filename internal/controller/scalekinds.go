package controller

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"

	"github.com/latch-gitops/latch/internal/gitrepo"
	"github.com/latch-gitops/latch/internal/policy"
	"github.com/latch-gitops/latch/internal/policyfile"
)

// policyScaleKinds returns the kinds, as latch.yaml writes them ("Pool" or
// "Pool.demo.latch.dev"), of every rule that latches spec.replicas, other
// than Deployment and StatefulSet (always watched), in first-seen order.
func policyScaleKinds(pol *policyfile.Policy) []schema.GroupKind {
	var out []schema.GroupKind
	for _, rule := range pol.Rules {
		field, ok := rule.Fields[ReplicasField]
		if !ok || field.Mode != policy.ModeLatch {
			continue
		}
		for _, name := range rule.Match.Kinds {
			gk := schema.ParseGroupKind(name)
			if (gk.Kind == "Deployment" || gk.Kind == "StatefulSet") && (gk.Group == "" || gk.Group == "apps") {
				continue
			}
			if !slices.Contains(out, gk) {
				out = append(out, gk)
			}
		}
	}
	return out
}

// KindsFromPolicy reads latch.yaml at the remote head and resolves the
// kinds it latches (policyScaleKinds) to served versions with a /scale
// subresource. A kind that is not served, or has no /scale, is logged and
// skipped: latch reads the replica count at spec.replicas of kinds whose
// /scale maps there. An unreadable policy is logged too; `latch run` then
// watches the built-in and flag kinds only. skipped are the kinds it
// names that cannot be watched. `latch run` calls it at start; `sync --once`
// and `status` before listing the cluster, so all three see the same kinds.
func KindsFromPolicy(ctx context.Context, latcher *Latcher, mapper meta.RESTMapper, disc discovery.DiscoveryInterface, log *slog.Logger) (kinds []schema.GroupVersionKind, skipped []schema.GroupKind) {
	head, err := latcher.Repo.Refresh(ctx)
	if err != nil {
		log.Warn("cannot read latch.yaml at start; kinds it names besides Deployment and StatefulSet are not watched until a restart", "error", err)
		return nil, nil
	}
	pol, err := policyfile.Load(latcher.Repo.Dir(), latcher.policyFile())
	if err != nil {
		log.Warn("cannot read latch.yaml at start; kinds it names besides Deployment and StatefulSet are not watched until a restart", "commit", gitrepo.ShortID(head), "error", err)
		return nil, nil
	}
	for _, gk := range policyScaleKinds(pol) {
		gvks, err := resolveScaleKind(gk, mapper, disc)
		if err != nil {
			log.Warn("latch.yaml latches a kind latch cannot watch; skipped", "kind", gk.String(), "policy", pol.Source, "error", err)
			skipped = append(skipped, gk)
			continue
		}
		kinds = append(kinds, gvks...)
	}
	return kinds, skipped
}

// resolveScaleKind maps a kind from latch.yaml to its preferred served
// version: in its group when the name pins one, else in every group that
// serves a kind of that name. Each must have a /scale subresource.
func resolveScaleKind(gk schema.GroupKind, mapper meta.RESTMapper, disc discovery.DiscoveryInterface) ([]schema.GroupVersionKind, error) {
	var mappings []*meta.RESTMapping
	if gk.Group != "" {
		m, err := mapper.RESTMapping(gk)
		if err != nil {
			return nil, fmt.Errorf("not served by the API server: %w", err)
		}
		mappings = append(mappings, m)
	} else {
		// A bare Kind matches any group (policyfile.Match), which a
		// RESTMapper cannot look up: search the preferred resources.
		lists, err := disc.ServerPreferredResources()
		if err != nil && len(lists) == 0 {
			return nil, fmt.Errorf("discovering served kinds: %w", err)
		}
		for _, list := range lists {
			gv, err := schema.ParseGroupVersion(list.GroupVersion)
			if err != nil {
				continue
			}
			for _, r := range list.APIResources {
				if r.Kind == gk.Kind && !strings.Contains(r.Name, "/") {
					mappings = append(mappings, &meta.RESTMapping{
						Resource:         gv.WithResource(r.Name),
						GroupVersionKind: gv.WithKind(r.Kind),
					})
				}
			}
		}
		if len(mappings) == 0 {
			return nil, fmt.Errorf("no API group serves kind %s", gk.Kind)
		}
	}
	var out []schema.GroupVersionKind
	for _, m := range mappings {
		ok, err := hasScale(disc, m.Resource)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, fmt.Errorf("%s has no /scale subresource", m.Resource.GroupResource())
		}
		out = append(out, m.GroupVersionKind)
	}
	return out, nil
}

// hasScale asks discovery whether resource serves <resource>/scale.
func hasScale(disc discovery.DiscoveryInterface, resource schema.GroupVersionResource) (bool, error) {
	gv := resource.GroupVersion().String()
	list, err := disc.ServerResourcesForGroupVersion(gv)
	if err != nil {
		return false, fmt.Errorf("discovering the resources of %s: %w", gv, err)
	}
	for _, r := range list.APIResources {
		if r.Name == resource.Resource+"/scale" {
			return true, nil
		}
	}
	return false, nil
}

// mergeKinds appends to flagKinds the kinds not already in it.
func mergeKinds(flagKinds, more []schema.GroupVersionKind) []schema.GroupVersionKind {
	out := slices.Clone(flagKinds)
	for _, gvk := range more {
		if !slices.ContainsFunc(out, func(have schema.GroupVersionKind) bool { return have.GroupKind() == gvk.GroupKind() }) {
			out = append(out, gvk)
		}
	}
	return out
}

// unwatchedKinds returns the kinds pol latches that none of watched covers:
// a rule added to latch.yaml after `latch run` started, whose kind the
// informers only pick up at the next start.
func unwatchedKinds(pol *policyfile.Policy, watched []schema.GroupVersionKind) []schema.GroupKind {
	var out []schema.GroupKind
	for _, gk := range policyScaleKinds(pol) {
		covered := slices.ContainsFunc(watched, func(w schema.GroupVersionKind) bool {
			return w.Kind == gk.Kind && (gk.Group == "" || w.Group == gk.Group)
		})
		if !covered {
			out = append(out, gk)
		}
	}
	return out
}
