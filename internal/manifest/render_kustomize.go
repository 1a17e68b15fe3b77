package manifest

import (
	"errors"
	"fmt"
	"path"
	"path/filepath"
	"strings"
	"sync"

	yaml "go.yaml.in/yaml/v3"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/resource"
	kusttypes "sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/latch-gitops/latch/internal/objectid"
)

// originAnnotation is where kustomize records which file a rendered object
// came from, when the root kustomization asks for it (buildMetadata).
const originAnnotation = "config.kubernetes.io/origin"

// buildKustomization runs kustomize on one root kustomization and returns
// its objects whole, with the files kustomize read (so they are not also
// taken as plain manifests). Plugins, Helm inflation and remote resources
// stay off: kustomize refuses them with its own error, which becomes a
// Problem naming the kustomization.
func buildKustomization(l *loader, k *kustomization) ([]*Declared, map[string]bool, error) {
	fs := &guardedFS{FileSystem: filesys.MakeFsOnDisk(), l: l, rootKust: k.file, read: map[string]bool{}}
	opts := krusty.MakeDefaultOptions()
	resMap, err := krusty.MakeKustomizer(opts).Run(fs, l.root.Abs(k.dir))
	read := fs.reads()
	if err != nil {
		return nil, read, errors.New(fs.scrub(err.Error()))
	}
	var out []*Declared
	for _, r := range resMap.Resources() {
		d, err := declaredFromResource(l, k, r)
		if err != nil {
			l.problem(k.file, 0, "%s %s: %v", r.GetKind(), r.GetName(), err)
			continue
		}
		out = append(out, d)
	}
	return out, read, nil
}

// declaredFromResource turns one kustomize output object into a Declared,
// with positions from the resource file its origin annotation names.
func declaredFromResource(l *loader, k *kustomization, r *resource.Resource) (*Declared, error) {
	origin, err := r.GetOrigin()
	if err != nil {
		return nil, fmt.Errorf("origin annotation: %w", err)
	}
	annotations := r.GetAnnotations()
	delete(annotations, originAnnotation)
	if err := r.SetAnnotations(annotations); err != nil {
		return nil, err
	}
	m, err := r.Map()
	if err != nil {
		return nil, err
	}
	obj, _ := normalizeValue(m).(map[string]any)
	if meta, ok := obj["metadata"].(map[string]any); ok {
		if a, ok := meta["annotations"].(map[string]any); ok && len(a) == 0 {
			delete(meta, "annotations")
		}
	}
	d := &Declared{
		Ref:        objectid.FromAPIVersion(r.GetApiVersion(), r.GetKind(), r.GetNamespace(), r.GetName()),
		Object:     obj,
		Origin:     Position{File: k.file},
		RenderedBy: k.file,
		Fields:     map[string]Position{},
	}
	if origin == nil || origin.Repo != "" {
		return d, nil
	}
	file := origin.Path
	if origin.ConfiguredIn != "" {
		file = origin.ConfiguredIn // a generator: point at its configuration
	}
	rel := path.Clean(path.Join(k.dir, filepath.ToSlash(file)))
	f := l.get(rel)
	if !f.ok {
		return d, nil
	}
	d.Origin = Position{File: rel}
	if origin.ConfiguredIn != "" {
		return d, nil
	}
	if doc := sourceDoc(f.docs, r.GetKind(), r.GetName(), r.GetNamespace()); doc != nil {
		d.Origin = Position{File: rel, Line: doc.Line, Column: doc.Column}
		recordPositions(f.src, doc, nil, d.Fields, obj)
	}
	return d, nil
}

// sourceDoc finds the document an output object came from: same kind, and
// the name it had before a prefix or suffix (the longest name the output
// name contains); the namespace breaks ties.
func sourceDoc(docs []*yaml.Node, kind, name, namespace string) *yaml.Node {
	var best *yaml.Node
	bestLen := -1
	for _, doc := range flattenLists(docs) {
		if stringAt(doc, "kind") != kind {
			continue
		}
		n := stringAt(doc, "metadata", "name")
		if n == "" || !strings.Contains(name, n) {
			continue
		}
		l := len(n)
		if stringAt(doc, "metadata", "namespace") == namespace {
			l++ // prefer the same namespace among equal names
		}
		if l > bestLen {
			best, bestLen = doc, l
		}
	}
	return best
}

func flattenLists(docs []*yaml.Node) []*yaml.Node {
	var out []*yaml.Node
	for _, d := range docs {
		if d.Kind != yaml.MappingNode {
			continue
		}
		if strings.HasSuffix(stringAt(d, "kind"), "List") {
			if items, _ := mapValue(d, "items"); items != nil && items.Kind == yaml.SequenceNode {
				out = append(out, flattenLists(items.Content)...)
				continue
			}
		}
		out = append(out, d)
	}
	return out
}

// guardedFS is kustomize's file system with every read going through the
// loader's guards (inside the checkout, regular file, size cap) and every
// write refused. It asks the root kustomization for origin annotations, so
// each output object names the file it came from.
type guardedFS struct {
	filesys.FileSystem
	l        *loader
	rootKust string // slash path of the root kustomization file

	mu   sync.Mutex
	read map[string]bool
}

var errReadOnly = errors.New("latch renders read-only: kustomize may not write")

func (g *guardedFS) Create(string) (filesys.File, error) { return nil, errReadOnly }
func (g *guardedFS) Mkdir(string) error                  { return errReadOnly }
func (g *guardedFS) MkdirAll(string) error               { return errReadOnly }
func (g *guardedFS) RemoveAll(string) error              { return errReadOnly }
func (g *guardedFS) WriteFile(string, []byte) error      { return errReadOnly }

func (g *guardedFS) Open(p string) (filesys.File, error) {
	if _, err := g.ReadFile(p); err != nil {
		return nil, err
	}
	return g.FileSystem.Open(p)
}

// ReadFile reads through the checkout's guard and the size cap, and
// records what kustomize read.
func (g *guardedFS) ReadFile(p string) ([]byte, error) {
	rel, err := filepath.Rel(g.l.root.Dir(), p)
	if err != nil || !filepath.IsLocal(rel) {
		return nil, fmt.Errorf("%s refused: paths must stay inside the checkout", g.scrub(p))
	}
	slash, data, err := g.l.root.ReadFile(rel, g.l.maxBytes)
	if err != nil {
		return nil, err
	}
	g.mu.Lock()
	g.read[slash] = true
	g.mu.Unlock()
	if slash == g.rootKust {
		return withOriginAnnotations(data)
	}
	return data, nil
}

// reads returns the slash paths of every file read.
func (g *guardedFS) reads() map[string]bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make(map[string]bool, len(g.read))
	for k := range g.read {
		out[k] = true
	}
	return out
}

// scrub makes kustomize's absolute paths relative to the checkout, so
// errors name files as the rest of latch does.
func (g *guardedFS) scrub(msg string) string {
	return strings.ReplaceAll(msg, g.l.root.Dir()+string(filepath.Separator), "")
}

// withOriginAnnotations adds originAnnotations to the kustomization's
// buildMetadata (kustomize's own switch for recording each object's file).
func withOriginAnnotations(data []byte) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil || doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return data, nil // kustomize reports the malformed file itself
	}
	m := doc.Content[0]
	bm, _ := mapValue(m, "buildMetadata")
	switch {
	case bm == nil:
		m.Content = append(m.Content,
			&yaml.Node{Kind: yaml.ScalarNode, Value: "buildMetadata"},
			&yaml.Node{Kind: yaml.SequenceNode, Content: []*yaml.Node{{Kind: yaml.ScalarNode, Value: kusttypes.OriginAnnotations}}})
	case bm.Kind == yaml.SequenceNode:
		for _, n := range bm.Content {
			if n.Value == kusttypes.OriginAnnotations {
				return data, nil
			}
		}
		bm.Content = append(bm.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: kusttypes.OriginAnnotations})
	default:
		return data, nil
	}
	return yaml.Marshal(&doc)
}
