package manifest

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	yaml "go.yaml.in/yaml/v3"

	"github.com/latch-gitops/latch/internal/objectid"
)

// patch is the parsed content of one patch, and where it is written.
type patch struct {
	place string
	src   textSource
	docs  []*yaml.Node
	// unmappable says why positions in docs cannot be mapped to file
	// bytes (an inline patch in a quoted string); nil when they can.
	unmappable error
}

func (b *builder) filePatch(k *kustomization, n *yaml.Node, entry string) patch {
	place := k.src.place(n.Line)
	rel, info, err := b.resolve(k, entry)
	if err != nil || info.IsDir() {
		b.loader.problem(k.file, n.Line, "patch %q: %v", entry, orNotFile(err))
		return patch{place: place}
	}
	b.reached[rel] = true
	f := b.loader.get(rel)
	if !f.ok {
		return patch{place: place}
	}
	return patch{place: rel, src: f.src, docs: f.docs}
}

func orNotFile(err error) error {
	if err == nil {
		return fmt.Errorf("a folder, not a file")
	}
	return err
}

func (b *builder) inlinePatch(k *kustomization, n *yaml.Node) patch {
	p := patch{place: k.src.place(n.Line)}
	docs, err := parseDocuments([]byte(n.Value))
	if err != nil {
		b.loader.problem(k.file, n.Line+errorLine(err), "malformed inline patch: %v", err)
		return p
	}
	p.docs = docs
	src, err := literalBlockSource(k.src, n)
	if err != nil {
		p.unmappable = err
		p.src = textSource{file: k.file, lines: k.src.lines, lineShift: n.Line}
		return p
	}
	p.src = src
	return p
}

// patchEntry reads a patches/patchesJson6902 entry: {path: file} or {patch: inline}.
func (b *builder) patchEntry(k *kustomization, n *yaml.Node) patch {
	if v, _ := mapValue(n, "patch"); v != nil && v.Kind == yaml.ScalarNode {
		return b.inlinePatch(k, v)
	}
	if v, _ := mapValue(n, "path"); v != nil && v.Kind == yaml.ScalarNode {
		return b.filePatch(k, v, v.Value)
	}
	b.loader.problem(k.file, n.Line, "patch entry without path or patch")
	return patch{place: k.src.place(n.Line)}
}

// selector picks the objects a patch applies to. Empty fields match all.
type selector struct {
	group, version, kind, namespace string
	name                            *regexp.Regexp
	labels                          map[string]string // "" value: key must exist
	// unknown says why the selector cannot be evaluated (set-based label
	// selectors, annotation selectors); matching objects are then marked
	// undecidable rather than guessed.
	unknown string
}

func targetSelector(k *kustomization, entry *yaml.Node) *selector {
	t, _ := mapValue(entry, "target")
	if t == nil || t.Kind != yaml.MappingNode {
		return nil
	}
	s := &selector{group: stringAt(t, "group"), version: stringAt(t, "version"), kind: stringAt(t, "kind"), namespace: stringAt(t, "namespace")}
	if name := stringAt(t, "name"); name != "" {
		re, err := regexp.Compile("^(?:" + name + ")$")
		if err != nil {
			s.unknown = fmt.Sprintf("target name %q is not a valid regular expression", name)
		} else {
			s.name = re
		}
	}
	if ls := stringAt(t, "labelSelector"); ls != "" {
		s.labels = map[string]string{}
		for _, term := range strings.Split(ls, ",") {
			term = strings.TrimSpace(term)
			switch {
			case strings.ContainsAny(term, "!()") || strings.Contains(term, " in ") || strings.Contains(term, " notin "):
				s.unknown = fmt.Sprintf("labelSelector %q uses set-based terms latch does not evaluate", ls)
			case strings.Contains(term, "=="):
				kv := strings.SplitN(term, "==", 2)
				s.labels[strings.TrimSpace(kv[0])] = strings.TrimSpace(kv[1])
			case strings.Contains(term, "="):
				kv := strings.SplitN(term, "=", 2)
				s.labels[strings.TrimSpace(kv[0])] = strings.TrimSpace(kv[1])
			default:
				s.labels[term] = "\x00exists"
			}
		}
	}
	if as := stringAt(t, "annotationSelector"); as != "" {
		s.unknown = fmt.Sprintf("annotationSelector %q is not evaluated by latch", as)
	}
	return s
}

// selectorFromSMP targets what a strategic-merge patch names in itself.
func selectorFromSMP(doc *yaml.Node) *selector {
	group, version := objectid.SplitAPIVersion(stringAt(doc, "apiVersion"))
	s := &selector{group: group, version: version, kind: stringAt(doc, "kind"), namespace: stringAt(doc, "metadata", "namespace")}
	if name := stringAt(doc, "metadata", "name"); name != "" {
		s.name = regexp.MustCompile("^" + regexp.QuoteMeta(name) + "$")
	}
	return s
}

func (s *selector) matches(o *object) bool {
	if s.kind != "" && s.kind != o.ref.Kind || s.group != "" && s.group != o.ref.Group {
		return false
	}
	if s.namespace != "" && !slices.Contains(o.namespaces, s.namespace) {
		return false
	}
	if s.name != nil {
		ok := false
		for _, n := range o.names {
			ok = ok || s.name.MatchString(n)
		}
		if !ok {
			return false
		}
	}
	for k, v := range s.labels {
		got, has := o.labels[k]
		if !has || v != "\x00exists" && got != v {
			return false
		}
	}
	return true
}

// applyPatch applies each document of p to the objects it targets, for the
// tracked fields only: a strategic-merge patch that writes a field decides
// it; a JSON 6902 add/replace decides it, remove removes it.
func (b *builder) applyPatch(acc []*object, p patch, target *selector) []*object {
	for _, doc := range p.docs {
		sel := target
		if sel == nil && doc.Kind == yaml.MappingNode {
			sel = selectorFromSMP(doc)
		}
		if sel == nil {
			b.loader.problem(p.place, doc.Line, "JSON 6902 patch without a target")
			continue
		}
		if doc.Kind == yaml.MappingNode && stringAt(doc, "$patch") == "delete" {
			kept := acc[:0:0]
			for _, o := range acc {
				if !sel.matches(o) {
					kept = append(kept, o)
				}
			}
			acc = kept
			continue
		}
		for _, o := range acc {
			if !sel.matches(o) {
				continue
			}
			for _, field := range b.fieldsFor(o.ref) {
				d, touched, removed := b.patchField(p, doc, field)
				switch {
				case !touched:
					continue
				case sel.unknown != "":
					o.fields[field] = fieldDecl{err: fmt.Errorf("%s: a patch whose %s may set %s", p.place, sel.unknown, field)}
				case removed:
					delete(o.fields, field)
				default:
					o.fields[field] = d
				}
			}
		}
	}
	return acc
}

// patchField says whether one patch document writes field, and how.
func (b *builder) patchField(p patch, doc *yaml.Node, field string) (d fieldDecl, touched, removed bool) {
	mark := func(d fieldDecl) fieldDecl {
		if p.unmappable != nil {
			d = fieldDecl{err: p.unmappable}
		}
		return d
	}
	if doc.Kind == yaml.MappingNode {
		d, ok := declare(p.src, doc, field, ViaKustomizePatch)
		if !ok {
			return fieldDecl{}, false, false
		}
		return mark(d), true, false
	}
	if doc.Kind != yaml.SequenceNode {
		return fieldDecl{}, false, false
	}
	for _, op := range doc.Content {
		opName, ptr := stringAt(op, "op"), stringAt(op, "path")
		p6902 := pointerToField(ptr)
		exact := p6902 == field
		parent := strings.HasPrefix(field, p6902+".") || ptr == "" || ptr == "/"
		if !exact && !parent {
			if opName == "move" && pointerToField(stringAt(op, "from")) == field {
				touched, removed = true, true
			}
			continue
		}
		switch opName {
		case "add", "replace":
			value, _ := mapValue(op, "value")
			if value == nil {
				continue
			}
			if exact {
				loc, err := scalarLocation(p.src, value, ViaKustomizePatch, field)
				d, touched, removed = mark(fieldDecl{loc: loc, err: err}), true, false
				continue
			}
			rest := strings.TrimPrefix(field, p6902+".")
			if ptr == "" || ptr == "/" {
				rest = field
			}
			if sub, ok := declare(p.src, value, rest, ViaKustomizePatch); ok {
				d, touched, removed = mark(sub), true, false
			} else {
				touched, removed = true, true // the parent was replaced without the field
			}
		case "remove":
			touched, removed = true, true
		case "copy", "move":
			d, touched, removed = fieldDecl{err: fmt.Errorf("%s:%d: %s is set by a JSON patch %s; latch cannot edit a copied value", p.src.file, op.Line+p.src.lineShift, field, opName)}, true, false
		}
	}
	return d, touched, removed
}

// pointerToField turns "/spec/replicas" into "spec.replicas".
func pointerToField(ptr string) string {
	parts := strings.Split(strings.TrimPrefix(ptr, "/"), "/")
	for i, p := range parts {
		parts[i] = strings.ReplaceAll(strings.ReplaceAll(p, "~1", "/"), "~0", "~")
	}
	return strings.Join(parts, ".")
}
