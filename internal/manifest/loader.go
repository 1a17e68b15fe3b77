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
	"strings"
	"sync"

	yaml "go.yaml.in/yaml/v3"

	"github.com/latch-gitops/latch/internal/safefile"
)

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

// loadCheckout opens the checkout at root (openCheckout) and walks the
// folder sub; files are read when a kustomization or streamPlain needs
// them. maxBytes 0 is DefaultMaxFileBytes. The caller closes the loader.
func loadCheckout(root, sub string, maxBytes int64) (*loader, walkResult, error) {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxFileBytes
	}
	l, start, err := openCheckout(root, sub, maxBytes)
	if err != nil {
		return nil, walkResult{}, err
	}
	return l, l.walk(start), nil
}

// cached is the file a kustomization already read, or nil.
func (l *loader) cached(rel string) *parsedFile {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.files[rel]
}

// plainObjects reads every walked file once, on all cores, after the
// kustomizations are rendered, and returns what fromDoc makes of each
// document of the plain files (those no kustomization reached and none sits
// beside), in file order. A file no kustomization read is parsed, turned
// into objects, scanned for "$latch" markers and then let go, so the YAML
// trees of a large repository never live at once: parsing every file up
// front put the first pass at 10,000 Deployments above the chart's memory
// limit (issue 9). fromDoc runs concurrently for documents of different
// files. It also returns the markers of every readable file, those
// kustomizations read included, in file order.
func plainObjects[T any](l *loader, files []string, reached, inKustDir map[string]bool, fromDoc func(textSource, *yaml.Node) []T) ([]T, []markerDecl) {
	objects := make([][]T, len(files))
	markers := l.streamPlain(files, reached, inKustDir, func(i int, f *parsedFile) {
		if !f.ok {
			return
		}
		for _, doc := range f.docs {
			objects[i] = append(objects[i], fromDoc(f.src, doc)...)
		}
	})
	var out []T
	for _, objs := range objects {
		out = append(out, objs...)
	}
	return out, markers
}

// streamPlain is plainObjects' reading: it hands each plain file to
// visit(i, f), i its index in files, concurrently for distinct i (f.ok is
// false for a file that is already a Problem), and returns the markers.
func (l *loader) streamPlain(files []string, reached, inKustDir map[string]bool, visit func(i int, f *parsedFile)) []markerDecl {
	streamed := make([][]markerDecl, len(files))
	work := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				rel := files[i]
				f := l.cached(rel)
				own := f == nil
				if own {
					f = l.read(rel)
				}
				if !reached[rel] && !inKustDir[path.Dir(rel)] {
					visit(i, f)
				}
				if own && f.ok {
					streamed[i] = scanMarkers(f, l)
				}
			}
		}()
	}
	for i := range files {
		work <- i
	}
	close(work)
	wg.Wait()

	// Markers in file order: the streamed files' and the kept files'.
	byRel := map[string][]markerDecl{}
	for i, ms := range streamed {
		if len(ms) > 0 {
			byRel[files[i]] = ms
		}
	}
	for rel, f := range l.files {
		if f.ok {
			byRel[rel] = scanMarkers(f, l)
		}
	}
	rels := make([]string, 0, len(byRel))
	for rel := range byRel {
		rels = append(rels, rel)
	}
	sort.Strings(rels)
	var out []markerDecl
	for _, rel := range rels {
		out = append(out, byRel[rel]...)
	}
	return out
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
		return nil, "", &FolderError{Err: err} // err names the folder
	}
	if !info.IsDir() {
		checkout.Close()
		return nil, "", &FolderError{Folder: sub, Err: errors.New("not a folder in the checkout")}
	}
	l := &loader{root: checkout, maxBytes: maxBytes, files: map[string]*parsedFile{}}
	return l, checkout.Abs(startRel), nil
}

func (l *loader) close() { l.root.Close() }

// FolderError: the folder to index (IndexOptions.Path) is unusable.
// cmd/latch names the flag that set it (--path).
type FolderError struct {
	// Folder is set when Err does not name it already.
	Folder string
	Err    error
}

func (e *FolderError) Error() string {
	if e.Folder == "" {
		return fmt.Sprintf("folder to index: %v", e.Err)
	}
	return fmt.Sprintf("folder to index %s: %v", e.Folder, e.Err)
}
func (e *FolderError) Unwrap() error { return e.Err }
