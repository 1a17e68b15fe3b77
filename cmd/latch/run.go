package main

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/go-logr/logr"
	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/latch-gitops/latch/internal/controller"
	"github.com/latch-gitops/latch/internal/enforce"
	"github.com/latch-gitops/latch/internal/memlimit"
	"github.com/latch-gitops/latch/internal/state"
)

type runFlags struct {
	commitFlags
	reviewFlags
	batchWindow, resync     time.Duration
	shutdownGrace           time.Duration
	metricsAddr, probeAddr  string
	pprofAddr               string
	leaderElect             bool
	leaderElectionNamespace string
	extraScaleKinds         []string
	unstrippedCache         bool
	enforce                 string
	enforceLimit            enforce.Limit
}

func newRunCommand(opts *globalOptions) *cobra.Command {
	f := &runFlags{}
	cmd := &cobra.Command{
		Use:   "run --repo URL|PATH",
		Short: "Watch the cluster and keep git latched (the controller)",
		Long: `run is latch's controller. It watches Deployments, StatefulSets and
HorizontalPodAutoscalers, plus --extra-scale-kinds and the kinds with a /scale
subresource that latch.yaml latches (read at start: a rule naming a new kind
takes a restart). Whenever a workload's scale moves it runs a latch pass
one batch window later: every latched value that changed goes into one
commit, pushed without force beside human committers. latch.yaml is
re-read from the repository on every pass. A pass also runs every --resync,
so moves down complete their dwell.

A restart resumes from what git declares and what the cluster runs: it commits
only what changed while latch was away.

--enforce=on also makes git win in the cluster: after each pass latch
compares every object git declares with the live one (as latch diff does)
and reverts drift in immutable fields, and in converge fields past their
grace, by server-side apply as field manager latch-enforce, with a body
holding only those fields. spec.replicas and latch and ignore fields are
never reverted. An object reverted --enforce-max-reverts times within
--enforce-window that drifts again is a fight: reported (Event
EnforceFight, metric), not reverted again until the window passes.
--enforce=dry-run reports what it would revert and changes nothing. Reverting
needs the opt-in enforce RBAC (docs/enforce.md).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runRun(cmd, opts, f) },
	}
	f.commitFlags.register(cmd)
	f.reviewFlags.register(cmd)
	fl := cmd.Flags()
	fl.DurationVar(&f.batchWindow, "batch-window", controller.DefaultBatchWindow, "gather the changes within this window into one commit")
	fl.DurationVar(&f.resync, "resync", controller.DefaultResync, "run a pass at least this often, so pending moves down complete their dwell")
	fl.DurationVar(&f.shutdownGrace, "shutdown-grace", 25*time.Second, "on SIGTERM, let a pass in flight finish for this long before abandoning it (keep it below the pod's terminationGracePeriodSeconds)")
	fl.StringVar(&f.metricsAddr, "metrics-bind-address", ":8080", `Prometheus /metrics address ("0" disables)`)
	fl.StringVar(&f.pprofAddr, "pprof-bind-address", "", `Go profiling (/debug/pprof) address, e.g. 127.0.0.1:6060 ("" disables; it exposes internals, bind it to loopback)`)
	fl.StringVar(&f.probeAddr, "health-probe-bind-address", ":8081", `/healthz and /readyz address ("0" disables)`)
	fl.BoolVar(&f.leaderElect, "leader-elect", false, "elect one writer among replicas (Lease latch-leader)")
	fl.StringVar(&f.leaderElectionNamespace, "leader-election-namespace", "", "namespace of the leader Lease (default: the pod's namespace)")
	// Hidden: bench/memory's baseline measures what stripping saves.
	fl.BoolVar(&f.unstrippedCache, "unstripped-cache-for-benchmark", false, "keep whole objects in the informer caches (benchmark baseline only)")
	_ = fl.MarkHidden("unstripped-cache-for-benchmark")
	fl.StringSliceVar(&f.extraScaleKinds, "extra-scale-kinds", nil, "more kinds with a /scale subresource to latch, as group/version/Kind (e.g. argoproj.io/v1alpha1/Rollout)")
	fl.StringVar(&f.enforce, "enforce", string(enforce.Off), "revert drift in the cluster: off, dry-run (report only) or on (server-side apply as latch-enforce; needs the enforce RBAC)")
	fl.IntVar(&f.enforceLimit.Max, "enforce-max-reverts", enforce.DefaultLimit.Max, "reverts of one object within --enforce-window before latch reports a fight and stops reverting it")
	fl.DurationVar(&f.enforceLimit.Window, "enforce-window", enforce.DefaultLimit.Window, "the window of --enforce-max-reverts")
	return cmd
}

func runRun(cmd *cobra.Command, opts *globalOptions, f *runFlags) error {
	ctx := cmd.Context()
	log := opts.logger()
	// controller-runtime logs through its own package-level logger; route it
	// to ours once, here at the edge.
	ctrllog.SetLogger(logr.FromSlogHandler(log.Handler()))
	memlimit.ApplyToProcess(log)

	extra, err := parseKinds(f.extraScaleKinds)
	if err != nil {
		return err
	}
	if err := f.repoFlags.check(); err != nil {
		return err
	}
	if err := f.reviewFlags.check(); err != nil {
		return err
	}
	mode, err := enforce.ParseMode(f.enforce)
	if err != nil {
		return fmt.Errorf("flag --enforce: %w", err)
	}
	if f.enforceLimit.Max < 1 {
		return fmt.Errorf("flag --enforce-max-reverts: want at least 1, got %d", f.enforceLimit.Max)
	}
	if f.enforceLimit.Window <= 0 {
		return fmt.Errorf("flag --enforce-window: want a positive duration, got %s", f.enforceLimit.Window)
	}
	memory := func() (state.Store, error) { return state.NewMemory(), nil }
	latcher, restConfig, closeRepo, err := f.openCommitter(ctx, opts, &f.reviewFlags, memory, log)
	if err != nil {
		return err
	}
	defer closeRepo()
	return controller.Run(ctx, restConfig, controller.RunOptions{
		Latcher: latcher, BatchWindow: f.batchWindow, Resync: f.resync, ShutdownGrace: f.shutdownGrace, Namespace: opts.namespace(), ExtraKinds: extra,
		MetricsAddr: f.metricsAddr, ProbeAddr: f.probeAddr, PprofAddr: f.pprofAddr, FollowRollouts: f.followRollouts, DisableStrip: f.unstrippedCache,
		LeaderElect: f.leaderElect, LeaderElectionNamespace: f.leaderElectionNamespace,
		Enforce: mode, EnforceLimit: f.enforceLimit,
		Log: log, Self: selfFromEnv(),
	})
}

// selfFromEnv is latch's own Pod as the downward API tells it (POD_NAME
// and POD_NAMESPACE, set by the chart and the Kustomize base), for the
// Events about git refusing latch; nil outside a Pod.
func selfFromEnv() *corev1.ObjectReference {
	name, namespace := os.Getenv("POD_NAME"), os.Getenv("POD_NAMESPACE")
	if name == "" || namespace == "" {
		return nil
	}
	return &corev1.ObjectReference{APIVersion: "v1", Kind: "Pod", Name: name, Namespace: namespace, UID: types.UID(os.Getenv("POD_UID"))}
}

// parseKinds reads group/version/Kind (or version/Kind for the core group).
func parseKinds(specs []string) ([]schema.GroupVersionKind, error) {
	var out []schema.GroupVersionKind
	for _, spec := range specs {
		parts := strings.Split(spec, "/")
		var gvk schema.GroupVersionKind
		switch len(parts) {
		case 3:
			gvk = schema.GroupVersionKind{Group: parts[0], Version: parts[1], Kind: parts[2]}
		case 2:
			gvk = schema.GroupVersionKind{Version: parts[0], Kind: parts[1]}
		default:
			return nil, fmt.Errorf("flag --extra-scale-kinds: %q: want group/version/Kind, e.g. argoproj.io/v1alpha1/Rollout", spec)
		}
		if gvk.Version == "" || gvk.Kind == "" || strings.ToUpper(gvk.Kind[:1]) != gvk.Kind[:1] {
			return nil, fmt.Errorf("flag --extra-scale-kinds: %q: want group/version/Kind with a capitalised Kind", spec)
		}
		out = append(out, gvk)
	}
	return out, nil
}
