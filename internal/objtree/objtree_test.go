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

func TestEachMap(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   any
		want int
	}{
		{"scalar", "x", 0},
		{"one map", map[string]any{"a": 1}, 1},
		{"maps in lists in maps", map[string]any{"spec": map[string]any{"ports": []any{map[string]any{}, map[string]any{}, 3}}}, 4},
		{"top list", []any{map[string]any{}, []any{map[string]any{}}}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := 0
			EachMap(tc.in, func(m map[string]any) { n++ })
			if n != tc.want {
				t.Errorf("visited %d maps, want %d", n, tc.want)
			}
		})
	}
	// f's edits are walked into: a map f adds is visited too.
	obj := map[string]any{}
	seen := 0
	EachMap(obj, func(m map[string]any) {
		seen++
		if _, ok := m["child"]; !ok && seen == 1 {
			m["child"] = map[string]any{}
		}
	})
	if seen != 2 {
		t.Errorf("visited %d maps, want 2 (the one f added included)", seen)
	}
}

func TestInt(t *testing.T) {
	obj := map[string]any{"spec": map[string]any{"replicas": int64(3), "f": 4.0, "frac": 2.5, "i": 7, "s": "3", "m": map[string]any{}}}
	for _, tc := range []struct {
		path []string
		want int64
		ok   bool
	}{
		{[]string{"spec", "replicas"}, 3, true},
		{[]string{"spec", "f"}, 4, true},
		{[]string{"spec", "frac"}, 2, false},
		{[]string{"spec", "i"}, 7, true},
		{[]string{"spec", "s"}, 0, false},
		{[]string{"spec", "m"}, 0, false},
		{[]string{"spec", "missing"}, 0, false},
		{[]string{"spec", "replicas", "deeper"}, 0, false},
	} {
		got, ok := Int(obj, tc.path...)
		if ok != tc.ok || (ok && got != tc.want) {
			t.Errorf("Int(%v) = %d, %v; want %d, %v", tc.path, got, ok, tc.want, tc.ok)
		}
	}
}
