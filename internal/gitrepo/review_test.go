package gitrepo

import (
	"context"
	"strings"
	"testing"

	"github.com/latch-gitops/latch/internal/testenv"
)

const reviewBranch = "latch/test/apps/deployment.apps/web"

// allowLeasedRewrites lets the test remote take a leased rewrite of a
// branch, as a forge does for any unprotected branch (testenv's remote
// denies non-fast-forwards everywhere, like a protected branch).
func allowLeasedRewrites(t *testing.T, bare string) {
	testGit(t, bare, "config", "receive.denyNonFastForwards", "false")
}

// reviewRemote is the set-up of the review tests: a seeded remote that
// takes leased rewrites, and latch's clone of it.
func reviewRemote(t *testing.T) (*testenv.GitRemote, *testenv.Human, *Repo, context.Context) {
	t.Helper()
	remote, human := seedRemote(t)
	allowLeasedRewrites(t, remote.BareDir)
	return remote, human, cloneRemote(t, remote, remoteAuth(remote)), testContext(t)
}

// openReview pushes latch's first proposal (web at 40) to the review branch.
func openReview(t *testing.T, ctx context.Context, r *Repo) {
	t.Helper()
	if _, err := r.PushReview(ctx, fastOptions(), ReviewPush{Branch: reviewBranch}, edits(nil, setReplicas("apps/web.yaml", "apps/web", 40))); err != nil {
		t.Fatal(err)
	}
}

func TestPushReviewRebuildsWithLeaseAndNeverTouchesBase(t *testing.T) {
	remote, human, r, ctx := reviewRemote(t)
	mainBefore := remote.Log(t, "main", "%H")

	res, err := r.PushReview(ctx, fastOptions(), ReviewPush{Branch: reviewBranch}, edits(nil, setReplicas("apps/web.yaml", "apps/web", 40)))
	if err != nil || !res.Pushed || res.Previous != "" || res.Commit == "" {
		t.Fatalf("first push = %+v, %v", res, err)
	}
	if got := remote.Log(t, "main", "%H"); strings.Join(got, ",") != strings.Join(mainBefore, ",") {
		t.Fatal("the base branch moved")
	}
	if n := testGit(t, remote.BareDir, "rev-list", "--count", "main.."+reviewBranch); n != "1" {
		t.Fatalf("%s commits beyond main, want 1", n)
	}
	h, err := r.ReviewHeads(ctx, reviewBranch)
	head, foreign := h.Head, h.Foreign
	if err != nil || head != res.Commit || foreign {
		t.Fatalf("ReviewHeads = %s %v %v", head, foreign, err)
	}

	// main moves; a further change rebuilds the branch as new base + one
	// commit, leased on the previous head.
	human.Pull()
	human.WriteFile("apps/api.yaml", "replicas: 11\nimage: api:2\n")
	human.Commit("api: image 2")
	human.Push()
	var pushes []string
	r.git.observe = func(a []string) {
		if a[0] == "push" {
			pushes = append(pushes, strings.Join(a, " "))
		}
	}
	res2, err := r.PushReview(ctx, fastOptions(), ReviewPush{Branch: reviewBranch}, edits(nil, setReplicas("apps/web.yaml", "apps/web", 50)))
	r.git.observe = nil
	if err != nil || !res2.Pushed || res2.Previous != res.Commit {
		t.Fatalf("rebuild = %+v, %v", res2, err)
	}
	if len(pushes) != 1 || !strings.Contains(pushes[0], "--force-with-lease=refs/heads/"+reviewBranch+":"+res.Commit) {
		t.Fatalf("rebuild pushes %q, want one leased on %s", pushes, res.Commit)
	}
	if n := testGit(t, remote.BareDir, "rev-list", "--count", "main.."+reviewBranch); n != "1" {
		t.Fatalf("after rebuild %s commits beyond main, want 1", n)
	}
	if parent := testGit(t, remote.BareDir, "rev-parse", reviewBranch+"^"); parent != testGit(t, remote.BareDir, "rev-parse", "main") {
		t.Fatalf("rebuild's parent %s is not main", parent)
	}
	if !strings.Contains(testGit(t, remote.BareDir, "show", reviewBranch+":apps/web.yaml"), "replicas: 50") {
		t.Fatal("branch does not declare 50")
	}
	if !strings.Contains(testGit(t, remote.BareDir, "show", "main:apps/web.yaml"), "replicas: 3") {
		t.Fatal("main changed")
	}

	// A person pushes to the PR branch: latch sees it and adds on top.
	person := remote.Human(t)
	testGit(t, person.Dir, "fetch", "--quiet", "origin", reviewBranch)
	testGit(t, person.Dir, "checkout", "--quiet", "-B", "review", "FETCH_HEAD")
	person.WriteFile("apps/web.yaml", "# web, also edited by humans\nreplicas: 45\nimage: web:1\n")
	testGit(t, person.Dir, "commit", "--quiet", "-am", "web: 45 is enough")
	personCommit := testGit(t, person.Dir, "rev-parse", "HEAD")
	testGit(t, person.Dir, "push", "--quiet", "origin", "HEAD:refs/heads/"+reviewBranch)
	if h, err := r.ReviewHeads(ctx, reviewBranch); err != nil || !h.Foreign {
		t.Fatalf("ReviewHeads after a person's push: foreign %v, %v", foreign, err)
	}
	pushes = nil
	r.git.observe = func(a []string) {
		if a[0] == "push" {
			pushes = append(pushes, strings.Join(a, " "))
		}
	}
	res3, err := r.PushReview(ctx, fastOptions(), ReviewPush{Branch: reviewBranch, OnTop: true}, edits(nil, setReplicas("apps/web.yaml", "apps/web", 60)))
	r.git.observe = nil
	if err != nil || !res3.Pushed {
		t.Fatalf("on top = %+v, %v", res3, err)
	}
	if len(pushes) != 1 || strings.Contains(pushes[0], "force") {
		t.Fatalf("on-top push %q must be a plain fast-forward", pushes)
	}
	if parent := testGit(t, remote.BareDir, "rev-parse", reviewBranch+"^"); parent != personCommit {
		t.Fatalf("latch's commit is not on top of the person's: parent %s", parent)
	}
}

func TestPushReviewLeaseRefusesToOverwrite(t *testing.T) {
	remote, _, r, ctx := reviewRemote(t)
	openReview(t, ctx, r)
	// While latch builds its rebuild, a person pushes to the branch.
	var personCommit string
	race := func(ws Workspace) {
		person := remote.Human(t)
		testGit(t, person.Dir, "fetch", "--quiet", "origin", reviewBranch)
		testGit(t, person.Dir, "checkout", "--quiet", "-B", "review", "FETCH_HEAD")
		person.WriteFile("NOTE.md", "please wait\n")
		personCommit = person.Commit("note")
		testGit(t, person.Dir, "push", "--quiet", "origin", "HEAD:refs/heads/"+reviewBranch)
	}
	_, err := r.PushReview(ctx, fastOptions(), ReviewPush{Branch: reviewBranch}, edits(race, setReplicas("apps/web.yaml", "apps/web", 50)))
	if err == nil || KindOf(err) != KindConflict {
		t.Fatalf("push over a person's commit: %v (kind %v), want a conflict", err, KindOf(err))
	}
	if got := testGit(t, remote.BareDir, "rev-parse", reviewBranch); got != personCommit {
		t.Fatalf("branch is at %s, want the person's %s kept", got, personCommit)
	}
}

func TestPushReviewOnlyToLatchBranches(t *testing.T) {
	remote, _ := seedRemote(t)
	r := cloneRemote(t, remote, remoteAuth(remote))
	for _, b := range []string{"main", "feature/x", "latch/", "latchy/x"} {
		if _, err := r.PushReview(context.Background(), fastOptions(), ReviewPush{Branch: b}, edits(nil)); err == nil {
			t.Errorf("PushReview to %q accepted", b)
		}
		if _, err := r.ReviewHeads(context.Background(), b); err == nil {
			t.Errorf("ReviewHeads(%q) accepted", b)
		}
	}
}

func TestCheckReviewPush(t *testing.T) {
	r := &Repo{remote: "origin", branch: "main"}
	sha := strings.Repeat("a", 40)
	for _, ok := range [][]string{
		r.reviewPushArgs(reviewBranch, ""),
		r.reviewPushArgs(reviewBranch, sha),
	} {
		if err := checkReviewPush(ok, "main"); err != nil {
			t.Errorf("latch's own review push refused: %v", err)
		}
	}
	for _, bad := range [][]string{
		{"push", "--force", "origin", "HEAD:refs/heads/" + reviewBranch},
		{"push", "-f", "origin", "HEAD:refs/heads/" + reviewBranch},
		{"push", "--force-with-lease", "origin", "HEAD:refs/heads/" + reviewBranch},
		{"push", "--force-with-lease=refs/heads/" + reviewBranch, "origin", "HEAD:refs/heads/" + reviewBranch},
		{"push", "--force-with-lease=refs/heads/" + reviewBranch + ":abc1234", "origin", "HEAD:refs/heads/" + reviewBranch},
		{"push", "--force-with-lease=refs/heads/latch/other:" + sha, "origin", "HEAD:refs/heads/" + reviewBranch},
		{"push", "--force-with-lease=refs/heads/main:" + sha, "origin", "HEAD:refs/heads/main"},
		{"push", "origin", "HEAD:refs/heads/main"},
		{"push", "origin", "HEAD:refs/heads/feature"},
		{"push", "origin", "+HEAD:refs/heads/" + reviewBranch},
		{"push", "origin", ":refs/heads/" + reviewBranch},
		{"push", "--delete", "origin", reviewBranch},
		{"push", "origin", "HEAD:refs/heads/" + reviewBranch, "HEAD:refs/heads/main"},
		{"push", "--force-with-lease=refs/heads/" + reviewBranch + ":" + sha, "--force-with-lease=refs/heads/" + reviewBranch + ":" + sha, "origin", "HEAD:refs/heads/" + reviewBranch},
		{"push", "--mirror", "origin"},
	} {
		if err := checkReviewPush(bad, "main"); err == nil {
			t.Errorf("checkReviewPush accepted %v", bad)
		}
	}
	// The base push guard still refuses every force, the lease form too.
	for _, bad := range [][]string{
		{"push", "--force-with-lease=refs/heads/" + reviewBranch + ":" + sha, "origin", "HEAD:refs/heads/" + reviewBranch},
		{"push", "--force", "origin", "HEAD:refs/heads/main"},
	} {
		if err := checkNoForce(bad); err == nil {
			t.Errorf("checkNoForce accepted %v", bad)
		}
	}
}

// Each git subprocess that talks to the remote costs the PR update a round
// trip (issue 11): PushReview reads the base and the PR branch in one fetch,
// and a branch deleted on the remote, or a sibling whose name extends this
// one, never stands in for it.
func TestPushReviewOneFetchAndNoStaleHead(t *testing.T) {
	remote, _, r, ctx := reviewRemote(t)
	var remoteOps []string
	r.git.observe = func(a []string) {
		switch a[0] {
		case "fetch", "ls-remote", "push", "pull", "clone":
			remoteOps = append(remoteOps, a[0])
		}
	}
	res, err := r.PushReview(ctx, fastOptions(), ReviewPush{Branch: reviewBranch}, edits(nil, setReplicas("apps/web.yaml", "apps/web", 40)))
	if err != nil || !res.Pushed {
		t.Fatalf("first push = %+v, %v", res, err)
	}
	if strings.Join(remoteOps, ",") != "fetch,push" {
		t.Fatalf("remote operations %q, want one fetch and one push", remoteOps)
	}
	remoteOps = nil
	res2, err := r.PushReview(ctx, fastOptions(), ReviewPush{Branch: reviewBranch}, edits(nil, setReplicas("apps/web.yaml", "apps/web", 50)))
	if err != nil || res2.Previous != res.Commit {
		t.Fatalf("update = %+v, %v; want previous %s", res2, err, res.Commit)
	}
	if strings.Join(remoteOps, ",") != "fetch,push" {
		t.Fatalf("update's remote operations %q, want one fetch and one push", remoteOps)
	}
	r.git.observe = nil

	// A sibling branch whose name extends this one exists; this one is
	// deleted on the remote (as a forge does after a merge).
	testGit(t, remote.BareDir, "branch", reviewBranch+"-2", reviewBranch)
	testGit(t, remote.BareDir, "branch", "-D", reviewBranch)
	h, err := r.ReviewHeads(ctx, reviewBranch)
	head, foreign := h.Head, h.Foreign
	if err != nil || head != "" || foreign {
		t.Fatalf("ReviewHeads of a deleted branch = %q %v %v, want none", head, foreign, err)
	}
	res3, err := r.PushReview(ctx, fastOptions(), ReviewPush{Branch: reviewBranch}, edits(nil, setReplicas("apps/web.yaml", "apps/web", 60)))
	if err != nil || !res3.Pushed || res3.Previous != "" {
		t.Fatalf("push after deletion = %+v, %v; want a fresh branch", res3, err)
	}
	if got := testGit(t, remote.BareDir, "rev-parse", reviewBranch+"-2"); got != res2.Commit {
		t.Fatalf("sibling branch moved to %s", got)
	}
}

// A PushReview that builds on ReviewHeads' read (no fetch of its own) must
// still never overwrite a commit pushed after that read.
func TestPushReviewSeenHeadsStillLeased(t *testing.T) {
	remote, _, r, ctx := reviewRemote(t)
	openReview(t, ctx, r)
	seen, err := r.ReviewHeads(ctx, reviewBranch)
	if err != nil || seen.Head == "" || seen.Base == "" || seen.Foreign {
		t.Fatalf("ReviewHeads = %+v, %v", seen, err)
	}
	var fetches int
	r.git.observe = func(a []string) {
		if a[0] == "fetch" || a[0] == "ls-remote" {
			fetches++
		}
	}
	res, err := r.PushReview(ctx, fastOptions(), ReviewPush{Branch: reviewBranch, Seen: &seen}, edits(nil, setReplicas("apps/web.yaml", "apps/web", 50)))
	r.git.observe = nil
	if err != nil || !res.Pushed || res.Previous != seen.Head || fetches != 0 {
		t.Fatalf("push on seen heads = %+v, %v, %d fetches; want a push leased on %s and no fetch", res, err, fetches, seen.Head)
	}

	// The read goes stale: a person pushes after it.
	person := remote.Human(t)
	testGit(t, person.Dir, "fetch", "--quiet", "origin", reviewBranch)
	testGit(t, person.Dir, "checkout", "--quiet", "-B", "review", "FETCH_HEAD")
	person.WriteFile("NOTE.md", "please wait\n")
	personCommit := person.Commit("note")
	testGit(t, person.Dir, "push", "--quiet", "origin", "HEAD:refs/heads/"+reviewBranch)
	stale := ReviewHeads{Branch: reviewBranch, Base: seen.Base, Head: res.Commit}
	for _, onTop := range []bool{false, true} {
		_, err = r.PushReview(ctx, fastOptions(), ReviewPush{Branch: reviewBranch, OnTop: onTop, Seen: &stale}, edits(nil, setReplicas("apps/web.yaml", "apps/web", 60)))
		if err == nil || KindOf(err) != KindConflict {
			t.Fatalf("onTop=%v push on a stale read: %v (kind %v), want a conflict", onTop, err, KindOf(err))
		}
		if got := testGit(t, remote.BareDir, "rev-parse", reviewBranch); got != personCommit {
			t.Fatalf("branch is at %s, want the person's %s kept", got, personCommit)
		}
	}
}

// A rebuild is leased on the branch's previous head even when the new
// commit descends from it (the branch sat at the base, say after a person
// reset it there): a plain fast-forward would then be accepted over a
// person who moved the branch in between, here back to an older commit.
func TestPushReviewRebuildOverAnAncestorStillLeased(t *testing.T) {
	remote, human, r, ctx := reviewRemote(t)
	older := testGit(t, remote.BareDir, "rev-parse", "main")
	human.WriteFile("apps/api.yaml", "replicas: 11\nimage: api:2\n")
	human.Commit("api: image 2")
	human.Push()
	base := testGit(t, remote.BareDir, "rev-parse", "main")
	testGit(t, remote.BareDir, "update-ref", "refs/heads/"+reviewBranch, base)
	var pushes []string
	r.git.observe = func(a []string) {
		if a[0] == "push" {
			pushes = append(pushes, strings.Join(a, " "))
		}
	}
	res, err := r.PushReview(ctx, fastOptions(), ReviewPush{Branch: reviewBranch}, edits(nil, setReplicas("apps/web.yaml", "apps/web", 40)))
	if err != nil || !res.Pushed || res.Previous != base {
		t.Fatalf("rebuild over the base = %+v, %v; want a push from %s", res, err, base)
	}
	if len(pushes) != 1 || !strings.Contains(pushes[0], "--force-with-lease=refs/heads/"+reviewBranch+":"+base) {
		t.Fatalf("pushes %q, want one leased on %s", pushes, base)
	}

	// The branch is at the base again when latch reads it; then a person
	// moves it back to an older commit, of which latch's rebuild also
	// descends.
	testGit(t, remote.BareDir, "update-ref", "refs/heads/"+reviewBranch, base)
	seen, err := r.ReviewHeads(ctx, reviewBranch)
	if err != nil || seen.Head != base {
		t.Fatalf("ReviewHeads = %+v, %v; want head %s", seen, err, base)
	}
	testGit(t, remote.BareDir, "update-ref", "refs/heads/"+reviewBranch, older)
	pushes = nil
	_, err = r.PushReview(ctx, fastOptions(), ReviewPush{Branch: reviewBranch, Seen: &seen}, edits(nil, setReplicas("apps/web.yaml", "apps/web", 50)))
	r.git.observe = nil
	if err == nil || KindOf(err) != KindConflict {
		t.Fatalf("push over the moved branch: %v (kind %v), want a conflict", err, KindOf(err))
	}
	if len(pushes) != 1 || !strings.Contains(pushes[0], "--force-with-lease=refs/heads/"+reviewBranch+":"+base) {
		t.Fatalf("pushes %q, want one leased on %s", pushes, base)
	}
	if got := testGit(t, remote.BareDir, "rev-parse", reviewBranch); got != older {
		t.Fatalf("branch is at %s, want the person's %s kept", got, older)
	}
}
