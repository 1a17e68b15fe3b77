package diff

import (
	"encoding/json"
	"fmt"

	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"
)

// ValueAt reads the value at p in obj (an object as decoded from JSON),
// list items by merge key or set value.
func ValueAt(obj map[string]any, p fieldpath.Path) (any, bool) {
	var cur any = obj
	for _, pe := range p {
		switch {
		case pe.FieldName != nil:
			m, ok := cur.(map[string]any)
			if !ok {
				return nil, false
			}
			if cur, ok = m[*pe.FieldName]; !ok {
				return nil, false
			}
		case pe.Key != nil || pe.Value != nil:
			list, ok := cur.([]any)
			if !ok {
				return nil, false
			}
			i := ItemIndex(list, pe)
			if i < 0 {
				return nil, false
			}
			cur = list[i]
		default:
			return nil, false
		}
	}
	return cur, true
}

// ItemIndex is the index of the item pe (a key or a set value) selects in
// list, or -1.
func ItemIndex(list []any, pe fieldpath.PathElement) int {
	if pe.Value != nil {
		want := fmt.Sprint((*pe.Value).Unstructured())
		for i, it := range list {
			if fmt.Sprint(it) == want {
				return i
			}
		}
		return -1
	}
	if pe.Key == nil {
		return -1
	}
	for i, it := range list {
		m, ok := it.(map[string]any)
		if !ok {
			continue
		}
		match := true
		for _, f := range *pe.Key {
			if fmt.Sprint(m[f.Name]) != fmt.Sprint(f.Value.Unstructured()) {
				match = false
			}
		}
		if match {
			return i
		}
	}
	return -1
}

// Confirm applies the API server's verdict to the drifted object at index
// i: merged is what a server-side dry-run apply of git's object returned,
// the object live would become. A drifted field whose merged value equals
// the live one would not change (the server defaults or mutates git's
// value to what runs): it is not drift and is dropped. The object's status
// and the summary are recomputed.
func (r *Report) Confirm(i int, merged map[string]any) {
	o := &r.Objects[i]
	kept := o.Fields[:0]
	dropped := 0
	for _, f := range o.Fields {
		if f.Status == FieldDrift && len(f.path) > 0 {
			if v, ok := ValueAt(merged, f.path); ok && sameJSON(v, f.Live) || !ok && f.Live == nil {
				dropped++
				continue
			}
			f.Note = joinNote(f.Note, "confirmed by a server-side dry-run")
		}
		kept = append(kept, f)
	}
	o.Fields = kept
	if dropped > 0 {
		o.Note = joinNote(o.Note, fmt.Sprintf("%d field(s) the server's dry-run apply showed in sync", dropped))
	}
	o.Status = o.worst()
	if o.Status == StatusInSync {
		o.Unified = ""
	}
	r.tally()
}

func sameJSON(a, b any) bool {
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(ja) == string(jb)
}

func joinNote(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}
