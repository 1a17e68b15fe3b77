package controller

import (
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are latch run's Prometheus metrics.
type Metrics struct {
	Latches      prometheus.Counter
	Commits      prometheus.Counter
	PushRetries  prometheus.Counter
	PushFailures prometheus.Counter
	Passes       *prometheus.CounterVec
	// PRs counts latch PRs by what happened: opened, updated, closed (by
	// latch), merged (by a person, seen by this process).
	PRs *prometheus.CounterVec
	// ForgeRetries counts forge calls retried, by reason (rate-limit,
	// server-error).
	ForgeRetries *prometheus.CounterVec
	// GitRefusals counts passes git refused, by kind (auth, declined,
	// other); GitBackoff is the wait before the next pass after one that
	// retrying cannot fix (0: none).
	GitRefusals *prometheus.CounterVec
	GitBackoff  prometheus.Gauge
	QueueDepth  prometheus.Gauge
	PassSeconds prometheus.Histogram
	// ChangeToCommit is the time from the first scale change of a batch to
	// the push that recorded it.
	ChangeToCommit prometheus.Histogram
	lastPush       atomic.Int64 // unix nanoseconds of the last successful push; 0: none
}

// NewMetrics creates latch's metrics and registers them with reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		Latches:      prometheus.NewCounter(prometheus.CounterOpts{Name: "latch_latches_total", Help: "Declared values latch changed in git (one per workload field per commit)."}),
		Commits:      prometheus.NewCounter(prometheus.CounterOpts{Name: "latch_commits_total", Help: "Commits latch pushed."}),
		PushRetries:  prometheus.NewCounter(prometheus.CounterOpts{Name: "latch_push_retries_total", Help: "Push attempts repeated after a non-fast-forward or network failure."}),
		PushFailures: prometheus.NewCounter(prometheus.CounterOpts{Name: "latch_push_failures_total", Help: "Passes that could not reach the remote (fetch or push failed after the retries)."}),
		Passes:       prometheus.NewCounterVec(prometheus.CounterOpts{Name: "latch_passes_total", Help: "Latch passes by result."}, []string{"result"}),
		PRs: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "latch_review_prs_total",
			Help: "Latch pull requests by action: opened, updated, closed (by latch), merged (by a person)."}, []string{"action"}),
		ForgeRetries: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "latch_forge_retries_total",
			Help: "Forge API calls retried after a rate limit or a server error."}, []string{"reason"}),
		GitRefusals: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "latch_git_refusals_total", Help: "Passes the git remote refused, by kind: auth (credentials refused), declined (a hook or protected branch refused the push), other."}, []string{"kind"}),
		GitBackoff:  prometheus.NewGauge(prometheus.GaugeOpts{Name: "latch_git_backoff_seconds", Help: "The wait before the next pass after one that retrying at once cannot fix (a git refusal, a broken latch.yaml); 0 when passes run as usual."}),
		QueueDepth:  prometheus.NewGauge(prometheus.GaugeOpts{Name: "latch_queue_depth", Help: "Workload changes seen but not yet through a pass."}),
		PassSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "latch_pass_duration_seconds", Help: "Time of one pass: read git, decide, edit, commit, push.",
			Buckets: prometheus.ExponentialBuckets(0.05, 2, 12)}),
		ChangeToCommit: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "latch_change_to_push_seconds", Help: "From the first change of a batch to the push that recorded it.",
			Buckets: prometheus.ExponentialBuckets(0.5, 2, 12)}),
	}
	sincePush := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "latch_seconds_since_last_successful_push", Help: "Seconds since latch last reached the remote (fetch or push); -1 before the first."},
		func() float64 {
			last := m.lastPush.Load()
			if last == 0 {
				return -1
			}
			return time.Since(time.Unix(0, last)).Seconds()
		})
	for _, c := range []prometheus.Collector{m.Latches, m.Commits, m.PushRetries, m.PushFailures, m.Passes, m.PRs, m.ForgeRetries, m.GitRefusals, m.GitBackoff, m.QueueDepth, m.PassSeconds, m.ChangeToCommit, sincePush} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (m *Metrics) pushed(at time.Time) { m.lastPush.Store(at.UnixNano()) }
