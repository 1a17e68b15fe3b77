package diff

import (
	"fmt"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/managedfields"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"
	"sigs.k8s.io/structured-merge-diff/v6/typed"
	"sigs.k8s.io/structured-merge-diff/v6/value"
)

// TypeConverter turns an object into a typed value of its schema; both
// client-go's converter for built-in kinds (applyconfigurations.
// NewTypeConverter) and one built from a CRD's OpenAPI schema
// (managedfields.NewTypeConverter) are one.
type TypeConverter interface {
	ObjectToTyped(obj runtime.Object, opts ...typed.ValidationOptions) (*typed.TypedValue, error)
}

// deduced compares without a schema: maps by key, lists as a whole.
var deduced = managedfields.NewDeducedTypeConverter()

// difference is one declared field whose live value differs.
type difference struct {
	path     fieldpath.Path
	declared value.Value // nil: the manifest does not set it (cannot happen for a reported path)
	live     value.Value // nil: absent live
}

// compareObject compares the fields declared sets with live. Both are
// already normalised. A declared zero value where live has nothing is not a
// difference: the server omits zero values it would store.
func compareObject(tc TypeConverter, declared, live map[string]any) (diffs []difference, declTV, liveTV *typed.TypedValue, err error) {
	structural := tc == nil
	if structural {
		tc = deduced
	}
	declTV, err = tc.ObjectToTyped(&unstructured.Unstructured{Object: declared}, typed.AllowDuplicates)
	if err != nil && !structural && strings.Contains(err.Error(), "no type found matching") {
		// The published schema lacks the kind (the CRD type itself in some
		// OpenAPI documents): compare structurally rather than not at all.
		tc = deduced
		declTV, err = tc.ObjectToTyped(&unstructured.Unstructured{Object: declared}, typed.AllowDuplicates)
	}
	if err != nil {
		return nil, nil, nil, fmt.Errorf("declared object: %w", err)
	}
	liveTV, err = tc.ObjectToTyped(&unstructured.Unstructured{Object: live}, typed.AllowDuplicates)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("live object: %w", err)
	}
	// Applying the declared fields onto live and comparing with live is
	// what a server-side apply would change, minus the server's defaulting
	// (the normalisers stand in for the parts that matter).
	merged, err := liveTV.Merge(declTV)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("merging declared fields onto live: %w", err)
	}
	cmp, err := liveTV.Compare(merged)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("comparing: %w", err)
	}
	changed := cmp.Modified.Union(cmp.Added).Union(cmp.Removed)
	declV, liveV := declTV.AsValue(), liveTV.AsValue()
	var paths []fieldpath.Path
	changed.Leaves().Iterate(func(p fieldpath.Path) { paths = append(paths, p.Copy()) })
	sort.Slice(paths, func(i, j int) bool { return paths[i].Compare(paths[j]) < 0 })
	for _, p := range paths {
		d := difference{path: p}
		if v, ok := valueAt(declV, p); ok {
			d.declared = v
		}
		if v, ok := valueAt(liveV, p); ok {
			d.live = v
		}
		if d.live == nil && (d.declared == nil || isZero(d.declared.Unstructured())) {
			continue // declared 0, "", false or empty where live omits it
		}
		diffs = append(diffs, d)
	}
	return coalesce(diffs, declV, liveV), declTV, liveTV, nil
}

// coalesce reports a whole list item once when its every field differs
// because the item itself is missing on one side (a container only git has).
func coalesce(diffs []difference, declV, liveV value.Value) []difference {
	var out []difference
	seen := map[string]bool{}
	for _, d := range diffs {
		item := itemPrefix(d.path, liveV)
		if item == nil {
			out = append(out, d)
			continue
		}
		key := item.String()
		if seen[key] {
			continue
		}
		seen[key] = true
		dv, _ := valueAt(declV, item)
		out = append(out, difference{path: item, declared: dv})
	}
	return out
}

// itemPrefix returns the shortest prefix of p that names a keyed list item
// absent from live, or nil.
func itemPrefix(p fieldpath.Path, live value.Value) fieldpath.Path {
	for i := range p {
		if p[i].Key == nil && p[i].Value == nil {
			continue
		}
		prefix := p[:i+1]
		if _, ok := valueAt(live, prefix); !ok {
			return prefix.Copy()
		}
	}
	return nil
}

// valueAt follows a field path into a value.
func valueAt(v value.Value, p fieldpath.Path) (value.Value, bool) {
	cur := v
	for _, pe := range p {
		if cur == nil || cur.IsNull() {
			return nil, false
		}
		switch {
		case pe.FieldName != nil:
			if !cur.IsMap() {
				return nil, false
			}
			next, ok := cur.AsMap().Get(*pe.FieldName)
			if !ok {
				return nil, false
			}
			cur = next
		case pe.Key != nil:
			if !cur.IsList() {
				return nil, false
			}
			next, ok := findKeyed(cur.AsList(), *pe.Key)
			if !ok {
				return nil, false
			}
			cur = next
		case pe.Value != nil:
			if !cur.IsList() {
				return nil, false
			}
			l, found := cur.AsList(), false
			for i := 0; i < l.Length(); i++ {
				if value.Equals(l.At(i), *pe.Value) {
					cur, found = l.At(i), true
					break
				}
			}
			if !found {
				return nil, false
			}
		case pe.Index != nil:
			if !cur.IsList() || *pe.Index >= cur.AsList().Length() || *pe.Index < 0 {
				return nil, false
			}
			cur = cur.AsList().At(*pe.Index)
		}
	}
	return cur, true
}

func findKeyed(l value.List, key value.FieldList) (value.Value, bool) {
	for i := 0; i < l.Length(); i++ {
		item := l.At(i)
		if !item.IsMap() {
			continue
		}
		m, match := item.AsMap(), true
		for _, f := range key {
			got, ok := m.Get(f.Name)
			if !ok || !value.Equals(got, f.Value) {
				match = false
				break
			}
		}
		if match {
			return item, true
		}
	}
	return nil, false
}

// policyPath is the dotted field-name path latch.yaml speaks of: list items
// are governed by their list ("spec.template.spec.containers.image").
func policyPath(p fieldpath.Path) string {
	out := ""
	for _, pe := range p {
		if pe.FieldName == nil {
			continue
		}
		if out != "" {
			out += "."
		}
		out += *pe.FieldName
	}
	return out
}

// fieldKeyParts follows p through the declared object (JSON-shaped) and
// returns the string keys and list indices it passes: what
// manifest.FieldKey takes to find the field's position in the file.
func fieldKeyParts(obj map[string]any, p fieldpath.Path) []any {
	var parts []any
	var cur any = obj
	for _, pe := range p {
		switch {
		case pe.FieldName != nil:
			parts = append(parts, *pe.FieldName)
			m, _ := cur.(map[string]any)
			cur = m[*pe.FieldName]
		default:
			list, _ := cur.([]any)
			idx := -1
			if pe.Index != nil && *pe.Index < len(list) {
				idx = *pe.Index
			}
			for i, it := range list {
				if idx >= 0 {
					break
				}
				if matchesElement(it, pe) {
					idx = i
					break
				}
			}
			if idx < 0 {
				return parts
			}
			parts = append(parts, idx)
			cur = list[idx]
		}
	}
	return parts
}

func matchesElement(item any, pe fieldpath.PathElement) bool {
	switch {
	case pe.Value != nil:
		return value.Equals(value.NewValueInterface(item), *pe.Value)
	case pe.Key != nil:
		m, ok := item.(map[string]any)
		if !ok {
			return false
		}
		for _, f := range *pe.Key {
			got, ok := m[f.Name]
			if !ok || !value.Equals(value.NewValueInterface(got), f.Value) {
				return false
			}
		}
		return true
	}
	return false
}
