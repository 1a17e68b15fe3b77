package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/latch-gitops/latch/bench/internal/remotewatch"
	"github.com/latch-gitops/latch/bench/internal/workloadset"
)

// result is what a fleet run measured and what its checks found.
type result struct {
	cfg  config
	base string
	// settle is how long after the churn the last scales took to land.
	settle time.Duration

	// scales were made, and scaleTally says what became of each.
	scales int
	scaleTally
	// scaleRetries are /scale requests repeated after the API server did
	// not answer (a loaded machine).
	scaleRetries int
	// wrongFinal counts workloads whose value declared at the end is not
	// their last scale (or is missing).
	wrongFinal int

	// Commits the watcher saw since base: latch's (with trailers) and
	// the person's; heads is how many distinct heads it saw.
	latchCommits, otherCommits, heads int
	// From every latch's /metrics at the end (sums over the fleet), and
	// the fewest and most commits of one instance.
	metricCommits, pushRetries, pushFailures, failedPasses float64
	minCommits, maxCommits                                 float64

	// The person: commits pushed, pushes repeated after a refusal,
	// commits given up.
	humanPushed, humanRetries, humanGaveUp int
	humanErr                               error

	// The history checks: pushed person commits not reachable from the
	// head, head moves that were not fast-forwards, merge commits.
	humanLost int
	rewrites  []string
	merges    int

	// baseline and attempts are the same-run bare git measures (nil
	// without -baseline).
	baseline *baseline
	attempts *attempts
}

// collect classifies the scales and reads the counters.
func (r *result) collect(sets []workloadset.Set, events []event, w *remotewatch.Watcher, insts []*instance, h *person) {
	r.scales = len(events)
	r.tally(events, func(e event) []remotewatch.Sighting { return w.Sightings(sets[e.cluster].Key(e.workload)) })
	r.latchCommits, r.otherCommits = w.Counts()
	r.heads = w.Heads()
	r.rewrites = w.Rewrites()
	for i, in := range insts {
		c := in.metrics["latch_commits_total"]
		r.metricCommits += c
		r.pushRetries += in.metrics["latch_push_retries_total"]
		r.pushFailures += in.metrics["latch_push_failures_total"]
		r.failedPasses += in.metrics[`latch_passes_total{result="error"}`]
		if i == 0 || c < r.minCommits {
			r.minCommits = c
		}
		if i == 0 || c > r.maxCommits {
			r.maxCommits = c
		}
	}
	r.humanPushed, r.humanRetries, r.humanGaveUp, r.humanErr = len(h.pushed), h.retries, h.gaveUp, h.lastErr
}

// check reads the remote's history at the end: every workload declares its
// last scale, every person commit pushed is reachable from the head, the
// history has no merge commit.
func (r *result) check(ctx context.Context, bare, branch string, sets []workloadset.Set, last map[string]event, pushed []string) error {
	head, err := remotewatch.Git(ctx, bare, "rev-parse", "refs/heads/"+branch)
	if err != nil {
		return err
	}
	head = strings.TrimSpace(head)
	declared := map[string]int64{}
	for i := range sets {
		d, err := workloadset.Declared(ctx, bare, head, clusterPath(i))
		if err != nil {
			return err
		}
		for k, v := range d {
			declared[k] = v
		}
	}
	for _, s := range sets {
		for w := 0; w < s.N; w++ {
			key := s.Key(w)
			want := int64(initialReplicas)
			if e, ok := last[key]; ok {
				want = int64(e.to)
			}
			if got, ok := declared[key]; !ok || got != want {
				r.wrongFinal++
			}
		}
	}
	for _, c := range pushed {
		ok, err := remotewatch.IsAncestor(ctx, bare, c, head)
		if err != nil {
			return err
		}
		if !ok {
			r.humanLost++
		}
	}
	merges, err := remotewatch.Git(ctx, bare, "rev-list", "--merges", "refs/heads/"+branch)
	if err != nil {
		return err
	}
	r.merges = len(strings.Fields(merges))
	return nil
}

// problems are the failed correctness checks, one line each (none: the
// run was correct, whatever its latency).
func (r *result) problems() []string {
	var out []string
	if r.lost > 0 {
		out = append(out, fmt.Sprintf("%d scales never reached a commit (lost latches)", r.lost))
	}
	if r.wrongFinal > 0 {
		out = append(out, fmt.Sprintf("%d workloads do not declare their last scale at the end (lost latches)", r.wrongFinal))
	}
	if r.humanLost > 0 {
		out = append(out, fmt.Sprintf("%d person commits pushed are not reachable from the head (lost human commits)", r.humanLost))
	}
	if len(r.rewrites) > 0 {
		out = append(out, fmt.Sprintf("%d head moves were not fast-forwards (force pushes): %s", len(r.rewrites), strings.Join(r.rewrites, ", ")))
	}
	if r.merges > 0 {
		out = append(out, fmt.Sprintf("%d merge commits (history not linear)", r.merges))
	}
	if b := r.baseline; b != nil && (b.rewrites > 0 || b.merges > 0 || b.lost > 0) {
		out = append(out, fmt.Sprintf("baseline: %d lost scales, %d rewrites, %d merge commits", b.lost, b.rewrites, b.merges))
	}
	if r.humanPushed == 0 {
		out = append(out, "no person commit landed")
	}
	for _, l := range r.latency {
		if l < 0 {
			out = append(out, fmt.Sprintf("a latency is negative (%v): a commit seen before its scale returned", l))
			break
		}
	}
	return out
}
