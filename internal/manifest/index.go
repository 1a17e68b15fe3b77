package manifest

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"

	yaml "go.yaml.in/yaml/v3"

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
const DefaultField = "spec.replicas"

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
	objs := idx.objects[id]
	if len(objs) == 0 && id.Namespace != "" {
		bare := id
		bare.Namespace = ""
		objs = idx.objects[bare]
	}
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
	hs := idx.hpas[id]
	if len(hs) == 0 && id.Namespace != "" {
		bare := id
		bare.Namespace = ""
		hs = idx.hpas[bare]
	}
	if len(hs) != 1 || hs[0].err != nil {
		return 0, 0, false
	}
	return hs[0].min, hs[0].max, true
}

// loader reads and parses each file once through the checkout's guard
// (which refuses what escapes the root, is not a regular file or is too
// big), refuses binary content, and records what it refused as Problems.
type loader struct {
	root     *safefile.Root
	maxBytes int64

	mu       sync.Mutex
	files    map[string]*parsedFile
	problems []Problem
}

type parsedFile struct {
	rel  string
	src  textSource
	docs []*yaml.Node
	ok   bool // read and parsed without error
}

func (l *loader) problem(file string, line int, format string, args ...any) {
	l.mu.Lock()
	l.problems = append(l.problems, Problem{File: file, Line: line, Message: fmt.Sprintf(format, args...)})
	l.mu.Unlock()
}

func (l *loader) relOf(abs string) string { return l.root.Rel(abs) }

// refusal is what a Problem says about a file the guard refused: the
// guard's reason, without the path the Problem already names.
func refusal(err error) string {
	var fe *safefile.Error
	if errors.As(err, &fe) {
		return fe.Detail
	}
	return "cannot read: " + err.Error()
}

// get returns the parsed file at a real slash path relative to the root,
// reading it on first use.
func (l *loader) get(rel string) *parsedFile {
	l.mu.Lock()
	if f, ok := l.files[rel]; ok {
		l.mu.Unlock()
		return f
	}
	l.mu.Unlock()
	f := l.read(rel)
	l.mu.Lock()
	defer l.mu.Unlock()
	if prev, ok := l.files[rel]; ok {
		return prev // another worker read it first; keep one copy, one report
	}
	l.files[rel] = f
	return f
}

func (l *loader) read(rel string) *parsedFile {
	f := &parsedFile{rel: rel}
	_, data, err := l.root.ReadFile(rel, l.maxBytes)
	if err != nil {
		l.problem(rel, 0, "%s", refusal(err))
		return f
	}
	if isBinary(data) {
		l.problem(rel, 0, "ignored: binary or UTF-16 content")
		return f
	}
	f.src = textSource{file: rel, lines: newLineTable(data)}
	docs, err := parseDocuments(data)
	f.docs = docs
	if err != nil {
		l.problem(rel, errorLine(err), "malformed YAML: %v", err)
		return f
	}
	f.ok = true
	return f
}

func isBinary(data []byte) bool {
	head := data
	if len(head) > 8000 {
		head = head[:8000]
	}
	if len(head) >= 2 && ((head[0] == 0xFE && head[1] == 0xFF) || (head[0] == 0xFF && head[1] == 0xFE)) {
		return true
	}
	for _, b := range head {
		if b == 0 {
			return true
		}
	}
	return false
}

func isYAMLName(name string) bool {
	ext := strings.ToLower(path.Ext(name))
	return ext == ".yaml" || ext == ".yml"
}

var kustomizationNames = []string{"kustomization.yaml", "kustomization.yml", "Kustomization"}

// walkResult is what one pass over the indexed folder found.
type walkResult struct {
	files     []string // real slash paths of YAML files, not kustomization files
	kustDirs  []string // slash dirs holding a kustomization file
	kustFiles map[string]string
}

func (l *loader) walk(start string) walkResult {
	res := walkResult{kustFiles: map[string]string{}}
	seen := map[string]bool{}
	filepath.WalkDir(start, func(p string, d fs.DirEntry, err error) error {
		rel := l.relOf(p)
		if err != nil {
			l.problem(rel, 0, "cannot read: %v", err)
			return nil
		}
		name := d.Name()
		if d.IsDir() {
			if p != start && strings.HasPrefix(name, ".") {
				return filepath.SkipDir // .git, .github and other tool folders
			}
			if name == "templates" && fileExists(filepath.Join(filepath.Dir(p), "Chart.yaml")) {
				return filepath.SkipDir // Helm templates are not YAML until rendered
			}
			for _, k := range kustomizationNames {
				if info, err := os.Lstat(filepath.Join(p, k)); err == nil && info.Mode().IsRegular() {
					res.kustDirs = append(res.kustDirs, rel)
					res.kustFiles[rel] = path.Join(rel, k)
					break
				}
			}
			return nil
		}
		if d.Type()&fs.ModeSymlink != 0 {
			real, info, err := l.root.Stat(rel)
			if err != nil {
				l.problem(rel, 0, "%s", refusal(err))
				return nil
			}
			if info.IsDir() {
				l.problem(rel, 0, "symlinked folder not followed")
				return nil
			}
			if !isYAMLName(name) {
				return nil
			}
			rel = real // index under the real file, which edits replace
		} else if !d.Type().IsRegular() || !isYAMLName(name) {
			return nil
		}
		for _, k := range kustomizationNames {
			if name == k {
				return nil
			}
		}
		if !seen[rel] {
			seen[rel] = true
			res.files = append(res.files, rel)
		}
		return nil
	})
	return res
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// loadAll parses files on all cores; each file is parsed once.
func (l *loader) loadAll(files []string) {
	work := make(chan string)
	var wg sync.WaitGroup
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for rel := range work {
				l.get(rel)
			}
		}()
	}
	for _, f := range files {
		work <- f
	}
	close(work)
	wg.Wait()
}

// openCheckout opens the checkout at root through its guard and resolves
// the folder sub to read inside it, returning a loader (which the caller
// must close) and the folder's absolute real path.
func openCheckout(root, sub string, maxBytes int64) (*loader, string, error) {
	checkout, err := safefile.OpenRoot(root)
	if err != nil {
		return nil, "", err
	}
	if sub == "" {
		sub = "."
	}
	startRel, info, err := checkout.Stat(sub)
	if err != nil {
		checkout.Close()
		return nil, "", fmt.Errorf("--path %w", err)
	}
	if !info.IsDir() {
		checkout.Close()
		return nil, "", fmt.Errorf("--path %s: not a folder in the checkout", sub)
	}
	l := &loader{root: checkout, maxBytes: maxBytes, files: map[string]*parsedFile{}}
	return l, checkout.Abs(startRel), nil
}

func (l *loader) close() { l.root.Close() }

// BuildIndex walks opts.Path inside the checkout at root and indexes every
// Kubernetes object declared there: plain manifests (multi-document files,
// List kinds), objects rendered by the root kustomizations (with their
// namespace, name prefix/suffix, replicas and patches applied), and "$latch"
// marker comments. Only a missing or escaping root or Path is an error;
// everything else wrong with the repository is in Index.Problems.
func BuildIndex(root string, opts IndexOptions) (*Index, error) {
	if opts.MaxFileBytes <= 0 {
		opts.MaxFileBytes = DefaultMaxFileBytes
	}
	if len(opts.Fields) == 0 {
		opts.Fields = []string{DefaultField}
	}
	l, start, err := openCheckout(root, opts.Path, opts.MaxFileBytes)
	if err != nil {
		return nil, err
	}
	defer l.close()
	walked := l.walk(start)
	l.loadAll(walked.files)

	b := &builder{loader: l, fields: opts.Fields}
	rendered, reached, inKustDir := b.renderKustomizations(walked)
	var all []*object
	all = append(all, rendered...)
	for _, rel := range walked.files {
		// Files a kustomization reaches belong to its rendering; files
		// beside a kustomization that it does not list are not applied.
		if reached[rel] || inKustDir[path.Dir(rel)] {
			continue
		}
		f := l.get(rel)
		if !f.ok {
			continue
		}
		for _, doc := range f.docs {
			all = append(all, b.objectsFromDoc(f.src, doc)...)
		}
	}

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
	var rels []string
	for rel, f := range l.files {
		if f.ok {
			rels = append(rels, rel)
		}
	}
	sort.Strings(rels)
	for _, rel := range rels {
		f := l.files[rel]
		for _, m := range scanMarkers(f, l) {
			k := markerKey{id: m.ref.Key(), field: m.field}
			idx.markers[k] = append(idx.markers[k], m)
			if m.decl.err == nil {
				use(m.decl.loc, m.ref, m.field)
			}
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

// objectsFromDoc returns the objects a document declares: itself, or the
// items of a List kind.
func (b *builder) objectsFromDoc(src textSource, doc *yaml.Node) []*object {
	if doc.Kind != yaml.MappingNode {
		return nil
	}
	apiVersion, kind := stringAt(doc, "apiVersion"), stringAt(doc, "kind")
	if apiVersion == "" || kind == "" {
		return nil
	}
	if strings.HasSuffix(kind, "List") {
		if items, _ := mapValue(doc, "items"); items != nil && items.Kind == yaml.SequenceNode {
			var out []*object
			for _, it := range items.Content {
				out = append(out, b.objectsFromDoc(src, it)...)
			}
			return out
		}
	}
	name := stringAt(doc, "metadata", "name")
	if name == "" {
		return nil
	}
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
	return []*object{o}
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
