package controller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/latch-gitops/latch/internal/cluster"
	"github.com/latch-gitops/latch/internal/driftflow"
	"github.com/latch-gitops/latch/internal/enforce"
	"github.com/latch-gitops/latch/internal/gitrepo"
	"github.com/latch-gitops/latch/internal/objectid"
	"github.com/latch-gitops/latch/internal/policyfile"
)

// batchLoop is the leader's write-back loop: changes mark it dirty; a pass
// runs one batch window after the first change, and every Resync anyway.
type batchLoop struct {
	opts    RunOptions
	log     *slog.Logger
	metrics *Metrics
	reader  client.Reader
	events  *eventWriter
	// enforcer runs after each successful pass (nil: --enforce=off).
	enforcer *driftflow.Enforcer
	// gate holds passes back after a failure retrying cannot fix.
	gate *passGate

	dirty chan struct{}
	mu    sync.Mutex
	// firstChange is when the oldest change not yet through a pass arrived.
	firstChange time.Time
	pending     int
	// changes counts every change notified; a pass compares it with the
	// count when it last listed the workloads to fold in the changes that
	// arrive while its push is retried (Latcher.SyncFolding).
	changes atomic.Uint64
	// problems remembers each workload's last reported problem so a Warning
	// event is sent when it appears or changes, not on every pass.
	problems map[objectid.Key]string
	// unwatched holds the kinds warnUnwatchedKinds has warned about.
	unwatched map[schema.GroupKind]bool
	// leading is set once Start runs, i.e. once this replica leads.
	leading atomic.Bool
	reviews reviewTracker
}

func newBatchLoop(opts RunOptions, log *slog.Logger, metrics *Metrics, reader client.Reader, events *eventWriter, gate *passGate) *batchLoop {
	return &batchLoop{
		opts: opts, log: log, metrics: metrics, reader: reader,
		events: events, gate: gate,
		dirty:     make(chan struct{}, 1),
		problems:  map[objectid.Key]string{},
		unwatched: map[schema.GroupKind]bool{},
	}
}

func (b *batchLoop) handler() toolscache.ResourceEventHandler {
	return toolscache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { b.notify() },
		UpdateFunc: func(oldObj, newObj any) { b.notifyUpdate(oldObj, newObj) },
		DeleteFunc: func(any) { b.notify() },
	}
}

// notifyUpdate ignores updates that do not change what latching reads. The
// cache holds stripped objects (cluster.Strip), but each status write still
// bumps the resourceVersion: a rollout or an HPA's status loop would
// otherwise trigger a pass — a git fetch — per status write.
//
// With --enforce, a new generation (a spec change: an image set by hand)
// also triggers a pass, so drift in a workload is reverted one batch window
// after it appears rather than at the next resync.
func (b *batchLoop) notifyUpdate(oldObj, newObj any) {
	if sameForLatching(oldObj, newObj) && (b.enforcer == nil || !generationChanged(oldObj, newObj)) {
		return
	}
	b.notify()
}

// sameForLatching compares two versions of a stripped object, ignoring
// resourceVersion, generation and the status the rollout follower reads.
func sameForLatching(oldObj, newObj any) bool {
	o, ok1 := oldObj.(client.Object)
	n, ok2 := newObj.(client.Object)
	if !ok1 || !ok2 {
		return false
	}
	if o.GetResourceVersion() == n.GetResourceVersion() {
		return true
	}
	o, n = o.DeepCopyObject().(client.Object), n.DeepCopyObject().(client.Object)
	for _, obj := range []client.Object{o, n} {
		obj.SetResourceVersion("")
		obj.SetGeneration(0)
		// The cache keeps a Deployment's and a StatefulSet's status for
		// the rollout follower; its changes alone do not start a pass (as
		// before it was kept): the follower reads them on the next one.
		switch w := obj.(type) {
		case *appsv1.Deployment:
			w.Status = appsv1.DeploymentStatus{}
		case *appsv1.StatefulSet:
			w.Status = appsv1.StatefulSetStatus{}
		case *unstructured.Unstructured:
			// An Argo Rollout latched by its /scale keeps a few status
			// fields for the follower too (cluster.Strip).
			delete(w.Object, "status")
		}
	}
	return equality.Semantic.DeepEqual(o, n)
}

func enforcerMode(e *driftflow.Enforcer) enforce.Mode {
	if e == nil {
		return enforce.Off
	}
	return e.Mode()
}

func generationChanged(oldObj, newObj any) bool {
	o, ok1 := oldObj.(client.Object)
	n, ok2 := newObj.(client.Object)
	return ok1 && ok2 && o.GetGeneration() != n.GetGeneration()
}

// requeue adds size changes to the batch, the oldest arrived at firstChange.
// A failed pass puts its batch back this way, keeping its first change's
// time, so latch_change_to_push_seconds measures an outage in full.
func (b *batchLoop) requeue(firstChange time.Time, size int) {
	if !b.leading.Load() {
		// A follower keeps no queue: if it becomes leader, its first pass
		// reads everything anyway.
		return
	}
	b.changes.Add(1)
	b.mu.Lock()
	if b.pending == 0 || firstChange.Before(b.firstChange) {
		b.firstChange = firstChange
	}
	b.pending += size
	b.metrics.QueueDepth.Set(float64(b.pending))
	b.mu.Unlock()
	select {
	case b.dirty <- struct{}{}:
	default:
	}
}

func (b *batchLoop) notify() { b.requeue(time.Now(), 1) }

// Start runs until ctx ends; it only runs on the leader.
func (b *batchLoop) Start(ctx context.Context) error {
	b.leading.Store(true)
	if !b.waitSynced(ctx) {
		return nil
	}
	// A first pass at once: a restart resumes from git and the cluster, and
	// commits only what changed while latch was away.
	b.pass(ctx)
	resync := time.NewTicker(b.opts.Resync)
	defer resync.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-resync.C:
			b.pass(ctx)
		case <-b.dirty:
			b.mu.Lock()
			wait := time.Until(b.firstChange.Add(b.opts.BatchWindow))
			b.mu.Unlock()
			// After a refusal the batch waits for the backoff too.
			wait = max(wait, b.gate.remaining())
			if wait > 0 {
				select {
				case <-ctx.Done():
					return nil
				case <-time.After(wait):
				}
			}
			b.pass(ctx)
		}
	}
}

func (b *batchLoop) waitSynced(ctx context.Context) bool {
	type syncer interface {
		WaitForCacheSync(context.Context) bool
	}
	if s, ok := b.reader.(syncer); ok {
		return s.WaitForCacheSync(ctx)
	}
	return true
}

// pass runs one Sync. A stop signal during the pass does not cut it short:
// it gets ShutdownGrace to finish, so a commit is either pushed or never made.
func (b *batchLoop) pass(ctx context.Context) {
	if wait := b.gate.remaining(); wait > 0 {
		// Backing off after a refusal: the batch stays queued, and no
		// request goes out (a forge locks out a burst of bad logins).
		b.log.Debug("pass held back after a failure retrying cannot fix", "retryIn", wait)
		return
	}
	b.mu.Lock()
	batchStart, batchSize := b.firstChange, b.pending
	b.pending = 0
	b.firstChange = time.Time{}
	b.metrics.QueueDepth.Set(0)
	b.mu.Unlock()

	passCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	stop := context.AfterFunc(ctx, func() {
		timer := time.NewTimer(b.opts.ShutdownGrace)
		defer timer.Stop()
		select {
		case <-timer.C:
			cancel()
		case <-passCtx.Done():
		}
	})
	defer stop()

	// A pass reads and indexes the whole repository, a burst of garbage
	// proportional to its size; latch then idles until the next change.
	// Handing the freed pages back at once keeps the resident size of an
	// idle latch near its live heap instead of its last peak.
	defer debug.FreeOSMemory()

	started := time.Now()
	listed := b.changes.Load()
	workloads, err := cluster.List(passCtx, b.reader, b.opts.Namespace, b.opts.ExtraKinds...)
	if err != nil {
		b.metrics.Passes.WithLabelValues("error").Inc()
		b.log.Error("reading workloads from the cache", "error", err)
		return
	}
	// The changes folded in stay queued: the next pass finds them in git
	// already and commits nothing for them, and a pass that fails leaves
	// them queued for the one after.
	outcome, err := b.opts.Latcher.SyncFolding(passCtx, workloads, started, Refold{
		Changed: func() bool { return b.changes.Load() != listed },
		List: func(ctx context.Context) ([]cluster.Workload, error) {
			listed = b.changes.Load()
			return cluster.List(ctx, b.reader, b.opts.Namespace, b.opts.ExtraKinds...)
		},
	})
	b.metrics.PassSeconds.Observe(time.Since(started).Seconds())
	res := outcome.Result
	if res.Attempts > 1 {
		b.metrics.PushRetries.Add(float64(res.Attempts - 1))
	}
	if err != nil && passCtx.Err() != nil {
		// Stopped past ShutdownGrace. A push cut short may still have
		// landed (the server completes what it received): ask the remote
		// before saying what happened.
		if !b.landedAtShutdown(&res) {
			b.metrics.Passes.WithLabelValues("abandoned").Inc()
			b.log.Warn("pass abandoned at shutdown after the grace period; the next start latches it", "grace", b.opts.ShutdownGrace, "error", err, "batch", batchSize)
			return
		}
		b.log.Info("stopped at shutdown while waiting for the push's reply, but the push landed", "grace", b.opts.ShutdownGrace, "commit", res.Commit)
		err = nil
	}
	if err != nil {
		b.metrics.Passes.WithLabelValues("error").Inc()
		// Any git failure counts, not only a refused push: with the remote
		// down the fetch fails first and no commit is ever made.
		var gitErr *gitrepo.Error
		if errors.As(err, &gitErr) {
			b.metrics.PushFailures.Inc()
		}
		// Retry the batch: its changes are still unrecorded.
		b.failed(err, res.Attempts, batchSize)
		if batchSize > 0 {
			b.requeue(batchStart, batchSize)
		}
		return
	}
	b.accepted()
	b.metrics.pushed(time.Now())
	b.metrics.Passes.WithLabelValues("ok").Inc()
	if res.Commit != "" {
		b.metrics.Commits.Inc()
		b.metrics.Latches.Add(float64(len(res.Changes)))
		if !batchStart.IsZero() {
			b.metrics.ChangeToCommit.Observe(time.Since(batchStart).Seconds())
		}
		b.log.Info("latched", "commit", res.Commit, "changes", len(res.Changes), "attempts", res.Attempts)
		for _, c := range res.Changes {
			b.event(workloadFor(workloads, c.Object), corev1.EventTypeNormal, "Latched",
				fmt.Sprintf("latched %s %d → %d in %s (observed %d)", c.ShortField(), c.From, c.To, gitrepo.ShortID(res.Commit), c.Observed))
		}
	}
	for _, c := range res.HumanWon {
		b.event(workloadFor(workloads, c.Object), corev1.EventTypeNormal, "HumanWon",
			fmt.Sprintf("a person changed %s in git meanwhile; their value stands this round", c.ShortField()))
	}
	b.reportProblems(workloads, outcome.Workloads)
	b.warnUnwatchedKinds(outcome.Policy)
	if b.reportReviews(workloads, outcome.Reviews) && batchSize > 0 {
		// The review step's latches are still pending: retry the batch.
		b.requeue(batchStart, batchSize)
	}
	b.enforce(passCtx, outcome, started)
}

// enforce runs the enforcement step at the branch head the pass pushed or
// read, with the policy the pass read. It runs only after a successful
// pass: a broken latch.yaml or an unreachable remote enforces nothing
// rather than a guessed or stale intent. After a review push latch's work
// tree holds the PR branch, so the head is exported on its own then.
func (b *batchLoop) enforce(ctx context.Context, outcome Outcome, now time.Time) {
	if b.enforcer == nil || outcome.Policy == nil {
		return
	}
	l := b.opts.Latcher
	dir := l.Repo.Dir()
	if len(outcome.Reviews) > 0 {
		head := outcome.Result.Commit
		if head == "" {
			head = outcome.Result.Base
		}
		tmp, err := os.MkdirTemp("", "latch-enforce-")
		if err != nil {
			b.log.Error("enforcement step: a folder for the branch head", "error", err)
			return
		}
		defer os.RemoveAll(tmp)
		if err := l.Repo.ExportTree(ctx, head, tmp); err != nil {
			b.log.Error("enforcement step failed; the next pass retries", "mode", b.enforcer.Mode(), "error", err)
			return
		}
		dir = tmp
	}
	res, err := b.enforcer.Pass(ctx, dir, l.Path, outcome.Policy, now)
	if err != nil {
		b.log.Error("enforcement step failed; the next pass retries", "mode", b.enforcer.Mode(), "error", err)
		return
	}
	b.log.Debug("enforcement step", "mode", b.enforcer.Mode(), "drifted", res.Drifted, "planned", res.Planned,
		"reverted", res.Reverted, "fights", res.Fights, "failed", res.Failed, "requests", res.Requests)
}

// warnUnwatchedKinds tells, once per kind, that latch.yaml (as this pass
// read it) latches a kind the informers do not watch: kinds are resolved at
// start, so it takes a restart.
func (b *batchLoop) warnUnwatchedKinds(pol *policyfile.Policy) {
	if pol == nil {
		return // the pass itself reported why
	}
	for _, gk := range unwatchedKinds(pol, b.opts.ExtraKinds) {
		if b.unwatched[gk] {
			continue
		}
		b.unwatched[gk] = true
		b.log.Warn("latch.yaml latches a kind latch run does not watch: restart latch run to watch it", "kind", gk.String(), "policy", pol.Source)
	}
}

// reportProblems sends a Warning event when a workload's problem appears or
// changes (not found in git, declared twice…), and forgets solved ones.
func (b *batchLoop) reportProblems(workloads []cluster.Workload, statuses []WorkloadStatus) {
	seen := map[objectid.Key]bool{}
	for _, s := range statuses {
		key := s.Key()
		if s.Error == "" {
			continue
		}
		seen[key] = true
		if b.problems[key] == s.Error {
			continue
		}
		b.problems[key] = s.Error
		b.log.Warn("workload not latched", "kind", s.KindGroup(), "workload", s.NamespacedName(), "problem", s.Error)
		b.event(workloadFor(workloads, s.Ref), corev1.EventTypeWarning, "NotLatched", s.Error)
	}
	for key := range b.problems {
		if !seen[key] {
			delete(b.problems, key)
		}
	}
}

func (b *batchLoop) event(w *cluster.Workload, eventType, reason, note string) {
	if w == nil || b.events == nil {
		return
	}
	b.events.post(corev1.ObjectReference{
		APIVersion: w.APIVersion(), Kind: w.Kind,
		Name: w.Name, Namespace: w.Namespace, UID: w.UID,
	}, eventType, reason, "Latch", note)
}

// workloadFor finds the workload ref names: group, kind, namespace and name
// all match (two kinds of one name in different API groups are different
// objects).
func workloadFor(workloads []cluster.Workload, ref objectid.Ref) *cluster.Workload {
	key := ref.Key()
	for i := range workloads {
		if w := &workloads[i]; w.Key() == key {
			return w
		}
	}
	return nil
}

// kindNames lists kinds as group/version/Kind for logs.
func kindNames(kinds []schema.GroupVersionKind) []string {
	out := make([]string, len(kinds))
	for i, gvk := range kinds {
		out[i] = gvk.GroupVersion().String() + "/" + gvk.Kind
	}
	return out
}
