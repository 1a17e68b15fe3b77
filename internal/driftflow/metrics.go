package driftflow

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the enforcement step's Prometheus metrics.
type Metrics struct {
	// Drifted is how many declared objects the last step found drifted or
	// missing.
	Drifted prometheus.Gauge
	// Reverts counts objects reverted (one server-side apply each);
	// RevertedFields the fields in them.
	Reverts, RevertedFields prometheus.Counter
	// WouldRevert counts, in dry-run, objects a step would have reverted.
	WouldRevert prometheus.Counter
	// Failures counts reverts the API server refused.
	Failures prometheus.Counter
	// Fights counts fights when they start; Fighting is how many objects
	// are in one now (latch stopped reverting them).
	Fights   prometheus.Counter
	Fighting prometheus.Gauge
}

// NewMetrics creates the metrics and registers them with reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		Drifted:        prometheus.NewGauge(prometheus.GaugeOpts{Name: "latch_drift_objects", Help: "Declared objects found drifted or missing by the last enforcement step."}),
		Reverts:        prometheus.NewCounter(prometheus.CounterOpts{Name: "latch_enforce_reverts_total", Help: "Objects latch reverted to git (one server-side apply each)."}),
		RevertedFields: prometheus.NewCounter(prometheus.CounterOpts{Name: "latch_enforce_reverted_fields_total", Help: "Fields in latch's reverts."}),
		WouldRevert:    prometheus.NewCounter(prometheus.CounterOpts{Name: "latch_enforce_would_revert_total", Help: "With --enforce=dry-run: objects a step would have reverted."}),
		Failures:       prometheus.NewCounter(prometheus.CounterOpts{Name: "latch_enforce_revert_failures_total", Help: "Reverts the API server refused."}),
		Fights:         prometheus.NewCounter(prometheus.CounterOpts{Name: "latch_enforce_fights_total", Help: "Fights started: an object reverted the limit's number of times that drifted again."}),
		Fighting:       prometheus.NewGauge(prometheus.GaugeOpts{Name: "latch_enforce_fighting_objects", Help: "Objects latch stopped reverting because another writer keeps changing them."}),
	}
	for _, c := range []prometheus.Collector{m.Drifted, m.Reverts, m.RevertedFields, m.WouldRevert, m.Failures, m.Fights, m.Fighting} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}
