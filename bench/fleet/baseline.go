package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/latch-gitops/latch/bench/internal/benchdoc"
	"github.com/latch-gitops/latch/bench/internal/remotewatch"
	"github.com/latch-gitops/latch/internal/evidence"
	"github.com/latch-gitops/latch/internal/objectid"
)

// baseline is the same run without latch: one bare git CLI client per
// simulated cluster against the same remote, beside the same person, with
// the same schedule of scales. A scale "returns" when its time comes (no
// API server); the client batches like latch run (a pass one window after
// the oldest pending scale), writes its cluster's values into one file,
// commits with latch's trailers (so the watcher reads it like a latch
// commit) and pushes; on a refusal it runs `git pull --rebase` and pushes
// again. Scales arriving during the pushes wait for the next batch. What
// it measures is what git itself allows on this machine and remote.
type baseline struct {
	scaleTally
	scales, commits, retries int
	gaveUp                   int
	humanPushed, humanRetry  int
	rewrites, merges         int
	settle                   time.Duration
	err                      error
}

// baselineFile is the one file client i commits.
func baselineFile(i int) string { return "baseline/" + clusterName(i) + ".txt" }

// runBaseline runs the bare git clients for cfg.duration from the remote's
// head now, the person pushing beside them, and waits until every
// workload's last value is on the remote (or until deadline).
func runBaseline(ctx context.Context, dir, bare, authURL string, cfg config, human *person, deadline time.Time) (baseline, error) {
	var b baseline
	events := schedule(cfg)
	b.scales = len(events)
	clients := make([]*person, cfg.instances)
	for i := range clients {
		c, err := cloneAs(ctx, filepath.Join(dir, "git-"+clusterName(i)), authURL, "main", "git client "+clusterName(i), "git@example.com")
		if err != nil {
			return b, err
		}
		clients[i] = c
	}
	// The person goes on from a fresh clone: the end of the fleet's run
	// may have killed one of their git commands midway (index.lock left).
	fresh, err := cloneAs(ctx, filepath.Join(dir, "person"), authURL, "main", "Human Operator", "human@example.com")
	if err != nil {
		return b, err
	}
	human.dir = fresh.dir
	head, err := remotewatch.Git(ctx, bare, "rev-parse", "refs/heads/main")
	if err != nil {
		return b, err
	}
	watch := remotewatch.Start(ctx, bare, "main", strings.TrimSpace(head), cfg.poll)
	pushedBefore, retriesBefore := len(human.pushed), human.retries
	start := time.Now()
	personCtx, stopPerson := context.WithDeadline(ctx, start.Add(cfg.duration))
	defer stopPerson()
	personDone := make(chan struct{})
	go func() { defer close(personDone); human.run(personCtx) }()

	perCluster := make([][]*event, cfg.instances)
	for i := range events {
		perCluster[events[i].cluster] = append(perCluster[events[i].cluster], &events[i])
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	for i, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := gitClient(ctx, c, i, perCluster[i], cfg.window, start)
			mu.Lock()
			if err != nil && b.err == nil {
				b.err = err
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	<-personDone

	last := map[string]event{}
	for _, e := range events {
		last[fmt.Sprintf("%s/svc-%04d", clusterName(e.cluster), e.workload)] = e
	}
	for time.Now().Before(deadline) && ctx.Err() == nil && watch.Err() == nil && !allSeen(watch, last) {
		time.Sleep(cfg.poll)
	}
	b.settle = time.Since(start) - cfg.duration
	if err := watch.Stop(); err != nil {
		return b, err
	}
	b.tally(events, func(e event) []remotewatch.Sighting {
		return watch.Sightings(fmt.Sprintf("%s/svc-%04d", clusterName(e.cluster), e.workload))
	})
	b.commits, _ = watch.Counts()
	b.rewrites = len(watch.Rewrites())
	for _, c := range clients {
		b.retries += c.retries
		b.gaveUp += c.gaveUp
	}
	b.humanPushed, b.humanRetry = len(human.pushed)-pushedBefore, human.retries-retriesBefore
	merges, err := remotewatch.Git(ctx, bare, "rev-list", "--merges", "refs/heads/main")
	if err != nil {
		return b, err
	}
	b.merges = len(strings.Fields(merges))
	return b, b.err
}

// gitClient is one cluster's bare git client: its scales (in time order)
// are batched one window after the oldest pending one, then committed and
// pushed (person.push: pull --rebase and push again on a refusal).
func gitClient(ctx context.Context, c *person, cluster int, events []*event, window time.Duration, start time.Time) error {
	values := map[int]int64{}
	// from holds, per workload of the commit being made, the value before
	// it; a batch whose push gave up carries its workloads into the next.
	from := map[int]int64{}
	next := 0
	for k := 1; next < len(events); k++ {
		// Wait for the next scale, then one window.
		at := start.Add(events[next].at)
		if err := sleepUntil(ctx, at); err != nil {
			return err
		}
		if err := sleepUntil(ctx, at.Add(window)); err != nil {
			return err
		}
		now := time.Now()
		for ; next < len(events) && !start.Add(events[next].at).After(now); next++ {
			e := events[next]
			e.began, e.returned = start.Add(e.at), start.Add(e.at)
			if _, ok := from[e.workload]; !ok {
				from[e.workload] = values[e.workload]
			}
			values[e.workload] = int64(e.to)
		}
		var changes []evidence.Change
		var text strings.Builder
		workloads := make([]int, 0, len(values))
		for w := range values {
			workloads = append(workloads, w)
		}
		sort.Ints(workloads)
		for _, w := range workloads {
			fmt.Fprintf(&text, "svc-%04d %d\n", w, values[w])
			if f, ok := from[w]; ok {
				changes = append(changes, evidence.Change{
					Object: objectid.Ref{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: clusterName(cluster), Name: fmt.Sprintf("svc-%04d", w)},
					Field:  "spec.replicas", File: baselineFile(cluster), From: max(f, initialReplicas), To: values[w], Observed: values[w]})
			}
		}
		rel := baselineFile(cluster)
		if err := os.MkdirAll(filepath.Dir(filepath.Join(c.dir, rel)), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(c.dir, rel), []byte(text.String()), 0o644); err != nil {
			return err
		}
		msg, err := evidence.CommitMessage(nil, changes, clusterName(cluster))
		if err != nil {
			return err
		}
		if _, err := c.git(ctx, c.dir, "add", rel); err != nil {
			return err
		}
		if _, err := c.git(ctx, c.dir, "commit", "--quiet", "--message", msg); err != nil {
			return err
		}
		if err := c.push(ctx); err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("%s batch %d: %w", clusterName(cluster), k, err)
			}
			continue // gave up (counted); the next batch carries these
		}
		clear(from)
	}
	return nil
}

func sleepUntil(ctx context.Context, t time.Time) error {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err()
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}

// renderBaseline writes the same-run comparison with bare git (nothing
// without -baseline).
func renderBaseline(w *strings.Builder, r result) {
	g, a := r.baseline, r.attempts
	if g == nil || a == nil {
		return
	}
	c := r.cfg
	fmt.Fprintf(w, "\nSame run, then without latch: %d bare git CLI clients, one per cluster, on the same remote beside the same person and the same schedule of scales (no API server: a scale returns at its time). "+
		"Each batches like `latch run` (a commit one window, %v, after the oldest pending scale), writes its cluster's values into one file `baseline/cluster-NN.txt`, commits with latch's trailers and pushes; on a refusal `git pull --rebase` and push again. "+
		"Its latency is measured by the same watcher, the same way.\n\n", c.instances, c.window)
	ls, gs := benchdoc.Summarise(benchdoc.Seconds(r.latency)), benchdoc.Summarise(benchdoc.Seconds(g.latency))
	per := func(retries float64, commits int) float64 {
		if commits == 0 {
			return 0
		}
		return retries / float64(commits)
	}
	la := benchdoc.Summarise(benchdoc.Seconds(append(append([]time.Duration(nil), r.latency...), r.supersededLatency...)))
	ga := benchdoc.Summarise(benchdoc.Seconds(append(append([]time.Duration(nil), g.latency...), g.supersededLatency...)))
	w.WriteString("| writers | committed | superseded | p50 s | p90 s | p99 s | max s | p99 − window s | all scales p50 s | all scales p99 s | commits | push retries | per commit | person retries | settled after the churn |\n")
	w.WriteString("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	fmt.Fprintf(w, "| %d × latch run | %d | %d | %.2f | %.2f | %.2f | %.2f | %+.2f | %.2f | %.2f | %d | %.0f | %.1f | %d | %.1f s |\n",
		c.instances, len(r.latency), r.superseded, ls.P50, ls.P90, ls.P99, ls.Max, ls.P99-c.window.Seconds(), la.P50, la.P99, r.latchCommits, r.pushRetries, per(r.pushRetries, r.latchCommits), r.humanRetries, r.settle.Seconds())
	fmt.Fprintf(w, "| %d × bare git | %d | %d | %.2f | %.2f | %.2f | %.2f | %+.2f | %.2f | %.2f | %d | %d | %.1f | %d | %.1f s |\n",
		c.instances, len(g.latency), g.superseded, gs.P50, gs.P90, gs.P99, gs.Max, gs.P99-c.window.Seconds(), ga.P50, ga.P99, g.commits, g.retries, per(float64(g.retries), g.commits), g.humanRetry, g.settle.Seconds())
	ratio := func(x, y float64) string {
		if y <= 0 {
			return "–"
		}
		return fmt.Sprintf("%.2fx", x/y)
	}
	fmt.Fprintf(w, "| latch ÷ git | | | %s | %s | %s | %s | %s | %s | %s | | | | | |\n\n",
		ratio(ls.P50, gs.P50), ratio(ls.P90, gs.P90), ratio(ls.P99, gs.P99), ratio(ls.Max, gs.Max), ratio(ls.P99-c.window.Seconds(), gs.P99-c.window.Seconds()), ratio(la.P50, ga.P50), ratio(la.P99, ga.P99))
	w.WriteString("*All scales* adds the superseded ones, each until the remote first declared a higher value: a workload scaling again before its commit landed is still waiting for git to catch up, and counting only the committed scales would flatter a writer that commits rarely.\n\n")

	lt, pa, ppa := benchdoc.Summarise(benchdoc.Seconds(a.latch)), benchdoc.Summarise(benchdoc.Seconds(a.push)), benchdoc.Summarise(benchdoc.Seconds(a.pullPush))
	fmt.Fprintf(w, "One attempt on the quiet remote afterwards (%d each, nobody else pushing): latch's `CommitAndPush` with a one-file edit (fetch, reset, edit, stage, commit, push) against a prepared commit's bare `git push`, and the bare clients' `git pull --rebase` + commit + push.\n\n", attemptSamples)
	w.WriteString("| attempt | p50 ms | max ms | ÷ git push p50 |\n| --- | ---: | ---: | ---: |\n")
	fmt.Fprintf(w, "| latch CommitAndPush (one attempt) | %.0f | %.0f | %s |\n", 1000*lt.P50, 1000*lt.Max, ratio(lt.P50, pa.P50))
	fmt.Fprintf(w, "| git push | %.0f | %.0f | 1.00x |\n", 1000*pa.P50, 1000*pa.Max)
	fmt.Fprintf(w, "| git pull --rebase + commit + push | %.0f | %.0f | %s |\n", 1000*ppa.P50, 1000*ppa.Max, ratio(ppa.P50, pa.P50))
}
