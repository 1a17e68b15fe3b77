//go:build unix

package safefile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

const secret = "s3cr3t-password-do-not-print"

// checkout builds a root with an outside folder holding a secret, and the
// links an attacker would commit.
func checkout(t testing.TB) (root, outside string) {
	t.Helper()
	base := t.TempDir()
	root, outside = filepath.Join(base, "repo"), filepath.Join(base, "outside")
	write := func(p, content string) {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	link := func(target, name string) {
		if err := os.Symlink(target, filepath.Join(root, name)); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(outside, "password"), secret)
	write(filepath.Join(outside, "conf", "latch.yaml"), secret)
	write(filepath.Join(root, "apps", "web.yaml"), "kind: Deployment\n")
	write(filepath.Join(root, "big.yaml"), strings.Repeat("x", 2000))
	link(filepath.Join(outside, "password"), "escape.yaml")               // absolute link out
	link("../outside/password", "relative-escape.yaml")                   // relative link out
	link(filepath.Join(outside, "conf"), "conf")                          // a folder link out
	link(filepath.Join(root, "apps", "web.yaml"), "absolute-inside.yaml") // absolute, but inside
	link("apps/web.yaml", "inside.yaml")                                  // relative, inside
	link("apps", "appsdir")                                               // a folder link inside
	link("/dev/zero", "zero.yaml")                                        // a device outside
	link(filepath.Join(root, "nothing-here"), "dangling.yaml")            // to nothing
	link(filepath.Join(outside, "no-such-file"), "dangling-out.yaml")     // to nothing, outside
	if err := syscall.Mkfifo(filepath.Join(root, "fifo.yaml"), 0o644); err != nil {
		t.Fatal(err)
	}
	return root, outside
}

func TestReadFile(t *testing.T) {
	root, outside := checkout(t)
	r, err := OpenRoot(root)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	tests := []struct {
		rel      string
		wantReal string // read, from this real path
		wantErr  error
		errHas   string
	}{
		{rel: "apps/web.yaml", wantReal: "apps/web.yaml"},
		{rel: "apps\\..\\apps/web.yaml", wantErr: fs.ErrNotExist}, // a backslash is part of a name on Unix
		{rel: "./apps/../apps/web.yaml", wantReal: "apps/web.yaml"},
		{rel: "inside.yaml", wantReal: "apps/web.yaml"},
		{rel: "absolute-inside.yaml", wantReal: "apps/web.yaml"},
		{rel: "appsdir/web.yaml", wantReal: "apps/web.yaml"},
		{rel: "escape.yaml", wantErr: ErrOutside, errHas: "escape.yaml: refused: a symlink leads outside the checkout"},
		{rel: "relative-escape.yaml", wantErr: ErrOutside, errHas: "symlink leads outside"},
		{rel: "conf/latch.yaml", wantErr: ErrOutside, errHas: "conf/latch.yaml: refused: a symlink leads outside"},
		{rel: "../outside/password", wantErr: ErrOutside, errHas: "escapes the checkout"},
		{rel: "apps/../../outside/password", wantErr: ErrOutside, errHas: "escapes the checkout"},
		{rel: filepath.Join(outside, "password"), wantErr: ErrOutside, errHas: "an absolute path"},
		{rel: "zero.yaml", wantErr: ErrOutside, errHas: "zero.yaml: refused"},
		{rel: "fifo.yaml", wantErr: ErrNotRegular, errHas: "fifo.yaml: refused: a named pipe, not a regular file"},
		{rel: "apps", wantErr: ErrNotRegular, errHas: "apps: refused: a folder"},
		{rel: ".", wantErr: ErrNotRegular, errHas: "a folder"},
		{rel: "big.yaml", wantErr: ErrTooLarge, errHas: "big.yaml: refused: 2000 bytes is over the 1000-byte limit"},
		{rel: "dangling.yaml", wantErr: ErrBrokenLink, errHas: "dangling.yaml: refused: a symlink to nothing"},
		{rel: "dangling-out.yaml", wantErr: ErrBrokenLink},
		{rel: "missing.yaml", wantErr: fs.ErrNotExist, errHas: "missing.yaml: cannot read: no such file or directory"},
	}
	for _, tc := range tests {
		t.Run(tc.rel, func(t *testing.T) {
			real, data, err := r.ReadFile(tc.rel, 1000)
			if tc.wantErr == nil {
				if err != nil || real != tc.wantReal || string(data) != "kind: Deployment\n" {
					t.Fatalf("ReadFile = %q, %q, %v; want %s's content", real, data, err, tc.wantReal)
				}
				return
			}
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("ReadFile error = %v, want %v", err, tc.wantErr)
			}
			var fe *Error
			if !errors.As(err, &fe) {
				t.Errorf("error %T is not a *safefile.Error", err)
			}
			if !strings.Contains(err.Error(), tc.errHas) {
				t.Errorf("error %q does not say %q", err, tc.errHas)
			}
			if strings.Contains(err.Error(), secret) || !strings.Contains(tc.rel, outside) && strings.Contains(err.Error(), outside) {
				t.Errorf("error %q shows the secret or where a link points", err)
			}
			if data != nil {
				t.Errorf("refused, yet returned %d bytes", len(data))
			}
		})
	}
}

// TestReadFileDefaultCap: 0 means the default cap, and a file just at the
// cap is read.
func TestReadFileDefaultCap(t *testing.T) {
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "at.yaml"), make([]byte, DefaultMaxBytes), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "over.yaml"), make([]byte, DefaultMaxBytes+1), 0o644); err != nil {
		t.Fatal(err)
	}
	if data, err := ReadFile(root, "at.yaml", 0); err != nil || int64(len(data)) != DefaultMaxBytes {
		t.Errorf("a file of exactly the cap: %d bytes, %v", len(data), err)
	}
	if _, err := ReadFile(root, "over.yaml", 0); !errors.Is(err, ErrTooLarge) {
		t.Errorf("a file one byte over the cap: %v, want ErrTooLarge", err)
	}
}

func TestOpenRootThroughSymlink(t *testing.T) {
	base := t.TempDir()
	if err := os.MkdirAll(filepath.Join(base, "real"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(base, "real", "f"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(base, "real"), filepath.Join(base, "link")); err != nil {
		t.Fatal(err)
	}
	r, err := OpenRoot(filepath.Join(base, "link"))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if real, data, err := r.ReadFile("f", 0); err != nil || real != "f" || string(data) != "x" {
		t.Errorf("ReadFile through a linked root = %q, %q, %v", real, data, err)
	}
	if _, err := OpenRoot(filepath.Join(base, "missing")); err == nil {
		t.Error("OpenRoot of a missing folder succeeded")
	}
}
