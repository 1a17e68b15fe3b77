package main

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/latch-gitops/latch/bench/internal/benchdoc"
	"github.com/latch-gitops/latch/bench/internal/latchproc"
	"github.com/latch-gitops/latch/bench/internal/remotewatch"
	"github.com/latch-gitops/latch/bench/internal/workloadset"
	"github.com/latch-gitops/latch/internal/gitrepo"
	"github.com/latch-gitops/latch/internal/testenv"
)

// config is one fleet run.
type config struct {
	// instances is the number of simulated clusters, one `latch run` each;
	// workloads the Deployments (with an HPA) in each.
	instances, workloads int
	// duration is how long the workloads churn and the person pushes.
	duration time.Duration
	// window is every latch's --batch-window.
	window time.Duration
	// humanEvery is how often the person commits.
	humanEvery time.Duration
	seed       uint64
	// poll is how often the remote's branch is read.
	poll time.Duration
	// baseline runs the same fleet as bare git clients afterwards
	// (runBaseline) and times single attempts (measureAttempts).
	baseline bool
}

// instance is one simulated cluster's latch and what it said at the end.
type instance struct {
	name    string
	proc    *latchproc.Proc
	metrics map[string]float64
}

// initialReplicas is what git declares and the clusters run before the churn.
const initialReplicas = 3

func clusterName(i int) string { return fmt.Sprintf("cluster-%02d", i) }
func clusterPath(i int) string { return "clusters/" + clusterName(i) }

// measure runs the fleet: one API server with a namespace per simulated
// cluster, one HTTP git remote, cfg.instances `latch run`s, the churn and a
// person pushing, then reads the remote's history (result).
func measure(ctx context.Context, t testenv.T, cfg config, logf func(string, ...any)) (result, error) {
	res := result{cfg: cfg}
	cp := testenv.StartControlPlane(t)
	rc := rest.CopyConfig(cp.Config)
	rc.QPS, rc.Burst = 500, 1000
	client, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return res, err
	}
	logf("building latch")
	bin, err := latchproc.Build(ctx, t.TempDir())
	if err != nil {
		return res, err
	}

	// Git: one remote declaring every cluster's workloads in its folder.
	remote := testenv.NewGitRemote(t)
	seed := remote.Human(t)
	seed.WriteFile("latch.yaml", workloadset.MachinePolicy)
	seed.WriteFile("people/README.md", "# Notes by people\n\nOutside every cluster's folder.\n")
	sets := make([]workloadset.Set, cfg.instances)
	for i := range sets {
		sets[i] = workloadset.Set{Namespace: clusterName(i), N: cfg.workloads, Replicas: initialReplicas,
			MinReplicas: 2, MaxReplicas: 100_000_000, Files: 5}
		for file, text := range sets[i].Manifests(clusterPath(i)) {
			seed.WriteFile(file, text)
		}
	}
	seed.Commit(fmt.Sprintf("declare %d clusters × %d workloads", cfg.instances, cfg.workloads))
	seed.Push()
	logf("creating %d namespaces × %d workloads", cfg.instances, cfg.workloads)
	for _, s := range sets {
		if err := s.Create(ctx, client); err != nil {
			return res, err
		}
	}

	// The fleet: one latch per simulated cluster, each on its own namespace
	// and folder, no resync pass in the way.
	logf("starting %d latch run instances (window %v)", cfg.instances, cfg.window)
	insts := make([]*instance, cfg.instances)
	for i := range insts {
		p, err := latchproc.Start(t, latchproc.Options{
			Bin: bin, Kubeconfig: cp.Kubeconfig, Repo: remote.URL,
			Args: []string{"--namespace", clusterName(i), "--cluster-name", clusterName(i), "--path", clusterPath(i),
				"--batch-window", cfg.window.String(), "--resync", "1h"},
			Env:     []string{"LATCH_GIT_USERNAME=" + remote.Username, "LATCH_GIT_PASSWORD=" + remote.Password},
			LogPath: filepath.Join(t.TempDir(), clusterName(i)+".log"),
		})
		if err != nil {
			return res, err
		}
		insts[i] = &instance{name: clusterName(i), proc: p}
	}
	defer stopAll(insts)
	for _, in := range insts {
		if err := in.proc.WaitReady(ctx); err != nil {
			return res, fmt.Errorf("%s: %w", in.name, err)
		}
		if m, err := in.proc.Metrics(ctx); err != nil || m["latch_commits_total"] != 0 {
			return res, fmt.Errorf("%s: the first pass committed (%v commits, %v); git was seeded at the live scale", in.name, m["latch_commits_total"], err)
		}
	}
	base := remote.Head(t, "main")
	res.base = base

	// The run: churn, a person pushing, the remote watched.
	events := schedule(cfg)
	logf("churning %d scales over %v; a person pushes every %v", len(events), cfg.duration, cfg.humanEvery)
	human, err := clonePerson(ctx, t.TempDir(), remote.AuthURL(), "main", cfg.humanEvery)
	if err != nil {
		return res, err
	}
	watch := remotewatch.Start(ctx, remote.BareDir, "main", base, cfg.poll)
	start := time.Now()
	personCtx, stopPerson := context.WithDeadline(ctx, start.Add(cfg.duration))
	personDone := make(chan struct{})
	go func() { defer close(personDone); human.run(personCtx) }()
	scaleErrs := churn(ctx, client, sets, events, start, &res.scaleRetries)
	<-personDone
	stopPerson()
	if len(scaleErrs) > 0 {
		_ = watch.Stop()
		return res, fmt.Errorf("%d /scale requests failed, first: %w", len(scaleErrs), scaleErrs[0])
	}
	logf("churn done in %v (%d /scale requests repeated); %d person commits pushed (%d retries); waiting for the last scales' commits",
		time.Since(start).Round(time.Second), res.scaleRetries, len(human.pushed), human.retries)

	// Wait until every workload's last value is on the remote, or the
	// fixture's deadline (the test's, or a generous bound for the program).
	last := finals(sets, events)
	deadline := testenv.Deadline(t)
	for time.Now().Before(deadline) && ctx.Err() == nil && watch.Err() == nil && !allSeen(watch, last) {
		time.Sleep(cfg.poll)
	}
	res.settle = time.Since(start) - cfg.duration
	for _, in := range insts {
		m, err := in.proc.Metrics(ctx)
		if err != nil {
			return res, fmt.Errorf("%s: %w", in.name, err)
		}
		in.metrics = m
	}
	if err := watch.Stop(); err != nil {
		return res, err
	}
	if n, err := watch.Failures(); n > 0 {
		logf("%d reads of the remote failed and were retried at the next poll; the last: %v", n, err)
	}
	stopAll(insts)

	res.collect(sets, events, watch, insts, human)
	if err := res.check(ctx, remote.BareDir, "main", sets, last, human.pushed); err != nil {
		return res, err
	}
	if res.lost > 0 || res.wrongFinal > 0 {
		for _, in := range insts[:min(3, len(insts))] {
			logf("%s log tail:\n%s", in.name, in.proc.LogTail(15))
		}
	}
	if !cfg.baseline {
		return res, nil
	}
	ls := benchdoc.Summarise(benchdoc.Seconds(res.latency))
	logf("latch: p50 %.2fs p99 %.2fs; %d commits, %.0f push retries; settled %.1fs after the churn", ls.P50, ls.P99, res.latchCommits, res.pushRetries, res.settle.Seconds())
	logf("baseline: %d bare git clients, same schedule, the person beside them", cfg.instances)
	b, err := runBaseline(ctx, t.TempDir(), remote.BareDir, remote.AuthURL(), cfg, human, deadline)
	if err != nil {
		return res, fmt.Errorf("baseline: %w", err)
	}
	res.baseline = &b
	logf("baseline: %d commits, %d retries, settled %.1fs after the churn", b.commits, b.retries, b.settle.Seconds())
	a, err := measureAttempts(ctx, t.TempDir(), remote.URL, remote.AuthURL(), gitrepo.Auth{Username: remote.Username, Password: remote.Password})
	if err != nil {
		return res, fmt.Errorf("single attempts: %w", err)
	}
	res.attempts = &a
	return res, nil
}

// allSeen reports whether every workload's last scale is in a commit.
func allSeen(w *remotewatch.Watcher, last map[string]event) bool {
	for key, e := range last {
		if v, _ := classify(e, w.Sightings(key)); v != committed {
			return false
		}
	}
	return true
}

// stopAll stops the latches in parallel (each may take its shutdown grace).
func stopAll(insts []*instance) {
	var wg sync.WaitGroup
	for _, in := range insts {
		if in == nil {
			continue
		}
		wg.Add(1)
		go func() { defer wg.Done(); in.proc.Stop() }()
	}
	wg.Wait()
}
