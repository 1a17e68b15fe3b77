package gitrepo

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/latch-gitops/latch/internal/evidence"
)

func TestExportTreeAndLastChange(t *testing.T) {
	remote, human := seedRemote(t)
	r := cloneRemote(t, remote, remoteAuth(remote))
	ctx := testContext(t)
	before, err := r.Refresh(ctx)
	if err != nil {
		t.Fatal(err)
	}
	human.Pull()
	human.WriteFile("apps/web.yaml", strings.Replace(human.ReadFile("apps/web.yaml"), "shop", "shop", 1)+"# image bump\n")
	declared := human.Commit("web: new template")
	human.WriteFile("README.md", "later\n")
	human.Commit("docs")
	human.Push()
	// A latch commit on the same file (a scale) is not a template change.
	if _, err := r.CommitAndPush(testContext(t), fastOptions(), edits(nil, setReplicas("apps/web.yaml", "shop/web", 40))); err != nil {
		t.Fatal(err)
	}
	head, err := r.Refresh(ctx)
	if err != nil {
		t.Fatal(err)
	}

	commit, parent, err := r.LastChange(ctx, head, "apps/web.yaml")
	if err != nil || commit != declared || parent != before {
		t.Fatalf("LastChange = %s, %s, %v; want %s, %s", commit, parent, err, declared, before)
	}
	if c, p, err := r.LastChange(ctx, head, "no/such.yaml"); err != nil || c != "" || p != "" {
		t.Fatalf("LastChange(untouched) = %q, %q, %v", c, p, err)
	}
	if _, _, err := r.LastChange(ctx, "HEAD; rm -rf /", "apps/web.yaml"); err == nil {
		t.Fatal("LastChange took a head that is not a commit id")
	}
	// Inside CommitAndPush the workspace answers at its own head.
	var inEdit string
	_, err = r.CommitAndPush(ctx, fastOptions(), func(ctx context.Context, ws Workspace) ([]evidence.Change, error) {
		inEdit, _, err = ws.LastChange(ctx, "apps/web.yaml")
		return nil, err
	})
	if err != nil || inEdit != declared {
		t.Fatalf("Workspace.LastChange = %s, %v; want %s", inEdit, err, declared)
	}

	dir := filepath.Join(t.TempDir(), "old")
	if err := r.ExportTree(ctx, before, dir); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "apps/web.yaml"))
	if err != nil || strings.Contains(string(data), "image bump") {
		t.Fatalf("exported apps/web.yaml = %q, %v; want the file as it was before", data, err)
	}
	if err := r.ExportTree(ctx, "--output=/tmp/x", dir); err == nil {
		t.Fatal("ExportTree took an option as a commit")
	}
	if err := r.ExportTree(ctx, strings.Repeat("0", 40), filepath.Join(t.TempDir(), "x")); err == nil {
		t.Fatal("ExportTree of a missing commit succeeded")
	}
}

func TestReadFileAt(t *testing.T) {
	remote, human := seedRemote(t)
	human.WriteFile(".latch/rollouts/shop/deployment-web.md", "---\nrecord\n---\n")
	human.WriteFile("big.txt", strings.Repeat("x", 2000))
	if err := os.Symlink("/etc/passwd", filepath.Join(human.Dir, "link.md")); err != nil {
		t.Fatal(err)
	}
	human.Commit("record, a big file and a link")
	human.Push()
	r := cloneRemote(t, remote, remoteAuth(remote))
	ctx := testContext(t)
	head, err := r.Refresh(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, path string
		// want is the content; found false means no such entry.
		want   string
		found  bool
		errHas string
	}{
		{name: "a record", path: ".latch/rollouts/shop/deployment-web.md", want: "---\nrecord\n---\n", found: true},
		{name: "a file of the seed", path: "apps/api.yaml", want: "replicas: 10\nimage: api:1\n", found: true},
		{name: "missing", path: ".latch/rollouts/shop/deployment-api.md"},
		{name: "a folder", path: ".latch/rollouts", errHas: "not a regular file"},
		{name: "a symlink", path: "link.md", errHas: "not a regular file"},
		{name: "over the cap", path: "big.txt", errHas: "2000 bytes is over the 1000-byte limit"},
		{name: "leaves the repository", path: "../x", errHas: "not a clean path"},
		{name: "not clean", path: "apps/../apps/api.yaml", errHas: "not a clean path"},
		{name: "absolute", path: "/etc/passwd", errHas: "not a clean path"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			data, found, err := r.ReadFileAt(ctx, head, tc.path, 1000)
			if tc.errHas != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errHas) {
					t.Fatalf("ReadFileAt(%s) = %q, %v, %v; want an error saying %q", tc.path, data, found, err, tc.errHas)
				}
				if strings.Contains(err.Error(), "xxxx") || strings.Contains(err.Error(), "root:") {
					t.Fatalf("the error shows file content: %v", err)
				}
				return
			}
			if err != nil || found != tc.found || string(data) != tc.want {
				t.Fatalf("ReadFileAt(%s) = %q, %v, %v; want %q, %v", tc.path, data, found, err, tc.want, tc.found)
			}
		})
	}
	if _, _, err := r.ReadFileAt(ctx, "--output=/tmp/x", "apps/api.yaml", 1000); err == nil {
		t.Fatal("ReadFileAt took an option as a commit")
	}
}
