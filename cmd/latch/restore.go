package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/latch-gitops/latch/internal/cluster"
	"github.com/latch-gitops/latch/internal/controller"
	"github.com/latch-gitops/latch/internal/gitrepo"
	"github.com/latch-gitops/latch/internal/restore"
	"github.com/latch-gitops/latch/internal/restoreflow"
	"github.com/latch-gitops/latch/internal/review"
	"github.com/latch-gitops/latch/internal/reviewflow"
)

type restoreFlags struct {
	repoFlags
	review           reviewFlags
	forwardThreshold int
	dryRun           bool
	writeRevert      bool
	author           string
}

func newRestoreCommand(opts *globalOptions) *cobra.Command {
	f := &restoreFlags{}
	cmd := &cobra.Command{
		Use:   "restore --repo URL|PATH",
		Short: "Rebuild a cluster from git: latched scales, and in-flight rollouts at the version their record vouches for",
		Long: `restore renders every object the repository declares at the branch's head
(plain YAML, Kustomize) with its latched values and applies it with
server-side apply (field manager latch-restore): namespaces first, then CRDs
until they are Established, then the rest, in parallel.

A workload with a rollout record (.latch/rollouts/, written by latch run at
rollout milestones) comes back at the new version when the record says the
rollout was healthy and at or past --forward-threshold, and at the last good
version (rendered from the record's last-good commit) otherwise, so no pod
of a failing version is created. Its scale is git's latched one either way.

Bad input (a manifest or record that does not parse, an object declared
twice) stops the restore before anything is applied. An object the server
refuses is listed and the others are still applied; the exit status is then
1. A second run applies the same objects and changes nothing.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runRestore(cmd, opts, f) },
	}
	f.repoFlags.register(cmd)
	f.review.register(cmd)
	cmd.Flags().Lookup("review").Usage = "whether the revert goes through a pull request: never|always|suspicious (a revert is always suspicious: only never commits it directly; a latch.yaml rule's review: wins for the workloads it matches)"
	cmd.Flags().IntVar(&f.forwardThreshold, "forward-threshold", restore.DefaultForwardThreshold, "milestone (percent) from which a healthy recorded rollout is restored at its new version")
	cmd.Flags().BoolVar(&f.dryRun, "dry-run", false, "print what would be applied, at which version and why; apply nothing")
	cmd.Flags().BoolVar(&f.writeRevert, "write-revert", true, "after restoring a workload at its last good version, commit that version to git and mark its record held, so a GitOps tool does not roll the failing one out again")
	cmd.Flags().StringVar(&f.author, "git-author", "", `author of the revert commit, "Name <email>" (default: latch <latch@localhost>)`)
	return cmd
}

func runRestore(cmd *cobra.Command, opts *globalOptions, f *restoreFlags) error {
	ctx := cmd.Context()
	if err := f.check(); err != nil {
		return err
	}
	if err := f.review.check(); err != nil {
		return err
	}
	if f.forwardThreshold < 1 || f.forwardThreshold > 100 {
		return fmt.Errorf("flag --forward-threshold: %d is outside 1..100", f.forwardThreshold)
	}
	cfg, err := opts.restConfig()
	if err != nil {
		return err
	}
	defaultNS, _, err := opts.kube.ToRawKubeConfigLoader().Namespace()
	if err != nil || defaultNS == "" {
		defaultNS = "default"
	}
	repo, closeRepo, err := controller.OpenRepo(ctx, f.repoOptions())
	if err != nil {
		return err
	}
	defer closeRepo()
	// Set up at start, so that a forge the flags name but latch cannot
	// reach stops the restore before it applies anything.
	reviewOpts, err := f.review.options(repo.RemoteURL(), f.credentialsDir, opts.logger())
	if err != nil {
		return err
	}
	reader, err := cluster.NewReaderRate(cfg, restoreflow.ApplyQPS, restoreflow.ApplyBurst)
	if err != nil {
		return err
	}
	gopts := restoreflow.Options{Repo: repo, Path: f.path, ForwardThreshold: f.forwardThreshold, DefaultNamespace: defaultNS}
	var flow *reviewflow.Flow
	if reviewOpts.Forge != nil {
		flow = &reviewflow.Flow{Repo: repo, Forge: reviewOpts.Forge, Cluster: f.clusterName, Labels: reviewOpts.Labels,
			Reviewers: reviewOpts.Reviewers, Templates: reviewOpts.Templates}
		// Records waiting in latch's rollout PRs (review mode always) are
		// newer than the base branch's: restore goes by them. A forge that
		// cannot be read (it may be in the cluster being rebuilt) does not
		// stop the restore: it goes by the base branch's records.
		warn := func(msg string, args ...any) { opts.logger().Warn(msg, args...) }
		if gopts.PRRecords, err = flow.RecordsInPRs(ctx, warn); err != nil {
			warn("records in latch's rollout PRs not read; restoring by the base branch's records", "error", err)
		}
	}
	g, err := restoreflow.Gather(ctx, gopts, reader)
	if err != nil {
		return err
	}
	plan := restore.Decide(g.Input)
	applyOpts := restoreflow.ApplyOptions{DryRun: f.dryRun, DefaultNamespace: defaultNS}
	if file, ok := opts.stderr.(*os.File); ok && term.IsTerminal(int(file.Fd())) {
		applyOpts.Progress = func(done, total int) { fmt.Fprintf(opts.stderr, "\rrestoring %d/%d", done, total) }
	}
	rep, err := restoreflow.Apply(ctx, reader, g, plan, applyOpts)
	if applyOpts.Progress != nil {
		fmt.Fprint(opts.stderr, "\r\033[K")
	}
	if err != nil {
		return err
	}
	if f.writeRevert && !f.dryRun && len(rep.Reverts) > 0 {
		if err := writeReverts(ctx, f, gopts, flow, g, reviewOpts, rep); err != nil {
			return err
		}
	}
	opts.logger().Debug("restore done", "objects", len(rep.Results), "requests", reader.Requests(), "elapsed", rep.Elapsed)
	if done, err := opts.printStructured(rep); done {
		if err != nil {
			return err
		}
	} else {
		printRestore(opts, repo.RemoteURL(), repo.Branch(), rep)
	}
	switch {
	case len(rep.Problems) > 0:
		return fmt.Errorf("restore refused: %d problem(s) in the repository; nothing was applied", len(rep.Problems))
	case rep.Failed():
		return fmt.Errorf("restore incomplete: %d object(s) not restored", len(rep.Failures)+rep.Counts[restoreflow.Failed])
	}
	return nil
}

// writeReverts writes each revert to git by the review mode of its
// workload (review.RolloutNeedsReview): a direct commit, or a PR through
// the review flow.
func writeReverts(ctx context.Context, f *restoreFlags, gopts restoreflow.Options, flow *reviewflow.Flow, g *restoreflow.Gathered, ro *controller.ReviewOptions, rep *restoreflow.Report) error {
	repo := gopts.Repo
	author, err := controller.ParseIdentity(f.author)
	if err != nil {
		return err
	}
	modes, err := restoreflow.RevertModes(repo.Dir(), f.policyFile, g.Input.Objects, rep.Reverts, ro.Mode)
	if err != nil {
		return fmt.Errorf("restore applied, but its reverts' review modes cannot be read: %w", err)
	}
	var direct, proposed []restore.Revert
	for _, r := range rep.Reverts {
		mode := modes[r.Ref.Key()]
		switch {
		case !review.RolloutNeedsReview(mode, review.Revert):
			direct = append(direct, r)
		case flow == nil:
			rep.RevertResults = append(rep.RevertResults, restoreflow.RevertResult{Ref: r.Ref,
				Why: fmt.Sprintf("review mode %s sends it to a pull request, but no forge is configured: %s", mode, ro.ForgeProblem)})
		default:
			proposed = append(proposed, r)
		}
	}
	push := gitrepo.PushOptions{Author: author, Cluster: f.clusterName}
	ropts := restoreflow.Options{Repo: repo, Path: f.path, PRRecords: gopts.PRRecords}
	if len(direct) > 0 {
		res, results, err := restoreflow.WriteReverts(ctx, ropts, push, direct, time.Now())
		if err != nil {
			return fmt.Errorf("restore applied, but writing the revert to git failed: %w", err)
		}
		rep.RevertCommit = res.Commit
		rep.RevertResults = append(rep.RevertResults, results...)
	}
	if len(proposed) > 0 {
		flow.Push = push
		results, err := restoreflow.ProposeReverts(ctx, ropts, flow, proposed, time.Now())
		rep.RevertResults = append(rep.RevertResults, results...)
		if err != nil {
			return fmt.Errorf("restore applied, but proposing the revert failed: %w", err)
		}
	}
	return nil
}

func printRestore(opts *globalOptions, remote, branch string, rep *restoreflow.Report) {
	w := opts.stdout
	if len(rep.Problems) > 0 {
		fmt.Fprintf(w, "restore of %s %s at %s: nothing applied; fix these first:\n", remote, branch, gitrepo.ShortID(rep.Head))
		for _, p := range rep.Problems {
			fmt.Fprintf(w, "  %s\n", p)
		}
		return
	}
	verb := "restored"
	if rep.DryRun {
		verb = "dry run: would apply"
	}
	fmt.Fprintf(w, "%s %d object(s) from %s %s at %s: %d changed (%s)", verb, len(rep.Results), remote, branch, gitrepo.ShortID(rep.Head), rep.Changed, counts(rep.Counts))
	if !rep.DryRun {
		fmt.Fprintf(w, " in %s", rep.Elapsed.Round(1e6))
	}
	fmt.Fprintln(w)
	for _, r := range rep.Results {
		if r.Outcome == restoreflow.Unchanged && r.Version == restore.AsGit {
			continue // a second run lists only what it changed or decided
		}
		scale := ""
		if r.Replicas >= 0 {
			scale = fmt.Sprintf(" replicas %d", r.Replicas)
		}
		fmt.Fprintf(w, "  %-11s %s%s, version %s: %s\n", r.Outcome, r.Ref, scale, r.Version, r.Why)
		if r.Error != "" {
			fmt.Fprintf(w, "              error: %s\n", r.Error)
		}
	}
	for _, f := range rep.Failures {
		fmt.Fprintf(w, "  not applied %s (%s): %s\n", f.Ref, f.Origin, f.Why)
	}
	for _, s := range rep.Skipped {
		fmt.Fprintf(w, "  skipped     %s (%s): %s\n", s.Ref, s.Origin, s.Why)
	}
	written := map[string]bool{}
	for _, r := range rep.RevertResults {
		if r.Proposed {
			link := ""
			if r.URL != "" {
				link = " (" + r.URL + ")"
			}
			fmt.Fprintf(w, "  proposed    %s: revert proposed in PR #%d%s: %s; until it is merged git declares the new version\n", r.Ref, r.PR, link, r.Why)
			written[r.Ref.String()] = true
			continue
		}
		if r.Written {
			written[r.Ref.String()] = true
			fmt.Fprintf(w, "  reverted    %s in git (%s): its file is back at the last good version and its record held\n", r.Ref, gitrepo.ShortID(rep.RevertCommit))
		} else {
			fmt.Fprintf(w, "  warning: %s: revert not written: %s\n", r.Ref, r.Why)
		}
	}
	for _, r := range rep.Reverts {
		if written[r.Ref.String()] {
			continue
		}
		fmt.Fprintf(w, "  warning: %s runs its last good version (%s), but git still declares the new one: a GitOps tool applying the head would roll it forward again; revert it in git (see docs/restore.md)\n",
			r.Ref, gitrepo.ShortID(r.LastGood))
	}
}

func counts(c map[string]int) string {
	var parts []string
	for _, k := range []string{restoreflow.Created, restoreflow.Configured, restoreflow.Unchanged, restoreflow.Failed, restoreflow.WouldApply} {
		if c[k] > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", k, c[k]))
		}
	}
	if len(parts) == 0 {
		return "nothing to apply"
	}
	return strings.Join(parts, ", ")
}
