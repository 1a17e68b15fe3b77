package main

import (
	"fmt"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/latch-gitops/latch/internal/controller"
	"github.com/latch-gitops/latch/internal/gitrepo"
	"github.com/latch-gitops/latch/internal/state"
)

func newStatusCommand(opts *globalOptions) *cobra.Command {
	f := &struct {
		repoFlags
		reviewFlags
	}{}
	cmd := &cobra.Command{
		Use:   "status --repo URL|PATH",
		Short: "Show each workload: observed, declared in git, what latch would declare now, and problems",
		Long: `status reads the live cluster and the repository's remote head and shows,
for every Deployment and StatefulSet, and every kind with a /scale
subresource latch.yaml latches: its mode in latch.yaml, the scale it runs
at, the value git declares, the value a latch pass starting now would declare
(a running controller may still be waiting out a dwell), the bounds, the last
latch commit that touched it, and why it cannot be latched (not found in git,
declared twice, …). It changes nothing.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if err := f.repoFlags.check(); err != nil {
				return err
			}
			if err := f.reviewFlags.check(); err != nil {
				return err
			}
			cfg, err := opts.restConfig()
			if err != nil {
				return err
			}
			log := opts.logger()
			latcher, closeRepo, err := f.openLatcher(ctx, f.repoOptions(), gitrepo.PushOptions{}, state.NewMemory(), &f.reviewFlags, log)
			if err != nil {
				return err
			}
			defer closeRepo()
			workloads, err := opts.listWorkloads(ctx, cfg, latcher, log)
			if err != nil {
				return err
			}
			statuses, err := latcher.Status(ctx, workloads, time.Now())
			if err != nil {
				return err
			}
			if done, err := opts.printStructured(map[string]any{"workloads": statuses}); done {
				return err
			}
			return printStatus(opts, statuses)
		},
	}
	f.repoFlags.register(cmd)
	f.reviewFlags.register(cmd)
	return cmd
}

func printStatus(opts *globalOptions, statuses []controller.WorkloadStatus) error {
	tw := tabwriter.NewWriter(opts.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KIND\tWORKLOAD\tMODE\tOBSERVED\tGIT\tLATCH NOW\tBOUNDS\tLAST LATCH\tPR\tPROBLEM")
	dash := func(v int64) string {
		if v == 0 {
			return "-"
		}
		return strconv.FormatInt(v, 10)
	}
	orDash := func(s string) string {
		if s == "" {
			return "-"
		}
		return s
	}
	for _, s := range statuses {
		pr := "-"
		if s.PR != nil {
			pr = "#" + strconv.Itoa(s.PR.Number)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\n", s.Kind, s.NamespacedName(), s.Mode, s.Observed, dash(s.Declared), dash(s.Target),
			orDash(s.Bounds), orDash(s.LastLatch), pr, orDash(s.Error))
	}
	return tw.Flush()
}
