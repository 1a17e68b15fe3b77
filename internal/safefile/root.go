package safefile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// DefaultMaxBytes is the size cap for a file read from a repository. Every
// file latch reads there is written by hand (a manifest, latch.yaml); a
// bigger one is a mistake or an attack, and latch re-reads it every pass.
const DefaultMaxBytes int64 = 1 << 20

// Why a file was refused; match with errors.Is.
var (
	// ErrOutside: the path, or a symlink on it, leads outside the checkout.
	ErrOutside = errors.New("outside the checkout")
	// ErrNotRegular: a folder, FIFO, device or socket, not a regular file.
	ErrNotRegular = errors.New("not a regular file")
	// ErrTooLarge: the file is over the size cap.
	ErrTooLarge = errors.New("over the size limit")
	// ErrBrokenLink: the path is a symlink to nothing.
	ErrBrokenLink = errors.New("broken symlink")
)

// Error is a file latch did not read or resolve. Its message is the path as
// asked, then why; never the file's content or a symlink's target outside.
type Error struct {
	Path string // slash path relative to the checkout, as asked
	// Err is one of the sentinels above, or the underlying error (which
	// matches fs.ErrNotExist, fs.ErrPermission... with errors.Is).
	Err error
	// Detail says why in words, e.g. "refused: a symlink leads outside the
	// checkout" or "refused: 3100 bytes is over the 1000-byte limit".
	Detail string
}

func (e *Error) Error() string { return e.Path + ": " + e.Detail }

func (e *Error) Unwrap() error { return e.Err }

// Root is a checkout opened for guarded reads. It is safe for concurrent use.
type Root struct {
	dir  string // absolute, symlinks resolved
	root *os.Root
}

// OpenRoot opens the checkout at dir (which may itself be reached through
// symlinks). The caller must Close it.
func OpenRoot(dir string) (*Root, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("checkout root %s: %w", dir, err)
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return nil, fmt.Errorf("checkout root %s: %w", dir, err)
	}
	root, err := os.OpenRoot(real)
	if err != nil {
		return nil, fmt.Errorf("checkout root %s: %w", dir, err)
	}
	return &Root{dir: real, root: root}, nil
}

// Close releases the folder handle.
func (r *Root) Close() error { return r.root.Close() }

// Dir is the checkout's absolute path with symlinks resolved.
func (r *Root) Dir() string { return r.dir }

// Abs is the absolute path of a real slash path relative to the root.
func (r *Root) Abs(rel string) string { return filepath.Join(r.dir, filepath.FromSlash(rel)) }

// Rel is the slash path relative to the root of an absolute path inside it.
func (r *Root) Rel(abs string) string {
	rel, err := filepath.Rel(r.dir, abs)
	if err != nil {
		return filepath.ToSlash(abs)
	}
	return filepath.ToSlash(rel)
}

// Resolve follows every symlink on rel (slash or OS separated, relative to
// the root) and returns the real slash path relative to the root, or an
// *Error: ErrOutside when rel is absolute, climbs out with "..", or a
// symlink on it leads outside; ErrBrokenLink when it is a dangling symlink;
// else the not-exist or permission error. The result may be a folder.
func (r *Root) Resolve(rel string) (string, error) {
	asked := filepath.ToSlash(rel)
	if rel == "" {
		rel = "."
	}
	p := filepath.FromSlash(rel)
	if filepath.IsAbs(p) || strings.HasPrefix(asked, "/") {
		return "", &Error{Path: asked, Err: ErrOutside, Detail: "refused: an absolute path; paths must stay inside the checkout"}
	}
	joined := filepath.Join(r.dir, p)
	if !within(r.dir, joined) {
		return "", &Error{Path: asked, Err: ErrOutside, Detail: "refused: it escapes the checkout"}
	}
	real, err := filepath.EvalSymlinks(joined)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			if info, lerr := os.Lstat(joined); lerr == nil && info.Mode()&fs.ModeSymlink != 0 {
				return "", &Error{Path: asked, Err: ErrBrokenLink, Detail: "refused: a symlink to nothing"}
			}
		}
		return "", &Error{Path: asked, Err: err, Detail: "cannot read: " + cause(err)}
	}
	if !within(r.dir, real) {
		return "", &Error{Path: asked, Err: ErrOutside, Detail: "refused: a symlink leads outside the checkout"}
	}
	return r.Rel(real), nil
}

// Stat resolves rel (see Resolve) and describes what it leads to.
func (r *Root) Stat(rel string) (real string, info fs.FileInfo, err error) {
	real, err = r.Resolve(rel)
	if err != nil {
		return "", nil, err
	}
	info, err = r.root.Lstat(filepath.FromSlash(real))
	if err != nil {
		return "", nil, &Error{Path: filepath.ToSlash(rel), Err: err, Detail: "cannot read: " + cause(err)}
	}
	return real, info, nil
}

// ReadFile resolves rel (see Resolve) and reads the regular file it leads
// to, refusing one over maxBytes (0 means DefaultMaxBytes) before reading
// any of it. It returns the real slash path read, which differs from rel
// when rel goes through symlinks inside the checkout.
func (r *Root) ReadFile(rel string, maxBytes int64) (real string, data []byte, err error) {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	asked := filepath.ToSlash(rel)
	real, info, err := r.Stat(rel)
	if err != nil {
		return "", nil, err
	}
	if err := checkFile(asked, info, maxBytes); err != nil {
		return "", nil, err
	}
	// The real path has no symlinks left; os.Root still refuses one that
	// appeared since (a race), and O_NONBLOCK keeps a FIFO swapped in from
	// blocking the open.
	f, err := r.root.OpenFile(filepath.FromSlash(real), os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return "", nil, &Error{Path: asked, Err: err, Detail: "cannot read: " + cause(err)}
	}
	defer f.Close()
	opened, err := f.Stat()
	if err != nil {
		return "", nil, &Error{Path: asked, Err: err, Detail: "cannot read: " + cause(err)}
	}
	if err := checkFile(asked, opened, maxBytes); err != nil {
		return "", nil, err
	}
	data, err = io.ReadAll(io.LimitReader(f, maxBytes+1))
	if err != nil {
		return "", nil, &Error{Path: asked, Err: err, Detail: "cannot read: " + cause(err)}
	}
	if int64(len(data)) > maxBytes { // it grew while being read
		return "", nil, tooLarge(asked, int64(len(data)), maxBytes)
	}
	return real, data, nil
}

// ReadFile opens the checkout at dir, reads rel with Root.ReadFile and
// closes it: for a caller that reads one file per pass, such as latch.yaml.
func ReadFile(dir, rel string, maxBytes int64) ([]byte, error) {
	r, err := OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	_, data, err := r.ReadFile(rel, maxBytes)
	return data, err
}

func checkFile(asked string, info fs.FileInfo, maxBytes int64) error {
	if !info.Mode().IsRegular() {
		return &Error{Path: asked, Err: ErrNotRegular, Detail: "refused: " + describeMode(info.Mode()) + ", not a regular file"}
	}
	if info.Size() > maxBytes {
		return tooLarge(asked, info.Size(), maxBytes)
	}
	return nil
}

func tooLarge(asked string, size, maxBytes int64) error {
	return &Error{Path: asked, Err: ErrTooLarge, Detail: fmt.Sprintf("refused: %d bytes is over the %d-byte limit for a file latch reads from the repository", size, maxBytes)}
}

func describeMode(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a folder"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	case m&fs.ModeSymlink != 0:
		return "a symlink"
	}
	return "a special file"
}

// cause is an error without the path os put in it: the caller names the
// file as the user wrote it.
func cause(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return le.Err.Error()
	}
	return err.Error()
}

// within reports whether p is root or below it (both absolute and clean).
func within(root, p string) bool {
	rel, err := filepath.Rel(root, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}
