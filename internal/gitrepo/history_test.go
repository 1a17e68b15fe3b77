package gitrepo

import "testing"

func TestHistoryFindsLatchCommitsOnly(t *testing.T) {
	remote, human := seedRemote(t)
	r := cloneRemote(t, remote, remoteAuth(remote))
	ctx := testContext(t)

	first, err := r.CommitAndPush(ctx, fastOptions(), edits(nil, setReplicas("apps/web.yaml", "shop/web", 40)))
	if err != nil {
		t.Fatal(err)
	}
	human.Pull()
	human.WriteFile("README.md", "people commit too\n")
	human.Commit("docs")
	human.Push()
	second, err := r.CommitAndPush(ctx, fastOptions(), edits(nil,
		setReplicas("apps/web.yaml", "shop/web", 400), setReplicas("apps/api.yaml", "shop/api", 20)))
	if err != nil {
		t.Fatal(err)
	}

	history, err := r.History(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(history) != 2 {
		t.Fatalf("history has %d latch commits, want 2: %+v", len(history), history)
	}
	if history[0].Commit != second.Commit || history[1].Commit != first.Commit {
		t.Errorf("history order %s, %s; want newest first %s, %s", history[0].Commit, history[1].Commit, second.Commit, first.Commit)
	}
	if history[0].Cluster != "test" || len(history[0].Changes) != 2 || history[1].Changes[0].To != 40 || history[1].Changes[0].Object.NamespacedName() != "shop/web" {
		t.Errorf("parsed history = %+v", history)
	}
	if history[0].When.IsZero() {
		t.Error("commit time not read")
	}
	limited, err := r.History(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(limited) != 1 || limited[0].Commit != second.Commit {
		t.Errorf("History(1) = %+v", limited)
	}
}
