package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/latch-gitops/latch/internal/cluster"
	"github.com/latch-gitops/latch/internal/controller"
	"github.com/latch-gitops/latch/internal/diff"
	"github.com/latch-gitops/latch/internal/driftflow"
	"github.com/latch-gitops/latch/internal/manifest"
	"github.com/latch-gitops/latch/internal/policyfile"
)

// exitCodeError makes main exit with code instead of 1: latch diff exits
// 1 for drift, as diff(1) does, so its errors must be 2.
type exitCodeError struct {
	code int
	err  error
}

func (e *exitCodeError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}
func (e *exitCodeError) Unwrap() error { return e.err }

type diffFlags struct {
	repoFlags
	includeUnmanaged bool
	serverConfirm    bool
}

func newDiffCommand(opts *globalOptions) *cobra.Command {
	f := &diffFlags{}
	cmd := &cobra.Command{
		Use:   "diff --repo URL|PATH",
		Short: "Compare what git declares with the live cluster, field by field, through latch.yaml",
		Long: `diff renders every object the repository declares (plain YAML, Kustomize
output, objects "$latch" markers name in Helm values) and compares each with
the live object, only in the fields the manifest sets: server defaults are
never drift. Each differing field goes through its mode in latch.yaml:
immutable is drift; latch is in sync while the live value latches to the
declared one and "latch pending" when a latch commit is due; converge is
"converging" within its grace and drift after; ignore is skipped. Each drifted
field names the manager that changed it (kubectl-set, kubectl-edit, helm, the
HPA's kube-controller-manager on /scale) and when.

The cluster is read with one paged LIST per kind, all kinds in parallel.
--server-confirm then asks the API server about each drifted object (a
server-side dry-run apply of git's object, one request each): a field it
would default or mutate to the live value is not drift.

Exit status, as diff(1): 0 in sync, 1 drift (or a declared object missing),
2 or more when nothing could be compared. Installed as kubectl-latch, it runs
as "kubectl latch diff".`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			rep, err := runDiff(cmd.Context(), opts, f)
			if err != nil {
				return &exitCodeError{code: 2, err: err}
			}
			if opts.output == "text" {
				color := false
				if file, ok := opts.stdout.(*os.File); ok && os.Getenv("NO_COLOR") == "" {
					color = term.IsTerminal(int(file.Fd()))
				}
				err = rep.WriteText(opts.stdout, diff.TextOptions{Color: color})
			} else {
				_, err = opts.printStructured(rep)
			}
			if err != nil {
				return &exitCodeError{code: 2, err: err}
			}
			if code := rep.ExitCode(); code != 0 {
				return &exitCodeError{code: code}
			}
			return nil
		},
	}
	f.repoFlags.register(cmd)
	cmd.Flags().BoolVar(&f.serverConfirm, "server-confirm", false, "confirm each drifted object with a server-side dry-run apply of git's object (one request per drifted object; needs patch RBAC): fields the server would default or mutate to the live value are not drift")
	cmd.Flags().BoolVar(&f.includeUnmanaged, "include-unmanaged", false, "also list live objects of the declared kinds, in the declared namespaces, that git does not declare (they count as drift)")
	return cmd
}

// runDiff gathers (repository, policy, one LIST per kind, schemas), lets
// diff.Compare decide, and returns its report.
func runDiff(ctx context.Context, opts *globalOptions, f *diffFlags) (*diff.Report, error) {
	if err := f.check(); err != nil {
		return nil, err
	}
	cfg, err := opts.restConfig()
	if err != nil {
		return nil, err
	}
	defaultNS, _, err := opts.kube.ToRawKubeConfigLoader().Namespace()
	if err != nil || defaultNS == "" {
		defaultNS = "default"
	}
	root, closeRepo, err := diffCheckout(ctx, f)
	if err != nil {
		return nil, err
	}
	defer closeRepo()
	pol, err := policyfile.Load(root, f.policyFile)
	if err != nil {
		return nil, err
	}
	rendering, err := manifest.Render(root, manifest.RenderOptions{Path: f.path})
	if err != nil {
		return nil, err
	}
	reader, err := cluster.NewReader(cfg)
	if err != nil {
		return nil, err
	}
	in, err := driftflow.Gather(ctx, reader, rendering.Objects, rendering.Problems, defaultNS)
	if err != nil {
		return nil, err
	}
	in.Policy, in.IncludeUnmanaged, in.Now = pol, f.includeUnmanaged, time.Now()
	rep := diff.Compare(in)
	if f.serverConfirm {
		if err := driftflow.Confirm(ctx, reader, in, rep); err != nil {
			return nil, err
		}
	}
	opts.logger().Debug("diff gathered", "objects", len(rendering.Objects), "kinds", len(in.Live), "requests", reader.Requests())
	return rep, nil
}

// diffCheckout is the folder to render: a local --repo as it is on disk
// (uncommitted edits included, like kubectl diff -f), a URL cloned.
func diffCheckout(ctx context.Context, f *diffFlags) (string, func() error, error) {
	if info, err := os.Stat(f.repo); err == nil && info.IsDir() {
		return f.repo, func() error { return nil }, nil
	}
	repo, closeRepo, err := controller.OpenRepo(ctx, f.repoOptions())
	if err != nil {
		return "", nil, err
	}
	return repo.Dir(), closeRepo, nil
}
