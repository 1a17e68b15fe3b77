package gitrepo

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/latch-gitops/latch/internal/evidence"
)

var commitID = regexp.MustCompile(`^[0-9a-f]{7,64}$`)

// ExportTree writes the files of commit into dir (which must be empty or
// missing), for rendering an older version of the repository (latch
// restore's last-good templates) without touching any work tree: the
// user's checkout, its index and latch's own worktree stay as they are.
// Only regular files and folders are written, each inside dir; symlinks
// and submodules are skipped. commit must be a full or abbreviated id.
func (r *Repo) ExportTree(ctx context.Context, commit, dir string) error {
	if !commitID.MatchString(commit) {
		return fmt.Errorf("export of %q: not a commit id", commit)
	}
	r.mu.Lock()
	out, err := r.git.run(ctx, r.gitDir(), nil, "archive", "--format=tar", commit+"^{commit}")
	r.mu.Unlock()
	if err != nil {
		return fmt.Errorf("reading commit %s of %s: %w", ShortID(commit), r.remoteURL, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("export of %s: %w", ShortID(commit), err)
	}
	tr := tar.NewReader(bytes.NewReader([]byte(out)))
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("export of %s: %w", ShortID(commit), err)
		}
		name := path.Clean(h.Name)
		if name == "." || strings.HasPrefix(name, "../") || name == ".." || path.IsAbs(name) {
			continue
		}
		target := filepath.Join(dir, filepath.FromSlash(name))
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, 0o755); err != nil {
				return fmt.Errorf("export of %s: %w", ShortID(commit), err)
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				return fmt.Errorf("export of %s: %w", ShortID(commit), err)
			}
			f, err := os.OpenFile(target, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
			if err != nil {
				return fmt.Errorf("export of %s: %w", ShortID(commit), err)
			}
			_, err = io.Copy(f, tr)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return fmt.Errorf("export of %s: %s: %w", ShortID(commit), name, err)
			}
		}
	}
}

// ReadFileAt reads the regular file at slash path rel in commit, without
// writing anything to disk: for one file of a branch head (a rollout record
// in latch's PR) where ExportTree would copy the whole tree. found is false
// when commit has no entry at rel. A symlink, submodule or folder there is
// refused, as the checkout guard refuses them, and so is a file over
// maxBytes; errors name the file and never carry its content.
func (r *Repo) ReadFileAt(ctx context.Context, commit, rel string, maxBytes int64) (data []byte, found bool, err error) {
	if !commitID.MatchString(commit) {
		return nil, false, fmt.Errorf("reading %s at %q: not a commit id", rel, commit)
	}
	clean := path.Clean(rel)
	if rel == "" || clean != rel || clean == "." || clean == ".." || strings.HasPrefix(clean, "../") || path.IsAbs(clean) {
		return nil, false, fmt.Errorf("reading %q at %s: not a clean path inside the repository", rel, ShortID(commit))
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	// ls-tree names the entry's mode and object without reading it.
	out, err := r.git.run(ctx, r.gitDir(), nil, "ls-tree", "-z", "--full-tree", commit+"^{commit}", "--", clean)
	if err != nil {
		return nil, false, fmt.Errorf("reading %s at %s of %s: %w", clean, ShortID(commit), r.remoteURL, err)
	}
	entry, _, _ := strings.Cut(out, "\x00")
	if entry == "" {
		return nil, false, nil
	}
	meta, name, ok := strings.Cut(entry, "\t")
	fields := strings.Fields(meta)
	if !ok || name != clean || len(fields) != 3 {
		return nil, false, fmt.Errorf("reading %s at %s: unexpected tree entry", clean, ShortID(commit))
	}
	mode, kind, object := fields[0], fields[1], fields[2]
	if kind != "blob" || (mode != "100644" && mode != "100755") {
		return nil, false, fmt.Errorf("%s at %s: refused: not a regular file (mode %s); latch reads only plain files from the repository", clean, ShortID(commit), mode)
	}
	size, err := r.git.run(ctx, r.gitDir(), nil, "cat-file", "-s", object)
	if err != nil {
		return nil, false, fmt.Errorf("reading %s at %s: %w", clean, ShortID(commit), err)
	}
	n, err := strconv.ParseInt(strings.TrimSpace(size), 10, 64)
	if err != nil {
		return nil, false, fmt.Errorf("reading %s at %s: size %q: %w", clean, ShortID(commit), strings.TrimSpace(size), err)
	}
	if n > maxBytes {
		return nil, false, fmt.Errorf("%s at %s: refused: %d bytes is over the %d-byte limit for a file latch reads from the repository", clean, ShortID(commit), n, maxBytes)
	}
	// exec, not run: a failure's message is built from stderr alone, so
	// no part of the file can reach an error.
	blob, stderr, err := r.git.exec(ctx, r.gitDir(), nil, "cat-file", "blob", object)
	if err != nil {
		return nil, false, fmt.Errorf("reading %s at %s: %w", clean, ShortID(commit), r.git.failure(ctx, "cat-file", stderr, err))
	}
	return []byte(blob), true, nil
}

// LastChange is the newest commit at or before head, not latch's own, that
// changed any of paths (slash paths in the repository), and its first parent ("" for a
// root commit); both "" when none did. For the rollout follower: the commit
// that declared a workload's current template and the one before it.
func (r *Repo) LastChange(ctx context.Context, head string, paths ...string) (commit, parent string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.lastChange(ctx, head, paths...)
}

// LastChange is Repo.LastChange at the workspace's head, for an edit
// function (which runs with the Repo locked). A Workspace not made by
// CommitAndPush knows no history: it returns "", "".
func (w Workspace) LastChange(ctx context.Context, paths ...string) (commit, parent string, err error) {
	if w.repo == nil {
		return "", "", nil
	}
	return w.repo.lastChange(ctx, w.Head, paths...)
}

func (r *Repo) lastChange(ctx context.Context, head string, paths ...string) (commit, parent string, err error) {
	if !commitID.MatchString(head) {
		return "", "", fmt.Errorf("history of %q: not a commit id", head)
	}
	if len(paths) == 0 {
		return "", "", nil
	}
	// latch's own commits change scales and records, never a template: a
	// latch commit after the person's is not the one that declared it.
	args := append([]string{"log", "-1", "--format=%H %P", "--invert-grep", "--grep=^" + evidence.TrailerObject + ": ", head, "--"}, paths...)
	out, err := r.git.run(ctx, r.gitDir(), nil, args...)
	if err != nil {
		return "", "", fmt.Errorf("history of %s: %w", strings.Join(paths, ", "), err)
	}
	fields := strings.Fields(out)
	if len(fields) == 0 {
		return "", "", nil
	}
	if len(fields) > 1 {
		parent = fields[1]
	}
	return fields[0], parent, nil
}
