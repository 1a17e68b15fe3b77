package main

import (
	"fmt"
	"strconv"
	"strings"
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
latch commit that touched it, a rollout in flight (or not finished in
git's record: failed, held by latch restore) with its progress and health
now and the milestone and health its record latched, and why it cannot be latched (not found in git,
declared twice, …). An Argo Rollout latch.yaml does not latch is shown while
its rollout is in flight or its record unfinished. It changes nothing.`,
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
			if err := followRollouts(latcher, cfg, opts.namespace(), log); err != nil {
				return err
			}
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
	fmt.Fprintln(tw, "KIND\tWORKLOAD\tMODE\tOBSERVED\tGIT\tLATCH NOW\tBOUNDS\tLAST LATCH\tPR\tROLLOUT\tPROBLEM")
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
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.Kind, s.NamespacedName(), s.Mode, s.Observed, dash(s.Declared), dash(s.Target),
			orDash(s.Bounds), orDash(s.LastLatch), pr, rolloutCell(s.Rollout), orDash(s.Error))
	}
	return tw.Flush()
}

// rolloutCell is the ROLLOUT column: the rollout now (short revision,
// percent updated and available, health), then what git's record latched
// ("-" when nothing is in flight and no record is unfinished).
func rolloutCell(r *controller.RolloutStatus) string {
	if r == nil {
		return "-"
	}
	var parts []string
	if r.InFlight {
		parts = append(parts, fmt.Sprintf("%s %d%% %s", shortRevision(r.Revision), r.Percent, r.Health))
	} else {
		parts = append(parts, "not in flight")
	}
	if rec := r.Recorded; rec != nil {
		git := fmt.Sprintf("git: %d%% %s", rec.Milestone, rec.Health)
		if rec.Revision != "" && rec.Revision != r.Revision {
			git = fmt.Sprintf("git: %s %d%% %s", shortRevision(rec.Revision), rec.Milestone, rec.Health)
		}
		if rec.Held {
			git += ", held at last good"
		}
		if rec.InPR {
			git += " (in latch's PR, not merged)"
		}
		parts = append(parts, git)
	} else {
		parts = append(parts, "git: no record")
	}
	return strings.Join(parts, "; ")
}

// shortRevision keeps a pod-template hash readable in a table.
func shortRevision(rev string) string {
	if rev == "" {
		return "?"
	}
	if len(rev) > 10 {
		return rev[:10]
	}
	return rev
}
