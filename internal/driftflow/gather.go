package driftflow

import (
	"context"
	"errors"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/applyconfigurations"
	"k8s.io/client-go/kubernetes/scheme"

	"github.com/latch-gitops/latch/internal/cluster"
	"github.com/latch-gitops/latch/internal/diff"
	"github.com/latch-gitops/latch/internal/manifest"
)

// Gather lists every declared kind once and picks each kind's schema:
// client-go's embedded one for built-in kinds, the server's OpenAPI v3 for
// custom resources (a kind without either is compared structurally). The
// caller sets Policy, Now and IncludeUnmanaged.
func Gather(ctx context.Context, reader *cluster.Reader, declared []*manifest.Declared, problems []manifest.Problem, defaultNS string) (diff.Input, error) {
	var gvks []schema.GroupVersionKind
	nsSet := map[string]bool{}
	for _, d := range declared {
		gvks = append(gvks, schema.FromAPIVersionAndKind(d.Ref.APIVersion(), d.Ref.Kind))
		ns := d.Ref.Namespace
		if ns == "" {
			ns = defaultNS
		}
		nsSet[ns] = true
	}
	var namespaces []string
	for ns := range nsSet {
		namespaces = append(namespaces, ns)
	}
	kinds := cluster.SortedKinds(gvks)
	live, err := reader.ListKinds(ctx, kinds, namespaces)
	if err != nil {
		return diff.Input{}, err
	}
	types, err := Types(ctx, reader, kinds, live)
	if err != nil {
		return diff.Input{}, err
	}
	return diff.Input{
		Declared:         declared,
		Live:             live,
		DefaultNamespace: defaultNS,
		Types:            types,
		Normalizers:      diff.DefaultNormalizers(scheme.Scheme),
		Problems:         problems,
	}, nil
}

// Types picks each listed kind's schema: client-go's embedded one for
// built-in kinds, the server's OpenAPI v3 for custom resources (one fetch
// per group version); a kind without either, or not listed, gets nil and
// is compared structurally. Only ctx ending is an error.
func Types(ctx context.Context, reader *cluster.Reader, kinds []schema.GroupVersionKind, live map[schema.GroupVersionKind]cluster.KindList) (func(schema.GroupVersionKind) diff.TypeConverter, error) {
	builtin := applyconfigurations.NewTypeConverter(scheme.Scheme)
	types := map[schema.GroupVersionKind]diff.TypeConverter{}
	byGV := map[schema.GroupVersion]diff.TypeConverter{}
	for _, gvk := range kinds {
		if scheme.Scheme.Recognizes(gvk) {
			types[gvk] = builtin
			continue
		}
		if live[gvk].Err != nil {
			continue
		}
		if tc, ok := byGV[gvk.GroupVersion()]; ok {
			types[gvk] = tc
			continue
		}
		tc, err := reader.TypeConverter(gvk.GroupVersion())
		if err != nil {
			if errors.Is(err, context.Canceled) {
				return nil, err
			}
			continue // compared without a schema: lists as a whole
		}
		byGV[gvk.GroupVersion()], types[gvk] = tc, tc
	}
	return func(gvk schema.GroupVersionKind) diff.TypeConverter { return types[gvk] }, nil
}
