package manifest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync"

	"github.com/latch-gitops/latch/internal/safefile"
)

// ErrConflict means the bytes at an edit's location no longer hold the value
// the index saw: someone changed the file since. Re-index and decide again.
var ErrConflict = errors.New("file changed since it was indexed")

// Edit asks for the scalar at Loc (as returned by Index.Lookup) to become
// NewValue. Loc.Value is the value expected to be there now.
type Edit struct {
	Loc      Location
	NewValue int64
}

// ApplyEdits applies the edits, file by file. For each file it re-reads the
// bytes, checks every location still holds its expected value (else an error
// wrapping ErrConflict), replaces only the digits, re-parses the result and
// checks each edited scalar now holds its new value, then replaces the file
// atomically (safefile.Replace), keeping its mode. Files are read through
// the checkout's guard, with the index's default size cap. A file that fails any check is not written; files
// are checked before any is written, so one bad edit writes nothing. It
// returns the slash paths (relative to root) of files whose bytes changed.
func ApplyEdits(root string, edits []Edit) ([]string, error) {
	checkout, err := safefile.OpenRoot(root)
	if err != nil {
		return nil, err
	}
	defer checkout.Close()
	byFile := map[string][]Edit{}
	var files []string
	for _, e := range edits {
		if e.NewValue < 0 {
			return nil, fmt.Errorf("%s:%d: new value %d is negative", e.Loc.File, e.Loc.Line, e.NewValue)
		}
		if _, ok := byFile[e.Loc.File]; !ok {
			files = append(files, e.Loc.File)
		}
		byFile[e.Loc.File] = append(byFile[e.Loc.File], e)
	}
	sort.Strings(files)

	type pending struct {
		rel, abs string
		mode     os.FileMode
		data     []byte
	}
	var writes []pending
	for _, rel := range files {
		real, info, err := checkout.Stat(rel)
		if err != nil {
			return nil, fmt.Errorf("edit %w", err)
		}
		_, old, err := checkout.ReadFile(real, DefaultMaxFileBytes)
		if err != nil {
			return nil, fmt.Errorf("edit %w", err)
		}
		abs := checkout.Abs(real)
		updated, err := editBytes(old, byFile[rel])
		if err != nil {
			return nil, fmt.Errorf("edit %s: %w", rel, err)
		}
		if !bytes.Equal(old, updated) {
			writes = append(writes, pending{rel: rel, abs: abs, mode: info.Mode().Perm(), data: updated})
		}
	}
	// Writes are independent and mostly wait on fsync, so overlap them;
	// each directory is synced once after its renames.
	errs := make([]error, len(writes))
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i, w := range writes {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			errs[i] = safefile.Replace(w.abs, w.data, w.mode)
		}()
	}
	wg.Wait()
	var changed []string
	dirs := map[string]bool{}
	var firstErr error
	for i, w := range writes {
		if errs[i] != nil {
			if firstErr == nil {
				firstErr = fmt.Errorf("edit %s: %w", w.rel, errs[i])
			}
			continue
		}
		changed = append(changed, w.rel)
		dirs[filepath.Dir(w.abs)] = true
	}
	for dir := range dirs {
		// Make the renames durable; a failure here still leaves complete files.
		_ = safefile.SyncDir(dir)
	}
	return changed, firstErr
}

// editBytes applies edits to one file's bytes and verifies the result. It is
// pure, so tests and the fuzz target exercise exactly what ApplyEdits writes.
func editBytes(data []byte, edits []Edit) ([]byte, error) {
	sorted := append([]Edit(nil), edits...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Loc.Offset < sorted[j].Loc.Offset })
	for i, e := range sorted {
		l := e.Loc
		if i > 0 && l.Offset < sorted[i-1].Loc.Offset+sorted[i-1].Loc.Length {
			return nil, fmt.Errorf("line %d: two edits overlap at the same value", l.Line)
		}
		if l.Length <= 0 || l.Offset < 0 || l.Offset+l.Length > len(data) || l.Length != len(l.Value) {
			return nil, fmt.Errorf("line %d: location outside the file (%w)", l.Line, ErrConflict)
		}
		if got := string(data[l.Offset : l.Offset+l.Length]); got != l.Value {
			return nil, fmt.Errorf("line %d: expected %q, found %q (%w)", l.Line, l.Value, got, ErrConflict)
		}
		if !nonNegativeInt.MatchString(l.Value) {
			return nil, fmt.Errorf("line %d: %q is not a plain integer", l.Line, l.Value)
		}
		// The bytes match, but so might an unrelated "3" if lines moved:
		// the parser must still place this very scalar here.
		if v, err := scalarValueAt(data, l.Line, l.Column); err != nil || v != l.Value {
			return nil, fmt.Errorf("line %d column %d: the value there is no longer the indexed scalar (%w)", l.Line, l.Column, ErrConflict)
		}
	}
	out := make([]byte, 0, len(data)+8*len(sorted))
	prev := 0
	type check struct {
		line, column int
		want         string
	}
	checks := make([]check, 0, len(sorted))
	shiftOnLine, lastLine := 0, -1
	for _, e := range sorted {
		l := e.Loc
		digits := strconv.FormatInt(e.NewValue, 10)
		out = append(out, data[prev:l.Offset]...)
		out = append(out, digits...)
		prev = l.Offset + l.Length
		// Digits are ASCII, so earlier edits on the same line move this
		// scalar's column by their change in length.
		if l.Line != lastLine {
			shiftOnLine, lastLine = 0, l.Line
		}
		checks = append(checks, check{line: l.Line, column: l.Column + shiftOnLine, want: digits})
		shiftOnLine += len(digits) - l.Length
	}
	out = append(out, data[prev:]...)
	for _, c := range checks {
		v, err := scalarValueAt(out, c.line, c.column)
		if err != nil {
			return nil, fmt.Errorf("the edited file would not parse or lost the value at line %d, not writing it: %w", c.line, err)
		}
		if v != c.want {
			return nil, fmt.Errorf("line %d: after the edit the value reads %q, not %q; not writing", c.line, v, c.want)
		}
	}
	return out, nil
}
