package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/client-go/rest"

	"github.com/latch-gitops/latch/internal/controller"
	"github.com/latch-gitops/latch/internal/evidence"
	"github.com/latch-gitops/latch/internal/gitrepo"
	"github.com/latch-gitops/latch/internal/state"
)

// repoFlags say which repository, branch and folder latch reads, as whom,
// and for which cluster: every command that reads the repository has them.
type repoFlags struct {
	repo, branch, path, policyFile string
	workDir, credentialsDir        string
	clusterName                    string
}

func (f *repoFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.repo, "repo", "", "git URL or local checkout path of the GitOps repository (required)")
	fl.StringVar(&f.branch, "branch", "main", "branch to latch into")
	fl.StringVar(&f.path, "path", "", "folder in the repository holding this cluster's manifests (default: the whole repository)")
	fl.StringVar(&f.policyFile, "policy", "latch.yaml", "latch policy file, relative to the repository root")
	fl.StringVar(&f.workDir, "work-dir", "", "where to clone a remote --repo (default: a temporary folder)")
	fl.StringVar(&f.credentialsDir, "git-credentials-dir", "", "folder of git credential files: username, password or token, identity, known_hosts (default: LATCH_GIT_* environment variables)")
	fl.StringVar(&f.clusterName, "cluster-name", "", "this cluster's name, in commit messages and trailers")
}

// openLatcher opens the repository the flags name and returns a Latcher
// over it with review's flow attached; closeRepo releases the clone.
func (f *repoFlags) openLatcher(ctx context.Context, repoOpts controller.RepoOptions, push gitrepo.PushOptions, states state.Store, review *reviewFlags, log *slog.Logger) (latcher *controller.Latcher, closeRepo func() error, err error) {
	repo, closeRepo, err := controller.OpenRepo(ctx, repoOpts)
	if err != nil {
		return nil, nil, err
	}
	latcher = &controller.Latcher{Repo: repo, PolicyFile: f.policyFile, Path: f.path, Cluster: f.clusterName,
		Push: push, States: states, Log: log}
	if err := review.attach(latcher, f.credentialsDir, log); err != nil {
		_ = closeRepo()
		return nil, nil, err
	}
	return latcher, closeRepo, nil
}

// openCommitter opens the latcher of a command that commits (run, sync),
// in this order: the commit options, the cluster's rest config, the dwell
// state store (states) and the repository with review's flow attached.
func (f *commitFlags) openCommitter(ctx context.Context, opts *globalOptions, review *reviewFlags, states func() (state.Store, error), log *slog.Logger) (latcher *controller.Latcher, cfg *rest.Config, closeRepo func() error, err error) {
	repoOpts, push, err := f.options()
	if err != nil {
		return nil, nil, nil, err
	}
	if cfg, err = opts.restConfig(); err != nil {
		return nil, nil, nil, err
	}
	store, err := states()
	if err != nil {
		return nil, nil, nil, err
	}
	if latcher, closeRepo, err = f.openLatcher(ctx, repoOpts, push, store, review, log); err != nil {
		return nil, nil, nil, err
	}
	return latcher, cfg, closeRepo, nil
}

// commitFlags say how latch's commits look: the commands that write have them.
type commitFlags struct {
	repoFlags
	author, messageTemplate    string
	signSSHKey, signOpenPGPKey string
	followRollouts             bool
}

func (f *commitFlags) register(cmd *cobra.Command) {
	f.repoFlags.register(cmd)
	fl := cmd.Flags()
	fl.StringVar(&f.author, "git-author", "", `author and committer of latch's commits, "Name <email>" (default: latch <latch@localhost>)`)
	fl.StringVar(&f.messageTemplate, "message-template", "", "file holding a Go template for commit messages (default: latch's built-in)")
	fl.StringVar(&f.signSSHKey, "sign-ssh-key", "", "sign commits with this unencrypted SSH private key")
	fl.StringVar(&f.signOpenPGPKey, "sign-openpgp-key", "", "sign commits with this ASCII-armored OpenPGP secret key (no passphrase)")
	fl.BoolVar(&f.followRollouts, "follow-rollouts", true, "keep a record of each rollout's milestones and health (Deployments, StatefulSets, Argo Rollouts where installed) in .latch/rollouts/ (docs/rollouts.md), for latch restore")
}

// check reports flags that are wrong on their own, before any connection.
func (f *repoFlags) check() error {
	if f.repo == "" {
		return fmt.Errorf("flag --repo: required (a git URL or the path of a local checkout)")
	}
	return nil
}

func (f *repoFlags) repoOptions() controller.RepoOptions {
	return controller.RepoOptions{Repo: f.repo, Branch: f.branch, WorkDir: f.workDir, CredentialsDir: f.credentialsDir}
}

// repoOptions adds the commit signer to the repository options.
func (f *commitFlags) repoOptions() (controller.RepoOptions, error) {
	opts := f.repoFlags.repoOptions()
	switch {
	case f.signSSHKey != "" && f.signOpenPGPKey != "":
		return opts, fmt.Errorf("flags --sign-ssh-key and --sign-openpgp-key: choose one")
	case f.signSSHKey != "":
		opts.Signer = gitrepo.Signer{Format: gitrepo.SignSSH, KeyPath: f.signSSHKey}
	case f.signOpenPGPKey != "":
		opts.Signer = gitrepo.Signer{Format: gitrepo.SignOpenPGP, KeyPath: f.signOpenPGPKey}
	}
	return opts, nil
}

// options are the repository and push options of a command that commits.
func (f *commitFlags) options() (controller.RepoOptions, gitrepo.PushOptions, error) {
	repoOpts, err := f.repoOptions()
	if err != nil {
		return repoOpts, gitrepo.PushOptions{}, err
	}
	push, err := f.pushOptions()
	return repoOpts, push, err
}

func (f *commitFlags) pushOptions() (gitrepo.PushOptions, error) {
	var push gitrepo.PushOptions
	id, err := controller.ParseIdentity(f.author)
	if err != nil {
		return push, err
	}
	push.Author, push.Cluster = id, f.clusterName
	if f.messageTemplate != "" {
		text, err := os.ReadFile(f.messageTemplate)
		if err != nil {
			return push, fmt.Errorf("flag --message-template: %w", err)
		}
		if push.Template, err = evidence.ParseMessageTemplate(f.messageTemplate, string(text)); err != nil {
			return push, fmt.Errorf("flag --message-template: %w", err)
		}
	}
	return push, nil
}

type syncFlags struct {
	commitFlags
	reviewFlags
	once, dryRun bool
	stateFile    string
}

func newSyncCommand(opts *globalOptions) *cobra.Command {
	f := &syncFlags{}
	cmd := &cobra.Command{
		Use:   "sync --once --repo URL|PATH",
		Short: "Run one latch pass: read the cluster, decide, edit, commit and push",
		Long: `sync runs one latch pass, for people and cron jobs: it reads the live
workloads, applies latch.yaml from the repository, edits the declaring bytes of
every workload whose round number changed, and pushes one commit (never a
force-push). With --dry-run it prints the diff it would commit instead.

Dwell (how long a lower value must hold before latch declares it) needs memory
between runs: sync keeps it in --state-file. Without that file a run starts
from the values in git, which is safe; only pending moves down wait longer.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !f.once {
				return fmt.Errorf("sync needs --once (for continuous latching run `latch run`)")
			}
			return runSync(cmd, opts, f)
		},
	}
	f.commitFlags.register(cmd)
	f.reviewFlags.register(cmd)
	cmd.Flags().BoolVar(&f.once, "once", false, "run one pass and exit")
	cmd.Flags().BoolVar(&f.dryRun, "dry-run", false, "print the diff latch would commit; change nothing")
	cmd.Flags().StringVar(&f.stateFile, "state-file", "", "file keeping dwell state between runs (default: under the user's state folder, one per repo, branch, path and cluster)")
	return cmd
}

func runSync(cmd *cobra.Command, opts *globalOptions, f *syncFlags) error {
	ctx := cmd.Context()
	log := opts.logger()
	if err := f.repoFlags.check(); err != nil {
		return err
	}
	if err := f.reviewFlags.check(); err != nil {
		return err
	}
	latcher, cfg, closeRepo, err := f.openCommitter(ctx, opts, &f.reviewFlags, f.openStates, log)
	if err != nil {
		return err
	}
	defer closeRepo()
	if f.followRollouts {
		if err := followRollouts(latcher, cfg, opts.namespace(), log); err != nil {
			return err
		}
	}
	workloads, err := opts.listWorkloads(ctx, cfg, latcher, log)
	if err != nil {
		return err
	}
	outcome, err := latcher.Sync(ctx, workloads, time.Now(), f.dryRun)
	if err != nil {
		return err
	}
	if done, err := opts.printStructured(outcome); done {
		if err == nil {
			err = reviewFailed(outcome)
		}
		return err
	}
	if err := printOutcome(opts, latcher.Repo.RemoteURL(), latcher.Repo.Branch(), outcome); err != nil {
		return err
	}
	return reviewFailed(outcome)
}

// reviewFailed makes the exit status say that some latches wait for a
// review step that failed (each is in the output with its error).
func reviewFailed(o controller.Outcome) error {
	if o.ReviewFailed == 0 {
		return nil
	}
	return fmt.Errorf("the review flow failed for %d workload(s); their latches are still pending", o.ReviewFailed)
}

func printOutcome(opts *globalOptions, remote, branch string, o controller.Outcome) error {
	w := opts.stdout
	res := o.Result
	switch {
	case o.DryRun && o.Diff == "":
		fmt.Fprintln(w, "dry run: nothing to latch")
	case o.DryRun:
		fmt.Fprintf(w, "dry run: latch would commit %d change(s) on top of %s:\n%s", len(res.Changes), gitrepo.ShortID(res.Base), o.Diff)
		if !strings.HasSuffix(o.Diff, "\n") {
			fmt.Fprintln(w)
		}
	case res.Commit == "":
		fmt.Fprintf(w, "nothing to latch (%s at %s)\n", branch, gitrepo.ShortID(res.Base))
	default:
		fmt.Fprintf(w, "committed %s with %d change(s) and pushed to %s %s (attempts: %d)\n", gitrepo.ShortID(res.Commit), len(res.Changes), remote, branch, res.Attempts)
	}
	if !o.DryRun {
		for _, c := range res.Changes {
			fmt.Fprintf(w, "  %s %s %s %d → %d (observed %d) in %s\n", c.Object.Kind, c.Object.NamespacedName(), c.ShortField(), c.From, c.To, c.Observed, c.File)
		}
	}
	for _, c := range res.HumanWon {
		fmt.Fprintf(w, "  skipped %s %s: a person changed it in git meanwhile; their value stands\n", c.Object.Kind, c.Object.NamespacedName())
	}
	printReviews(w, o.Reviews)
	for _, s := range o.Workloads {
		if s.Error != "" {
			fmt.Fprintf(w, "  warning: %s %s: %s\n", s.Kind, s.NamespacedName(), s.Error)
		}
	}
	return nil
}

// defaultStateFile keys the state by everything that makes a latch target
// distinct, so two repos or clusters never share dwell clocks.
// openStates opens --state-file, by default the one defaultStateFile names.
func (f *syncFlags) openStates() (state.Store, error) {
	path := f.stateFile
	if path == "" {
		var err error
		if path, err = defaultStateFile(f); err != nil {
			return nil, err
		}
	}
	return state.OpenFile(path)
}

func defaultStateFile(f *syncFlags) (string, error) {
	base := os.Getenv("XDG_STATE_HOME")
	if base == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("no --state-file and no home folder for the default: %w", err)
		}
		base = filepath.Join(home, ".local", "state")
	}
	repo := f.repo
	if isDir(repo) {
		if abs, err := filepath.Abs(repo); err == nil {
			repo = abs
		}
	}
	sum := sha256.Sum256([]byte(strings.Join([]string{repo, f.branch, f.path, f.clusterName}, "\x00")))
	return filepath.Join(base, "latch", "sync-"+hex.EncodeToString(sum[:8])+".json"), nil
}

func isDir(path string) bool {
	info, err := os.Stat(path)
	return err == nil && info.IsDir()
}
