package manifest

import (
	"fmt"
	"os"
	"path"
	"regexp"
	"sort"
	"strings"

	yaml "go.yaml.in/yaml/v3"

	"github.com/latch-gitops/latch/internal/objectid"
)

// builder turns parsed files into objects; it renders kustomizations the way
// kustomize does for the fields latch tracks, on YAML nodes, without running
// kustomize: resources (files and folders), components, patches
// (strategic-merge and JSON 6902, from files or inline), namespace,
// namePrefix/nameSuffix, labels (for patch selectors) and replicas.
type builder struct {
	loader *loader
	fields []string
	// reached holds every file some kustomization read: its objects belong
	// to the rendering, not to the plain manifests.
	reached map[string]bool
	// rendered holds the folders of kustomizations rendered at least once.
	rendered map[string]bool
}

// fieldsFor is what to locate in an object: the latched fields, and an HPA's
// bounds.
func (b *builder) fieldsFor(ref objectid.Ref) []string {
	if isHPA(ref) {
		return append(append([]string(nil), b.fields...), "spec.minReplicas", "spec.maxReplicas")
	}
	return b.fields
}

type kustomization struct {
	dir  string // real slash path relative to the root
	file string
	src  textSource
	doc  *yaml.Node
	kind string // "Kustomization" or "Component"
}

// loadKustomization reads the kustomization file of dir. ok is false when
// dir has none, or its file is not a kustomize config (e.g. a Flux
// Kustomization object saved as kustomization.yaml).
func (b *builder) loadKustomization(dir string) (*kustomization, bool, error) {
	for _, name := range kustomizationNames {
		rel := path.Join(dir, name)
		info, err := os.Lstat(b.loader.root.Abs(rel))
		if err != nil || !info.Mode().IsRegular() {
			continue
		}
		b.reached[rel] = true
		f := b.loader.get(rel)
		if !f.ok {
			return nil, true, fmt.Errorf("%s: unreadable kustomization; objects it renders are not indexed", rel)
		}
		if len(f.docs) != 1 || f.docs[0].Kind != yaml.MappingNode {
			return nil, true, fmt.Errorf("%s: a kustomization must be one YAML mapping", rel)
		}
		doc := f.docs[0]
		apiVersion := stringAt(doc, "apiVersion")
		if apiVersion != "" && !strings.HasPrefix(apiVersion, "kustomize.config.k8s.io/") {
			return nil, false, nil
		}
		kind := stringAt(doc, "kind")
		if kind == "" {
			kind = "Kustomization"
		}
		return &kustomization{dir: dir, file: rel, src: f.src, doc: doc, kind: kind}, true, nil
	}
	return nil, false, nil
}

func (k *kustomization) strings(key string) []*yaml.Node {
	v, _ := mapValue(k.doc, key)
	if v == nil || v.Kind != yaml.SequenceNode {
		return nil
	}
	return v.Content
}

func isRemote(entry string) bool {
	return strings.Contains(entry, "://") || strings.HasPrefix(entry, "git@") ||
		strings.HasPrefix(entry, "github.com/") || strings.Contains(entry, "?ref=")
}

// resolve turns a path written in a kustomization into a real slash path
// relative to the root, refusing one that leaves the checkout.
func (b *builder) resolve(k *kustomization, entry string) (string, os.FileInfo, error) {
	return b.loader.root.Stat(path.Join(k.dir, entry))
}

// kustomizationRoots loads every kustomization in the walk and returns them
// by folder, with the roots: those no other kustomization in the walk refers
// to (components are never roots). Unreadable ones are Problems.
func (b *builder) kustomizationRoots(w walkResult) (kusts map[string]*kustomization, roots []string) {
	kusts = map[string]*kustomization{}
	referenced := map[string]bool{}
	for _, dir := range w.kustDirs {
		k, ok, err := b.loadKustomization(dir)
		if err != nil {
			b.loader.problem(w.kustFiles[dir], 0, "%v", err)
			continue
		}
		if !ok {
			continue
		}
		kusts[dir] = k
		for _, key := range []string{"resources", "bases", "components"} {
			for _, n := range k.strings(key) {
				if isRemote(n.Value) {
					continue
				}
				if rel, info, err := b.resolve(k, n.Value); err == nil && info.IsDir() {
					referenced[rel] = true
				}
			}
		}
	}
	for dir, k := range kusts {
		if !referenced[dir] && k.kind != "Component" {
			roots = append(roots, dir)
		}
	}
	sort.Strings(roots)
	return kusts, roots
}

// renderKustomizations renders every root kustomization in the walk.
func (b *builder) renderKustomizations(w walkResult) (objects []*object, reached, kustDirs map[string]bool) {
	b.reached, b.rendered = map[string]bool{}, map[string]bool{}
	kusts, roots := b.kustomizationRoots(w)
	var out []*object
	for _, dir := range roots {
		objs, err := b.render(kusts[dir], nil)
		if err != nil {
			b.loader.problem(kusts[dir].file, 0, "%v", err)
			continue
		}
		for _, o := range objs {
			o.origin += " rendered by " + kusts[dir].file
		}
		out = append(out, objs...)
	}
	for _, dir := range w.kustDirs {
		if k, ok := kusts[dir]; ok && k.kind != "Component" && !b.rendered[dir] {
			b.loader.problem(k.file, 0, "not rendered: only kustomizations in a reference cycle refer to it")
		}
	}
	kustDirs = map[string]bool{}
	for dir := range kusts {
		kustDirs[dir] = true
	}
	reached = b.reached
	b.reached = nil
	return out, reached, kustDirs
}

func (b *builder) render(k *kustomization, stack []string) ([]*object, error) {
	for _, d := range stack {
		if d == k.dir {
			return nil, fmt.Errorf("%s: kustomization cycle through %s", k.file, strings.Join(append(stack, k.dir), " → "))
		}
	}
	b.rendered[k.dir] = true
	return b.apply(k, nil, append(stack, k.dir))
}

// apply adds k's resources to acc, then applies k's components and
// transformations in kustomize's order: strategic-merge patches, patches,
// namespace, prefix, suffix, labels, JSON 6902 patches, replicas.
func (b *builder) apply(k *kustomization, acc []*object, stack []string) ([]*object, error) {
	for _, key := range []string{"resources", "bases"} {
		for _, n := range k.strings(key) {
			entry := n.Value
			if isRemote(entry) {
				b.loader.problem(k.file, n.Line, "remote resource %q skipped: latch indexes only the checkout", entry)
				continue
			}
			rel, info, err := b.resolve(k, entry)
			if err != nil {
				b.loader.problem(k.file, n.Line, "resource %q: %v", entry, err)
				continue
			}
			if info.IsDir() {
				sub, ok, err := b.loadKustomization(rel)
				if err != nil {
					b.loader.problem(k.file, n.Line, "resource %q: %v", entry, err)
					continue
				}
				if !ok {
					b.loader.problem(k.file, n.Line, "resource %q is a folder without a kustomization", entry)
					continue
				}
				objs, err := b.render(sub, stack)
				if err != nil {
					return nil, err
				}
				acc = append(acc, objs...)
				continue
			}
			b.reached[rel] = true
			f := b.loader.get(rel)
			if !f.ok {
				continue // already a Problem
			}
			for _, doc := range f.docs {
				acc = append(acc, b.objectsFromDoc(f.src, doc)...)
			}
		}
	}
	for _, n := range k.strings("components") {
		rel, info, err := b.resolve(k, n.Value)
		if err != nil || !info.IsDir() {
			b.loader.problem(k.file, n.Line, "component %q: %v", n.Value, orNotFolder(err))
			continue
		}
		comp, ok, err := b.loadKustomization(rel)
		if err != nil || !ok {
			b.loader.problem(k.file, n.Line, "component %q: %v", n.Value, orMissing(err))
			continue
		}
		for _, d := range stack {
			if d == rel {
				return nil, fmt.Errorf("%s: component cycle through %s", k.file, rel)
			}
		}
		if acc, err = b.apply(comp, acc, append(stack, rel)); err != nil {
			return nil, err
		}
	}

	for _, n := range k.strings("patchesStrategicMerge") {
		var p patch
		if strings.ContainsAny(n.Value, "\n:") {
			p = b.inlinePatch(k, n)
		} else {
			p = b.filePatch(k, n, n.Value)
		}
		acc = b.applyPatch(acc, p, nil)
	}
	for _, n := range k.strings("patches") {
		acc = b.applyPatch(acc, b.patchEntry(k, n), targetSelector(k, n))
	}

	if v, _ := mapValue(k.doc, "namespace"); v != nil && v.Value != "" {
		for _, o := range acc {
			if clusterScoped[o.ref.Kind] || o.ref.Namespace == v.Value {
				continue
			}
			o.ref.Namespace = v.Value
			o.namespaces = append(o.namespaces, v.Value)
			if o.hpaTarget != nil {
				o.hpaTarget.Namespace = v.Value
			}
		}
	}
	prefix, suffix := stringAt(k.doc, "namePrefix"), stringAt(k.doc, "nameSuffix")
	if prefix != "" || suffix != "" {
		renamed := map[string]string{}
		for _, o := range acc {
			if o.ref.Kind == "Namespace" || o.ref.Kind == "CustomResourceDefinition" {
				continue
			}
			newName := prefix + o.ref.Name + suffix
			renamed[o.ref.Kind+"/"+o.ref.Name] = newName
			o.ref.Name = newName
			o.names = append(o.names, newName)
		}
		// kustomize keeps references in step: an HPA follows its target.
		for _, o := range acc {
			if o.hpaTarget != nil {
				if n, ok := renamed[o.hpaTarget.Kind+"/"+o.hpaTarget.Name]; ok {
					o.hpaTarget.Name = n
				}
			}
		}
	}
	addLabels := map[string]string{}
	if v, _ := mapValue(k.doc, "commonLabels"); v != nil && v.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(v.Content); i += 2 {
			addLabels[v.Content[i].Value] = v.Content[i+1].Value
		}
	}
	for _, l := range k.strings("labels") {
		if pairs, _ := mapValue(l, "pairs"); pairs != nil && pairs.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(pairs.Content); i += 2 {
				addLabels[pairs.Content[i].Value] = pairs.Content[i+1].Value
			}
		}
	}
	for _, o := range acc {
		for lk, lv := range addLabels {
			o.labels[lk] = lv
		}
	}

	for _, n := range k.strings("patchesJson6902") {
		acc = b.applyPatch(acc, b.patchEntry(k, n), targetSelector(k, n))
	}

	for _, r := range k.strings("replicas") {
		name := stringAt(r, "name")
		count, _ := mapValue(r, "count")
		if name == "" || count == nil {
			b.loader.problem(k.file, r.Line, "replicas entry without name or count")
			continue
		}
		matched := false
		for _, o := range acc {
			if !replicaKinds[o.ref.Kind] || !contains(o.names, name) {
				continue
			}
			matched = true
			if !contains(b.fieldsFor(o.ref), "spec.replicas") {
				continue
			}
			loc, err := scalarLocation(k.src, count, ViaKustomizeReplicas, DefaultField)
			o.fields["spec.replicas"] = fieldDecl{loc: loc, err: err}
		}
		if !matched {
			b.loader.problem(k.file, r.Line, "replicas entry %q matches no Deployment, ReplicaSet, ReplicationController or StatefulSet", name)
		}
	}

	for _, key := range []string{"helmCharts", "helmChartInflationGenerator", "generators", "transformers", "replacements"} {
		if v, _ := mapValue(k.doc, key); v != nil {
			b.loader.problem(k.file, v.Line, "%s is not evaluated by latch: objects or fields it produces are not indexed", key)
		}
	}
	return acc, nil
}

func orNotFolder(err error) error {
	if err == nil {
		return fmt.Errorf("not a folder")
	}
	return err
}

func orMissing(err error) error {
	if err == nil {
		return fmt.Errorf("no kustomization there")
	}
	return err
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// replicaKinds are the kinds kustomize's replicas transformer changes.
var replicaKinds = map[string]bool{"Deployment": true, "ReplicaSet": true, "ReplicationController": true, "StatefulSet": true}

// clusterScoped lists common cluster-scoped kinds, which kustomize's
// namespace transformer leaves alone.
var clusterScoped = map[string]bool{
	"Namespace": true, "ClusterRole": true, "ClusterRoleBinding": true, "CustomResourceDefinition": true,
	"PersistentVolume": true, "StorageClass": true, "PriorityClass": true, "APIService": true,
	"ValidatingWebhookConfiguration": true, "MutatingWebhookConfiguration": true, "Node": true,
	"IngressClass": true, "RuntimeClass": true, "CSIDriver": true, "VolumeSnapshotClass": true,
	"ClusterIssuer": true,
}

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
	if s.namespace != "" && !contains(o.namespaces, s.namespace) {
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
