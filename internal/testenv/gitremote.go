package testenv

import (
	"crypto/subtle"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
)

// GitRemote is a bare git repository served over smart HTTP on loopback by
// git's own http-backend, behind basic auth.
type GitRemote struct {
	// URL is the clone URL without credentials.
	URL string
	// Username and Password are the credentials the server accepts; change
	// the password with SetPassword (the server reads its own copy).
	Username, Password string
	// BareDir is the bare repository on disk, for assertions (git log, etc.).
	BareDir string
	// Branch is the default branch the first push creates.
	Branch string

	// down makes the server answer 503 to every request (SetAvailable);
	// refused counts those answers.
	down, refused *atomic.Int64
	// accepted is the password the server checks, kept apart from the
	// exported field so a test can rotate it while requests are served.
	accepted *atomic.Pointer[string]
	// authFailures counts requests refused for wrong credentials.
	authFailures *atomic.Int64
}

// AuthFailures is how many requests carried credentials the remote refused
// (a request without any, git's first of each command, is not counted): one
// per git command run with a wrong password.
func (r *GitRemote) AuthFailures() int64 { return r.authFailures.Load() }

// SetPassword rotates the password: from now on the server refuses the old
// one, as a forge does after a token is revoked.
func (r *GitRemote) SetPassword(password string) {
	r.Password = password
	r.accepted.Store(&password)
}

// SetAvailable switches the remote off (false: every request gets 503
// Service Unavailable, as a forge in maintenance answers) or back on. The
// repository on disk stays as it is, and a request already being served
// completes.
func (r *GitRemote) SetAvailable(available bool) {
	if available {
		r.down.Store(0)
	} else {
		r.down.Store(1)
	}
}

// Refused is how many requests the remote refused while unavailable.
func (r *GitRemote) Refused() int64 { return r.refused.Load() }

// NewGitRemote starts an empty remote; it stops when the test ends.
func NewGitRemote(t T) *GitRemote {
	t.Helper()
	backend := gitHTTPBackend(t)
	root := t.TempDir()
	bare := filepath.Join(root, "repo.git")
	runGit(t, root, "init", "--quiet", "--bare", "--initial-branch=main", bare)
	runGit(t, bare, "config", "http.receivepack", "true")
	// A force push or a history rewrite must be refused, as a protected
	// branch on a real forge would.
	runGit(t, bare, "config", "receive.denyNonFastForwards", "true")
	runGit(t, bare, "config", "receive.denyDeletes", "true")

	remote := &GitRemote{Username: "latch", Password: "s3cret-" + filepath.Base(root), BareDir: bare, Branch: "main",
		down: new(atomic.Int64), refused: new(atomic.Int64), accepted: new(atomic.Pointer[string]),
		authFailures: new(atomic.Int64)}
	remote.accepted.Store(&remote.Password)
	handler := &cgi.Handler{
		Path: backend,
		Root: "/git",
		Env:  []string{"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1"},
	}
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if remote.down.Load() != 0 {
			remote.refused.Add(1)
			http.Error(w, "git remote unavailable (test)", http.StatusServiceUnavailable)
			return
		}
		user, pass, ok := r.BasicAuth()
		if !ok || subtle.ConstantTimeCompare([]byte(user), []byte(remote.Username)) != 1 ||
			subtle.ConstantTimeCompare([]byte(pass), []byte(*remote.accepted.Load())) != 1 {
			if ok {
				remote.authFailures.Add(1)
			}
			w.Header().Set("WWW-Authenticate", `Basic realm="latch test remote"`)
			http.Error(w, "authentication required", http.StatusUnauthorized)
			return
		}
		// git-http-backend trusts REMOTE_USER to allow pushes.
		r.Header.Set("Remote-User", user)
		handler.ServeHTTP(w, r)
	}))
	t.Cleanup(server.Close)
	remote.URL = server.URL + "/git/repo.git"
	return remote
}

// AuthURL is URL with the credentials embedded, for git CLI clones in tests.
func (r *GitRemote) AuthURL() string {
	u, _ := url.Parse(r.URL)
	u.User = url.UserPassword(r.Username, r.Password)
	return u.String()
}

// Head returns the commit the branch points at on the remote ("" if none).
func (r *GitRemote) Head(t T, branch string) string {
	t.Helper()
	out, err := exec.Command("git", "-C", r.BareDir, "rev-parse", "--verify", "--quiet", "refs/heads/"+branch).Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// Log returns `git log --format=format` of the branch on the remote, newest first.
func (r *GitRemote) Log(t T, branch, format string) []string {
	t.Helper()
	out := runGit(t, r.BareDir, "log", "--format="+format, "refs/heads/"+branch)
	if out == "" {
		return nil
	}
	return strings.Split(out, "\n")
}

// Human is a person working on the remote from outside latch: a clone with
// its own identity that edits, commits and pushes with the git CLI.
type Human struct {
	t      T
	Dir    string
	remote *GitRemote
	branch string
}

// Human clones the remote into a fresh folder as "Human Operator". If the
// remote is empty, the clone starts the branch.
func (r *GitRemote) Human(t T) *Human {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "human")
	runGit(t, "", "clone", "--quiet", r.AuthURL(), dir)
	runGit(t, dir, "config", "user.name", "Human Operator")
	runGit(t, dir, "config", "user.email", "human@example.com")
	runGit(t, dir, "config", "commit.gpgsign", "false")
	runGit(t, dir, "checkout", "--quiet", "-B", r.Branch)
	return &Human{t: t, Dir: dir, remote: r, branch: r.Branch}
}

// WriteFile writes a file (slash path relative to the clone), creating folders.
func (h *Human) WriteFile(rel, content string) {
	h.t.Helper()
	path := filepath.Join(h.Dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		h.t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		h.t.Fatal(err)
	}
}

// ReadFile reads a file of the clone.
func (h *Human) ReadFile(rel string) string {
	h.t.Helper()
	data, err := os.ReadFile(filepath.Join(h.Dir, filepath.FromSlash(rel)))
	if err != nil {
		h.t.Fatal(err)
	}
	return string(data)
}

// Commit stages everything and commits; it returns the new commit id.
func (h *Human) Commit(message string) string {
	h.t.Helper()
	runGit(h.t, h.Dir, "add", "--all")
	runGit(h.t, h.Dir, "commit", "--quiet", "--message", message)
	return runGit(h.t, h.Dir, "rev-parse", "HEAD")
}

// Pull fetches and rebases onto the remote branch, as a careful person would.
func (h *Human) Pull() {
	h.t.Helper()
	runGit(h.t, h.Dir, "pull", "--quiet", "--rebase", "origin", h.branch)
}

// Push pushes the branch; it fails the test if the remote refuses.
func (h *Human) Push() {
	h.t.Helper()
	runGit(h.t, h.Dir, "push", "--quiet", "origin", "HEAD:refs/heads/"+h.branch)
}

// TryPush pushes and returns git's error instead of failing the test.
func (h *Human) TryPush() error {
	cmd := exec.Command("git", "push", "--quiet", "origin", "HEAD:refs/heads/"+h.branch)
	cmd.Dir = h.Dir
	cmd.Env = gitEnv()
	out, err := cmd.CombinedOutput()
	if err != nil {
		return &gitError{args: "push", out: string(out), err: err}
	}
	return nil
}

type gitError struct {
	args, out string
	err       error
}

func (e *gitError) Error() string {
	return "git " + e.args + ": " + e.err.Error() + ": " + strings.TrimSpace(e.out)
}

// gitEnv isolates git from the machine's user and system configuration.
func gitEnv() []string {
	return append(os.Environ(),
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_TERMINAL_PROMPT=0",
	)
}

// runGit runs git in dir and returns its trimmed stdout; any failure fails the test.
func runGit(t T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = gitEnv()
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("git %s (in %s): %v: %s", strings.Join(args, " "), dir, err, stderr.String())
	}
	return strings.TrimSpace(string(out))
}

// gitHTTPBackend finds git's http-backend program, skipping (or failing in CI)
// when git is not installed with it.
func gitHTTPBackend(t T) string {
	t.Helper()
	out, err := exec.Command("git", "--exec-path").Output()
	if err == nil {
		path := filepath.Join(strings.TrimSpace(string(out)), "git-http-backend")
		if _, err := os.Stat(path); err == nil {
			return path
		}
	}
	msg := "git-http-backend not found (need git with its exec-path programs)"
	if os.Getenv("CI") != "" {
		t.Fatalf("CI is set, so this real test may not be skipped: %s", msg)
	}
	t.Skipf("SKIPPING REAL TEST: %s", msg)
	return ""
}
