package gitrepo

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latch-gitops/latch/internal/testenv"

	"github.com/latch-gitops/latch/internal/objectid"

	"github.com/latch-gitops/latch/internal/evidence"
)

// seedRemote starts a remote with two workloads on main, pushed by a human.
func seedRemote(t *testing.T) (*testenv.GitRemote, *testenv.Human) {
	t.Helper()
	remote := testenv.NewGitRemote(t)
	human := remote.Human(t)
	human.WriteFile("apps/web.yaml", "# web, also edited by humans\nreplicas: 3\nimage: web:1\n")
	human.WriteFile("apps/api.yaml", "replicas: 10\nimage: api:1\n")
	human.Commit("add web and api")
	human.Push()
	return remote, human
}

func remoteAuth(remote *testenv.GitRemote) Auth {
	return Auth{Username: remote.Username, Password: remote.Password}
}

func cloneRemote(t *testing.T, remote *testenv.GitRemote, auth Auth) *Repo {
	t.Helper()
	r, err := Clone(testContext(t), remote.URL, remote.Branch, filepath.Join(t.TempDir(), "latch"), auth)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := r.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return r
}

var replicasLine = regexp.MustCompile(`(?m)^replicas: (\d+)$`)

// setReplicas is an edit that latches object's replicas in file to target,
// honouring Workspace.Allowed, as the real edit must.
func setReplicas(file, object string, target int64) func(ws Workspace) (*evidence.Change, error) {
	return func(ws Workspace) (*evidence.Change, error) {
		path := filepath.Join(ws.Dir, filepath.FromSlash(file))
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		m := replicasLine.FindSubmatchIndex(data)
		if m == nil {
			return nil, fmt.Errorf("%s: no replicas line", file)
		}
		from, err := strconv.ParseInt(string(data[m[2]:m[3]]), 10, 64)
		if err != nil {
			return nil, err
		}
		if from == target || !ws.Allowed(objectid.Ref{Kind: "Deployment"}.WithNamespacedName(object), "spec.replicas") {
			return nil, nil
		}
		out := append(append(append([]byte(nil), data[:m[2]]...), strconv.FormatInt(target, 10)...), data[m[3]:]...)
		if err := os.WriteFile(path, out, 0o644); err != nil {
			return nil, err
		}
		return &evidence.Change{Object: objectid.Ref{Kind: "Deployment"}.WithNamespacedName(object), Field: "spec.replicas", File: file, From: from, To: target,
			Observed: target - 3, Rule: "sigfig", Min: 2, Max: 500, ChangedBy: "kube-controller-manager"}, nil
	}
}

// edits combines per-file edits into an EditFunc; hook (if set) runs first
// on every call, where a test plays the human.
func edits(hook func(ws Workspace), parts ...func(Workspace) (*evidence.Change, error)) EditFunc {
	return func(_ context.Context, ws Workspace) ([]evidence.Change, error) {
		if hook != nil {
			hook(ws)
		}
		var changes []evidence.Change
		for _, p := range parts {
			c, err := p(ws)
			if err != nil {
				return nil, err
			}
			if c != nil {
				changes = append(changes, *c)
			}
		}
		return changes, nil
	}
}

func fastOptions() PushOptions {
	return PushOptions{Backoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond, Cluster: "test",
		Author: Identity{Name: "latch bot", Email: "latch@example.com"}, Committer: Identity{Name: "latch ci", Email: "ci@example.com"}}
}

func remoteFile(t *testing.T, remote *testenv.GitRemote, file string) string {
	t.Helper()
	return testGit(t, remote.BareDir, "show", "refs/heads/"+remote.Branch+":"+file)
}

func TestCommitAndPush(t *testing.T) {
	remote, _ := seedRemote(t)
	r := cloneRemote(t, remote, remoteAuth(remote))
	var args [][]string
	r.git.observe = func(a []string) { args = append(args, a) }
	ctx := testContext(t)

	res, err := r.CommitAndPush(ctx, fastOptions(), edits(nil, setReplicas("apps/web.yaml", "shop/web", 40), setReplicas("apps/api.yaml", "shop/api", 20)))
	if err != nil {
		t.Fatal(err)
	}
	if !res.Pushed || res.Attempts != 1 || len(res.Changes) != 2 || res.Commit != remote.Head(t, "main") {
		t.Fatalf("result %+v, remote head %s", res, remote.Head(t, "main"))
	}
	if got := strings.Join(res.Files, ","); got != "apps/api.yaml,apps/web.yaml" {
		t.Errorf("files = %s", got)
	}
	if got := remoteFile(t, remote, "apps/web.yaml"); got != "# web, also edited by humans\nreplicas: 40\nimage: web:1" {
		t.Errorf("web.yaml on the remote:\n%s", got)
	}
	log := remote.Log(t, "main", "%an <%ae>|%cn <%ce>|%s")
	if want := "latch bot <latch@example.com>|latch ci <ci@example.com>|latch: 2 workloads (web 3 → 40, api 10 → 20)"; log[0] != want {
		t.Errorf("commit: %s\nwant:   %s", log[0], want)
	}
	message := testGit(t, remote.BareDir, "log", "-1", "--format=%B", "main")
	cluster, changes, err := evidence.ParseMessage(message)
	if err != nil || cluster != "test" || len(changes) != 2 || changes[0].To != 40 || changes[1].To != 20 {
		t.Errorf("trailers read back: %q %+v %v", cluster, changes, err)
	}

	// Same values again: nothing to commit, nothing pushed.
	head := remote.Head(t, "main")
	res, err = r.CommitAndPush(ctx, fastOptions(), edits(nil, setReplicas("apps/web.yaml", "shop/web", 40)))
	if err != nil || res.Commit != "" || res.Pushed || remote.Head(t, "main") != head {
		t.Errorf("no-op round: %+v %v", res, err)
	}

	// Every push latch ran is HEAD to the branch, no force of any kind.
	var pushes int
	for _, a := range args {
		if a[0] != "push" {
			continue
		}
		pushes++
		if strings.Join(a, " ") != "push --porcelain --no-verify origin HEAD:refs/heads/main" || checkNoForce(a) != nil {
			t.Errorf("push args: %v", a)
		}
	}
	if pushes != 1 {
		t.Errorf("%d pushes, want 1", pushes)
	}
	assertNoSecret(t, remote.Password, r.Dir(), remote.BareDir)
}

// assertNoSecret greps the clone's .git (config, logs, objects as text) and
// the remote's history for the password.
func assertNoSecret(t *testing.T, secret string, dirs ...string) {
	t.Helper()
	for _, dir := range dirs {
		_ = filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
			if err != nil || info.IsDir() || info.Size() > 1<<20 {
				return nil
			}
			data, _ := os.ReadFile(path)
			if bytes.Contains(data, []byte(secret)) {
				t.Errorf("%s holds the password", path)
			}
			return nil
		})
	}
	for _, dir := range dirs[len(dirs)-1:] {
		all := testGit(t, dir, "log", "--all", "-p", "--format=%an%ae%cn%ce%B")
		if strings.Contains(all, secret) {
			t.Errorf("the password is in a commit of %s", dir)
		}
	}
}

func TestCommitAndPushRetriesAfterHumanPush(t *testing.T) {
	remote, human := seedRemote(t)
	r := cloneRemote(t, remote, remoteAuth(remote))
	var humanCommit string
	hook := func(ws Workspace) {
		if ws.Attempt == 1 {
			human.Pull()
			human.WriteFile("apps/web.yaml", strings.Replace(human.ReadFile("apps/web.yaml"), "image: web:1", "image: web:2", 1))
			human.WriteFile("docs/README.md", "hello\n")
			humanCommit = human.Commit("web: image 2")
			human.Push()
		}
	}
	res, err := r.CommitAndPush(testContext(t), fastOptions(), edits(hook, setReplicas("apps/web.yaml", "shop/web", 40)))
	if err != nil {
		t.Fatal(err)
	}
	if res.Attempts != 2 || !res.Pushed || res.Base != humanCommit {
		t.Errorf("result %+v, human commit %s", res, humanCommit)
	}
	if got := remoteFile(t, remote, "apps/web.yaml"); got != "# web, also edited by humans\nreplicas: 40\nimage: web:2" {
		t.Errorf("web.yaml merged wrong:\n%s", got)
	}
	if parents := testGit(t, remote.BareDir, "log", "-1", "--format=%P", "main"); parents != humanCommit {
		t.Errorf("latch's commit has parents %q, want the human's %s", parents, humanCommit)
	}
}

func TestHumanWinsSameField(t *testing.T) {
	remote, human := seedRemote(t)
	r := cloneRemote(t, remote, remoteAuth(remote))
	hook := func(ws Workspace) {
		if ws.Attempt == 1 {
			human.Pull()
			human.WriteFile("apps/web.yaml", strings.Replace(human.ReadFile("apps/web.yaml"), "replicas: 3", "replicas: 7", 1))
			human.Commit("web: 7 replicas for the sale")
			human.Push()
		}
	}
	res, err := r.CommitAndPush(testContext(t), fastOptions(), edits(hook,
		setReplicas("apps/web.yaml", "shop/web", 40), setReplicas("apps/api.yaml", "shop/api", 20)))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.HumanWon) != 1 || res.HumanWon[0].Object.NamespacedName() != "shop/web" || res.HumanWon[0].From != 7 {
		t.Errorf("HumanWon = %+v", res.HumanWon)
	}
	if len(res.Changes) != 1 || res.Changes[0].Object.NamespacedName() != "shop/api" || !res.Pushed {
		t.Errorf("result %+v", res)
	}
	if got := remoteFile(t, remote, "apps/web.yaml"); !strings.Contains(got, "replicas: 7") {
		t.Errorf("the human's value was overwritten:\n%s", got)
	}
	if got := remoteFile(t, remote, "apps/api.yaml"); !strings.Contains(got, "replicas: 20") {
		t.Errorf("latch's other change is missing:\n%s", got)
	}

	// An edit that ignores Allowed is caught, not pushed.
	head := remote.Head(t, "main")
	rude := func(_ context.Context, ws Workspace) ([]evidence.Change, error) {
		if ws.Attempt == 1 {
			human.Pull()
			human.WriteFile("apps/web.yaml", strings.Replace(human.ReadFile("apps/web.yaml"), "replicas: 7", "replicas: 8", 1))
			human.Commit("web: 8")
			human.Push()
		}
		data := readFile(t, filepath.Join(ws.Dir, "apps/web.yaml"))
		from, _ := strconv.ParseInt(replicasLine.FindStringSubmatch(data)[1], 10, 64)
		writeFile(t, filepath.Join(ws.Dir, "apps/web.yaml"), replicasLine.ReplaceAllString(data, "replicas: 40"))
		return []evidence.Change{{Object: objectid.Ref{Kind: "Deployment", Namespace: "shop", Name: "web"}, Field: "spec.replicas", From: from, To: 40}}, nil
	}
	if _, err := r.CommitAndPush(testContext(t), fastOptions(), rude); err == nil || !strings.Contains(err.Error(), "not allowed") {
		t.Errorf("an edit ignoring Allowed: err = %v", err)
	}
	if h := remote.Head(t, "main"); testGit(t, remote.BareDir, "log", "-1", "--format=%s", h) != "web: 8" {
		t.Errorf("remote moved past the human's commit (was %s)", head)
	}
}

// TestWrongPasswordNotRetried: a rotated password is an auth error, typed,
// reported once, and never shows the password in the error or the log.
func TestWrongPasswordNotRetried(t *testing.T) {
	remote, _ := seedRemote(t)
	ctx := testContext(t)

	bad := Auth{Username: remote.Username, Password: "wrong-" + remote.Password}
	_, err := Clone(ctx, remote.URL, "main", filepath.Join(t.TempDir(), "x"), bad)
	if !errors.Is(err, ErrAuth) {
		t.Fatalf("clone with a wrong password: %v, want ErrAuth", err)
	}
	if strings.Contains(err.Error(), bad.Password) {
		t.Errorf("clone error shows the password: %v", err)
	}

	r := cloneRemote(t, remote, remoteAuth(remote))
	used := remote.Password
	remote.SetPassword("rotated-" + used) // the server now wants another one
	var fetches int
	r.git.observe = func(a []string) {
		if a[0] == "fetch" {
			fetches++
		}
	}
	var logs bytes.Buffer
	opts := fastOptions()
	opts.Log = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	res, err := r.CommitAndPush(ctx, opts, edits(nil, setReplicas("apps/web.yaml", "shop/web", 40)))
	if !errors.Is(err, ErrAuth) || KindOf(err) != KindAuth {
		t.Fatalf("err = %v, want ErrAuth", err)
	}
	if res.Attempts != 1 || fetches != 1 {
		t.Errorf("auth failure retried: attempts %d, fetches %d", res.Attempts, fetches)
	}
	for _, text := range []string{err.Error(), fmt.Sprintf("%+v", err), logs.String()} {
		if strings.Contains(text, used) || strings.Contains(text, remote.Password) {
			t.Errorf("password shown: %s", text)
		}
	}
	t.Logf("auth error as reported: %v", err)
}

// flakyProxy sits between latch and the remote to make pushes and fetches
// fail the ways a network or a forge does.
type flakyProxy struct {
	mu sync.Mutex
	// fail answers this many next requests with 502 Bad Gateway.
	fail int
	// denyPush answers every push (receive-pack) with 403.
	denyPush bool
	// dropPushReply forwards this many pushes, then answers 502 anyway: the
	// remote took the commit but latch never heard.
	dropPushReply int
	URL           string
}

func newFlakyProxy(t *testing.T, remote *testenv.GitRemote) *flakyProxy {
	t.Helper()
	target, err := url.Parse(remote.URL)
	if err != nil {
		t.Fatal(err)
	}
	target.Path = ""
	rp := httputil.NewSingleHostReverseProxy(target)
	p := &flakyProxy{}
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		push := strings.HasSuffix(req.URL.Path, "/git-receive-pack") || req.URL.Query().Get("service") == "git-receive-pack"
		p.mu.Lock()
		_, _, hasAuth := req.BasicAuth()
		fail, deny, drop := p.fail > 0, p.denyPush && push && hasAuth, p.dropPushReply > 0 && push && req.Method == http.MethodPost
		if fail {
			p.fail--
		}
		if drop {
			p.dropPushReply--
		}
		p.mu.Unlock()
		switch {
		case fail:
			http.Error(w, "bad gateway", http.StatusBadGateway)
		case deny:
			// A careless forge that echoes the credentials it refused:
			// latch must scrub them from what it reports.
			_, password, _ := req.BasicAuth()
			http.Error(w, "pushes are not allowed for token "+password+" ("+req.Header.Get("Authorization")+")", http.StatusForbidden)
		case drop:
			rp.ServeHTTP(httptest.NewRecorder(), req)
			http.Error(w, "bad gateway", http.StatusBadGateway)
		default:
			rp.ServeHTTP(w, req)
		}
	}))
	t.Cleanup(server.Close)
	p.URL = server.URL + target.Path + strings.TrimPrefix(remote.URL, target.String())
	return p
}

func (p *flakyProxy) set(f func(p *flakyProxy)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f(p)
}

func TestNetworkFailuresRetried(t *testing.T) {
	remote, _ := seedRemote(t)
	proxy := newFlakyProxy(t, remote)
	ctx := testContext(t)
	r, err := Clone(ctx, proxy.URL, "main", filepath.Join(t.TempDir(), "latch"), remoteAuth(remote))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()

	proxy.set(func(p *flakyProxy) { p.fail = 2 })
	res, err := r.CommitAndPush(ctx, fastOptions(), edits(nil, setReplicas("apps/web.yaml", "shop/web", 40)))
	if err != nil || !res.Pushed || res.Attempts != 3 {
		t.Fatalf("after two 502s: %+v %v", res, err)
	}

	// The push lands but its reply is lost: the next attempt sees latch's
	// commit at the head and reports it, without a second commit.
	proxy.set(func(p *flakyProxy) { p.dropPushReply = 1 })
	res, err = r.CommitAndPush(ctx, fastOptions(), edits(nil, setReplicas("apps/web.yaml", "shop/web", 50)))
	if err != nil || !res.Pushed || res.Attempts != 2 || res.Commit != remote.Head(t, "main") || len(res.Changes) != 1 {
		t.Fatalf("lost push reply: %+v %v (head %s)", res, err, remote.Head(t, "main"))
	}
	if n := len(remote.Log(t, "main", "%H")); n != 3 {
		t.Errorf("%d commits on main, want 3 (seed + two latches)", n)
	}

	// Down for good: bounded by MaxAttempts, the error says network.
	proxy.set(func(p *flakyProxy) { p.fail = 1000 })
	opts := fastOptions()
	opts.MaxAttempts = 3
	res, err = r.CommitAndPush(ctx, opts, edits(nil, setReplicas("apps/web.yaml", "shop/web", 60)))
	if !errors.Is(err, ErrNetwork) || res.Attempts != 3 || !strings.Contains(err.Error(), "gave up after 3 attempts") {
		t.Errorf("remote down: %+v %v", res, err)
	}
	proxy.set(func(p *flakyProxy) { p.fail = 0 })

	// A push the forge refuses (403 on receive-pack only): auth, not retried,
	// no password in the error.
	proxy.set(func(p *flakyProxy) { p.denyPush = true })
	res, err = r.CommitAndPush(ctx, fastOptions(), edits(nil, setReplicas("apps/web.yaml", "shop/web", 70)))
	if !errors.Is(err, ErrAuth) || res.Attempts != 1 || res.Pushed {
		t.Errorf("push denied: %+v %v", res, err)
	}
	basic := base64.StdEncoding.EncodeToString([]byte(remote.Username + ":" + remote.Password))
	if strings.Contains(err.Error(), remote.Password) || strings.Contains(err.Error(), basic) || !strings.Contains(err.Error(), "for token [REDACTED] (Basic [REDACTED])") {
		t.Errorf("push error shows the password or was not scrubbed: %v", err)
	}
	t.Logf("denied push reported as: %v", err)
}

func TestHookDeclinedNotRetried(t *testing.T) {
	remote, _ := seedRemote(t)
	r := cloneRemote(t, remote, remoteAuth(remote))
	hook := filepath.Join(remote.BareDir, "hooks", "pre-receive")
	writeFile(t, hook, "#!/bin/sh\necho 'policy: no bots on Fridays' >&2\nexit 1\n")
	if err := os.Chmod(hook, 0o755); err != nil {
		t.Fatal(err)
	}
	res, err := r.CommitAndPush(testContext(t), fastOptions(), edits(nil, setReplicas("apps/web.yaml", "shop/web", 40)))
	if err == nil || KindOf(err) != KindOther || res.Attempts != 1 || !strings.Contains(err.Error(), "no bots on Fridays") {
		t.Errorf("hook declined: %+v %v", res, err)
	}
}

func TestDryRunDiff(t *testing.T) {
	remote, _ := seedRemote(t)
	r := cloneRemote(t, remote, remoteAuth(remote))
	ctx := testContext(t)
	head, err := r.Refresh(ctx)
	if err != nil || head != remote.Head(t, "main") {
		t.Fatalf("Refresh = %s, %v", head, err)
	}
	if d, err := r.Diff(ctx); err != nil || d != "" {
		t.Fatalf("diff of a clean tree: %q %v", d, err)
	}
	if _, err := setReplicas("apps/web.yaml", "shop/web", 40)(Workspace{Dir: r.Dir()}); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(r.Dir(), "apps/new.yaml"), "replicas: 1\n")
	diff, err := r.Diff(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"--- a/apps/web.yaml", "-replicas: 3", "+replicas: 40", "+++ b/apps/new.yaml"} {
		if !strings.Contains(diff, want) {
			t.Errorf("diff lacks %q:\n%s", want, diff)
		}
	}
	if _, err := r.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if d, _ := r.Diff(ctx); d != "" {
		t.Errorf("Refresh kept edits:\n%s", d)
	}
	if remote.Head(t, "main") != head {
		t.Error("dry run moved the remote")
	}
}

// TestPathMode: the user's checkout (with local work in progress) is never
// touched; latch commits in its own worktree and pushes to the upstream.
func TestPathMode(t *testing.T) {
	remote, human := seedRemote(t)
	user := remote.Human(t) // the user's checkout; its origin URL holds the credentials
	user.WriteFile("apps/web.yaml", strings.Replace(user.ReadFile("apps/web.yaml"), "image: web:1", "image: web:local", 1))
	localCommit := user.Commit("local work, not pushed")
	user.WriteFile("apps/api.yaml", "replicas: 999 # uncommitted\n")
	testGit(t, user.Dir, "add", "apps/api.yaml")
	user.WriteFile("scratch.txt", "untracked\n")
	before := snapshot(t, user.Dir)

	// Someone else pushes meanwhile.
	human.WriteFile("apps/db.yaml", "replicas: 1\n")
	human.Commit("add db")
	human.Push()

	ctx := testContext(t)
	r, err := Open(ctx, user.Dir, Auth{})
	if err != nil {
		t.Fatal(err)
	}
	if r.RemoteURL() != remote.URL || strings.Contains(r.RemoteURL(), remote.Password) {
		t.Errorf("RemoteURL = %s", r.RemoteURL())
	}
	res, err := r.CommitAndPush(ctx, fastOptions(), edits(nil, setReplicas("apps/web.yaml", "shop/web", 40)))
	if err != nil || !res.Pushed {
		t.Fatalf("%+v %v", res, err)
	}
	if got := remoteFile(t, remote, "apps/web.yaml"); !strings.Contains(got, "replicas: 40") || !strings.Contains(got, "image: web:1") {
		t.Errorf("remote web.yaml:\n%s", got)
	}
	if got := remoteFile(t, remote, "apps/db.yaml"); got != "replicas: 1" {
		t.Errorf("the other human's file: %q", got)
	}
	// Diff in path mode works in latch's worktree too.
	if _, err := r.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(r.Dir(), "apps/web.yaml"), "replicas: 50\n")
	if d, err := r.Diff(ctx); err != nil || !strings.Contains(d, "+replicas: 50") {
		t.Errorf("path-mode diff: %q %v", d, err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if after := snapshot(t, user.Dir); after != before {
		t.Errorf("the user's checkout changed:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	if got := testGit(t, user.Dir, "rev-parse", "HEAD"); got != localCommit {
		t.Errorf("user's HEAD moved to %s", got)
	}
	if wt := testGit(t, user.Dir, "worktree", "list", "--porcelain"); strings.Count(wt, "worktree ") != 1 {
		t.Errorf("latch's worktree left behind:\n%s", wt)
	}
	if _, err := os.Stat(r.private); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("private folder left: %v", err)
	}

	// A detached HEAD or a branch without upstream is refused, clearly.
	testGit(t, user.Dir, "checkout", "--quiet", "-b", "topic")
	if _, err := Open(ctx, user.Dir, Auth{}); err == nil || !strings.Contains(err.Error(), "no upstream") {
		t.Errorf("branch without upstream: %v", err)
	}
	if _, err := Open(ctx, t.TempDir(), Auth{}); err == nil {
		t.Error("opened a folder that is not a repository")
	}
}

// snapshot is the user's checkout state latch must not change: HEAD, the
// branches, the index and the work tree (status and content).
func snapshot(t *testing.T, dir string) string {
	t.Helper()
	return strings.Join([]string{
		testGit(t, dir, "rev-parse", "HEAD"),
		testGit(t, dir, "for-each-ref", "--format=%(refname) %(objectname)", "refs/heads"),
		testGit(t, dir, "status", "--porcelain=v1", "--untracked-files=all"),
		testGit(t, dir, "diff", "--cached"),
		readFile(t, filepath.Join(dir, "apps/web.yaml")),
		readFile(t, filepath.Join(dir, "apps/api.yaml")),
	}, "\n")
}

func TestCloneReusesAndRefuses(t *testing.T) {
	remote, _ := seedRemote(t)
	ctx := testContext(t)
	dir := filepath.Join(t.TempDir(), "latch")
	r1, err := Clone(ctx, remote.AuthURL(), "main", dir, Auth{})
	if err != nil {
		t.Fatal(err)
	}
	r1.Close()
	// Credentials from the URL went into Auth, not into .git/config.
	if cfg := readFile(t, filepath.Join(dir, ".git", "config")); strings.Contains(cfg, remote.Password) {
		t.Errorf(".git/config holds the password:\n%s", cfg)
	}
	r2, err := Clone(ctx, remote.AuthURL(), "main", dir, Auth{})
	if err != nil {
		t.Fatalf("reusing latch's clone: %v", err)
	}
	if _, err := r2.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	r2.Close()

	other := t.TempDir()
	writeFile(t, filepath.Join(other, "something"), "x")
	if _, err := Clone(ctx, remote.URL, "main", other, remoteAuth(remote)); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("clone into a non-empty folder: %v", err)
	}
	if _, err := Clone(ctx, remote.URL, "nope", filepath.Join(t.TempDir(), "y"), remoteAuth(remote)); err == nil || KindOf(err) == KindAuth {
		t.Errorf("clone of a missing branch: %v", err)
	}
}
