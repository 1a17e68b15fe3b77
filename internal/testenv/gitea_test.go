package testenv

import (
	"context"
	"net/http"
	"path/filepath"
	"strconv"
	"testing"
)

// TestGiteaPullRequest pushes a branch to a real Gitea and opens a pull
// request through its REST API, then reads it back.
func TestGiteaPullRequest(t *testing.T) {
	forge := Gitea(t)
	ctx := context.Background()

	dir := filepath.Join(t.TempDir(), "clone")
	runGit(t, "", "clone", "--quiet", forge.AuthCloneURL(), dir)
	runGit(t, dir, "config", "user.name", "Human Operator")
	runGit(t, dir, "config", "user.email", "human@example.com")
	runGit(t, dir, "checkout", "--quiet", "-b", "latch/scale-web")
	h := &Human{t: t, Dir: dir}
	h.WriteFile("apps/web.yaml", "replicas: 40\n")
	h.Commit("latch: web replicas 3 → 40")
	runGit(t, dir, "push", "--quiet", "origin", "latch/scale-web")

	var created struct {
		Number int    `json:"number"`
		State  string `json:"state"`
		Title  string `json:"title"`
	}
	if _, err := forge.API(ctx, http.MethodPost, "/api/v1/repos/"+forge.Owner+"/"+forge.Repo+"/pulls", map[string]any{
		"head": "latch/scale-web", "base": forge.Branch, "title": "latch: web replicas 3 → 40", "body": "evidence",
	}, &created); err != nil {
		t.Fatalf("open pull request: %v", err)
	}
	if created.Number == 0 || created.State != "open" {
		t.Fatalf("created PR = %+v", created)
	}

	var files []struct {
		Filename string `json:"filename"`
	}
	path := "/api/v1/repos/" + forge.Owner + "/" + forge.Repo + "/pulls/" + strconv.Itoa(created.Number) + "/files"
	if _, err := forge.API(ctx, http.MethodGet, path, nil, &files); err != nil {
		t.Fatalf("list PR files: %v", err)
	}
	if len(files) != 1 || files[0].Filename != "apps/web.yaml" {
		t.Errorf("PR files = %+v, want apps/web.yaml", files)
	}

	// A token that is not the admin's is refused.
	stranger := *forge
	stranger.Token = "0000000000000000000000000000000000000000"
	if code, err := stranger.API(ctx, http.MethodGet, "/api/v1/user", nil, nil); err == nil || code != http.StatusUnauthorized {
		t.Errorf("bad token: code %d err %v, want 401", code, err)
	}
}
