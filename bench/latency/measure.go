package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"time"

	"k8s.io/client-go/kubernetes"

	"github.com/latch-gitops/latch/bench/internal/latchproc"
	"github.com/latch-gitops/latch/bench/internal/remotewatch"
	"github.com/latch-gitops/latch/bench/internal/workloadset"
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

func (e *env) run(ctx context.Context, sc scenario) (outcome, error) {
	out := outcome{scenario: sc}
	set := workloadset.Set{Namespace: fmt.Sprintf("lat-w%ds-n%d", int(sc.window.Seconds()), sc.n), N: sc.n,
		Replicas: initialReplicas, MinReplicas: 2, MaxReplicas: 1000, Files: filesPerScenario}
	ns := set.Namespace

	// Git: a fresh remote declaring the n Deployments and HPAs.
	remote := testenv.NewGitRemote(e.t)
	human := remote.Human(e.t)
	human.WriteFile("latch.yaml", workloadset.MachinePolicy)
	for file, text := range set.Manifests("clusters/bench/" + ns) {
		human.WriteFile(file, text)
	}
	human.Commit(fmt.Sprintf("declare %d workloads", sc.n))
	human.Push()

	// Cluster: the same objects, live.
	if err := set.Create(ctx, e.client); err != nil {
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

	watch := remotewatch.Start(ctx, remote.BareDir, "main", base, sc.poll)
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
			if err := set.Scale(ctx, e.client, i, to[i]); err != nil {
				errs <- err
				return
			}
			scaled[i] = time.Now()
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		_ = watch.Stop()
		return out, err
	}
	e.log("  %d scales done in %v; waiting for the commits", sc.n, time.Since(start).Round(100*time.Millisecond))

	// Wait until every workload is in a commit, or the fixture's deadline
	// (the test's, or a generous bound for the benchmark program).
	deadline := testenv.Deadline(e.t)
	for time.Now().Before(deadline) && ctx.Err() == nil && watch.Err() == nil && watch.Seen() < sc.n && !p.Exited() {
		time.Sleep(sc.poll)
	}
	if err := watch.Stop(); err != nil && ctx.Err() == nil {
		return out, err
	}
	latchCommits, other := watch.Counts()
	out.commits = latchCommits + other
	for i := 0; i < sc.n; i++ {
		when, ok := watch.FirstSeen(set.Key(i))
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
