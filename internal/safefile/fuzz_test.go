//go:build unix

package safefile

import (
	"path"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzResolve feeds arbitrary paths to the guard over a checkout full of
// hostile links: whatever the path, a resolved one is a clean path inside
// the checkout with no symlink left on it, and nothing read or reported
// carries the secret kept beside the checkout.
func FuzzResolve(f *testing.F) {
	for _, seed := range []string{
		"apps/web.yaml", "inside.yaml", "escape.yaml", "conf/latch.yaml", "../outside/password",
		"appsdir/../escape.yaml", "appsdir/../../outside/password", "/etc/passwd", "zero.yaml",
		"fifo.yaml", ".", "", "apps//web.yaml", "a/../../b", "dangling.yaml", "conf/../apps/web.yaml",
	} {
		f.Add(seed)
	}
	root, _ := checkout(f)
	r, err := OpenRoot(root)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { r.Close() })
	f.Fuzz(func(t *testing.T, rel string) {
		if strings.ContainsRune(rel, 0) {
			return // not a path the OS accepts
		}
		real, err := r.Resolve(rel)
		if err != nil {
			if strings.Contains(err.Error(), secret) {
				t.Fatalf("Resolve(%q) error shows the secret: %v", rel, err)
			}
			return
		}
		if real != path.Clean(real) || real == ".." || strings.HasPrefix(real, "../") || path.IsAbs(real) {
			t.Fatalf("Resolve(%q) = %q: not a clean path inside the checkout", rel, real)
		}
		abs := r.Abs(real)
		if back, err := filepath.EvalSymlinks(abs); err != nil || back != abs {
			t.Fatalf("Resolve(%q) = %q, which still goes through a symlink (%q, %v)", rel, real, back, err)
		}
		_, data, err := r.ReadFile(rel, 0)
		if strings.Contains(string(data), secret) || err != nil && strings.Contains(err.Error(), secret) {
			t.Fatalf("ReadFile(%q) let the secret through", rel)
		}
	})
}
