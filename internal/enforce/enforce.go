// Package enforce decides what `latch run --enforce` reverts, from a diff
// report: the drifted fields whose mode says git wins (immutable, and
// converge past its grace), never a latch or ignore field and never
// spec.replicas, so latch never owns what the HPA sets. Each object's
// revert is a server-side apply body holding only those fields, with git's
// values and the list keys that locate them. A per-object rate limit turns
// a revert loop against another controller into a reported fight. It is
// pure: the caller applies the bodies (field manager FieldManager, forced)
// and keeps the history.
package enforce

import (
	"fmt"
	"time"

	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"

	"github.com/latch-gitops/latch/internal/diff"
	"github.com/latch-gitops/latch/internal/manifest"
	"github.com/latch-gitops/latch/internal/objectid"
	"github.com/latch-gitops/latch/internal/policy"
)

// Mode is --enforce.
type Mode string

const (
	Off    Mode = "off"     // compare nothing, revert nothing (the default)
	DryRun Mode = "dry-run" // report what would be reverted
	On     Mode = "on"      // revert
)

// ParseMode reads --enforce.
func ParseMode(s string) (Mode, error) {
	switch m := Mode(s); m {
	case Off, DryRun, On:
		return m, nil
	}
	return "", fmt.Errorf("want off, dry-run or on, got %q", s)
}

// FieldManager is who latch's reverts are written as: a manager of its own,
// so managedFields tell a revert from latch's other writes (latch-restore)
// and from the GitOps tool's apply.
const FieldManager = "latch-enforce"

// Owned is what FieldManager already owns in one live object, with git's
// object. An apply body is the manager's whole intent: a field it owned and
// left out is released, and the API server deletes a released field no
// other manager owns. So a revert body also holds, with git's values, every
// field an earlier revert took and nobody has taken back since.
type Owned struct {
	Fields   *fieldpath.Set
	Declared map[string]any
}

// Revert is one object's revert.
type Revert struct {
	Ref objectid.Ref
	// Body is the apply configuration: apiVersion, kind, name, namespace
	// and the drifted fields only.
	Body map[string]any
	// Fields are the reverted paths, for the Event and the log.
	Fields []string
	// Skipped are drifted fields latch may not revert, with why.
	Skipped []string
}

// Plan returns the reverts a report calls for, in report order. owned has
// an entry for the objects FieldManager already owns fields in.
func Plan(rep *diff.Report, owned map[objectid.Key]Owned) []Revert {
	var out []Revert
	for _, o := range rep.Objects {
		if o.Status != diff.StatusDrift {
			continue
		}
		r := Revert{Ref: o.Ref, Body: map[string]any{
			"apiVersion": o.Ref.APIVersion(), "kind": o.Ref.Kind,
			"metadata": metadata(o.Ref),
		}}
		for _, f := range o.Fields {
			if f.Status != diff.FieldDrift {
				continue
			}
			switch {
			case f.Mode != policy.ModeImmutable && f.Mode != policy.ModeConverge:
				continue // latch and ignore fields are never reverted
			case f.Policy == manifest.DefaultField:
				r.Skipped = append(r.Skipped, f.Path+": spec.replicas is never reverted (the HPA or latch owns it)")
				continue
			case len(f.FieldPath()) == 0:
				r.Skipped = append(r.Skipped, f.Path+": no field path")
				continue
			}
			if err := setPath(r.Body, f.FieldPath(), f.Declared); err != nil {
				r.Skipped = append(r.Skipped, f.Path+": "+err.Error())
				continue
			}
			r.Fields = append(r.Fields, f.Path)
		}
		if len(r.Fields) > 0 {
			keepOwned(&r, owned[o.Ref.Key()])
		}
		if len(r.Fields) > 0 || len(r.Skipped) > 0 {
			out = append(out, r)
		}
	}
	return out
}

// keepOwned adds to r's body the fields FieldManager owns that the body
// does not already set, with git's values. A field git no longer declares is
// left out (released): git removed it.
func keepOwned(r *Revert, o Owned) {
	if o.Fields == nil || o.Declared == nil {
		return
	}
	o.Fields.Leaves().Iterate(func(p fieldpath.Path) {
		if len(p) == 0 || p[0].FieldName == nil {
			return
		}
		switch *p[0].FieldName {
		case "apiVersion", "kind":
			return
		case "metadata":
			if len(p) == 2 && p[1].FieldName != nil && (*p[1].FieldName == "name" || *p[1].FieldName == "namespace") {
				return
			}
		}
		if _, set := diff.ValueAt(r.Body, p); set {
			return
		}
		v, ok := diff.ValueAt(o.Declared, p)
		if !ok {
			return
		}
		if err := setPath(r.Body, p, v); err != nil {
			r.Skipped = append(r.Skipped, p.String()+": kept from an earlier revert: "+err.Error())
		}
	})
}

func metadata(ref objectid.Ref) map[string]any {
	m := map[string]any{"name": ref.Name}
	if ref.Namespace != "" {
		m["namespace"] = ref.Namespace
	}
	return m
}

// setPath writes v at p inside body, creating maps and keyed list items on
// the way. A declared value of nil (the item is absent in git) cannot be
// applied and is an error.
func setPath(body map[string]any, p fieldpath.Path, v any) error {
	if v == nil {
		return fmt.Errorf("git has no value to apply")
	}
	var cur any = body
	for i, pe := range p {
		last := i == len(p)-1
		switch {
		case pe.FieldName != nil:
			m, ok := cur.(map[string]any)
			if !ok {
				return fmt.Errorf("%s is not a map", p[:i])
			}
			if last {
				m[*pe.FieldName] = v
				return nil
			}
			next, ok := m[*pe.FieldName]
			if !ok {
				// a keyed list or a map: the next element says which
				if p[i+1].Key != nil || p[i+1].Value != nil {
					next = []any{}
				} else {
					next = map[string]any{}
				}
				m[*pe.FieldName] = next
			}
			if p[i+1].Key != nil || p[i+1].Value != nil {
				// lists are replaced in the parent as they grow
				list, _ := next.([]any)
				item, idx := keyedItem(list, p[i+1])
				if idx < 0 {
					list = append(list, item)
					idx = len(list) - 1
					m[*pe.FieldName] = list
				}
				if i+1 == len(p)-1 {
					if p[i+1].Value != nil {
						return nil // a set member: the item is its value
					}
					list[idx] = v // a whole list item
					return nil
				}
				cur = list[idx]
				continue
			}
			cur = next
		case pe.Key != nil || pe.Value != nil:
			continue // handled with its list above
		default:
			return fmt.Errorf("%s is inside an atomic list; the whole list is reverted instead", p)
		}
	}
	return nil
}

// keyedItem finds the item pe selects in list, or makes it (with its key
// fields, or as the set member's value) and returns index -1.
func keyedItem(list []any, pe fieldpath.PathElement) (any, int) {
	if i := diff.ItemIndex(list, pe); i >= 0 {
		return list[i], i
	}
	if pe.Value != nil {
		return (*pe.Value).Unstructured(), -1
	}
	item := map[string]any{}
	for _, f := range *pe.Key {
		item[f.Name] = f.Value.Unstructured()
	}
	return item, -1
}

// Limit is how often one object may be reverted before latch stops and
// reports a fight: another controller (or a person, or a mutating webhook)
// setting the field back each time.
type Limit struct {
	Max    int
	Window time.Duration
}

// DefaultLimit: three reverts of one object within ten minutes is a fight.
var DefaultLimit = Limit{Max: 3, Window: 10 * time.Minute}

// History is when each object was reverted, oldest first.
type History map[objectid.Key][]time.Time

// Verdict is what to do with one planned revert.
type Verdict struct {
	Revert
	// Allowed: apply it now.
	Allowed bool
	// Fight: the object was reverted Max times within Window and drifted
	// again; latch reports it (Event, metric, status) instead of looping.
	Fight  bool
	Reason string
}

// Decide applies the limit to planned reverts at now and returns the
// verdicts and the history with the allowed reverts recorded (entries older
// than the window dropped). It does not modify h.
func (l Limit) Decide(h History, planned []Revert, now time.Time) ([]Verdict, History) {
	next := History{}
	for k, ts := range h {
		for _, t := range ts {
			if now.Sub(t) < l.Window {
				next[k] = append(next[k], t)
			}
		}
	}
	var out []Verdict
	for _, r := range planned {
		v := Verdict{Revert: r}
		k := r.Ref.Key()
		switch {
		case len(r.Fields) == 0:
			v.Reason = "nothing latch may revert"
		case len(next[k]) >= l.Max:
			v.Fight = true
			v.Reason = fmt.Sprintf("reverted %d times in %s and drifted again: another writer keeps changing %v; latch stops reverting it until the window passes", len(next[k]), l.Window, r.Fields)
		default:
			v.Allowed = true
			next[k] = append(next[k], now)
		}
		out = append(out, v)
	}
	return out, next
}
