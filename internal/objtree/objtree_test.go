package objtree

import (
	"reflect"
	"testing"
)

func TestCopyIsDeep(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   map[string]any
		want map[string]any
	}{
		{"nil", nil, map[string]any{}},
		{"scalars", map[string]any{"a": int64(1), "b": "x", "c": nil}, map[string]any{"a": int64(1), "b": "x", "c": nil}},
		{"nested", map[string]any{"spec": map[string]any{"ports": []any{map[string]any{"port": int64(80)}}}},
			map[string]any{"spec": map[string]any{"ports": []any{map[string]any{"port": int64(80)}}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Copy(tc.in)
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("Copy = %v, want %v", got, tc.want)
			}
			if spec, ok := got["spec"].(map[string]any); ok {
				spec["ports"].([]any)[0].(map[string]any)["port"] = int64(81)
				if tc.in["spec"].(map[string]any)["ports"].([]any)[0].(map[string]any)["port"] != int64(80) {
					t.Error("editing the copy changed the original")
				}
			}
		})
	}
}

func TestSet(t *testing.T) {
	for _, tc := range []struct {
		name string
		obj  map[string]any
		path []string
		want map[string]any
	}{
		{"top", map[string]any{}, []string{"a"}, map[string]any{"a": 5}},
		{"creates maps", map[string]any{}, []string{"spec", "replicas"}, map[string]any{"spec": map[string]any{"replicas": 5}}},
		{"keeps siblings", map[string]any{"spec": map[string]any{"x": 1}}, []string{"spec", "replicas"},
			map[string]any{"spec": map[string]any{"x": 1, "replicas": 5}}},
		{"replaces a scalar on the way", map[string]any{"spec": "oops"}, []string{"spec", "replicas"},
			map[string]any{"spec": map[string]any{"replicas": 5}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			Set(tc.obj, 5, tc.path...)
			if !reflect.DeepEqual(tc.obj, tc.want) {
				t.Errorf("Set = %v, want %v", tc.obj, tc.want)
			}
		})
	}
}
