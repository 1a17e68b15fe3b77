package controller

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/mail"
	"os"
	"path/filepath"
	"strings"

	"github.com/latch-gitops/latch/internal/gitrepo"
)

// RepoOptions says where latch's repository is and how to reach it.
type RepoOptions struct {
	// Repo is a remote URL (https://, ssh://, git@host:path, file://) or the
	// path of an existing local checkout.
	Repo string
	// Branch to latch into (clone mode; path mode uses the checkout's branch
	// when empty).
	Branch string
	// WorkDir is where a remote is cloned; empty: a temporary folder removed
	// when the repository is closed.
	WorkDir string
	// CredentialsDir is a folder of credential files (a mounted Secret);
	// empty: LATCH_GIT_* environment variables.
	CredentialsDir string
	// Signer signs commits when its KeyPath is set.
	Signer gitrepo.Signer
}

// Options an OptionError names.
const (
	OptionRepo   = "repository" // RepoOptions.Repo
	OptionAuthor = "author"     // ParseIdentity's input
)

// OptionError says which of the caller's options is unusable, by what it
// is rather than by a flag: cmd/latch maps Option to the flag that sets it
// (--repo, --git-author), a library caller to its own field.
type OptionError struct {
	Option string
	// Value is printed when set; never set for values that may hold a
	// secret (a remote URL).
	Value string
	Err   error
}

func (e *OptionError) Error() string {
	if e.Value != "" {
		return fmt.Sprintf("%s %s: %v", e.Option, e.Value, e.Err)
	}
	return fmt.Sprintf("%s: %v", e.Option, e.Err)
}

func (e *OptionError) Unwrap() error { return e.Err }

// OpenRepo clones or opens the repository; the caller must call close.
func OpenRepo(ctx context.Context, opts RepoOptions) (repo *gitrepo.Repo, closeRepo func() error, err error) {
	if opts.Repo == "" {
		return nil, nil, &OptionError{Option: OptionRepo, Err: errors.New("required (a git URL or the path of a local checkout)")}
	}
	var auth gitrepo.Auth
	if opts.CredentialsDir != "" {
		auth, err = gitrepo.AuthFromFile(opts.CredentialsDir)
	} else {
		auth, err = gitrepo.AuthFromEnv("LATCH_GIT_")
	}
	if err != nil {
		return nil, nil, err
	}

	var cleanup []func() error
	closeAll := func() error {
		var first error
		for i := len(cleanup) - 1; i >= 0; i-- {
			if err := cleanup[i](); err != nil && first == nil {
				first = err
			}
		}
		return first
	}
	if isLocalPath(opts.Repo) {
		if info, err := os.Stat(opts.Repo); err != nil || !info.IsDir() {
			return nil, nil, &OptionError{Option: OptionRepo, Value: opts.Repo, Err: errors.New("not a git URL and not a folder on this machine")}
		}
		repo, err = gitrepo.Open(ctx, opts.Repo, auth)
		if err != nil {
			return nil, nil, &OptionError{Option: OptionRepo, Value: opts.Repo, Err: err}
		}
	} else {
		dir := opts.WorkDir
		if dir == "" {
			tmp, err := os.MkdirTemp("", "latch-clone-")
			if err != nil {
				return nil, nil, fmt.Errorf("creating a folder to clone into: %w", err)
			}
			cleanup = append(cleanup, func() error { return os.RemoveAll(tmp) })
			dir = filepath.Join(tmp, "repo")
		}
		branch := opts.Branch
		if branch == "" {
			branch = "main"
		}
		if err := removeStaleLocks(dir); err != nil {
			_ = closeAll()
			return nil, nil, err
		}
		repo, err = gitrepo.Clone(ctx, opts.Repo, branch, dir, auth)
		if err != nil {
			_ = closeAll()
			return nil, nil, err
		}
	}
	cleanup = append(cleanup, repo.Close)
	if opts.Signer.KeyPath != "" {
		if err := repo.UseSigner(ctx, opts.Signer); err != nil {
			_ = closeAll()
			return nil, nil, err
		}
	}
	return repo, closeAll, nil
}

// removeStaleLocks deletes git lock files a killed latch left in its own
// clone (an OOM kill or node loss in the middle of a commit leaves
// .git/index.lock; every later git command then fails with "File exists",
// and latch would never latch again). The clone is latch's alone and no
// git command of this process runs yet, so any lock in it is stale. A
// folder that is not (yet) a clone is left alone. Path mode never gets
// here: a user's checkout may have a git of its own running.
func removeStaleLocks(dir string) error {
	gitDir := filepath.Join(dir, ".git")
	if info, err := os.Stat(gitDir); err != nil || !info.IsDir() {
		return nil
	}
	return filepath.WalkDir(gitDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("clearing stale git locks in %s: %w", dir, err)
		}
		if d.IsDir() {
			// Locks live at the top (index, HEAD, config, packed-refs,
			// shallow) and beside refs; objects hold none worth the walk.
			if path != gitDir && !strings.HasPrefix(path, filepath.Join(gitDir, "refs")) {
				return fs.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(d.Name(), ".lock") {
			if err := os.Remove(path); err != nil {
				return fmt.Errorf("removing stale git lock %s: %w", path, err)
			}
		}
		return nil
	})
}

// isLocalPath tells a checkout path from a remote URL: URLs have a scheme
// or the scp-like user@host:path form.
func isLocalPath(repo string) bool {
	if strings.Contains(repo, "://") {
		return false
	}
	at, colon := strings.Index(repo, "@"), strings.Index(repo, ":")
	return !(at > 0 && colon > at)
}

// ParseIdentity reads a commit identity, "Name <email>".
func ParseIdentity(s string) (gitrepo.Identity, error) {
	if s == "" {
		return gitrepo.Identity{}, nil
	}
	addr, err := mail.ParseAddress(s)
	if err != nil || addr.Name == "" {
		return gitrepo.Identity{}, &OptionError{Option: OptionAuthor, Err: fmt.Errorf("want \"Name <email>\", got %q", s)}
	}
	return gitrepo.Identity{Name: addr.Name, Email: addr.Address}, nil
}
