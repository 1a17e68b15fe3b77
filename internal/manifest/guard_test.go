//go:build unix

package manifest

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestIndexRefusesSpecialFiles: a FIFO reached through a symlink or named
// by a kustomization, and a link to /dev/zero, are refused as Problems
// rather than read. Before the guard, the first two blocked BuildIndex for
// ever (os.ReadFile on a FIFO waits for a writer).
func TestIndexRefusesSpecialFiles(t *testing.T) {
	root := t.TempDir()
	writeFile(t, root, "good.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: good, namespace: shop}\nspec: {replicas: 3}\n")
	must(t, syscall.Mkfifo(filepath.Join(root, "pipe"), 0o644))
	must(t, os.Symlink("pipe", filepath.Join(root, "pipe.yaml")))
	must(t, os.Symlink("/dev/zero", filepath.Join(root, "zero.yaml")))
	writeFile(t, root, "k/kustomization.yaml", "resources: [../pipe]\n")

	idx, err := BuildIndex(root, IndexOptions{})
	must(t, err)
	checkLookups(t, idx, []wantLoc{{ref: "apps/v1/Deployment/shop/good", file: "good.yaml", line: 4, value: "3", via: ViaManifest}})
	want := []struct{ file, has string }{
		// pipe.yaml and the kustomization both lead to pipe, reported once
		// under its real path.
		{"pipe", "refused: a named pipe, not a regular file"},
		{"zero.yaml", "refused: a symlink leads outside the checkout"},
	}
	for _, w := range want {
		found := false
		for _, p := range idx.Problems {
			found = found || p.File == w.file && strings.Contains(p.Message, w.has)
		}
		if !found {
			t.Errorf("no problem for %s saying %q in %v", w.file, w.has, idx.Problems)
		}
	}
}
