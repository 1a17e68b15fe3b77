package manifest

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"

	"github.com/latch-gitops/latch/internal/objectid"
)

// BuildIndex walks opts.Path inside the checkout at root and indexes every
// Kubernetes object declared there: plain manifests (multi-document files,
// List kinds), objects rendered by the root kustomizations (with their
// namespace, name prefix/suffix, replicas and patches applied), and "$latch"
// marker comments. Only a missing or escaping root or Path is an error;
// everything else wrong with the repository is in Index.Problems.
func BuildIndex(root string, opts IndexOptions) (*Index, error) {
	if len(opts.Fields) == 0 {
		opts.Fields = []string{DefaultField}
	}
	l, walked, err := loadCheckout(root, opts.Path, opts.MaxFileBytes)
	if err != nil {
		return nil, err
	}
	defer l.close()

	b := &builder{loader: l, fields: opts.Fields}
	rendered, reached, inKustDir := b.renderKustomizations(walked)
	plain, markers := plainObjects(l, walked.files, reached, inKustDir, b.objectsFromDoc)
	all := append(rendered, plain...)

	idx := &Index{
		root:     l.root.Dir(),
		objects:  map[objectid.Key][]*object{},
		markers:  map[markerKey][]markerDecl{},
		hpas:     map[objectid.Key][]hpaDecl{},
		locUsers: map[string][]locUser{},
	}
	use := func(loc Location, ref objectid.Ref, field string) {
		k := loc.key()
		user := locUser{id: ref.Key(), field: field, display: ref.String() + " " + field}
		for _, u := range idx.locUsers[k] {
			if u.id == user.id && u.field == user.field {
				return
			}
		}
		idx.locUsers[k] = append(idx.locUsers[k], user)
	}
	for _, o := range all {
		id := o.ref.Key()
		idx.objects[id] = append(idx.objects[id], o)
		for field, d := range o.fields {
			if d.err == nil {
				use(d.loc, o.ref, field)
			}
		}
		if o.hpaTarget != nil {
			h := hpaDecl{origin: o.origin, min: 1}
			if d, ok := o.fields["spec.minReplicas"]; ok {
				h.min, h.err = declInt(d)
			}
			if d, ok := o.fields["spec.maxReplicas"]; ok && h.err == nil {
				h.max, h.err = declInt(d)
			} else if h.err == nil {
				h.err = fmt.Errorf("%s: HorizontalPodAutoscaler without spec.maxReplicas", o.origin)
			}
			tid := o.hpaTarget.Key()
			idx.hpas[tid] = append(idx.hpas[tid], h)
		}
	}
	for tid, hs := range idx.hpas {
		if len(hs) > 1 {
			var places []string
			for _, h := range hs {
				places = append(places, h.origin)
			}
			l.problem(strings.SplitN(hs[0].origin, ":", 2)[0], 0, "%d HorizontalPodAutoscalers target %s/%s/%s (%s); ignoring their bounds",
				len(hs), tid.Kind, tid.Namespace, tid.Name, strings.Join(places, "; "))
		}
	}
	for _, m := range markers {
		k := markerKey{id: m.ref.Key(), field: m.field}
		idx.markers[k] = append(idx.markers[k], m)
		if m.decl.err == nil {
			use(m.decl.loc, m.ref, m.field)
		}
	}
	idx.Problems = l.problems
	sort.SliceStable(idx.Problems, func(i, j int) bool {
		a, b := idx.Problems[i], idx.Problems[j]
		if a.File != b.File {
			return a.File < b.File
		}
		return a.Line < b.Line
	})
	return idx, nil
}

func declInt(d fieldDecl) (int64, error) {
	if d.err != nil {
		return 0, d.err
	}
	return strconv.ParseInt(d.loc.Value, 10, 64)
}

// objectNode is one Kubernetes object a YAML document declares.
type objectNode struct {
	node                   *yaml.Node
	apiVersion, kind, name string
}

// objectNodes returns the objects a document declares: itself, or the items
// of a List kind. A document that is not a Kubernetes object (no
// apiVersion, kind or name) declares none: Helm values and other YAML live
// in GitOps repositories too. The index (objectsFromDoc) and the renderer
// (declaredFromDoc) both walk documents through it.
func objectNodes(doc *yaml.Node) []objectNode {
	if doc.Kind != yaml.MappingNode {
		return nil
	}
	apiVersion, kind := stringAt(doc, "apiVersion"), stringAt(doc, "kind")
	if apiVersion == "" || kind == "" {
		return nil
	}
	if strings.HasSuffix(kind, "List") {
		if items, _ := mapValue(doc, "items"); items != nil && items.Kind == yaml.SequenceNode {
			var out []objectNode
			for _, it := range items.Content {
				out = append(out, objectNodes(it)...)
			}
			return out
		}
	}
	name := stringAt(doc, "metadata", "name")
	if name == "" {
		return nil
	}
	return []objectNode{{node: doc, apiVersion: apiVersion, kind: kind, name: name}}
}

// objectsFromDoc returns the index objects a document declares.
func (b *builder) objectsFromDoc(src textSource, doc *yaml.Node) []*object {
	var out []*object
	for _, on := range objectNodes(doc) {
		out = append(out, b.indexObject(src, on))
	}
	return out
}

// indexObject is one declared object as the index keeps it.
func (b *builder) indexObject(src textSource, on objectNode) *object {
	doc, apiVersion, kind, name := on.node, on.apiVersion, on.kind, on.name
	ns := stringAt(doc, "metadata", "namespace")
	o := &object{
		ref:        objectid.FromAPIVersion(apiVersion, kind, ns, name),
		names:      []string{name},
		namespaces: []string{ns},
		origin:     src.place(doc.Line),
		labels:     map[string]string{},
		fields:     map[string]fieldDecl{},
	}
	if labels, _ := fieldNode(doc, "metadata.labels"); labels != nil && labels.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(labels.Content); i += 2 {
			o.labels[labels.Content[i].Value] = labels.Content[i+1].Value
		}
	}
	for _, field := range b.fieldsFor(o.ref) {
		if d, ok := declare(src, doc, field, ViaManifest); ok {
			o.fields[field] = d
		}
	}
	if isHPA(o.ref) {
		t := objectid.FromAPIVersion(stringAt(doc, "spec", "scaleTargetRef", "apiVersion"),
			stringAt(doc, "spec", "scaleTargetRef", "kind"), ns, stringAt(doc, "spec", "scaleTargetRef", "name"))
		o.hpaTarget = &t
	}
	return o
}

func isHPA(r objectid.Ref) bool {
	return r.Group == "autoscaling" && r.Kind == "HorizontalPodAutoscaler"
}

// declare locates field in a mapping; ok is false when it is absent.
func declare(src textSource, m *yaml.Node, field, via string) (fieldDecl, bool) {
	n, err := fieldNode(m, field)
	if err != nil {
		return fieldDecl{err: fmt.Errorf("%s: %s: %v", src.file, field, shiftLine(err, src))}, true
	}
	if n == nil {
		return fieldDecl{}, false
	}
	loc, err := scalarLocation(src, n, via, field)
	return fieldDecl{loc: loc, err: err}, true
}

// shiftLine is for errors from fieldNode, whose line numbers are relative to
// the parsed text; for inline patches that is not the file's line.
func shiftLine(err error, src textSource) string {
	if src.lineShift == 0 {
		return err.Error()
	}
	return fmt.Sprintf("%v (in the inline patch starting after line %d)", err, src.lineShift)
}
