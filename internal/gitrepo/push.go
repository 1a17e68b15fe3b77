package gitrepo

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"path"
	"strings"
	"text/template"
	"time"

	"github.com/latch-gitops/latch/internal/backoff"
	"github.com/latch-gitops/latch/internal/objectid"

	"github.com/latch-gitops/latch/internal/evidence"
)

// PushOptions configures CommitAndPush. The zero value works.
type PushOptions struct {
	// Author and Committer of latch's commits; Author defaults to
	// latch <latch@localhost>, Committer to Author.
	Author, Committer Identity
	// Template renders the commit message (nil: evidence.DefaultMessageTemplate);
	// Cluster names the cluster in the message and the Latch-Cluster trailer.
	Template *template.Template
	Cluster  string
	// MaxAttempts bounds the rounds that make no progress (default
	// DefaultMaxAttempts): each network failure uses one. A conflict (the
	// push lost to someone else's push) is progress — the remote moved — so
	// it does not use one; conflicts are bounded by MaxConflicts and ctx.
	// Authentication and other failures end the loop at once.
	MaxAttempts int
	// MaxConflicts bounds the conflicts one call retries (default
	// DefaultMaxConflicts), so a pass never loops for ever.
	MaxConflicts int
	// Inputs are files the edit reads besides the ones it writes (latch.yaml:
	// a person changing the policy changes what the edit decides). A lost
	// commit is replayed on the new head only when the remote changed none
	// of its files and none of these; otherwise the edit runs again.
	Inputs []string
	// Changed turns folding on. On an attempt after a lost push, edit may
	// then change fields the first attempt did not — changes that arrived
	// during the retries, folded into the one commit instead of waiting for
	// a commit of their own — except fields in a file the remote changed
	// since the first attempt's head (someone else's edit there: the next
	// pass decides them). Changed reports whether what edit reads besides
	// git (the cluster) changed since edit last ran; a lost commit is then
	// edited again at the new head rather than replayed. nil: a retry
	// changes only the fields the first attempt changed.
	Changed func() bool
	// Backoff is the wait before the second attempt (default
	// DefaultBackoff); it doubles per network failure up to MaxBackoff
	// (default DefaultMaxBackoff), each wait jittered to a random point in
	// its upper half. After a push lost to another push the wait is drawn
	// from zero up to Backoff: the remote moved, nothing is failing, and
	// instances that lost to the same push retry spread apart rather than
	// in lockstep.
	Backoff, MaxBackoff time.Duration
	// Log receives one record per attempt (nil: no logging). Records hold
	// no credentials.
	Log *slog.Logger
}

// Retry defaults: 5 attempts wait at most 0.5+1+2+4 = 7.5 s in total.
const (
	DefaultMaxAttempts  = 5
	DefaultMaxConflicts = 100
	DefaultBackoff      = 500 * time.Millisecond
	DefaultMaxBackoff   = 15 * time.Second
)

// Workspace is what an edit function works on: latch's work tree at the
// remote head.
type Workspace struct {
	// Dir is the work tree; edit the files here (slash paths under it).
	Dir string
	// Head is the commit Dir is at.
	Head string
	// Attempt counts from 1.
	Attempt int

	// intended holds the keys of the first attempt's changes (and of those
	// folded in since); denied the keys a human changed during the round.
	// Both nil on the first attempt. fold: other fields are allowed too
	// (PushOptions.Changed).
	intended map[evidence.FieldKey]bool
	denied   map[evidence.FieldKey]bool
	fold     bool
	// repo reads history for LastChange (nil outside CommitAndPush).
	repo *Repo
}

// Allowed reports whether latch may change this field in this attempt. The
// edit function must skip the fields it is not allowed to change. On the
// first attempt every field is allowed. On a retry only the fields the first
// attempt changed are (with PushOptions.Changed, other fields too, unless
// their file moved meanwhile), minus those a human changed in git in
// between: the human wins the round, and the next window starts from the
// human's value.
func (w Workspace) Allowed(object objectid.Ref, field string) bool {
	if w.intended == nil {
		return true
	}
	key := evidence.FieldKey{Object: object.Key(), Field: field}
	return !w.denied[key] && (w.intended[key] || w.fold)
}

// EditFunc edits files in ws.Dir — re-reading them, since a human may have
// changed them since the last attempt — and returns the changes it made.
// It must leave the fields ws.Allowed refuses untouched. An error ends
// CommitAndPush without retrying. It runs while the Repo is locked: it must
// not call the Repo's methods.
type EditFunc func(ctx context.Context, ws Workspace) ([]evidence.Change, error)

// Result is what CommitAndPush did.
type Result struct {
	// Commit is latch's pushed commit ("" when there was nothing to commit).
	Commit string
	// Base is the remote head the last attempt started from.
	Base string
	// Changes are the changes in Commit (or, with no commit, none).
	Changes []evidence.Change
	// HumanWon are changes latch meant to make but dropped this round
	// because a human changed the same field in git meanwhile.
	HumanWon []evidence.Change
	// Files are the files Commit changed (slash paths).
	Files []string
	// Attempts is how many rounds ran (1 without any retry).
	Attempts int
	// Pushed reports whether Commit reached the remote.
	Pushed bool
}

// CommitAndPush runs the safe-push loop: fetch the remote branch, reset
// latch's work tree to its head, call edit, commit the changed files (no
// changes: no commit, Result.Commit ""), and push without force. When the
// push is not a fast-forward (someone pushed first), it waits a moment
// (drawn from zero up to opts.Backoff) and starts over from the new head:
// it replays the lost commit there when the remote changed none of its
// files and inputs, and calls edit again otherwise (or, with
// opts.Changed, when there is something new to fold in), up to
// opts.MaxConflicts and while ctx lasts. Network failures are retried with
// exponential backoff and jitter, up to opts.MaxAttempts; an
// authentication failure (errors.Is(err, ErrAuth)) or any other failure is
// returned at once. It never force-pushes and never pushes a "+" refspec.
func (r *Repo) CommitAndPush(ctx context.Context, opts PushOptions, edit EditFunc) (Result, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	maxAttempts := opts.MaxAttempts
	if maxAttempts <= 0 {
		maxAttempts = DefaultMaxAttempts
	}
	round := &roundState{firstFrom: map[evidence.FieldKey]int64{}, denied: map[evidence.FieldKey]bool{}, fold: opts.Changed != nil}
	var res Result
	var lastErr error
	// unconfirmed is the last attempt's result when its push failed on the
	// network: the remote may have taken it and only the reply was lost.
	var unconfirmed *Result
	maxConflicts := opts.MaxConflicts
	if maxConflicts <= 0 {
		maxConflicts = DefaultMaxConflicts
	}
	// failures counts the rounds without progress (network), conflicts the
	// rounds lost to another push; the wait grows only with failures, and
	// after a lost push it is drawn from [0, Backoff) (conflictWait), so
	// a fleet contending for one branch retries soon and not in lockstep.
	failures, conflicts := 0, 0
	lostPush := false // the last attempt lost to another push
	for attempt := 1; failures < maxAttempts && conflicts <= maxConflicts; attempt++ {
		res = Result{Attempts: attempt, HumanWon: round.humanWon}
		if attempt > 1 {
			wait := retryWait(opts, failures+1)
			if lostPush {
				wait = conflictWait(opts, rand.Float64())
			}
			if err := sleep(ctx, wait); err != nil {
				return res, fmt.Errorf("push to %s branch %s: %w (after %d attempts, last: %w)", r.remoteURL, r.branch, err, attempt-1, lastErr)
			}
		}
		round.unconfirmed = unconfirmed
		err := r.attempt(ctx, opts, edit, round, attempt, &res)
		unconfirmed, round.conflicted = nil, nil
		if err == nil {
			r.log(opts, slog.LevelInfo, "latch push done", "attempt", attempt, "base", res.Base, "commit", res.Commit, "pushed", res.Pushed, "changes", len(res.Changes), "humanWon", len(res.HumanWon))
			return res, nil
		}
		kind := KindOf(err)
		r.log(opts, slog.LevelWarn, "latch push attempt failed", "attempt", attempt, "base", res.Base, "kind", kind.String(), "error", err.Error())
		if ctx.Err() != nil || (kind != KindConflict && kind != KindNetwork) {
			return res, err
		}
		lastErr = err
		lostPush = kind == KindConflict
		if kind == KindConflict {
			conflicts++
			if res.Commit != "" && !res.Pushed {
				lost := res
				round.conflicted = &lost
			}
			continue
		}
		failures++
		if res.Commit != "" && !res.Pushed {
			pending := res
			unconfirmed = &pending
		}
	}
	return res, fmt.Errorf("push to %s branch %s: gave up after %d attempts (%d conflicts): %w", r.remoteURL, r.branch, res.Attempts, conflicts, lastErr)
}

// roundState is what one CommitAndPush call remembers across attempts.
type roundState struct {
	// firstFrom: for each field the first attempt changed, the value git
	// declared then. A different From later means a human changed it.
	firstFrom map[evidence.FieldKey]int64
	// intended is nil until the first attempt has run edit.
	intended map[evidence.FieldKey]bool
	denied   map[evidence.FieldKey]bool
	humanWon []evidence.Change
	// unconfirmed is the previous attempt's result if its push failed on
	// the network; set for one attempt only.
	unconfirmed *Result
	// conflicted is the previous attempt's result if its push lost to
	// another push; set for one attempt only (see replay).
	conflicted *Result
	// fold: a retry may change fields the first attempt did not
	// (PushOptions.Changed), except in the files the remote changed since
	// firstBase, the head the first attempt edited.
	fold      bool
	firstBase string
}

func (r *Repo) attempt(ctx context.Context, opts PushOptions, edit EditFunc, round *roundState, attempt int, res *Result) error {
	// The work tree is settled at the head only once it is known no
	// replay will do: a replay builds on the lost commit checked out.
	head, err := r.fetchHead(ctx)
	if err != nil {
		return err
	}
	res.Base = head
	if prev := round.conflicted; prev != nil && (opts.Changed == nil || !opts.Changed()) {
		replayed, err := r.replay(ctx, opts, prev, head, res)
		if err != nil || replayed {
			return err
		}
	}
	if err := r.settle(ctx, head); err != nil {
		return err
	}
	if prev := round.unconfirmed; prev != nil && r.isAncestor(ctx, prev.Commit, head) {
		// The push that "failed" had landed: report it instead of
		// committing anew (edit would find nothing left to do anyway).
		attempts := res.Attempts
		*res = *prev
		res.Attempts, res.Pushed = attempts, true
		return nil
	}
	changes, err := r.runEdit(ctx, edit, round, head, attempt)
	if err != nil {
		return err
	}
	res.HumanWon = round.humanWon
	if err := r.stageAll(ctx); err != nil {
		return err
	}
	files, err := r.stagedFiles(ctx)
	if err != nil {
		return err
	}
	switch {
	case len(files) == 0 && len(changes) == 0:
		return nil // nothing to latch (or it is already in git)
	case len(files) == 0:
		return fmt.Errorf("edit at %s reported %d changes (first: %s %s) but changed no file", head, len(changes), changes[0].Ref(), changes[0].Field)
	case len(changes) == 0:
		return fmt.Errorf("edit at %s changed %d files (first: %s) but reported no change; latch does not commit without evidence", head, len(files), files[0])
	}
	message, err := evidence.CommitMessage(opts.Template, changes, opts.Cluster)
	if err != nil {
		return err
	}
	commit, err := r.commit(ctx, message, opts.Author, opts.Committer)
	if err != nil {
		return err
	}
	res.Commit, res.Changes, res.Files = commit, changes, files
	if err := r.push(ctx); err != nil {
		return err
	}
	res.Pushed = true
	return nil
}

// runEdit calls edit and applies the "human wins" rule: on a retry, a field
// whose declared value differs from what the first attempt read was changed
// by someone else, so the tree is reset and edit runs again with that field
// denied.
func (r *Repo) runEdit(ctx context.Context, edit EditFunc, round *roundState, head string, attempt int) ([]evidence.Change, error) {
	var moved map[string]bool // files the remote changed since round.firstBase
	for pass := 0; ; pass++ {
		ws := Workspace{Dir: r.workDir, Head: head, Attempt: attempt, intended: round.intended, denied: round.denied, fold: round.fold, repo: r}
		changes, err := edit(ctx, ws)
		if err != nil {
			return nil, fmt.Errorf("edit at %s (attempt %d): %w", head, attempt, err)
		}
		if round.intended == nil {
			round.intended, round.firstBase = map[evidence.FieldKey]bool{}, head
			for _, c := range changes {
				round.intended[c.Key()] = true
				round.firstFrom[c.Key()] = c.From
			}
			return changes, nil
		}
		var refused []string
		newlyDenied := false
		for _, c := range changes {
			key := c.Key()
			if !ws.Allowed(c.Object, c.Field) {
				refused = append(refused, c.Ref()+" "+c.Field)
				continue
			}
			if !round.intended[key] {
				// Folded in (round.fold): allowed unless someone changed
				// its file since the first attempt read it — maybe this
				// very field, whose value then stands this round.
				if moved == nil {
					if moved, err = r.changedFiles(ctx, round.firstBase, head); err != nil {
						return nil, err
					}
				}
				if c.File == "" || moved[c.File] {
					round.denied[key] = true
					newlyDenied = true
				}
				continue
			}
			if c.From != round.firstFrom[key] {
				round.denied[key] = true
				round.humanWon = append(round.humanWon, c)
				newlyDenied = true
			}
		}
		if len(refused) > 0 {
			return nil, fmt.Errorf("edit at %s (attempt %d) changed fields it was not allowed to (Workspace.Allowed): %s", head, attempt, strings.Join(refused, ", "))
		}
		if !newlyDenied {
			for _, c := range changes {
				if key := c.Key(); !round.intended[key] {
					round.intended[key], round.firstFrom[key] = true, c.From
				}
			}
			return changes, nil
		}
		if pass > 0 {
			// Cannot happen with a deterministic edit; do not loop for ever.
			return nil, fmt.Errorf("edit at %s (attempt %d): fields kept changing under the human-wins rule", head, attempt)
		}
		// Undo this pass's edits and let edit run without the denied fields.
		if _, err := r.git.run(ctx, r.workDir, nil, "reset", "--quiet", "--hard", head); err != nil {
			return nil, fmt.Errorf("resetting %s to %s: %w", r.workDir, head, err)
		}
		if _, err := r.git.run(ctx, r.workDir, nil, "clean", "-ffdxq"); err != nil {
			return nil, fmt.Errorf("cleaning %s: %w", r.workDir, err)
		}
	}
}

// isAncestor reports whether commit is in head's history.
func (r *Repo) isAncestor(ctx context.Context, commit, head string) bool {
	_, err := r.git.run(ctx, r.workDir, nil, "merge-base", "--is-ancestor", commit, head)
	return err == nil
}

// pushArgs is the one push latch runs: HEAD to the branch, fast-forward
// only (no --force of any kind, no "+" refspec), porcelain output so the
// outcome can be read reliably.
func (r *Repo) pushArgs() []string {
	return []string{"push", "--porcelain", "--no-verify", r.remote, "HEAD:refs/heads/" + r.branch}
}

// checkNoForce refuses any push argument list that could rewrite the
// remote branch. pushArgs never produces one; this guards later edits.
func checkNoForce(args []string) error {
	for _, a := range args {
		if a == "-f" || strings.HasPrefix(a, "--force") || strings.HasPrefix(a, "--mirror") ||
			strings.HasPrefix(a, "--delete") || a == "-d" || strings.HasPrefix(a, "+") || strings.HasPrefix(a, ":") {
			return fmt.Errorf("refusing to run git %s: latch never force-pushes or deletes", strings.Join(args, " "))
		}
	}
	return nil
}

func (r *Repo) push(ctx context.Context) error {
	args := r.pushArgs()
	if err := checkNoForce(args); err != nil {
		return err
	}
	if _, err := r.git.run(ctx, r.workDir, nil, args...); err != nil {
		return fmt.Errorf("push to %s branch %s: %w", r.remoteURL, r.branch, err)
	}
	return nil
}

// changedFiles are the files that differ between two commits (slash paths).
func (r *Repo) changedFiles(ctx context.Context, from, to string) (map[string]bool, error) {
	out, err := r.git.run(ctx, r.workDir, nil, "diff", "--name-only", "-z", "--no-renames", from, to)
	if err != nil {
		return nil, fmt.Errorf("diff %s..%s in %s: %w", from, to, r.workDir, err)
	}
	files := map[string]bool{}
	for _, f := range strings.Split(out, "\x00") {
		if f != "" {
			files[f] = true
		}
	}
	return files, nil
}

// conflictWait is the wait after a push lost to another push: u (a uniform
// draw from [0, 1)) of opts.Backoff. Instances that lost to the same push
// then retry spread over the whole first wait, none held back for long.
func conflictWait(opts PushOptions, u float64) time.Duration {
	initial := opts.Backoff
	if initial <= 0 {
		initial = DefaultBackoff
	}
	return time.Duration(max(0, min(u, 1)) * float64(initial))
}

// retryWait is the jittered wait before attempt (≥ 2): the first retry
// waits opts.Backoff, doubling per attempt up to opts.MaxBackoff, each wait
// at a random point of its upper half (backoff.Policy).
func retryWait(opts PushOptions, attempt int) time.Duration {
	p := backoff.Policy{Initial: opts.Backoff, Max: opts.MaxBackoff}
	if p.Initial <= 0 {
		p.Initial = DefaultBackoff
	}
	if p.Max <= 0 {
		p.Max = DefaultMaxBackoff
	}
	return p.Jittered(attempt-1, rand.Float64())
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func (r *Repo) log(opts PushOptions, level slog.Level, msg string, args ...any) {
	if opts.Log == nil {
		return
	}
	opts.Log.Log(context.Background(), level, msg, append(args, "remote", r.remoteURL, "branch", r.branch)...)
}

// Landed reports whether commit is on the remote branch now — its head, or
// in its history when someone pushed on top — for a push whose outcome
// latch never heard (the process stopped waiting for the reply, which does
// not stop the server from completing it).
func (r *Repo) Landed(ctx context.Context, commit string) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	out, err := r.git.run(ctx, r.gitDir(), nil, "ls-remote", "--", r.remote, "refs/heads/"+r.branch)
	if err != nil {
		return false, fmt.Errorf("ls-remote %s branch %s: %w", r.remoteURL, r.branch, err)
	}
	head, _, _ := strings.Cut(strings.TrimSpace(out), "\t")
	switch head {
	case commit:
		return true, nil
	case "":
		return false, nil
	}
	if _, err := r.refresh(ctx); err != nil {
		return false, err
	}
	return r.isAncestor(ctx, commit, r.trackingRef()), nil
}

// replay lands prev — an attempt whose push lost to another push — on the
// new remote head without calling edit again, when the remote moved only
// in files prev's commit does not touch (nor opts.Inputs): those files are
// the same at head as at prev.Base, so prev's versions of them are exactly
// what edit would write (and no person changed a field latch changes, so
// the human-wins rule has nothing to decide). The work tree still holds
// prev's commit, so one rebase onto head makes the new commit — same
// message, same files — without resetting the tree first. Otherwise (an
// overlap, or a rebase that does not apply) it reports false, the tree
// left for the caller to settle and run the full edit.
func (r *Repo) replay(ctx context.Context, opts PushOptions, prev *Result, head string, res *Result) (bool, error) {
	moved, err := r.changedFiles(ctx, prev.Base, head)
	if err != nil {
		return false, err
	}
	for _, f := range prev.Files {
		if moved[f] {
			return false, nil
		}
	}
	for _, f := range opts.Inputs {
		if moved[path.Clean(f)] {
			return false, nil
		}
	}
	if at, err := r.git.run(ctx, r.workDir, nil, "rev-parse", "HEAD"); err != nil || strings.TrimSpace(at) != prev.Commit {
		return false, nil // not at the lost commit: the full edit
	}
	git := r.git
	git.env = append(append([]string(nil), git.env...), identityEnv(opts.Author, opts.Committer)...)
	if _, err := git.run(ctx, r.workDir, nil, "rebase", "--quiet", "--no-autostash", "--onto", head, prev.Base); err != nil {
		_, _ = r.git.run(ctx, r.workDir, nil, "rebase", "--abort")
		return false, nil
	}
	commit, err := r.git.run(ctx, r.workDir, nil, "rev-parse", "HEAD")
	if err != nil {
		return false, fmt.Errorf("replay in %s: %w", r.workDir, err)
	}
	if commit = strings.TrimSpace(commit); commit == head {
		return false, nil // the rebase found nothing to apply: the full edit decides
	}
	res.Commit, res.Changes, res.Files = commit, prev.Changes, prev.Files
	if err := r.push(ctx); err != nil {
		return true, err
	}
	res.Pushed = true
	return true, nil
}
