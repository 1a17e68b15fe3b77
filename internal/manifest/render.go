package manifest

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"

	"github.com/latch-gitops/latch/internal/objectid"
	"github.com/latch-gitops/latch/internal/objtree"
)

// Render reads every object the checkout declares, whole, as it would be
// applied: what `latch diff` compares with the cluster and what a restore
// writes back. Index (BuildIndex) is the other view of the same files: it
// finds the bytes of a few fields to edit them.

// RenderOptions tunes Render. The zero value is usable.
type RenderOptions struct {
	// Path is the folder inside the checkout to render, as IndexOptions.Path.
	Path string
	// MaxFileBytes skips larger files with a Problem; 0 means DefaultMaxFileBytes.
	MaxFileBytes int64
}

// Position is where something is written in the checkout.
type Position struct {
	File   string `json:"file"`             // slash path relative to the checkout root
	Line   int    `json:"line,omitempty"`   // 1-based; 0 when only the file is known
	Column int    `json:"column,omitempty"` // 1-based
}

func (p Position) String() string {
	switch {
	case p.Line == 0:
		return p.File
	case p.Column == 0:
		return fmt.Sprintf("%s:%d", p.File, p.Line)
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Column)
}

// Declared is one object as the repository declares it.
type Declared struct {
	Ref objectid.Ref `json:"ref"`
	// Object is the whole object, as JSON would decode it: map[string]any,
	// []any, string, bool, int64, float64 and nil.
	Object map[string]any `json:"object"`
	// Origin is where the object's own manifest starts.
	Origin Position `json:"origin"`
	// RenderedBy is the kustomization that rendered the object; empty for a
	// plain manifest or a marker.
	RenderedBy string `json:"renderedBy,omitempty"`
	// Partial is true when only some fields are known: an object declared
	// through "$latch" markers (Helm values), whose template latch does not
	// render. Object then holds the identity and the marked fields only.
	Partial bool `json:"partial,omitempty"`
	// Fields maps the path of each field written in the source (see
	// FieldKey) to where it is written. A field whose rendered value is not
	// the one in the resource file (a patch or transformer changed it) maps
	// to the kustomization instead.
	Fields map[string]Position `json:"-"`
}

// PositionOf returns where the field at key (FieldKey form) is declared: its
// own position; for a field a kustomization's patch or transformer wrote,
// that kustomization; else its closest written ancestor's, else the origin.
func (d *Declared) PositionOf(key string) Position {
	if p, ok := d.Fields[key]; ok {
		return p
	}
	if d.RenderedBy != "" {
		return Position{File: d.RenderedBy}
	}
	for k := parentKey(key); k != ""; k = parentKey(k) {
		if p, ok := d.Fields[k]; ok {
			return p
		}
	}
	return d.Origin
}

// Rendering is every object a checkout declares.
type Rendering struct {
	// Objects are sorted by Ref.String(), then origin.
	Objects []*Declared
	// Problems are what could not be read or rendered; they did not stop
	// the rest.
	Problems []Problem
}

// FieldKey names a field inside an object: map keys joined by ".", list
// items as "[index]"; a key holding ".", "[", "]" or a quote is written as
// ["key"] in Go quoting. parts are strings (map keys) and ints (indices):
// FieldKey("metadata", "labels", "app.kubernetes.io/name") is
// `metadata.labels["app.kubernetes.io/name"]`; FieldKey("spec", "ports", 0,
// "port") is "spec.ports[0].port".
func FieldKey(parts ...any) string {
	var b strings.Builder
	for _, p := range parts {
		switch v := p.(type) {
		case int:
			b.WriteString("[" + strconv.Itoa(v) + "]")
		case string:
			if v == "" || strings.ContainsAny(v, `.[]"'\`) {
				b.WriteString("[" + strconv.Quote(v) + "]")
				continue
			}
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(v)
		default:
			panic(fmt.Sprintf("FieldKey: part %v is %T, want string or int", p, p))
		}
	}
	return b.String()
}

// parentKey drops the last part of a FieldKey.
func parentKey(key string) string {
	if strings.HasSuffix(key, "]") {
		// the last part is [index] or ["key"]; find its opening bracket
		// outside quotes by scanning from the start.
		open, inQuote := -1, false
		for i := 0; i < len(key); i++ {
			switch c := key[i]; {
			case inQuote && c == '\\':
				i++
			case c == '"':
				inQuote = !inQuote
			case !inQuote && c == '[':
				open = i
			}
		}
		if open >= 0 {
			return key[:open]
		}
		return ""
	}
	if i := strings.LastIndexAny(key, ".]"); i >= 0 {
		if key[i] == ']' {
			return key[:i+1]
		}
		return key[:i]
	}
	return ""
}

// Render walks opts.Path inside the checkout at root and returns every
// object declared there, whole: plain manifests (multi-document files, List
// kinds), the output of each root kustomization (built by kustomize itself,
// so patches, namespace, name prefix/suffix, replicas, labels, generators
// and name references are exactly as `kustomize build` gives them), and
// objects known only through "$latch" markers (Partial). Files are read
// through the same guards as BuildIndex: inside the checkout, regular, under
// the size cap. Only a missing or escaping root or Path is an error.
func Render(root string, opts RenderOptions) (*Rendering, error) {
	l, walked, err := loadCheckout(root, opts.Path, opts.MaxFileBytes)
	if err != nil {
		return nil, err
	}
	defer l.close()

	b := &builder{loader: l, reached: map[string]bool{}, rendered: map[string]bool{}}
	kusts, roots := b.kustomizationRoots(walked)
	var out []*Declared
	reached := map[string]bool{}
	for _, dir := range roots {
		objs, read, err := buildKustomization(l, kusts[dir])
		for rel := range read {
			reached[rel] = true
		}
		if err != nil {
			l.problem(kusts[dir].file, 0, "kustomize build: %v", err)
			continue
		}
		out = append(out, objs...)
	}
	inKustDir := map[string]bool{}
	for dir := range kusts {
		inKustDir[dir] = true
	}
	plain, markers := plainObjects(l, walked.files, reached, inKustDir, func(src textSource, doc *yaml.Node) []*Declared {
		return declaredFromDoc(l, src, doc)
	})
	out = append(out, plain...)
	out = append(out, markerObjects(markers, out)...)
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i].Ref.String(), out[j].Ref.String()
		if a != b {
			return a < b
		}
		return out[i].Origin.String() < out[j].Origin.String()
	})
	problems := append([]Problem(nil), l.problems...)
	sort.SliceStable(problems, func(i, j int) bool {
		if problems[i].File != problems[j].File {
			return problems[i].File < problems[j].File
		}
		return problems[i].Line < problems[j].Line
	})
	return &Rendering{Objects: out, Problems: problems}, nil
}

// declaredFromDoc returns the objects one document declares, whole
// (objectNodes says which nodes are objects).
func declaredFromDoc(l *loader, src textSource, doc *yaml.Node) []*Declared {
	var out []*Declared
	for _, on := range objectNodes(doc) {
		if d := declaredObject(l, src, on); d != nil {
			out = append(out, d)
		}
	}
	return out
}

// declaredObject decodes one object node; a node that does not decode is a
// problem of its file.
func declaredObject(l *loader, src textSource, on objectNode) *Declared {
	doc, apiVersion, kind, name := on.node, on.apiVersion, on.kind, on.name
	obj, err := decodeNode(doc)
	if err != nil {
		l.problem(src.file, doc.Line+src.lineShift, "%s %s: %v", kind, name, err)
		return nil
	}
	d := &Declared{
		Ref:    objectid.FromAPIVersion(apiVersion, kind, stringAt(doc, "metadata", "namespace"), name),
		Object: obj,
		Origin: Position{File: src.file, Line: doc.Line + src.lineShift, Column: doc.Column},
		Fields: map[string]Position{},
	}
	recordPositions(src, doc, nil, d.Fields, nil)
	return d
}

// recordPositions maps every field under n to its position. When rendered
// is non-nil, a scalar is recorded only if the rendered object holds the
// same value at that path (else a transformer wrote it; the caller maps it
// to the kustomization).
func recordPositions(src textSource, n *yaml.Node, parts []any, into map[string]Position, rendered map[string]any) {
	pos := func(n *yaml.Node) Position {
		return Position{File: src.file, Line: n.Line + src.lineShift, Column: n.Column + src.colShift}
	}
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			child := append(append([]any(nil), parts...), k.Value)
			if rendered != nil && !sameScalar(v, rendered, child) {
				continue
			}
			into[FieldKey(child...)] = pos(k)
			recordPositions(src, v, child, into, rendered)
		}
	case yaml.SequenceNode:
		for i, v := range n.Content {
			child := append(append([]any(nil), parts...), i)
			if rendered != nil && !sameScalar(v, rendered, child) {
				continue
			}
			into[FieldKey(child...)] = pos(v)
			recordPositions(src, v, child, into, rendered)
		}
	}
}

// sameScalar: for a scalar node, whether rendered holds the same value at
// parts; non-scalars always pass (their leaves are checked one by one).
func sameScalar(n *yaml.Node, rendered map[string]any, parts []any) bool {
	if n.Kind != yaml.ScalarNode {
		return true
	}
	var v any
	if err := n.Decode(&v); err != nil {
		return false
	}
	got, ok := valueAt(rendered, parts)
	return ok && fmt.Sprint(normalizeValue(v)) == fmt.Sprint(got)
}

// valueAt follows parts (string keys, int indices) into a decoded object.
func valueAt(obj any, parts []any) (any, bool) {
	cur := obj
	for _, p := range parts {
		switch k := p.(type) {
		case string:
			m, ok := cur.(map[string]any)
			if !ok {
				return nil, false
			}
			if cur, ok = m[k]; !ok {
				return nil, false
			}
		case int:
			s, ok := cur.([]any)
			if !ok || k < 0 || k >= len(s) {
				return nil, false
			}
			cur = s[k]
		}
	}
	return cur, true
}

// decodeNode turns a YAML mapping into a JSON-shaped object.
func decodeNode(n *yaml.Node) (map[string]any, error) {
	var v any
	if err := n.Decode(&v); err != nil {
		return nil, err
	}
	m, ok := normalizeValue(v).(map[string]any)
	if !ok {
		return nil, fmt.Errorf("not a mapping")
	}
	return m, nil
}

// normalizeValue converts decoded YAML into the types JSON decoding (and
// unstructured.Unstructured) uses: int64 for integers, string map keys.
func normalizeValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = normalizeValue(e)
		}
		return x
	case map[any]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[fmt.Sprint(k)] = normalizeValue(e)
		}
		return m
	case []any:
		for i, e := range x {
			x[i] = normalizeValue(e)
		}
		return x
	case int:
		return int64(x)
	case int32:
		return int64(x)
	case uint64:
		return int64(x)
	case float32:
		return float64(x)
	}
	return v
}

// markerObjects returns the objects that only "$latch" markers declare
// (Helm values): each with its identity and the marked integer fields.
// A marker on an object the checkout renders whole adds nothing here.
func markerObjects(markers []markerDecl, whole []*Declared) []*Declared {
	have := map[objectid.Key]bool{}
	for _, d := range whole {
		have[d.Ref.Key()] = true
	}
	byID := map[objectid.Key]*Declared{}
	var out []*Declared
	for _, m := range markers {
		if have[m.ref.Key()] || m.decl.err != nil {
			continue
		}
		n, err := strconv.ParseInt(m.decl.loc.Value, 10, 64)
		if err != nil {
			continue
		}
		d := byID[m.ref.Key()]
		if d == nil {
			meta := map[string]any{"name": m.ref.Name}
			if m.ref.Namespace != "" {
				meta["namespace"] = m.ref.Namespace
			}
			d = &Declared{
				Ref:     m.ref,
				Object:  map[string]any{"apiVersion": m.ref.APIVersion(), "kind": m.ref.Kind, "metadata": meta},
				Origin:  Position{File: m.decl.loc.File, Line: m.decl.loc.Line},
				Partial: true,
				Fields:  map[string]Position{},
			}
			byID[m.ref.Key()] = d
			out = append(out, d)
		}
		parts := strings.Split(m.field, ".")
		objtree.Set(d.Object, n, parts...)
		d.Fields[FieldKey(stringParts(parts)...)] = Position{File: m.decl.loc.File, Line: m.decl.loc.Line, Column: m.decl.loc.Column}
	}
	return out
}

func stringParts(parts []string) []any {
	out := make([]any, len(parts))
	for i, p := range parts {
		out[i] = p
	}
	return out
}
