package manifest

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/latch-gitops/latch/internal/objectid"
	"github.com/latch-gitops/latch/internal/safefile"
)

// How a Location was found, in Location.Via.
const (
	ViaManifest          = "manifest"           // the object's own manifest
	ViaKustomizeReplicas = "kustomize-replicas" // a replicas: entry of a kustomization
	ViaKustomizePatch    = "kustomize-patch"    // a strategic-merge or JSON 6902 patch
	ViaMarker            = "marker"             // a "$latch" marker comment
)

// DefaultField is the field latched when IndexOptions.Fields is empty.
const DefaultField = objectid.ReplicasField

// DefaultMaxFileBytes is the size above which a file is skipped.
const DefaultMaxFileBytes = safefile.DefaultMaxBytes

var (
	// ErrNotFound: the repository does not declare the object, or declares
	// it without the field.
	ErrNotFound = errors.New("not declared in the repository")
	// ErrDuplicate: the object or field is declared in more than one place.
	ErrDuplicate = errors.New("declared more than once")
	// ErrShared: the declaring bytes also decide another object's field, so
	// editing them for one would change the other.
	ErrShared = errors.New("declaring value is shared with other objects")
	// ErrUnsupported: the field is declared in a form latch will not edit
	// (alias, anchor, block scalar, non-integer, unevaluated selector...).
	ErrUnsupported = errors.New("declared in a form latch cannot edit")
)

// IndexOptions tunes BuildIndex. The zero value is usable.
type IndexOptions struct {
	// Path is the folder inside the checkout to index, slash or OS
	// separated; "" or "." is the whole checkout. Kustomize resources may
	// reach outside it, but never outside the checkout.
	Path string
	// MaxFileBytes skips larger files with a Problem; 0 means DefaultMaxFileBytes.
	MaxFileBytes int64
	// Fields are the dotted field paths to locate in each object; empty
	// means [DefaultField].
	Fields []string
}

// Location is where one field's value is written in the checkout.
type Location struct {
	File   string `json:"file"`   // slash path relative to the checkout root
	Line   int    `json:"line"`   // 1-based
	Column int    `json:"column"` // 1-based, in characters, where the parser places the scalar (its opening quote if quoted)
	Offset int    `json:"offset"` // byte offset of the digits (inside quotes, if any)
	Length int    `json:"length"` // byte length of the digits
	Value  string `json:"value"`  // the digits as they are now
	Via    string `json:"via"`    // ViaManifest, ViaKustomizeReplicas, ViaKustomizePatch or ViaMarker
}

func (l Location) String() string { return fmt.Sprintf("%s:%d:%d", l.File, l.Line, l.Column) }

func (l Location) key() string { return l.File + "#" + strconv.Itoa(l.Offset) }

// Problem is something wrong in the repository that did not stop indexing.
type Problem struct {
	File    string `json:"file"`
	Line    int    `json:"line,omitempty"`
	Message string `json:"message"`
}

func (p Problem) String() string {
	if p.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Message)
	}
	return p.File + ": " + p.Message
}

// LookupError explains why a field could not be located. It matches
// ErrNotFound, ErrDuplicate, ErrShared or ErrUnsupported with errors.Is.
type LookupError struct {
	Ref    objectid.Ref
	Field  string
	Kind   error    // one of the sentinels above
	Places []string // file:line of each declaration involved
	Detail string
}

func (e *LookupError) Error() string {
	msg := fmt.Sprintf("%s %s: %v", e.Ref, e.Field, e.Kind)
	if len(e.Places) > 0 {
		msg += " (" + strings.Join(e.Places, "; ") + ")"
	}
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	return msg
}

func (e *LookupError) Unwrap() error { return e.Kind }

// fieldDecl is one declaration of a field: a location, or why it cannot be edited.
type fieldDecl struct {
	loc Location
	err error
}

// object is a declared (plain) or rendered (Kustomize) Kubernetes object.
type object struct {
	ref        objectid.Ref
	names      []string // every name it has had while rendering, original first
	namespaces []string // every namespace it has had, original first
	origin     string   // file:line of its manifest, plus the rendering kustomization
	labels     map[string]string
	fields     map[string]fieldDecl
	hpaTarget  *objectid.Ref // HorizontalPodAutoscaler scaleTargetRef (namespace filled in)
}

func (o *object) clone() *object {
	c := *o
	c.names = append([]string(nil), o.names...)
	c.namespaces = append([]string(nil), o.namespaces...)
	c.labels = make(map[string]string, len(o.labels))
	for k, v := range o.labels {
		c.labels[k] = v
	}
	c.fields = make(map[string]fieldDecl, len(o.fields))
	for k, v := range o.fields {
		c.fields[k] = v
	}
	if o.hpaTarget != nil {
		t := *o.hpaTarget
		c.hpaTarget = &t
	}
	return &c
}

type markerKey struct {
	id    objectid.Key
	field string
}

type markerDecl struct {
	ref   objectid.Ref
	field string
	place string
	decl  fieldDecl
}

type locUser struct {
	id      objectid.Key
	field   string
	display string
}

type hpaDecl struct {
	origin   string
	min, max int64
	err      error
}

// Index maps each declared object's identity to where its fields are written.
// It is read-only after BuildIndex and safe for concurrent use.
type Index struct {
	root     string
	objects  map[objectid.Key][]*object
	markers  map[markerKey][]markerDecl
	hpas     map[objectid.Key][]hpaDecl
	locUsers map[string][]locUser // location key → every object field it decides
	// Problems are what was skipped or malformed; they did not stop indexing.
	Problems []Problem
}

// Objects returns the refs of every declared object, sorted, for listing.
func (idx *Index) Objects() []objectid.Ref {
	var refs []objectid.Ref
	for _, objs := range idx.objects {
		for _, o := range objs {
			refs = append(refs, o.ref)
		}
	}
	sort.Slice(refs, func(i, j int) bool { return refs[i].String() < refs[j].String() })
	return refs
}

// Lookup returns where field (e.g. "spec.replicas") of ref is declared.
// Version is ignored. When no object has exactly ref's namespace, an object
// declared without a namespace (applied to the GitOps tool's target
// namespace) matches. Errors are *LookupError.
func (idx *Index) Lookup(ref objectid.Ref, field string) (Location, error) {
	if field == "" {
		field = DefaultField
	}
	fail := func(kind error, places []string, detail string) (Location, error) {
		return Location{}, &LookupError{Ref: ref, Field: field, Kind: kind, Places: places, Detail: detail}
	}
	id := ref.Key()
	objs := declared(idx.objects, id)
	if len(objs) > 1 {
		var places []string
		for _, o := range objs {
			places = append(places, o.origin)
		}
		return fail(ErrDuplicate, places, "pick one rendering with --path")
	}
	type candidate struct {
		place string
		decl  fieldDecl
	}
	var cands []candidate
	if len(objs) == 1 {
		if d, ok := objs[0].fields[field]; ok {
			cands = append(cands, candidate{objs[0].origin, d})
		}
	}
	for _, m := range idx.markers[markerKey{id: id, field: field}] {
		dup := false
		for _, c := range cands {
			if c.decl.err == nil && m.decl.err == nil && c.decl.loc.key() == m.decl.loc.key() {
				dup = true // a marker on the manifest's own value confirms it
			}
		}
		if !dup {
			cands = append(cands, candidate{m.place, m.decl})
		}
	}
	switch {
	case len(cands) > 1:
		var places []string
		for _, c := range cands {
			place := c.place
			if c.decl.err == nil {
				place = c.decl.loc.String() + " (" + c.decl.loc.Via + ")"
			}
			places = append(places, place)
		}
		return fail(ErrDuplicate, places, "")
	case len(cands) == 0 && len(objs) == 1:
		return fail(ErrNotFound, []string{objs[0].origin}, "the object is declared without the field; write it once by hand so latch can latch it")
	case len(cands) == 0:
		return fail(ErrNotFound, nil, "")
	}
	c := cands[0]
	if c.decl.err != nil {
		return fail(ErrUnsupported, []string{c.place}, c.decl.err.Error())
	}
	if users := idx.locUsers[c.decl.loc.key()]; len(users) > 1 {
		var also []string
		for _, u := range users {
			if u.id != id || u.field != field {
				also = append(also, u.display)
			}
		}
		return fail(ErrShared, []string{c.decl.loc.String()}, "it also decides "+strings.Join(also, ", "))
	}
	return c.decl.loc, nil
}

// HPAFor returns the minReplicas (1 when not written) and maxReplicas that
// a HorizontalPodAutoscaler declared in git gives ref. ok is false when no
// HPA targets ref, or more than one does, or its values are not integers.
func (idx *Index) HPAFor(ref objectid.Ref) (min, max int64, ok bool) {
	id := ref.Key()
	hs := declared(idx.hpas, id)
	if len(hs) != 1 || hs[0].err != nil {
		return 0, 0, false
	}
	return hs[0].min, hs[0].max, true
}

// declared is what m holds for id: an object declared without a namespace
// matches id in any namespace.
func declared[T any](m map[objectid.Key][]T, id objectid.Key) []T {
	if vs := m[id]; len(vs) > 0 || id.Namespace == "" {
		return vs
	}
	id.Namespace = ""
	return m[id]
}

// Files returns the files that declare ref (its own manifest's, and the
// kustomization that rendered it, if any), sorted; as Lookup, an object
// declared without a namespace matches any namespace. For the rollout
// follower: the files whose history tells which commit declared a template.
func (idx *Index) Files(ref objectid.Ref) []string {
	objs := declared(idx.objects, ref.Key())
	seen := map[string]bool{}
	var files []string
	for _, o := range objs {
		own, via, _ := strings.Cut(o.origin, " rendered by ")
		if i := strings.LastIndex(own, ":"); i >= 0 {
			own = own[:i]
		}
		for _, f := range []string{own, via} {
			if f != "" && !seen[f] {
				seen[f] = true
				files = append(files, f)
			}
		}
	}
	sort.Strings(files)
	return files
}
