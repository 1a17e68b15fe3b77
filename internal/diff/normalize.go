package diff

import (
	"fmt"
	"reflect"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/latch-gitops/latch/internal/objtree"
)

// Normalizer rewrites a declared object the way the API server would before
// storing it, so that a difference the server would not keep is never
// drift. It edits obj in place; an error is bad input in the manifest.
type Normalizer interface {
	Normalize(gvk schema.GroupVersionKind, obj map[string]any) error
}

// DefaultNormalizers are what Compare applies, in order, when Input says
// nothing: the server-owned fields go, built-in kinds are canonicalised
// through their Go types, and ports get the protocol the server defaults
// (a merge key: without it the declared port would not match the live one).
func DefaultNormalizers(scheme *runtime.Scheme) []Normalizer {
	return []Normalizer{dropServerFields{}, SchemeCanonical{Scheme: scheme}, defaultPortProtocol{Scheme: scheme}}
}

// dropServerFields removes what a manifest may carry but the server owns:
// status, and the metadata the server assigns. kubectl apply ignores them
// too.
type dropServerFields struct{}

func (dropServerFields) Normalize(_ schema.GroupVersionKind, obj map[string]any) error {
	delete(obj, "status")
	if meta, ok := obj["metadata"].(map[string]any); ok {
		for _, k := range []string{"creationTimestamp", "resourceVersion", "uid", "generation", "managedFields", "selfLink", "deletionTimestamp"} {
			delete(meta, k)
		}
	}
	dropNulls(obj)
	return nil
}

// dropNulls removes null map values: "field: null" in a manifest leaves the
// field unset, which is what the comparison of only declared fields needs.
func dropNulls(v any) {
	objtree.EachMap(v, func(m map[string]any) {
		for k, e := range m {
			if e == nil {
				delete(m, k)
			}
		}
	})
}

// SchemeCanonical converts a built-in kind into its Go type and back, and
// takes each declared scalar in the form the Go type writes it: quantities
// ("1000m" is "1", "0.5" is "500m"), int-or-string, durations and times. A
// field the round trip drops (a zero value with omitempty) keeps its
// declared value; Compare then treats it as equal to an absent live field.
// Kinds the scheme does not know pass through.
type SchemeCanonical struct{ Scheme *runtime.Scheme }

func (s SchemeCanonical) Normalize(gvk schema.GroupVersionKind, obj map[string]any) error {
	if s.Scheme == nil || !s.Scheme.Recognizes(gvk) {
		return nil
	}
	typed, err := s.Scheme.New(gvk)
	if err != nil {
		return nil
	}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj, typed); err != nil {
		return fmt.Errorf("does not fit %s: %w", gvk.Kind, err)
	}
	back, err := runtime.DefaultUnstructuredConverter.ToUnstructured(typed)
	if err != nil {
		return fmt.Errorf("%s round trip: %w", gvk.Kind, err)
	}
	overlayScalars(obj, back)
	return nil
}

// overlayScalars walks the declared value and replaces each scalar by the
// canonical one at the same place, keeping the declared shape: nothing the
// round trip adds (empty structs, null timestamps) comes in.
func overlayScalars(decl, canon any) any {
	switch d := decl.(type) {
	case map[string]any:
		c, ok := canon.(map[string]any)
		if !ok {
			return decl
		}
		for k, v := range d {
			if cv, ok := c[k]; ok {
				d[k] = overlayScalars(v, cv)
			}
		}
		return d
	case []any:
		c, ok := canon.([]any)
		if !ok || len(c) != len(d) {
			return decl
		}
		for i := range d {
			d[i] = overlayScalars(d[i], c[i])
		}
		return d
	}
	switch canon.(type) {
	case nil, map[string]any, []any:
		return decl
	}
	if numericEqual(decl, canon) {
		return decl // 1 and 1.0: keep the declared int, as JSON from the server has it
	}
	return canon
}

func numericEqual(a, b any) bool {
	fa, okA := toFloat(a)
	fb, okB := toFloat(b)
	return okA && okB && fa == fb
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case int64:
		return float64(x), true
	case int:
		return float64(x), true
	case int32:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}

// defaultPortProtocol sets protocol: TCP on declared ports that leave it
// out, as the server does. protocol is part of the merge key of container
// and Service ports ({containerPort, protocol}, {port, protocol}), so a
// declared port without it would otherwise never match its live self.
// Only built-in kinds: a custom resource's "ports" is its own schema's.
type defaultPortProtocol struct{ Scheme *runtime.Scheme }

func (d defaultPortProtocol) Normalize(gvk schema.GroupVersionKind, obj map[string]any) error {
	if d.Scheme == nil || !d.Scheme.Recognizes(gvk) {
		return nil
	}
	walkPorts(obj)
	return nil
}

func walkPorts(v any) {
	objtree.EachMap(v, func(m map[string]any) {
		list, _ := m["ports"].([]any)
		for _, it := range list {
			if p, ok := it.(map[string]any); ok && isPortItem(p) {
				if _, has := p["protocol"]; !has {
					p["protocol"] = "TCP"
				}
			}
		}
	})
}

// isPortItem: a container, Service, NetworkPolicy or EndpointSlice port;
// the server defaults the protocol of each.
func isPortItem(p map[string]any) bool {
	_, c := p["containerPort"]
	_, s := p["port"]
	return c || s
}

// isZero reports whether a declared value is what the server omits: 0,
// "", false, an empty list or map.
func isZero(v any) bool {
	if v == nil {
		return true
	}
	switch x := v.(type) {
	case map[string]any:
		return len(x) == 0
	case []any:
		return len(x) == 0
	}
	return reflect.ValueOf(v).IsZero()
}
