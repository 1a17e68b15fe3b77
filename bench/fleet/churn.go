package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"sync"
	"time"

	"k8s.io/client-go/kubernetes"

	"github.com/latch-gitops/latch/bench/internal/remotewatch"
	"github.com/latch-gitops/latch/bench/internal/workloadset"
)

// ladder is the climb every workload makes, one step per scale: R5 values
// (latch's default series) each more than twice the one before, so each
// step trips the coverage rule (⌈observed/2⌉ > declared) and latch
// declares exactly the new value at once, whatever the dwell says. Values
// only rise, so a workload's value names the scale that set it.
var ladder = []int32{16, 40, 100, 250, 630, 1600, 4000, 10000, 25000, 63000, 160000, 400000, 1000000}

// event is one scale of one workload.
type event struct {
	cluster, workload int
	at                time.Duration
	to                int32
	// began and returned bound the /scale request (zero if it never ran).
	began, returned time.Time
}

// schedule draws every workload's climb (fixed seed): the first scale at a
// random time in [0, 2·window), then one every [2·window, 4·window) while
// inside duration and on the ladder. Events are sorted by time.
func schedule(cfg config) []event {
	rng := rand.New(rand.NewPCG(cfg.seed, uint64(cfg.instances*100000+cfg.workloads)))
	var out []event
	gap := int64(2 * cfg.window)
	for c := 0; c < cfg.instances; c++ {
		for w := 0; w < cfg.workloads; w++ {
			at := time.Duration(rng.Int64N(gap))
			for step := 0; step < len(ladder) && at < cfg.duration; step++ {
				out = append(out, event{cluster: c, workload: w, at: at, to: ladder[step]})
				at += time.Duration(gap + rng.Int64N(gap))
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].at < out[j].at })
	return out
}

// churn runs the events from start: one goroutine per workload scales it
// at each of its times, in order. It returns the /scale errors (a request
// failing until ctx ends) and adds the /scale requests repeated to retries.
func churn(ctx context.Context, client kubernetes.Interface, sets []workloadset.Set, events []event, start time.Time, retries *int) []error {
	perWorkload := map[[2]int][]int{}
	for i, e := range events {
		k := [2]int{e.cluster, e.workload}
		perWorkload[k] = append(perWorkload[k], i)
	}
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	for _, idx := range perWorkload {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, i := range idx {
				e := &events[i]
				select {
				case <-ctx.Done():
					return
				case <-time.After(time.Until(start.Add(e.at))):
				}
				began := time.Now()
				retried, err := scaleRetrying(ctx, sets[e.cluster], client, e.workload, e.to)
				mu.Lock()
				*retries += retried
				mu.Unlock()
				if err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
					return
				}
				e.began, e.returned = began, time.Now()
			}
		}()
	}
	wg.Wait()
	return errs
}

// scaleRetrying makes one scale, trying again (1 s, 2 s, … up to 5 s apart)
// while the API server does not answer, as the HPA controller's next
// sync would: on a loaded machine a request may time out, and a scale
// whose outcome is unknown would leave the expected value unknown too.
// Setting the same replicas again is idempotent.
func scaleRetrying(ctx context.Context, set workloadset.Set, client kubernetes.Interface, i int, to int32) (retried int, err error) {
	wait := time.Second
	for {
		if err = set.Scale(ctx, client, i, to); err == nil {
			return retried, nil
		}
		select {
		case <-ctx.Done():
			return retried, fmt.Errorf("%w (after %d retries)", err, retried)
		case <-time.After(wait):
		}
		retried++
		wait = min(2*wait, 5*time.Second)
	}
}

// verdict is what became of one scale on the remote.
type verdict int

const (
	// committed: a commit carrying the workload at this value appeared
	// after the scale.
	committed verdict = iota
	// superseded: no commit carried this value, but one after the scale
	// carried a higher one (the next scale came before latch's pass; latch
	// records the value the workload runs at, not every one it passed).
	superseded
	// lost: no commit after the scale carried this workload at all.
	lost
)

// classify says what became of e given the workload's sightings on the
// remote, and the latency: for a committed scale first seen − returned,
// for a superseded one until the first commit of a higher value (when the
// remote first declared at least this scale).
// scaleTally is the verdicts of a run's scales: latency per committed
// scale (first seen on the remote − /scale returned); superseded scales
// were overtaken by the workload's next one before a pass, with
// supersededLatency the time until the remote declared a higher value;
// lost scales never showed up. latch's run and the bare-git baseline are
// counted by the same rule.
type scaleTally struct {
	latency, supersededLatency []time.Duration
	superseded, lost           int
}

// tally classifies each event against what the remote showed for its
// workload (sightings).
func (t *scaleTally) tally(events []event, sightings func(event) []remotewatch.Sighting) {
	for _, e := range events {
		v, l := classify(e, sightings(e))
		switch v {
		case committed:
			t.latency = append(t.latency, l)
		case superseded:
			t.superseded++
			t.supersededLatency = append(t.supersededLatency, l)
		default:
			t.lost++
		}
	}
}

func classify(e event, seen []remotewatch.Sighting) (verdict, time.Duration) {
	if e.returned.IsZero() {
		return lost, 0
	}
	var later time.Time
	for _, s := range seen {
		if s.At.Before(e.began) {
			continue
		}
		if s.To == int64(e.to) {
			return committed, s.At.Sub(e.returned)
		}
		if s.To > int64(e.to) && later.IsZero() {
			later = s.At
		}
	}
	if !later.IsZero() {
		return superseded, later.Sub(e.returned)
	}
	return lost, 0
}

// finals is each workload's last scale, keyed namespace/name.
func finals(sets []workloadset.Set, events []event) map[string]event {
	out := map[string]event{}
	for _, e := range events {
		if e.returned.IsZero() {
			continue
		}
		out[sets[e.cluster].Key(e.workload)] = e
	}
	return out
}
