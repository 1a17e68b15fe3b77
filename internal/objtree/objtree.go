// Package objtree copies and edits decoded object trees: the
// map[string]any and []any values that JSON and YAML decoding produce for a
// Kubernetes object. It is pure and has no dependencies.
package objtree

// Copy is a deep copy of m: its maps and lists are new, scalars are shared
// (a nil m gives an empty map).
func Copy(m map[string]any) map[string]any {
	return copyValue(m).(map[string]any)
}

func copyValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		c := make(map[string]any, len(x))
		for k, e := range x {
			c[k] = copyValue(e)
		}
		return c
	case []any:
		c := make([]any, len(x))
		for i, e := range x {
			c[i] = copyValue(e)
		}
		return c
	}
	return v
}

// Set sets obj[path[0]][path[1]]… = v, creating the maps on the way and
// replacing a value on the way that is not a map. path must not be empty.
func Set(obj map[string]any, v any, path ...string) {
	cur := obj
	for _, p := range path[:len(path)-1] {
		next, ok := cur[p].(map[string]any)
		if !ok {
			next = map[string]any{}
			cur[p] = next
		}
		cur = next
	}
	cur[path[len(path)-1]] = v
}

// Int reads obj[path[0]][path[1]]… as a whole number: an int64 or int as
// JSON and YAML decoders give them, or a float64 without a fraction (JSON
// into any); ok is false when the path is missing or the value is anything
// else.
func Int(obj map[string]any, path ...string) (int64, bool) {
	var cur any = obj
	for _, p := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return 0, false
		}
		if cur, ok = m[p]; !ok {
			return 0, false
		}
	}
	switch n := cur.(type) {
	case int64:
		return n, true
	case float64:
		return int64(n), n == float64(int64(n))
	case int:
		return int64(n), true
	}
	return 0, false
}

// EachMap calls f on every map in v (v itself included), a map before the
// values it holds; f may change the map, and the walk goes on into the
// values f left in it.
func EachMap(v any, f func(map[string]any)) {
	switch x := v.(type) {
	case map[string]any:
		f(x)
		for _, e := range x {
			EachMap(e, f)
		}
	case []any:
		for _, e := range x {
			EachMap(e, f)
		}
	}
}
