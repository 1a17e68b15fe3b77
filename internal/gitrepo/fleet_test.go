package gitrepo

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latch-gitops/latch/internal/evidence"
	"github.com/latch-gitops/latch/internal/testenv"
)

// TestConflictsDoNotUseAttempts: a push lost to another push is progress
// (the remote moved), so it does not use one of MaxAttempts. A person
// pushes before each of latch's first MaxAttempts+2 pushes; the call still
// lands its commit in this pass, on top of every human commit.
func TestConflictsDoNotUseAttempts(t *testing.T) {
	remote, human := seedRemote(t)
	r := cloneRemote(t, remote, remoteAuth(remote))
	opts := fastOptions()
	opts.MaxAttempts = 3
	var humanCommits []string
	hook := func(ws Workspace) {
		if ws.Attempt <= opts.MaxAttempts+2 {
			human.Pull()
			// The file latch edits, so each retry runs the full edit.
			human.WriteFile("apps/web.yaml", fmt.Sprintf("# web, also edited by humans\nreplicas: 3\nimage: web:%d\n", ws.Attempt+1))
			humanCommits = append(humanCommits, human.Commit(fmt.Sprintf("docs: round %d", ws.Attempt)))
			human.Push()
		}
	}
	res, err := r.CommitAndPush(testContext(t), opts, edits(hook, setReplicas("apps/web.yaml", "shop/web", 40)))
	if err != nil {
		t.Fatalf("gave up under contention: %v", err)
	}
	if !res.Pushed || res.Attempts != opts.MaxAttempts+3 || res.Commit != remote.Head(t, "main") {
		t.Errorf("result %+v, remote head %s", res, remote.Head(t, "main"))
	}
	for _, c := range humanCommits {
		testGit(t, remote.BareDir, "merge-base", "--is-ancestor", c, "main")
	}
	want := fmt.Sprintf("# web, also edited by humans\nreplicas: 40\nimage: web:%d", opts.MaxAttempts+3)
	if got := remoteFile(t, remote, "apps/web.yaml"); got != want {
		t.Errorf("web.yaml:\n%s\nwant:\n%s", got, want)
	}
}

// TestReplayWhenRemoteMovedElsewhere: the push loses to a person's push
// that touched only other files; the retry replays latch's commit on the
// new head without running edit again.
func TestReplayWhenRemoteMovedElsewhere(t *testing.T) {
	remote, human := seedRemote(t)
	r := cloneRemote(t, remote, remoteAuth(remote))
	hook, calls, humanCommit := personPushesDuringFirstEdit(human, "docs/README.md", "hello\n", "docs: hello")
	res, err := r.CommitAndPush(testContext(t), fastOptions(), edits(hook, setReplicas("apps/web.yaml", "shop/web", 40)))
	if err != nil {
		t.Fatal(err)
	}
	if *calls != 1 || res.Attempts != 2 || !res.Pushed || res.Base != *humanCommit || res.Commit != remote.Head(t, "main") || len(res.Changes) != 1 {
		t.Errorf("edits %d, result %+v, human %s", *calls, res, *humanCommit)
	}
	if parents := testGit(t, remote.BareDir, "log", "-1", "--format=%P", "main"); parents != *humanCommit {
		t.Errorf("latch's commit has parents %q, want the human's %s", parents, *humanCommit)
	}
	if got := remoteFile(t, remote, "apps/web.yaml"); got != "# web, also edited by humans\nreplicas: 40\nimage: web:1" {
		t.Errorf("web.yaml:\n%s", got)
	}
	if got := remoteFile(t, remote, "docs/README.md"); got != "hello" {
		t.Errorf("the person's README lost: %q", got)
	}
	if msg := testGit(t, remote.BareDir, "log", "-1", "--format=%B", "main"); !strings.Contains(msg, "shop/web") {
		t.Errorf("replayed commit's message lacks the evidence:\n%s", msg)
	}
	if a, c := testGit(t, remote.BareDir, "log", "-1", "--format=%an <%ae>", "main"), testGit(t, remote.BareDir, "log", "-1", "--format=%cn <%ce>", "main"); a != "latch bot <latch@example.com>" || c != "latch ci <ci@example.com>" {
		t.Errorf("replayed commit by %s, committed by %s", a, c)
	}
	// The work tree is at the pushed commit, the person's file included
	// (the enforcement step reads it after the pass).
	if head := testGit(t, r.Dir(), "rev-parse", "HEAD"); head != res.Commit {
		t.Errorf("work tree at %s, want %s", head, res.Commit)
	}
	if st := testGit(t, r.Dir(), "status", "--porcelain"); st != "" {
		t.Errorf("work tree not clean after the replay:\n%s", st)
	}
	if got := testGit(t, r.Dir(), "show", "HEAD:docs/README.md"); got != "hello" {
		t.Errorf("README in latch's tree: %q", got)
	}
}

// TestConcurrentCommittersAllLand: several latch instances, each with its
// own clone, push to one HTTP remote at once, each touching its own file,
// for several rounds. Every call lands its commit (none gives up), the
// history is linear, and every commit is on the remote.
func TestConcurrentCommittersAllLand(t *testing.T) {
	const committers, rounds = 6, 4
	remote, human := seedRemote(t)
	for i := range committers {
		human.WriteFile(fmt.Sprintf("apps/c%d.yaml", i), "replicas: 1\n")
	}
	human.Commit("add committers' files")
	human.Push()
	repos := make([]*Repo, committers)
	for i := range repos {
		repos[i] = cloneRemote(t, remote, remoteAuth(remote))
	}
	ctx := testContext(t)
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		commits []string
		start   = make(chan struct{})
	)
	for i, r := range repos {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			file, object := fmt.Sprintf("apps/c%d.yaml", i), fmt.Sprintf("shop/c%d", i)
			for round := range rounds {
				opts := fastOptions()
				opts.Cluster = fmt.Sprintf("c%d", i)
				res, err := r.CommitAndPush(ctx, opts, edits(nil, setReplicas(file, object, int64(10+round))))
				if err != nil {
					t.Errorf("committer %d round %d: %v", i, round, err)
					return
				}
				if !res.Pushed || res.Commit == "" {
					t.Errorf("committer %d round %d: nothing pushed: %+v", i, round, res)
					return
				}
				mu.Lock()
				commits = append(commits, res.Commit)
				mu.Unlock()
			}
		}()
	}
	close(start)
	wg.Wait()
	if t.Failed() {
		return
	}
	if len(commits) != committers*rounds {
		t.Fatalf("%d commits, want %d", len(commits), committers*rounds)
	}
	for _, c := range commits {
		testGit(t, remote.BareDir, "merge-base", "--is-ancestor", c, "main")
	}
	if merges := testGit(t, remote.BareDir, "rev-list", "--merges", "main"); merges != "" {
		t.Errorf("history not linear: merges %s", merges)
	}
	for i := range committers {
		want := fmt.Sprintf("replicas: %d", 10+rounds-1)
		if got := remoteFile(t, remote, fmt.Sprintf("apps/c%d.yaml", i)); !strings.Contains(got, want) {
			t.Errorf("apps/c%d.yaml = %q, want %q", i, got, want)
		}
	}
}

// TestNoReplayWhenAnInputMoved: the push loses to a person's change of a
// file the edit reads but does not write (latch.yaml: the policy decides
// what the edit writes), so the retry runs the edit again on the new head
// instead of replaying the lost commit.
func TestNoReplayWhenAnInputMoved(t *testing.T) {
	remote, human := seedRemote(t)
	r := cloneRemote(t, remote, remoteAuth(remote))
	opts := fastOptions()
	opts.Inputs = []string{"./latch.yaml"}
	hook, calls, humanCommit := personPushesDuringFirstEdit(human, "latch.yaml", "# the person's new policy\n", "policy: tighten")
	res, err := r.CommitAndPush(testContext(t), opts, edits(hook, setReplicas("apps/web.yaml", "shop/web", 40)))
	if err != nil {
		t.Fatal(err)
	}
	if *calls != 2 || res.Attempts != 2 || !res.Pushed || res.Base != *humanCommit || res.Commit != remote.Head(t, "main") {
		t.Errorf("edits %d (want 2: no replay over a changed input), result %+v, human %s", *calls, res, *humanCommit)
	}
	if got := remoteFile(t, remote, "latch.yaml"); got != "# the person's new policy" {
		t.Errorf("the person's latch.yaml lost: %q", got)
	}
}

// personPushesDuringFirstEdit is an edit hook under which a person commits
// content to file and pushes while latch's first attempt edits, so that
// attempt's push loses; it counts the edits and keeps the person's commit.
func personPushesDuringFirstEdit(human *testenv.Human, file, content, message string) (hook func(Workspace), calls *int, humanCommit *string) {
	calls, humanCommit = new(int), new(string)
	hook = func(ws Workspace) {
		*calls++
		if ws.Attempt == 1 {
			human.Pull()
			human.WriteFile(file, content)
			*humanCommit = human.Commit(message)
			human.Push()
		}
	}
	return hook, calls, humanCommit
}

// TestFoldChangesIntoRetry: with PushOptions.Changed, a retry after a lost
// push edits again (no replay) and may change a field the first attempt
// did not — a change that arrived meanwhile — so one commit carries both.
func TestFoldChangesIntoRetry(t *testing.T) {
	remote, human := seedRemote(t)
	r := cloneRemote(t, remote, remoteAuth(remote))
	opts := fastOptions()
	opts.Changed = func() bool { return true }
	hook, calls, humanCommit := personPushesDuringFirstEdit(human, "docs/README.md", "hello\n", "docs: hello")
	res, err := r.CommitAndPush(testContext(t), opts, edits(hook, setReplicas("apps/web.yaml", "shop/web", 40), arrivesOnRetry(setReplicas("apps/api.yaml", "shop/api", 20))))
	if err != nil {
		t.Fatal(err)
	}
	if *calls != 2 || res.Attempts != 2 || !res.Pushed || res.Base != *humanCommit || res.Commit != remote.Head(t, "main") || len(res.Changes) != 2 {
		t.Errorf("edits %d (want 2: no replay when there is something to fold in), result %+v, human %s", *calls, res, *humanCommit)
	}
	if got := testGit(t, remote.BareDir, "rev-list", "--count", *humanCommit+"..main"); got != "1" {
		t.Errorf("%s latch commits on top of the person's, want 1", got)
	}
	if got := remoteFile(t, remote, "apps/api.yaml"); got != "replicas: 20\nimage: api:1" {
		t.Errorf("api.yaml (folded in):\n%s", got)
	}
	if got := remoteFile(t, remote, "docs/README.md"); got != "hello" {
		t.Errorf("the person's README lost: %q", got)
	}
}

// TestNoFoldIntoAMovedFile: a change arriving during the retries is not
// folded in when its file changed on the remote since the first attempt
// (a person edited there, maybe this very field): the commit carries only
// the first attempt's field, and the person's file stands.
func TestNoFoldIntoAMovedFile(t *testing.T) {
	remote, human := seedRemote(t)
	r := cloneRemote(t, remote, remoteAuth(remote))
	opts := fastOptions()
	opts.Changed = func() bool { return true }
	hook, calls, _ := personPushesDuringFirstEdit(human, "apps/api.yaml", "replicas: 12\nimage: api:2\n", "api: 12 by hand")
	res, err := r.CommitAndPush(testContext(t), opts, edits(hook, setReplicas("apps/web.yaml", "shop/web", 40), arrivesOnRetry(setReplicas("apps/api.yaml", "shop/api", 20))))
	if err != nil {
		t.Fatal(err)
	}
	// Attempt 2 edits twice: with api (refused: its file moved), then without.
	if *calls != 3 || res.Attempts != 2 || !res.Pushed || len(res.Changes) != 1 || res.Changes[0].Object.Name != "web" {
		t.Errorf("edits %d, result %+v", *calls, res)
	}
	if got := remoteFile(t, remote, "apps/api.yaml"); got != "replicas: 12\nimage: api:2" {
		t.Errorf("api.yaml: the person's value must stand this round:\n%s", got)
	}
	if got := remoteFile(t, remote, "apps/web.yaml"); got != "# web, also edited by humans\nreplicas: 40\nimage: web:1" {
		t.Errorf("web.yaml:\n%s", got)
	}
}

// arrivesOnRetry is an edit part that has nothing to change on the first
// attempt (its change arrives later) and runs part on the others.
func arrivesOnRetry(part func(Workspace) (*evidence.Change, error)) func(Workspace) (*evidence.Change, error) {
	return func(ws Workspace) (*evidence.Change, error) {
		if ws.Attempt == 1 {
			return nil, nil
		}
		return part(ws)
	}
}

// TestConflictWait: after a lost push the wait is drawn from zero up to
// Backoff (not its upper half), so instances losing to one push spread out.
func TestConflictWait(t *testing.T) {
	opts := PushOptions{Backoff: time.Second}
	for _, c := range []struct {
		u    float64
		want time.Duration
	}{{0, 0}, {0.25, 250 * time.Millisecond}, {0.5, 500 * time.Millisecond}, {1.5, time.Second}, {-1, 0}} {
		if got := conflictWait(opts, c.u); got != c.want {
			t.Errorf("conflictWait(u=%v) = %v, want %v", c.u, got, c.want)
		}
	}
	if got := conflictWait(PushOptions{}, 0.5); got != DefaultBackoff/2 {
		t.Errorf("default: %v, want %v", got, DefaultBackoff/2)
	}
}
