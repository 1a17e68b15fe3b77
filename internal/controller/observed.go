package controller

import (
	"sync"
	"time"

	"github.com/latch-gitops/latch/internal/decide"
	"github.com/latch-gitops/latch/internal/review"
)

// observedPoints bounds each workload's observed series: when it is full,
// neighbouring points are merged in pairs (keeping the larger, so a short
// spike still shows), and each point then stands for twice the samples.
const observedPoints = 64

// observedLog keeps, for each workload field in review mode, the live value
// every pass of this process saw since git's declared value last changed
// (a latch, a merged PR or a person's edit starts a new series): what a PR
// body shows as "observed since the last latch". Memory is bounded per
// field (observedPoints values and a few numbers); fields no pass decides
// any more are dropped.
type observedLog struct {
	mu     sync.Mutex
	fields map[string]*observedSeries
}

type observedSeries struct {
	declared    int64
	first, last time.Time
	low, high   int64
	points      []int64
	// per is the number of samples each point stands for; filled the
	// number in the last point.
	per, filled int
}

func (s *observedSeries) add(v int64, at time.Time) {
	s.last = at
	s.low, s.high = min(s.low, v), max(s.high, v)
	if n := len(s.points); n > 0 && s.filled < s.per {
		s.points[n-1] = max(s.points[n-1], v)
		s.filled++
		return
	}
	if len(s.points) == observedPoints {
		for i := 0; i < observedPoints/2; i++ {
			s.points[i] = max(s.points[2*i], s.points[2*i+1])
		}
		s.points = s.points[:observedPoints/2]
		s.per *= 2
	}
	s.points = append(s.points, v)
	s.filled = 1
}

// record adds this pass's observation of each decision at now; key names
// a decision's field (Latcher.stateKey). Fields not among decisions are
// forgotten.
func (l *observedLog) record(decisions []decide.Decision, key func(decide.Decision) string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	seen := make(map[string]*observedSeries, len(decisions))
	for _, d := range decisions {
		k := key(d)
		s := l.fields[k]
		if s == nil || s.declared != d.Declared {
			s = &observedSeries{declared: d.Declared, first: now, low: d.Observed, high: d.Observed, per: 1,
				points: make([]int64, 0, observedPoints)}
		}
		s.add(d.Observed, now)
		seen[k] = s
	}
	l.fields = seen
}

// series is key's series as the PR body shows it (empty: never observed).
func (l *observedLog) series(key string) review.Series {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.fields[key]
	if s == nil {
		return review.Series{}
	}
	return review.Series{Values: append([]int64(nil), s.points...), Span: s.last.Sub(s.first), Low: s.low, High: s.high, Ranged: true}
}
