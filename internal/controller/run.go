package controller

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/go-logr/logr"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	eventsv1client "k8s.io/client-go/kubernetes/typed/events/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/latch-gitops/latch/internal/backoff"
	"github.com/latch-gitops/latch/internal/cluster"
	"github.com/latch-gitops/latch/internal/driftflow"
	"github.com/latch-gitops/latch/internal/enforce"
)

// The write-back loop's cadence when RunOptions leaves it unset (and the
// defaults of latch run's --batch-window and --resync): latch simulate
// replays a trace at it with simulate.Passes.
const (
	DefaultBatchWindow = 30 * time.Second
	DefaultResync      = time.Minute
)

// RunOptions configures `latch run`.
type RunOptions struct {
	Latcher *Latcher
	// BatchWindow gathers the changes that arrive within it into one commit.
	BatchWindow time.Duration
	// Resync runs a pass even without changes, so that a pending move down
	// completes its dwell and latch.yaml edits take effect (default 1m).
	Resync time.Duration
	// Namespace limits watching to one namespace ("" = all).
	Namespace string
	// ExtraKinds are kinds with a /scale subresource to watch besides
	// Deployments and StatefulSets.
	ExtraKinds []schema.GroupVersionKind
	// MetricsAddr and ProbeAddr are bind addresses ("0" disables).
	MetricsAddr, ProbeAddr string
	// PprofAddr serves net/http/pprof ("" disables).
	PprofAddr string
	// FollowRollouts sets Latcher.Rollouts to read Deployments,
	// ReplicaSets, StatefulSets and, where installed at start, Argo
	// Rollouts from the manager's stripped caches (pods live).
	FollowRollouts bool
	// LeaderElect makes only one of several replicas write; the Lease is
	// LeaderElectionID in LeaderElectionNamespace.
	LeaderElect             bool
	LeaderElectionID        string
	LeaderElectionNamespace string
	// LeaseDuration, RenewDeadline and RetryPeriod tune leader election
	// (zero: controller-runtime's 15s, 10s and 2s). A stopped leader
	// releases the Lease at once; one that dies is replaced after
	// LeaseDuration.
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
	// ShutdownGrace bounds how long a pass in flight may finish after a stop
	// signal (default 25s). Past it the pass is abandoned: its git command
	// is killed, so the remote has either the whole commit or none of it
	// (a push is atomic on the server), and a lock file the kill leaves in
	// latch's clone is removed by the next start (OpenRepo). A push cut
	// short may have landed all the same: the remote is asked
	// (Repo.Landed) before the pass is logged and counted as abandoned.
	ShutdownGrace time.Duration
	Log           *slog.Logger
	// Metrics registry (default controller-runtime's, served on MetricsAddr).
	Registry crmetrics.RegistererGatherer
	// DisableStrip keeps whole objects in the informer caches (no
	// cluster.Strip): only for the memory benchmark's baseline.
	DisableStrip bool
	// Enforce is --enforce: after each successful pass, compare what git
	// declares with the cluster and (on) revert drift in immutable fields
	// and converge fields past their grace, or (dry-run) report it. ""
	// is off.
	Enforce enforce.Mode
	// EnforceLimit is the fight limit (zero: enforce.DefaultLimit).
	EnforceLimit enforce.Limit
	// RefusalBackoff spaces the passes after one that retrying at once
	// cannot fix (git refused the credentials or the push, latch.yaml is
	// broken); zero: DefaultRefusalBackoff.
	RefusalBackoff backoff.Policy
	// Self is latch's own Pod, which GitRefused and GitAccepted Events are
	// about (nil: those go to the log only).
	Self *corev1.ObjectReference
}

// Run watches the cluster and keeps git latched until ctx ends.
func Run(ctx context.Context, cfg *rest.Config, opts RunOptions) error {
	if opts.Latcher == nil {
		return fmt.Errorf("run: no latcher")
	}
	if opts.BatchWindow <= 0 {
		opts.BatchWindow = DefaultBatchWindow
	}
	if opts.Resync <= 0 {
		opts.Resync = DefaultResync
	}
	if opts.ShutdownGrace <= 0 {
		opts.ShutdownGrace = 25 * time.Second
	}
	if opts.LeaderElectionID == "" {
		opts.LeaderElectionID = "latch-leader"
	}
	if opts.Registry == nil {
		opts.Registry = crmetrics.Registry
	}
	if opts.RefusalBackoff == (backoff.Policy{}) {
		opts.RefusalBackoff = DefaultRefusalBackoff
	}
	if err := opts.RefusalBackoff.Check(); err != nil {
		return fmt.Errorf("run: %w", err)
	}
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := waitForAPIServer(ctx, cfg, opts.ProbeAddr, log); err != nil {
		return err
	}
	if ctx.Err() != nil {
		return nil // stopped while waiting
	}
	metrics, err := NewMetrics(opts.Registry)
	if err != nil {
		return fmt.Errorf("registering metrics: %w", err)
	}
	if r := opts.Latcher.Review; r != nil && r.Forge != nil {
		r.Forge.SetRetryHook(func(_, reason string) { metrics.ForgeRetries.WithLabelValues(reason).Inc() })
	}

	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return err
	}
	cacheOpts := cache.Options{DefaultTransform: cluster.Strip}
	if opts.DisableStrip {
		cacheOpts.DefaultTransform = nil
	}
	if opts.Namespace != "" {
		cacheOpts.DefaultNamespaces = map[string]cache.Config{opts.Namespace: {}}
	}
	grace := opts.ShutdownGrace + 5*time.Second
	mgrOpts := manager.Options{
		Scheme:                        scheme,
		Logger:                        logr.FromSlogHandler(log.Handler()),
		Cache:                         cacheOpts,
		Metrics:                       metricsserver.Options{BindAddress: opts.MetricsAddr},
		HealthProbeBindAddress:        opts.ProbeAddr,
		PprofBindAddress:              opts.PprofAddr,
		LeaderElection:                opts.LeaderElect,
		LeaderElectionID:              opts.LeaderElectionID,
		LeaderElectionNamespace:       opts.LeaderElectionNamespace,
		LeaderElectionReleaseOnCancel: true,
		GracefulShutdownTimeout:       &grace,
	}
	if opts.LeaseDuration > 0 {
		mgrOpts.LeaseDuration = &opts.LeaseDuration
	}
	if opts.RenewDeadline > 0 {
		mgrOpts.RenewDeadline = &opts.RenewDeadline
	}
	if opts.RetryPeriod > 0 {
		mgrOpts.RetryPeriod = &opts.RetryPeriod
	}
	mgr, err := manager.New(cfg, mgrOpts)
	if err != nil {
		return fmt.Errorf("creating the controller manager: %w", err)
	}

	disc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return fmt.Errorf("discovery client: %w", err)
	}
	if opts.FollowRollouts {
		src := cluster.CachedRollouts(mgr.GetCache(), mgr.GetAPIReader())
		src.ArgoRollouts = ArgoRolloutsInstalled(disc, log)
		opts.Latcher.Rollouts = func(ctx context.Context, now time.Time) ([]cluster.Rollout, error) {
			return cluster.ListRollouts(ctx, src, opts.Namespace, now)
		}
	}

	// Kinds latch.yaml latches are watched too, as read now: a rule naming
	// a new kind later takes effect at the next restart.
	fromPolicy, skipped := KindsFromPolicy(ctx, opts.Latcher, mgr.GetRESTMapper(), disc, log)
	opts.ExtraKinds = mergeKinds(opts.ExtraKinds, fromPolicy)
	if len(opts.ExtraKinds) > 0 {
		log.Info("watching kinds with a /scale subresource besides Deployment and StatefulSet; a latch.yaml rule naming another kind needs a restart",
			"kinds", kindNames(opts.ExtraKinds), "fromPolicy", kindNames(fromPolicy))
	}
	eventsClient, err := eventsv1client.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("events client: %w", err)
	}
	events := newEventWriter(eventsClient, "latch", log)
	go events.run()
	// Events of the last pass still go out after the manager stops.
	defer events.close(5 * time.Second)
	var enforcer *driftflow.Enforcer
	if opts.Enforce != "" && opts.Enforce != enforce.Off {
		enforcer, err = driftflow.New(cfg, driftflow.Options{
			Mode: opts.Enforce, Limit: opts.EnforceLimit, Namespace: opts.Namespace, DefaultNamespace: opts.Namespace,
			Registry: opts.Registry, Log: log,
			Events: func(regarding corev1.ObjectReference, eventType, reason, note string) {
				events.post(regarding, eventType, reason, "Enforce", note)
			},
		})
		if err != nil {
			return err
		}
	}
	loop := newBatchLoop(opts, log, metrics, mgr.GetCache(), events, newPassGate(opts.RefusalBackoff, nil, nil))
	loop.enforcer = enforcer
	for _, gk := range skipped {
		// Already warned about, with the reason: a restart would not help.
		loop.unwatched[gk] = true
	}
	watched := []client.Object{&appsv1.Deployment{}, &appsv1.StatefulSet{}, &autoscalingv2.HorizontalPodAutoscaler{}}
	for _, gvk := range opts.ExtraKinds {
		u := &unstructured.Unstructured{}
		u.SetGroupVersionKind(gvk)
		watched = append(watched, u)
	}
	for _, obj := range watched {
		informer, err := mgr.GetCache().GetInformer(ctx, obj)
		if err != nil {
			return fmt.Errorf("watching %T: %w", obj, err)
		}
		if _, err := informer.AddEventHandler(loop.handler()); err != nil {
			return fmt.Errorf("watching %T: %w", obj, err)
		}
	}
	if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
		return err
	}
	if err := mgr.AddReadyzCheck("caches", func(req *http.Request) error {
		if !mgr.GetCache().WaitForCacheSync(req.Context()) {
			return fmt.Errorf("informer caches not synced")
		}
		return nil
	}); err != nil {
		return err
	}
	if err := mgr.AddReadyzCheck("git", loop.gate.readyz); err != nil {
		return err
	}
	if err := mgr.Add(loop); err != nil {
		return err
	}
	log.Info("latch run starting", "repo", opts.Latcher.Repo.RemoteURL(), "branch", opts.Latcher.Repo.Branch(),
		"path", opts.Latcher.Path, "cluster", opts.Latcher.Cluster, "batchWindow", opts.BatchWindow, "leaderElect", opts.LeaderElect, "enforce", enforcerMode(enforcer))
	return mgr.Start(ctx)
}
