// Package forgetest gives tests latch's side of a real Gitea test server
// (testenv.Gitea): a gitrepo clone of its repository and a forge client for
// its API, as `latch run --forge gitea` builds them. It is apart from
// testenv because gitrepo's and forge's own tests import testenv.
package forgetest

import (
	"path/filepath"
	"testing"

	"github.com/latch-gitops/latch/internal/forge"
	"github.com/latch-gitops/latch/internal/gitrepo"
	"github.com/latch-gitops/latch/internal/testenv"
)

// Latch clones g's repository at its branch with g's credentials (closed
// when the test ends) and returns it with a Gitea client for g's token.
func Latch(t testing.TB, g *testenv.GiteaServer) (*gitrepo.Repo, *forge.Client) {
	t.Helper()
	repo, err := gitrepo.Clone(testenv.Context(t), g.CloneURL(), g.Branch, filepath.Join(t.TempDir(), "latch"), gitrepo.Auth{Username: g.Username, Password: g.Password})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { repo.Close() })
	fc, err := forge.New(forge.Config{Kind: forge.Gitea, URL: g.URL, RemoteURL: g.CloneURL(), Token: g.Token})
	if err != nil {
		t.Fatal(err)
	}
	return repo, fc
}
