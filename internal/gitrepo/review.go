package gitrepo

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"time"

	"github.com/latch-gitops/latch/internal/evidence"
)

// ReviewBranchPrefix starts every branch PushReview may push to (it matches
// internal/review.BranchPrefix; gitrepo does not import review).
const ReviewBranchPrefix = "latch/"

// ReviewPush says how PushReview builds latch's PR branch.
type ReviewPush struct {
	// Branch is latch's own PR branch, "latch/…".
	Branch string
	// OnTop adds latch's commit on top of the branch's head (a person
	// pushed to it) instead of rebuilding the branch as base + one commit.
	OnTop bool
	// Seen, when set, is what ReviewHeads read for Branch moments ago:
	// PushReview builds on it instead of fetching again. That is safe
	// because the push never trusts it: a rebuild is leased on Seen.Head
	// and any other push is a fast-forward, so a branch that moved since
	// is a KindConflict, never an overwrite; a base that moved since only
	// leaves the PR one commit behind until the next update.
	Seen *ReviewHeads
}

// ReviewHeads is what ReviewHeads read of the remote.
type ReviewHeads struct {
	Branch string
	// Base is the base branch's head; Head the PR branch's ("" : none).
	Base, Head string
	// Foreign: the PR branch holds a commit latch did not make.
	Foreign bool
}

// ReviewResult is what PushReview did.
type ReviewResult struct {
	// Commit is latch's new commit ("" when the edit changed nothing).
	Commit string
	// Base is the base branch's head the commit was built from (OnTop: the
	// branch's head it was added to).
	Base string
	// Previous is the PR branch's head before the push ("" : it did not
	// exist). A rebuild pushed with a lease on exactly this commit.
	Previous string
	Changes  []evidence.Change
	Files    []string
	Pushed   bool
}

// ReviewHeads reads latch's PR branch on the remote: its head ("" when it
// does not exist), whether it holds a commit latch did not make (one not
// on the base branch whose message has no Latch-* trailers: a person
// pushed to the PR), and the base head it compared against, for a
// PushReview right after it (ReviewPush.Seen) to skip its own fetch.
func (r *Repo) ReviewHeads(ctx context.Context, branch string) (ReviewHeads, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	h := ReviewHeads{Branch: branch}
	if err := checkReviewBranch(branch, r.branch); err != nil {
		return h, err
	}
	var err error
	if h.Base, h.Head, err = r.fetchForReview(ctx, branch); err != nil || h.Head == "" {
		return h, err
	}
	h.Foreign, err = r.hasForeignCommits(ctx, h.Base, h.Head)
	return h, err
}

// PushReview builds one latch commit for a PR branch and pushes it there,
// never to the base branch: from the base branch's head (a rebuild, pushed
// with --force-with-lease on the branch's previous head, so a commit anyone
// else pushed in between is never overwritten) or, with OnTop, on the
// branch's head (a fast-forward). It never deletes or recreates the branch.
// edit works as for CommitAndPush; a lost lease is a KindConflict error for
// the caller to gather again.
func (r *Repo) PushReview(ctx context.Context, opts PushOptions, req ReviewPush, edit EditFunc) (ReviewResult, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var res ReviewResult
	if err := checkReviewBranch(req.Branch, r.branch); err != nil {
		return res, err
	}
	var base, previous string
	if seen := req.Seen; seen != nil && seen.Branch == req.Branch && seen.Base != "" {
		base, previous = seen.Base, seen.Head
	} else {
		var err error
		if base, previous, err = r.fetchForReview(ctx, req.Branch); err != nil {
			return res, err
		}
	}
	res.Previous = previous
	start := base
	if req.OnTop && previous != "" {
		start = previous
	}
	if err := r.settle(ctx, start); err != nil {
		return res, err
	}
	res.Base = start
	changes, err := edit(ctx, Workspace{Dir: r.workDir, Head: start, Attempt: 1, repo: r})
	if err != nil {
		return res, fmt.Errorf("edit at %s for %s: %w", start, req.Branch, err)
	}
	if err := r.stageAll(ctx); err != nil {
		return res, err
	}
	files, err := r.stagedFiles(ctx)
	if err != nil {
		return res, err
	}
	switch {
	case len(files) == 0 && len(changes) == 0:
		return res, nil
	case len(files) == 0:
		if req.OnTop || res.Previous == "" {
			// The branch already declares it (an earlier push whose PR
			// edit did not happen): nothing to push.
			return res, nil
		}
		return res, fmt.Errorf("edit at %s for %s reported %d changes but changed no file", start, req.Branch, len(changes))
	case len(changes) == 0:
		return res, fmt.Errorf("edit at %s for %s changed %d files but reported no change; latch does not commit without evidence", start, req.Branch, len(files))
	}
	message, err := evidence.CommitMessage(opts.Template, changes, opts.Cluster)
	if err != nil {
		return res, err
	}
	commit, err := r.commit(ctx, message, opts.Author, opts.Committer)
	if err != nil {
		return res, err
	}
	res.Commit, res.Changes, res.Files = commit, changes, files
	// A rebuild of an existing branch is always leased on its previous
	// head, also when the new commit happens to descend from it (the
	// branch sat at an older base): then a plain fast-forward would be
	// accepted even if a person had moved the branch back in between.
	lease := ""
	if !req.OnTop && res.Previous != "" {
		lease = res.Previous
	}
	args := r.reviewPushArgs(req.Branch, lease)
	if err := checkReviewPush(args, r.branch); err != nil {
		return res, err
	}
	started := time.Now()
	if _, err := r.git.run(ctx, r.workDir, nil, args...); err != nil {
		return res, fmt.Errorf("push to %s branch %s: %w", r.remoteURL, req.Branch, err)
	}
	res.Pushed = true
	// pushSeconds: the git push alone (the rest of PushReview is local work).
	r.log(opts, slog.LevelInfo, "latch review push done", "reviewBranch", req.Branch, "commit", commit, "previous", res.Previous, "lease", lease != "",
		"pushSeconds", time.Since(started).Seconds())
	return res, nil
}

// reviewPushArgs is the one review push: HEAD to latch's branch, with a
// lease on its previous head when it rewrites it.
func (r *Repo) reviewPushArgs(branch, lease string) []string {
	args := []string{"push", "--porcelain", "--no-verify"}
	if lease != "" {
		args = append(args, "--force-with-lease=refs/heads/"+branch+":"+lease)
	}
	return append(args, r.remote, "HEAD:refs/heads/"+branch)
}

func (r *Repo) reviewTrackingRef(branch string) string {
	return "refs/latch-review/" + r.remote + "/" + branch
}

// fetchForReview brings latch's view of the base branch and of its PR
// branch up to date in one fetch (one connection to the remote instead of a
// fetch, an ls-remote and a second fetch) and returns both heads; review is
// "" when the remote has no such branch. It does not touch the work tree.
//
// The PR branch may not exist, and a fetch of a named ref that does not
// exist fails, so it is fetched through a glob that matches its exact name
// plus any suffix (branch names cannot hold "*"); --prune then drops the
// private ref when the branch is gone, so a stale head is never returned.
// Siblings the glob also matches (latch/…/web and latch/…/web2) land in
// their own private refs, which only their own fetches read. Like refresh,
// the "+" is on the fetch side: it only updates latch's private view.
func (r *Repo) fetchForReview(ctx context.Context, branch string) (base, review string, err error) {
	reviewRef := r.reviewTrackingRef(branch)
	if _, err := r.git.run(ctx, r.gitDir(), nil, "fetch", "--quiet", "--prune", "--no-tags", "--no-write-fetch-head", r.remote,
		"+refs/heads/"+r.branch+":"+r.trackingRef(),
		"+refs/heads/"+branch+"*:"+reviewRef+"*"); err != nil {
		return "", "", fmt.Errorf("fetch %s branches %s and %s: %w", r.remoteURL, r.branch, branch, err)
	}
	out, err := r.git.run(ctx, r.gitDir(), nil, "for-each-ref", "--format=%(refname) %(objectname)", r.trackingRef(), reviewRef)
	if err != nil {
		return "", "", fmt.Errorf("reading fetched heads of %s and %s: %w", r.branch, branch, err)
	}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		ref, id, _ := strings.Cut(line, " ")
		switch ref {
		case r.trackingRef():
			base = id
		case reviewRef:
			review = id
		}
	}
	if base == "" {
		return "", "", fmt.Errorf("fetch %s: branch %s not found after fetch", r.remoteURL, r.branch)
	}
	return base, review, nil
}

// hasForeignCommits reports whether base..head has a commit without
// Latch-* trailers.
func (r *Repo) hasForeignCommits(ctx context.Context, base, head string) (bool, error) {
	out, err := r.git.run(ctx, r.gitDir(), nil, "log", "--format=%B%x00", base+".."+head)
	if err != nil {
		return false, fmt.Errorf("reading commits %s..%s: %w", ShortID(base), ShortID(head), err)
	}
	for _, msg := range strings.Split(out, "\x00") {
		if strings.TrimSpace(msg) == "" {
			continue
		}
		if _, _, err := evidence.ParseMessage(msg); err != nil {
			return true, nil
		}
	}
	return false, nil
}

func checkReviewBranch(branch, base string) error {
	if !strings.HasPrefix(branch, ReviewBranchPrefix) || len(branch) == len(ReviewBranchPrefix) || branch == base {
		return fmt.Errorf("review branch %q: latch pushes PR commits only to its own %s… branches, never to %s", branch, ReviewBranchPrefix, base)
	}
	return nil
}

var fullCommitID = regexp.MustCompile(`^([0-9a-f]{40}|[0-9a-f]{64})$`)

// checkReviewPush is the push guard's one exception to "never force": a
// push to latch's own latch/… branch (never the base branch) may carry
// exactly one --force-with-lease naming that same ref and the full commit
// id it must still be at. Anything else that could rewrite a ref (--force,
// -f, a bare --force-with-lease, a "+" refspec, a deletion, a second
// refspec) is refused as checkNoForce refuses it.
func checkReviewPush(args []string, base string) error {
	refuse := func(why string) error {
		return fmt.Errorf("refusing to run git %s: %s", strings.Join(args, " "), why)
	}
	var rest []string
	lease := ""
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, "--force-with-lease="); ok {
			if lease != "" {
				return refuse("more than one lease")
			}
			lease = v
			continue
		}
		rest = append(rest, a)
	}
	if err := checkNoForce(rest); err != nil {
		return err
	}
	var specs []string
	for _, a := range rest[1:] {
		if !strings.HasPrefix(a, "-") {
			specs = append(specs, a)
		}
	}
	if len(specs) != 2 {
		return refuse("want one remote and one refspec")
	}
	_, dst, ok := strings.Cut(specs[1], ":")
	branch, isHead := strings.CutPrefix(dst, "refs/heads/")
	if !ok || !isHead || checkReviewBranch(branch, base) != nil {
		return refuse("latch pushes review commits only to its own " + ReviewBranchPrefix + "… branches")
	}
	if lease != "" {
		ref, expect, ok := strings.Cut(lease, ":")
		if !ok || ref != dst || !fullCommitID.MatchString(expect) {
			return refuse("a lease must name the pushed ref and the full commit it must still be at")
		}
	}
	return nil
}
