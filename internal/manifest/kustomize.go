package manifest

import (
	"fmt"
	"os"
	"path"
	"slices"
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
// namespace, prefix, suffix, labels, JSON 6902 patches, replicas. Each
// stage is one method below.
func (b *builder) apply(k *kustomization, acc []*object, stack []string) ([]*object, error) {
	acc, err := b.applyResources(k, acc, stack)
	if err != nil {
		return nil, err
	}
	if acc, err = b.applyComponents(k, acc, stack); err != nil {
		return nil, err
	}
	acc = b.applyPatches(k, acc)
	applyNamespace(k, acc)
	applyNameAffixes(k, acc)
	applyLabels(k, acc)
	for _, n := range k.strings("patchesJson6902") {
		acc = b.applyPatch(acc, b.patchEntry(k, n), targetSelector(k, n))
	}
	b.applyReplicas(k, acc)
	b.reportUnevaluated(k)
	return acc, nil
}

// applyResources adds the objects of k's resources and bases: files, and
// folders rendered as kustomizations of their own.
func (b *builder) applyResources(k *kustomization, acc []*object, stack []string) ([]*object, error) {
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
	return acc, nil
}

// applyComponents applies each component over what k has so far.
func (b *builder) applyComponents(k *kustomization, acc []*object, stack []string) ([]*object, error) {
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
	return acc, nil
}

// applyPatches applies patchesStrategicMerge, then patches.
func (b *builder) applyPatches(k *kustomization, acc []*object) []*object {
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
	return acc
}

// applyNamespace moves namespaced objects (and an HPA's target) into k's
// namespace.
func applyNamespace(k *kustomization, acc []*object) {
	v, _ := mapValue(k.doc, "namespace")
	if v == nil || v.Value == "" {
		return
	}
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

// applyNameAffixes applies namePrefix and nameSuffix; kustomize keeps
// references in step, so an HPA follows its target.
func applyNameAffixes(k *kustomization, acc []*object) {
	prefix, suffix := stringAt(k.doc, "namePrefix"), stringAt(k.doc, "nameSuffix")
	if prefix == "" && suffix == "" {
		return
	}
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
	for _, o := range acc {
		if o.hpaTarget != nil {
			if n, ok := renamed[o.hpaTarget.Kind+"/"+o.hpaTarget.Name]; ok {
				o.hpaTarget.Name = n
			}
		}
	}
}

// applyLabels adds commonLabels and labels[].pairs, which later patch
// selectors match on.
func applyLabels(k *kustomization, acc []*object) {
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
}

// applyReplicas makes each replicas: entry the declaration of the matching
// objects' spec.replicas.
func (b *builder) applyReplicas(k *kustomization, acc []*object) {
	for _, r := range k.strings("replicas") {
		name := stringAt(r, "name")
		count, _ := mapValue(r, "count")
		if name == "" || count == nil {
			b.loader.problem(k.file, r.Line, "replicas entry without name or count")
			continue
		}
		matched := false
		for _, o := range acc {
			if !replicaKinds[o.ref.Kind] || !slices.Contains(o.names, name) {
				continue
			}
			matched = true
			if !slices.Contains(b.fieldsFor(o.ref), DefaultField) {
				continue
			}
			loc, err := scalarLocation(k.src, count, ViaKustomizeReplicas, DefaultField)
			o.fields[DefaultField] = fieldDecl{loc: loc, err: err}
		}
		if !matched {
			b.loader.problem(k.file, r.Line, "replicas entry %q matches no Deployment, ReplicaSet, ReplicationController or StatefulSet", name)
		}
	}
}

// reportUnevaluated names the kustomize features latch does not evaluate.
func (b *builder) reportUnevaluated(k *kustomization) {
	for _, key := range []string{"helmCharts", "helmChartInflationGenerator", "generators", "transformers", "replacements"} {
		if v, _ := mapValue(k.doc, key); v != nil {
			b.loader.problem(k.file, v.Line, "%s is not evaluated by latch: objects or fields it produces are not indexed", key)
		}
	}
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
