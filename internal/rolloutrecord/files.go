package rolloutrecord

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/latch-gitops/latch/internal/objectid"
	"github.com/latch-gitops/latch/internal/safefile"
)

// Set is every record a checkout holds, by workload.
type Set struct {
	Records map[objectid.Key]*Record
	// Files maps each record's workload to its file.
	Files map[objectid.Key]string
}

// Get returns the record of ref, or nil.
func (s *Set) Get(ref objectid.Ref) *Record {
	if s == nil {
		return nil
	}
	return s.Records[ref.Key()]
}

// With returns a copy of s in which each record of overlay (records waiting
// in latch's rollout PRs, newer than the checkout's) stands in for the
// checkout's record of its workload, under the file it would be written to.
// A record whose file cannot be named is left out. s itself is unchanged.
func (s *Set) With(overlay map[objectid.Key]*Record) *Set {
	out := &Set{Records: map[objectid.Key]*Record{}, Files: map[objectid.Key]string{}}
	if s != nil {
		maps.Copy(out.Records, s.Records)
		maps.Copy(out.Files, s.Files)
	}
	for key, rec := range overlay {
		file, err := Path(rec.Object)
		if err != nil {
			continue
		}
		out.Records[key], out.Files[key] = rec, file
	}
	return out
}

// Sorted returns the records ordered by file.
func (s *Set) Sorted() []*Record {
	if s == nil {
		return nil
	}
	keys := make([]objectid.Key, 0, len(s.Records))
	for k := range s.Records {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return s.Files[keys[i]] < s.Files[keys[j]] })
	out := make([]*Record, len(keys))
	for i, k := range keys {
		out[i] = s.Records[k]
	}
	return out
}

// Load reads every record under Dir in the checkout at root, through the
// checkout guard. A missing folder is no records. A file that cannot be
// read or parsed is in errs (each naming the file and the field); the
// others are read regardless, and the caller decides whether a broken
// record stops it.
func Load(root string) (*Set, []error, error) {
	r, err := safefile.OpenRoot(root)
	if err != nil {
		return nil, nil, err
	}
	defer r.Close()
	set := &Set{Records: map[objectid.Key]*Record{}, Files: map[objectid.Key]string{}}
	real, info, err := r.Stat(Dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return set, nil, nil
	case err != nil:
		return nil, nil, err
	case !info.IsDir():
		return nil, nil, fmt.Errorf("%s: not a folder", Dir)
	case real != Dir:
		return nil, nil, fmt.Errorf("%s: refused: a symlink; rollout records must be plain files in the checkout", Dir)
	}
	var errs []error
	walkErr := filepath.WalkDir(r.Abs(Dir), func(p string, d fs.DirEntry, err error) error {
		rel := r.Rel(p)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: cannot read: %w", rel, err))
			return nil
		}
		if d.IsDir() || !strings.HasSuffix(d.Name(), Ext) {
			return nil
		}
		_, data, err := r.ReadFile(rel, MaxBytes)
		if err != nil {
			errs = append(errs, err)
			return nil
		}
		rec, err := Parse(rel, data)
		if err != nil {
			errs = append(errs, err)
			return nil
		}
		key := rec.Object.Key()
		if other, dup := set.Files[key]; dup {
			errs = append(errs, &Error{File: rel, Field: "object", Problem: fmt.Sprintf("%s already has a record in %s", rec.Object, other)})
			return nil
		}
		set.Records[key], set.Files[key] = rec, rel
		return nil
	})
	if walkErr != nil {
		return nil, nil, walkErr
	}
	return set, errs, nil
}

// Write writes r's file into the checkout at root (creating its folders)
// atomically, and returns its slash path. It refuses to write through a
// symlink or outside the checkout.
func Write(root string, r Record) (string, error) {
	rel, err := Path(r.Object)
	if err != nil {
		return "", err
	}
	data, err := Build(r)
	if err != nil {
		return "", err
	}
	g, err := safefile.OpenRoot(root)
	if err != nil {
		return "", err
	}
	defer g.Close()
	// Every folder on the way must be a real folder inside the checkout.
	for dir := path.Dir(rel); ; dir = path.Dir(dir) {
		if real, info, err := g.Stat(dir); err == nil {
			if !info.IsDir() || real != dir {
				return "", fmt.Errorf("%s: refused: not a plain folder in the checkout", dir)
			}
			break
		} else if !errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
		if dir == "." || !strings.Contains(dir, "/") {
			break
		}
	}
	if real, _, err := g.Stat(rel); err == nil && real != rel {
		return "", fmt.Errorf("%s: refused: a symlink; rollout records must be plain files", rel)
	}
	if err := os.MkdirAll(g.Abs(path.Dir(rel)), 0o755); err != nil {
		return "", fmt.Errorf("%s: %w", path.Dir(rel), err)
	}
	if err := safefile.WriteFile(g.Abs(rel), data, 0o644); err != nil {
		return "", fmt.Errorf("%s: %w", rel, err)
	}
	return rel, nil
}
