package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/latch-gitops/latch/bench/internal/latchproc"
	"github.com/latch-gitops/latch/internal/evidence"
	"github.com/latch-gitops/latch/internal/testenv"
)

// scenario is one measurement: n workloads scaled once each at random
// times within spread, latch batching with window.
type scenario struct {
	n      int
	window time.Duration
	spread time.Duration
	seed   uint64
	// poll is how often the remote's branch is read.
	poll time.Duration
}

// outcome is what a scenario measured.
type outcome struct {
	scenario
	// latency per workload: commit visible on the remote − scale returned.
	latency []time.Duration
	commits int
	// missing workloads never showed up in a commit before the deadline.
	missing int
}

// env is what scenarios share: one API server, the latch binary.
type env struct {
	t          testenv.T
	client     kubernetes.Interface
	kubeconfig string
	bin        string
	log        func(format string, args ...any)
}

// initialReplicas is what git declares and the cluster runs before the
// scale; every target below needs a commit from it.
const initialReplicas = 3

// targets are the scales the "HPA" sets: each is an R5 value (latch's
// default series) well out of the hysteresis band around 3.
var targets = []int32{16, 25, 40, 63, 100}

// filesPerScenario spreads the manifests over files, as a repository
// would (at least one workload per file).
const filesPerScenario = 50

// policy: moves up commit at once (dwell up 0), so the benchmark measures
// latch's machinery (watch → batch window → pass → push), not the dwell a
// real policy adds on purpose.
const policy = `apiVersion: latch.dev/v1alpha1
kind: LatchPolicy
spec:
  defaults:
    latch:
      dwellUp: 0s
      window: 0s
`

func (e *env) run(ctx context.Context, sc scenario) (outcome, error) {
	out := outcome{scenario: sc}
	ns := fmt.Sprintf("lat-w%ds-n%d", int(sc.window.Seconds()), sc.n)
	name := func(i int) string { return fmt.Sprintf("svc-%04d", i) }

	// Git: a fresh remote declaring the n Deployments and HPAs.
	remote := testenv.NewGitRemote(e.t)
	human := remote.Human(e.t)
	human.WriteFile("latch.yaml", policy)
	files := min(filesPerScenario, sc.n)
	for f := 0; f < files; f++ {
		var b strings.Builder
		for i := f; i < sc.n; i += files {
			fmt.Fprintf(&b, "---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: %s\n  namespace: %s\nspec:\n  replicas: %d # latched\n  selector:\n    matchLabels: {app: %s}\n  template:\n    metadata:\n      labels: {app: %s}\n    spec:\n      containers: [{name: app, image: registry.example.com/%s:1}]\n"+
				"---\napiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata:\n  name: %s\n  namespace: %s\nspec:\n  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: %s}\n  minReplicas: 2\n  maxReplicas: 1000\n",
				name(i), ns, initialReplicas, name(i), name(i), name(i), name(i), ns, name(i))
		}
		human.WriteFile(fmt.Sprintf("clusters/bench/%s/group-%02d.yaml", ns, f), b.String())
	}
	human.Commit(fmt.Sprintf("declare %d workloads", sc.n))
	human.Push()

	// Cluster: the same objects, live.
	if err := e.create(ctx, ns, sc.n, name); err != nil {
		return out, err
	}

	// latch run, limited to this namespace, no resync pass in the way.
	p, err := latchproc.Start(e.t, latchproc.Options{
		Bin: e.bin, Kubeconfig: e.kubeconfig, Repo: remote.URL,
		Args:    []string{"--namespace", ns, "--cluster-name", "bench", "--batch-window", sc.window.String(), "--resync", "1h"},
		Env:     []string{"LATCH_GIT_USERNAME=" + remote.Username, "LATCH_GIT_PASSWORD=" + remote.Password},
		LogPath: filepath.Join(e.t.TempDir(), "latch.log"),
	})
	if err != nil {
		return out, err
	}
	defer p.Stop()
	if err := p.WaitReady(ctx); err != nil {
		return out, err
	}
	base := remote.Head(e.t, "main")
	if m, err := p.Metrics(ctx); err != nil || m["latch_commits_total"] != 0 {
		return out, fmt.Errorf("the first pass committed (%v commits, %v); git was seeded at the live scale", m["latch_commits_total"], err)
	}

	// The schedule: each workload scaled once, at a random time in spread.
	rng := rand.New(rand.NewPCG(sc.seed, uint64(sc.n)))
	at := make([]time.Duration, sc.n)
	to := make([]int32, sc.n)
	for i := range at {
		at[i] = time.Duration(rng.Int64N(int64(sc.spread)))
		to[i] = targets[rng.IntN(len(targets))]
	}

	pollCtx, stopPoll := context.WithCancel(ctx)
	seen := map[string]time.Time{}
	var seenMu sync.Mutex
	pollDone := make(chan error, 1)
	go func() { pollDone <- pollRemote(pollCtx, remote.BareDir, base, sc.poll, &seenMu, seen, &out.commits) }()

	scaled := make([]time.Time, sc.n)
	errs := make(chan error, sc.n)
	start := time.Now()
	var wg sync.WaitGroup
	for i := 0; i < sc.n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Until(start.Add(at[i]))):
			}
			s := &autoscalingv1.Scale{ObjectMeta: metav1.ObjectMeta{Name: name(i), Namespace: ns}, Spec: autoscalingv1.ScaleSpec{Replicas: to[i]}}
			if _, err := e.client.AppsV1().Deployments(ns).UpdateScale(ctx, name(i), s, metav1.UpdateOptions{FieldManager: "horizontal-pod-autoscaler"}); err != nil {
				errs <- fmt.Errorf("scaling %s/%s to %d: %w", ns, name(i), to[i], err)
				return
			}
			scaled[i] = time.Now()
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		stopPoll()
		return out, err
	}
	e.log("  %d scales done in %v; waiting for the commits", sc.n, time.Since(start).Round(100*time.Millisecond))

	// Wait until every workload is in a commit, or the fixture's deadline
	// (the test's, or a generous bound for the benchmark program).
	deadline := testenv.Deadline(e.t)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		seenMu.Lock()
		done := len(seen) >= sc.n
		seenMu.Unlock()
		if done || p.Exited() {
			break
		}
		time.Sleep(sc.poll)
	}
	stopPoll()
	if err := <-pollDone; err != nil && ctx.Err() == nil {
		return out, err
	}
	seenMu.Lock()
	defer seenMu.Unlock()
	for i := 0; i < sc.n; i++ {
		when, ok := seen[ns+"/"+name(i)]
		if !ok {
			out.missing++
			continue
		}
		out.latency = append(out.latency, when.Sub(scaled[i]))
	}
	if out.missing > 0 {
		e.log("  %d workloads never reached a commit; latch log tail:\n%s", out.missing, p.LogTail(20))
	}
	return out, nil
}

// create makes the namespace, n Deployments at initialReplicas and their
// HPAs, in parallel.
func (e *env) create(ctx context.Context, ns string, n int, name func(int) string) error {
	if _, err := e.client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("namespace %s: %w", ns, err)
	}
	jobs := make(chan int)
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				d := &appsv1.Deployment{
					ObjectMeta: metav1.ObjectMeta{Name: name(i), Namespace: ns},
					Spec: appsv1.DeploymentSpec{
						Replicas: ptr.To(int32(initialReplicas)),
						Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name(i)}},
						Template: corev1.PodTemplateSpec{
							ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": name(i)}},
							Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "registry.example.com/" + name(i) + ":1"}}},
						},
					},
				}
				if _, err := e.client.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{FieldManager: "flux"}); err != nil {
					errs <- fmt.Errorf("creating deployment %s/%s: %w", ns, name(i), err)
					continue
				}
				h := &autoscalingv2.HorizontalPodAutoscaler{
					ObjectMeta: metav1.ObjectMeta{Name: name(i), Namespace: ns},
					Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
						ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: name(i)},
						MinReplicas:    ptr.To(int32(2)), MaxReplicas: 1000,
					},
				}
				if _, err := e.client.AutoscalingV2().HorizontalPodAutoscalers(ns).Create(ctx, h, metav1.CreateOptions{FieldManager: "flux"}); err != nil {
					errs <- fmt.Errorf("creating HPA %s/%s: %w", ns, name(i), err)
				}
			}
		}()
	}
	for i := 0; i < n; i++ {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	close(errs)
	for err := range errs {
		return err
	}
	return nil
}

// pollRemote reads the bare remote's main every poll; for each new commit
// it records, for every Latch-Object trailer, the time the commit was
// first seen (the first commit wins).
func pollRemote(ctx context.Context, bare, base string, poll time.Duration, mu *sync.Mutex, seen map[string]time.Time, commits *int) error {
	last := base
	ticker := time.NewTicker(poll)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
		now := time.Now()
		head, err := gitOut(ctx, bare, "rev-parse", "--verify", "--quiet", "refs/heads/main")
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		head = strings.TrimSpace(head)
		if head == last {
			continue
		}
		log, err := gitOut(ctx, bare, "log", "--format=%B%x00", last+".."+head)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		mu.Lock()
		for _, msg := range strings.Split(log, "\x00") {
			if strings.TrimSpace(msg) == "" {
				continue
			}
			*commits++
			_, changes, err := evidence.ParseMessage(msg)
			if err != nil {
				mu.Unlock()
				return fmt.Errorf("commit between %s and %s: %w", last, head, err)
			}
			for _, c := range changes {
				if _, ok := seen[c.Object.NamespacedName()]; !ok {
					seen[c.Object.NamespacedName()] = now
				}
			}
		}
		mu.Unlock()
		last = head
	}
}

func gitOut(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", dir}, args...)...)
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null")
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("git %s (in %s): %w", strings.Join(args, " "), dir, err)
	}
	return string(out), nil
}
