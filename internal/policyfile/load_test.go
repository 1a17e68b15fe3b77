package policyfile

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/latch-gitops/latch/internal/safefile"
)

func writeFile(t *testing.T, dir, rel, content string) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestLoad(t *testing.T) {
	good := "apiVersion: latch.dev/v1alpha1\nkind: LatchPolicy\nspec:\n  rules:\n    - name: r\n      fields: {spec.replicas: immutable}\n"
	dir := t.TempDir()
	writeFile(t, dir, "latch.yaml", good)
	writeFile(t, dir, "bad/latch.yaml", "apiVersion: latch.dev/v1alpha1\nkind: LatchPolicy\nspec: {rulez: []}\n")
	if err := os.MkdirAll(filepath.Join(dir, "dir", "latch.yaml"), 0o755); err != nil {
		t.Fatal(err)
	}
	pol, err := Load(dir, "latch.yaml")
	if err != nil || !pol.FromFile || pol.Source != "latch.yaml" || len(pol.Rules) != 3 {
		t.Errorf("Load(latch.yaml) = %+v, %v; want the file's policy", pol, err)
	}
	pol, err = Load(dir, "missing/latch.yaml")
	if err != nil || pol.FromFile || !strings.Contains(pol.Source, "no missing/latch.yaml") {
		t.Errorf("Load(missing) = %+v, %v; want the built-in policy, saying so", pol, err)
	}
	if _, err := Load(dir, "bad/latch.yaml"); err == nil || !strings.HasPrefix(err.Error(), "bad/latch.yaml:3:8: spec.rulez: unknown key") {
		t.Errorf("Load(bad) error = %v; want the parse error, not a fallback", err)
	}
	if _, err := Load(dir, "dir/latch.yaml"); err == nil || !strings.Contains(err.Error(), "reading policy file dir/latch.yaml") {
		t.Errorf("Load(directory) error = %v; want a read error", err)
	}
	if _, err := Load(filepath.Join(dir, "no-checkout"), "latch.yaml"); err == nil {
		t.Error("Load from a checkout that does not exist fell back to the built-in policy")
	}
}

// TestLoadGuard is issue 9 items 1 and 2: latch.yaml is read through the
// repository guard. Before it, a latch.yaml linked to a secret outside the
// checkout was parsed and its content printed in the error ("must be a
// mapping, got string \"<content>\""), one linked to /dev/zero was read
// until memory ran out, and a 50 MB one was parsed every pass.
func TestLoadGuard(t *testing.T) {
	const secret = "hunter2-git-password"
	base := t.TempDir()
	dir, outside := filepath.Join(base, "repo"), filepath.Join(base, "credentials")
	writeFile(t, outside, "password", secret+"\n")
	writeFile(t, outside, "latch.yaml", secret+"\n")
	writeFile(t, dir, "README.md", "a checkout\n")
	link := func(target, name string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	link(filepath.Join(outside, "password"), "latch.yaml")
	link("../../credentials/password", "rel/latch.yaml")
	link(outside, "conf") // --policy conf/latch.yaml through a symlinked folder
	link("/dev/zero", "zero/latch.yaml")
	big := strings.Repeat("# a comment line that pads the policy file out\n", 50<<20/48)
	big = "apiVersion: latch.dev/v1alpha1\nkind: LatchPolicy\n" + big
	writeFile(t, dir, "big/latch.yaml", big)

	tests := []struct {
		name   string
		errHas string
		is     error
	}{
		{"latch.yaml", "reading policy file latch.yaml: refused: a symlink leads outside the checkout", safefile.ErrOutside},
		{"rel/latch.yaml", "rel/latch.yaml: refused: a symlink leads outside the checkout", safefile.ErrOutside},
		{"conf/latch.yaml", "conf/latch.yaml: refused: a symlink leads outside the checkout", safefile.ErrOutside},
		{"../credentials/password", "../credentials/password: refused: it escapes the checkout", safefile.ErrOutside},
		{"zero/latch.yaml", "zero/latch.yaml: refused", safefile.ErrOutside},
		{"big/latch.yaml", fmt.Sprintf("big/latch.yaml: refused: %d bytes is over the 1048576-byte limit", len(big)), safefile.ErrTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pol, err := Load(dir, tc.name)
			if err == nil {
				t.Fatalf("Load(%s) = %s; want a refusal", tc.name, pol.Source)
			}
			if !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.errHas) {
				t.Errorf("Load(%s) error = %v; want %q (%v)", tc.name, err, tc.errHas, tc.is)
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("Load(%s) error shows the secret: %v", tc.name, err)
			}
		})
	}
}

// TestLoadErrorExcerpt: a file inside the checkout that is not a policy is
// reported with a short excerpt at its position, not replayed whole.
func TestLoadErrorExcerpt(t *testing.T) {
	dir := t.TempDir()
	content := strings.Repeat("token-", 200)
	writeFile(t, dir, "latch.yaml", content+"\n")
	_, err := Load(dir, "latch.yaml")
	want := `latch.yaml:1:1: must be a mapping, got string "` + content[:40] + `"… (1200 bytes)`
	if err == nil || err.Error() != want {
		t.Errorf("error = %v\nwant %s", err, want)
	}
}
