package controller

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latch-gitops/latch/internal/cluster"
	"github.com/latch-gitops/latch/internal/gitrepo"
	"github.com/latch-gitops/latch/internal/objectid"
	"github.com/latch-gitops/latch/internal/policy"
	"github.com/latch-gitops/latch/internal/state"
	"github.com/latch-gitops/latch/internal/testenv"
)

// hookStore runs hook on the first Load: inside the pass's first edit,
// where a test plays a person pushing before latch does.
type hookStore struct {
	state.Store
	once sync.Once
	hook func()
}

func (s *hookStore) Load(key string) (policy.State, bool) {
	s.once.Do(s.hook)
	return s.Store.Load(key)
}

// TestSyncFoldsChangesDuringRetry: a pass's push loses to a person's push
// (a file latch does not write) while another workload scales; the retry
// observes the workloads again (SyncFolding) and one commit on top of the
// person's carries both latches, decided at the new head.
func TestSyncFoldsChangesDuringRetry(t *testing.T) {
	remote := testenv.NewGitRemote(t)
	human := remote.Human(t)
	human.WriteFile("latch.yaml", reviewPolicy)
	human.WriteFile("apps/web.yaml", deployment("web", 40))
	human.WriteFile("apps/api.yaml", deployment("api", 10))
	human.Commit("seed")
	human.Push()
	ctx := testenv.Context(t)
	repo, err := gitrepo.Clone(ctx, remote.URL, "main", filepath.Join(t.TempDir(), "clone"), gitrepo.Auth{Username: remote.Username, Password: remote.Password})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { repo.Close() })

	web := objectid.Ref{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "shop", Name: "web"}
	api := objectid.Ref{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "shop", Name: "api"}
	hpa := &cluster.HPA{Name: "x", MinReplicas: 1, MaxReplicas: 1000}
	live := func(webReplicas, apiReplicas int64) []cluster.Workload {
		return []cluster.Workload{{Ref: api, Replicas: apiReplicas, HPA: hpa}, {Ref: web, Replicas: webReplicas, HPA: hpa}}
	}
	changed, lists := false, 0
	var personCommit string
	store := &hookStore{Store: state.NewMemory(), hook: func() {
		human.Pull()
		human.WriteFile("docs/README.md", "notes\n")
		personCommit = human.Commit("docs: notes")
		human.Push()
		changed = true // web scaled meanwhile
	}}
	l := &Latcher{Repo: repo, Cluster: "prod", States: store, Push: gitrepo.PushOptions{Backoff: time.Millisecond}}
	out, err := l.SyncFolding(ctx, live(40, 25), time.Now(), Refold{
		Changed: func() bool { return changed },
		List: func(context.Context) ([]cluster.Workload, error) {
			changed, lists = false, lists+1
			return live(100, 25), nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	res := out.Result
	if lists != 1 || res.Attempts != 2 || !res.Pushed || res.Base != personCommit || len(res.Changes) != 2 {
		t.Fatalf("lists %d, result %+v (person %s)", lists, res, personCommit)
	}
	if got := runGit(t, remote.BareDir, "rev-list", "--count", personCommit+"..main"); got != "1" {
		t.Errorf("%s latch commits on top of the person's, want 1", got)
	}
	if got := runGit(t, remote.BareDir, "show", "main:apps/web.yaml"); !strings.Contains(got, "replicas: 100") {
		t.Errorf("web.yaml (scaled during the retry, folded in):\n%s", got)
	}
	if got := runGit(t, remote.BareDir, "show", "main:apps/api.yaml"); !strings.Contains(got, "replicas: 25") {
		t.Errorf("api.yaml:\n%s", got)
	}
	if got := runGit(t, remote.BareDir, "show", "main:docs/README.md"); got != "notes" {
		t.Errorf("the person's README: %q", got)
	}
}
