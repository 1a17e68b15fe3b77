package gitrepo

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// Repo is a checkout latch commits in and pushes from. Its methods are safe
// for concurrent use (they serialise). Close it to remove its private files.
//
// Two modes:
//   - Clone mode (Clone): latch owns the checkout. Each round resets it
//     hard to the remote head and cleans it; nothing else may work in it.
//   - Path mode (Open): the checkout is the user's. latch never touches its
//     work tree, index, HEAD or branches: it works in a linked worktree of
//     its own (in a private temporary folder, detached HEAD) and pushes from
//     there. The only traces in the user's repository are the objects of
//     latch's commits, the remote-tracking ref a fetch updates (as `git
//     fetch` would), and the worktree entry, removed by Close.
type Repo struct {
	mu sync.Mutex

	// workDir is where edits happen and commits are made.
	workDir string
	// userDir is the user's checkout in path mode ("" in clone mode).
	userDir string
	// remote is the remote's name ("origin"), branch the branch on it.
	remote, branch string
	// remoteURL is the remote's URL without credentials.
	remoteURL string
	// private is a 0700 folder for the SSH key copy, GNUPGHOME, worktree.
	private string

	// auth without its Password: the password lives only in closures
	// (secretEnv, the redactor), so printing a Repo with %+v cannot show it.
	auth Auth

	env       []string // no secrets: see secretEnv
	secretEnv func() []string
	config    []configPair
	signer    signerState
	git       runner

	worktreeAdded bool
}

// Clone clones branch of url into dir, or reuses dir when it already holds
// a clone of url (a controller restarting on a persistent volume). dir must
// otherwise be missing or empty. Credentials in an HTTP(S) url are moved
// into auth (auth's own win) so that no URL on disk or in an error holds
// them. The branch must exist on the remote.
func Clone(ctx context.Context, url, branch, dir string, auth Auth) (*Repo, error) {
	cleanURL, cred, err := splitURLCredentials(url)
	if err != nil {
		return nil, err
	}
	if auth.Password == "" && cred.Password != "" {
		auth.Username, auth.Password = cred.Username, cred.Password
	}
	if branch == "" {
		return nil, errors.New("clone: branch must be set")
	}
	dir, err = filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("clone into %s: %w", dir, err)
	}
	// The clone is made in place (init, then fetch) rather than by `git
	// clone`, so that its .git exists before any credential is used: the
	// private folder (SSH key copy, GNUPGHOME) lives in it, where the next
	// start on this clone finds and removes what a killed process left,
	// and nothing lands in the system's temporary folder.
	probe := newRunner(baseEnv(), nil, baseConfig, newRedactor(append([]Auth{auth}, cred.secrets()...)...))
	reuse, err := existingClone(ctx, probe, dir, cleanURL)
	if err != nil {
		return nil, err
	}
	var undo func()
	if !reuse {
		if undo, err = initClone(ctx, probe, dir, cleanURL, branch); err != nil {
			return nil, err
		}
	}
	r, err := newRepo(cleanURL, auth, filepath.Join(dir, ".git", privateDirName), cred.secrets()...)
	if err != nil {
		if undo != nil {
			undo()
		}
		return nil, err
	}
	r.workDir, r.remote, r.branch = dir, "origin", branch
	if !reuse {
		if _, err := r.refresh(ctx); err != nil {
			r.Close()
			undo()
			return nil, fmt.Errorf("clone %s branch %s into %s: %w", cleanURL, branch, dir, err)
		}
	}
	return r, nil
}

// privateDirName is latch's private folder inside its clone's .git.
const privateDirName = "latch"

// initClone makes dir an empty repository whose origin is url, fetching
// only branch and no tags (what `git clone --single-branch --no-tags`
// configures). undo removes what it made, for a clone that then fails.
func initClone(ctx context.Context, git runner, dir, url, branch string) (undo func(), err error) {
	_, statErr := os.Stat(dir)
	created := errors.Is(statErr, fs.ErrNotExist)
	undo = func() {
		if created {
			_ = os.RemoveAll(dir)
		} else {
			_ = os.RemoveAll(filepath.Join(dir, ".git"))
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("clone into %s: %w", dir, err)
	}
	steps := [][]string{
		{"init", "--quiet", "--initial-branch=" + branch},
		{"config", "--local", "remote.origin.url", url},
		{"config", "--local", "remote.origin.fetch", "+refs/heads/" + branch + ":refs/remotes/origin/" + branch},
		{"config", "--local", "remote.origin.tagOpt", "--no-tags"},
		{"config", "--local", "branch." + branch + ".remote", "origin"},
		{"config", "--local", "branch." + branch + ".merge", "refs/heads/" + branch},
	}
	for _, args := range steps {
		if _, err := git.run(ctx, dir, nil, args...); err != nil {
			undo()
			return nil, fmt.Errorf("clone %s branch %s into %s: %w", url, branch, dir, err)
		}
	}
	return undo, nil
}

// existingClone reports whether dir is already a clone of url; an empty or
// missing dir is not, anything else is an error.
func existingClone(ctx context.Context, git runner, dir, url string) (bool, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) || (err == nil && len(entries) == 0) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("clone into %s: %w", dir, err)
	}
	got, err := git.run(ctx, dir, nil, "config", "--local", "--get", "remote.origin.url")
	if err != nil || strings.TrimSpace(got) != url {
		return false, fmt.Errorf("clone into %s: folder is not empty and is not latch's clone of %s", dir, url)
	}
	return true, nil
}

// Open opens the user's existing checkout at dir (path mode). latch pushes
// to the upstream of the branch checked out there (branch.NAME.remote and
// branch.NAME.merge), through the remote's own URL and auth. See Repo for
// what path mode leaves untouched.
func Open(ctx context.Context, dir string, auth Auth) (*Repo, error) {
	probe, err := newRepo("", auth, "")
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*Repo, error) {
		probe.Close()
		return nil, err
	}
	top, err := probe.git.run(ctx, dir, nil, "rev-parse", "--show-toplevel")
	if err != nil {
		return fail(fmt.Errorf("open %s: not a git work tree: %w", dir, err))
	}
	top = strings.TrimSpace(top)
	head, err := probe.git.run(ctx, top, nil, "symbolic-ref", "--quiet", "--short", "HEAD")
	if err != nil {
		return fail(fmt.Errorf("open %s: HEAD is detached; check out the branch latch should push to", top))
	}
	local := strings.TrimSpace(head)
	remote, err1 := probe.git.run(ctx, top, nil, "config", "--get", "branch."+local+".remote")
	merge, err2 := probe.git.run(ctx, top, nil, "config", "--get", "branch."+local+".merge")
	remote, merge = strings.TrimSpace(remote), strings.TrimSpace(merge)
	if err1 != nil || err2 != nil || remote == "" || remote == "." || !strings.HasPrefix(merge, "refs/heads/") {
		return fail(fmt.Errorf("open %s: branch %s has no upstream on a remote; set one with `git branch --set-upstream-to=origin/%s`", top, local, local))
	}
	rawURL, err := probe.git.run(ctx, top, nil, "remote", "get-url", remote)
	if err != nil {
		return fail(fmt.Errorf("open %s: remote %s: %w", top, remote, err))
	}
	probe.Close()

	// The user's URL may hold credentials; git uses them as configured, but
	// latch redacts them from every message and never stores the URL whole.
	cleanURL, cred, err := splitURLCredentials(strings.TrimSpace(rawURL))
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", top, err)
	}
	r, err := newRepo(cleanURL, auth, "", cred.secrets()...)
	if err != nil {
		return nil, err
	}
	r.userDir, r.remote, r.branch = top, remote, strings.TrimPrefix(merge, "refs/heads/")
	r.workDir = filepath.Join(r.private, "worktree")
	return r, nil
}

// newRepo sets up the private folder and the isolated git environment.
// private is the folder's path, emptied first (a killed process's leftovers
// go); "" makes a fresh one in the system's temporary folder (path mode).
// extraSecrets are redacted from messages too (a password from a URL).
func newRepo(remoteURL string, auth Auth, private string, extraSecrets ...Auth) (*Repo, error) {
	if err := auth.check(); err != nil {
		return nil, fmt.Errorf("git credentials: %w", err)
	}
	private, err := makePrivateDir(private)
	if err != nil {
		return nil, err
	}
	password := auth.Password
	r := &Repo{
		remoteURL: remoteURL,
		private:   private,
		auth:      auth,
	}
	r.auth.Password = ""
	env := baseEnv()
	config := append([]configPair(nil), baseConfig...)
	if password != "" {
		if scope := credentialScope(remoteURL); scope != "" {
			// The empty value clears helpers from the repository's config.
			config = append(config,
				configPair{"credential.helper", ""},
				configPair{"credential." + scope + ".helper", credentialHelper},
				configPair{"credential." + scope + ".username", auth.Username},
			)
			helperEnv := []string{envHelperUsername + "=" + auth.Username, envHelperPassword + "=" + password}
			r.secretEnv = func() []string { return helperEnv }
		}
	}
	if auth.CAFile != "" {
		config = append(config, configPair{"http.sslCAInfo", auth.CAFile})
	}
	if auth.SSHKeyPath != "" {
		key, err := os.ReadFile(auth.SSHKeyPath)
		if err != nil {
			os.RemoveAll(private)
			return nil, fmt.Errorf("git credentials: reading SSH key %s: %w", auth.SSHKeyPath, errors.Unwrap(err))
		}
		keyCopy := filepath.Join(private, "identity")
		if err := os.WriteFile(keyCopy, key, 0o600); err != nil {
			os.RemoveAll(private)
			return nil, fmt.Errorf("git credentials: copying SSH key: %w", err)
		}
		env = append(env, "GIT_SSH_COMMAND="+sshCommand(keyCopy, auth.KnownHostsPath), "GIT_SSH_VARIANT=ssh")
	}
	r.env, r.config = env, config
	r.git = newRunner(env, r.secretEnv, config, newRedactor(append([]Auth{{Username: auth.Username, Password: password}}, extraSecrets...)...))
	return r, nil
}

// makePrivateDir empties and creates the 0700 folder at path, or makes a
// fresh temporary one when path is "".
func makePrivateDir(path string) (string, error) {
	if path == "" {
		dir, err := os.MkdirTemp("", "latch-git-")
		if err != nil {
			return "", fmt.Errorf("creating latch's private git folder: %w", err)
		}
		return dir, nil
	}
	if err := os.RemoveAll(path); err != nil {
		return "", fmt.Errorf("removing the private git folder %s a previous run left: %w", path, err)
	}
	if err := os.Mkdir(path, 0o700); err != nil {
		return "", fmt.Errorf("creating latch's private git folder: %w", err)
	}
	return path, nil
}

// rebuildRunner applies signer settings on top of the base environment.
func (r *Repo) rebuildRunner() {
	observe := r.git.observe
	env := append(append([]string(nil), r.env...), r.signer.env...)
	r.git = newRunner(env, r.secretEnv, append(append([]configPair(nil), r.config...), r.signer.config...), r.git.redact)
	r.git.observe = observe
}

// Dir is the work tree edits go into: the clone, or latch's private
// worktree in path mode. Its content is only meaningful after Refresh (or
// inside CommitAndPush's edit).
func (r *Repo) Dir() string { return r.workDir }

// Branch is the remote branch latch pushes to.
func (r *Repo) Branch() string { return r.branch }

// RemoteURL is the remote's URL without credentials.
func (r *Repo) RemoteURL() string { return r.remoteURL }

// Close removes latch's private files (key copy, GNUPGHOME, path mode's
// worktree) and stops the gpg-agent latch started, if any.
func (r *Repo) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	var errs []error
	if r.worktreeAdded {
		// A fresh context: Close runs when the caller's may be done.
		if _, err := r.git.run(context.Background(), r.userDir, nil, "worktree", "remove", "--force", r.workDir); err != nil {
			errs = append(errs, fmt.Errorf("removing latch's worktree of %s: %w", r.userDir, err))
		}
		r.worktreeAdded = false
	}
	if err := r.signer.close(); err != nil {
		errs = append(errs, err)
	}
	if r.private != "" {
		if err := os.RemoveAll(r.private); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Refresh fetches the remote branch and resets latch's work tree to exactly
// its head (discarding any edit), returning the head commit.
func (r *Repo) Refresh(ctx context.Context) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.refresh(ctx)
}

func (r *Repo) trackingRef() string { return "refs/remotes/" + r.remote + "/" + r.branch }

// gitDir is the folder git commands for the repository as a whole run in.
func (r *Repo) gitDir() string {
	if r.userDir != "" {
		return r.userDir
	}
	return r.workDir
}

func (r *Repo) refresh(ctx context.Context) (string, error) {
	head, err := r.fetchHead(ctx)
	if err != nil {
		return "", err
	}
	if err := r.settle(ctx, head); err != nil {
		return "", err
	}
	return head, nil
}

// fetchHead fetches the remote branch and returns its head, leaving the
// work tree as it is.
func (r *Repo) fetchHead(ctx context.Context) (string, error) {
	// The tracking ref follows the remote (the "+" is on the fetch side,
	// which only ever updates latch's view of the remote).
	if _, err := r.git.run(ctx, r.gitDir(), nil, "fetch", "--quiet", "--no-tags", "--no-write-fetch-head",
		r.remote, "+refs/heads/"+r.branch+":"+r.trackingRef()); err != nil {
		return "", fmt.Errorf("fetch %s branch %s: %w", r.remoteURL, r.branch, err)
	}
	head, err := r.git.run(ctx, r.gitDir(), nil, "rev-parse", "--verify", "--quiet", r.trackingRef()+"^{commit}")
	if err != nil {
		return "", fmt.Errorf("fetch %s: branch %s not found after fetch: %w", r.remoteURL, r.branch, err)
	}
	return strings.TrimSpace(head), nil
}

// settle puts latch's work tree at exactly head (adding it as a worktree of
// the user's clone the first time), with no edit or stray file left.
func (r *Repo) settle(ctx context.Context, head string) error {
	if r.userDir != "" && !r.worktreeAdded {
		if _, err := r.git.run(ctx, r.userDir, nil, "worktree", "add", "--quiet", "--detach", r.workDir, head); err != nil {
			return fmt.Errorf("adding latch's worktree to %s: %w", r.userDir, err)
		}
		r.worktreeAdded = true
	}
	if _, err := r.git.run(ctx, r.workDir, nil, "reset", "--quiet", "--hard", head); err != nil {
		return fmt.Errorf("resetting %s to %s: %w", r.workDir, head, err)
	}
	if _, err := r.git.run(ctx, r.workDir, nil, "clean", "-ffdxq"); err != nil {
		return fmt.Errorf("cleaning %s: %w", r.workDir, err)
	}
	return nil
}

// Diff stages every edit in latch's work tree and returns it as a unified
// diff against HEAD ("" when nothing changed), for `latch sync --dry-run`.
func (r *Repo) Diff(ctx context.Context) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.stageAll(ctx); err != nil {
		return "", err
	}
	out, err := r.git.run(ctx, r.workDir, nil, "diff", "--cached", "--no-color", "--no-ext-diff", "--no-textconv", "--no-renames", "HEAD")
	if err != nil {
		return "", fmt.Errorf("diff in %s: %w", r.workDir, err)
	}
	return out, nil
}

func (r *Repo) stageAll(ctx context.Context) error {
	// One `git add -A` for the whole tree: latch's work tree holds exactly the
	// remote head plus the edit, so "all" is the edited files. (go-git's
	// per-file Add is the trap that costs seconds per hundred files.)
	if _, err := r.git.run(ctx, r.workDir, nil, "add", "--all"); err != nil {
		return fmt.Errorf("staging edits in %s: %w", r.workDir, err)
	}
	return nil
}

// stagedFiles lists the files staged against HEAD.
func (r *Repo) stagedFiles(ctx context.Context) ([]string, error) {
	out, err := r.git.run(ctx, r.workDir, nil, "diff", "--cached", "--name-only", "-z", "--no-renames", "HEAD")
	if err != nil {
		return nil, fmt.Errorf("listing staged files in %s: %w", r.workDir, err)
	}
	var files []string
	for _, f := range strings.Split(out, "\x00") {
		if f != "" {
			files = append(files, f)
		}
	}
	return files, nil
}

// Identity is a git author or committer.
type Identity struct {
	Name, Email string
}

// latch's author and committer when none is configured.
const (
	DefaultName  = "latch"
	DefaultEmail = "latch@localhost"
)

func (id Identity) orDefault(fallback Identity) Identity {
	if id.Name == "" && id.Email == "" {
		return fallback
	}
	return id
}

// identityEnv names latch's author and committer to git (defaults filled in).
func identityEnv(author, committer Identity) []string {
	author = author.orDefault(Identity{Name: DefaultName, Email: DefaultEmail})
	committer = committer.orDefault(author)
	return []string{"GIT_AUTHOR_NAME=" + author.Name, "GIT_AUTHOR_EMAIL=" + author.Email,
		"GIT_COMMITTER_NAME=" + committer.Name, "GIT_COMMITTER_EMAIL=" + committer.Email}
}

// commit commits the staged files with message; it returns the commit id.
func (r *Repo) commit(ctx context.Context, message string, author, committer Identity) (string, error) {
	git := r.git
	git.env = append(append([]string(nil), git.env...), identityEnv(author, committer)...)
	if _, err := git.run(ctx, r.workDir, strings.NewReader(message), "commit", "--quiet", "--no-verify",
		"--cleanup=whitespace", "--file=-"); err != nil {
		return "", fmt.Errorf("commit in %s: %w", r.workDir, err)
	}
	id, err := r.git.run(ctx, r.workDir, nil, "rev-parse", "HEAD")
	if err != nil {
		return "", fmt.Errorf("commit in %s: %w", r.workDir, err)
	}
	return strings.TrimSpace(id), nil
}
