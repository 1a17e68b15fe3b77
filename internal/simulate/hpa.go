package simulate

import (
	"fmt"
	"math"
	"time"
)

// HPA is the standard Kubernetes HorizontalPodAutoscaler rule for one
// utilisation-style metric, as latch simulate applies it to a load trace.
type HPA struct {
	// PerReplica is the load one replica is sized for (the HPA target).
	PerReplica float64
	// Sync is the controller's sync period (Kubernetes: 15 s).
	Sync time.Duration
	// Window is how far back the metric is averaged at each sync, on top of
	// the current sync period (metrics-server reports about a minute).
	Window time.Duration
	// Tolerance: no change while |load/(current·PerReplica) − 1| ≤ Tolerance.
	Tolerance float64
	// Stabilisation: a scale-down takes the highest recommendation of this
	// long a look-back (Kubernetes: 300 s).
	Stabilisation time.Duration
	// Min and Max clamp the replica count; 0 means unset (Min then is 1).
	Min, Max int64
}

// StandardHPA returns the Kubernetes defaults for a given per-replica load.
func StandardHPA(perReplica float64) HPA {
	return HPA{
		PerReplica:    perReplica,
		Sync:          15 * time.Second,
		Window:        60 * time.Second,
		Tolerance:     0.1,
		Stabilisation: 300 * time.Second,
	}
}

// Replicas turns load samples, one every loadStep, into the replica count
// the HPA holds after each sync period: one value per whole sync period.
func (h HPA) Replicas(load []float64, loadStep time.Duration) ([]int64, error) {
	switch {
	case !(h.PerReplica > 0) || math.IsInf(h.PerReplica, 0):
		return nil, fmt.Errorf("per-replica load: must be > 0, got %v", h.PerReplica)
	case loadStep <= 0:
		return nil, fmt.Errorf("load step: must be > 0, got %v", loadStep)
	case h.Sync <= 0 || h.Sync%loadStep != 0:
		return nil, fmt.Errorf("HPA sync %v: must be a positive multiple of the load step %v", h.Sync, loadStep)
	case h.Window < 0 || h.Window%loadStep != 0:
		return nil, fmt.Errorf("HPA window %v: must be a non-negative multiple of the load step %v", h.Window, loadStep)
	}
	perSync := int(h.Sync / loadStep)
	span := perSync + int(h.Window/loadStep)
	// The look-back holds Stabilisation/Sync recommendations, the current one
	// included (300 s: this sync and the 19 before it).
	lookback := max(1, int(h.Stabilisation/h.Sync))
	lo := max(h.Min, 1)
	hi := int64(math.MaxInt64)
	if h.Max > 0 {
		hi = max(h.Max, lo)
	}

	// prefix[i] is the sum of load[:i], so any window mean is O(1).
	prefix := make([]float64, len(load)+1)
	for i, v := range load {
		prefix[i+1] = prefix[i] + v
	}
	n := len(load) / perSync
	out := make([]int64, n)
	recs := make([]int64, 0, lookback+1) // recommendations of the look-back, oldest first
	current := int64(-1)                 // unset: the first sync sets the recommendation as is
	for k := range n {
		end := (k + 1) * perSync
		start := max(0, end-span)
		metric := (prefix[end] - prefix[start]) / float64(end-start)

		rec := current
		if current < 0 {
			rec = clampReplicas(math.Ceil(metric/h.PerReplica), lo, hi)
		} else if ratio := metric / (float64(current) * h.PerReplica); math.Abs(ratio-1) > h.Tolerance {
			rec = clampReplicas(math.Ceil(metric/h.PerReplica), lo, hi)
		}
		recs = append(recs, rec)
		if len(recs) > lookback {
			recs = recs[1:]
		}
		desired := rec
		if current >= 0 && rec < current {
			// Scale-down stabilisation: the highest recommendation of the look-back.
			for _, r := range recs {
				desired = max(desired, r)
			}
			desired = min(desired, current)
		}
		current = desired
		out[k] = current
	}
	return out, nil
}

func clampReplicas(v float64, lo, hi int64) int64 {
	if math.IsNaN(v) || v < float64(lo) {
		return lo
	}
	if v >= float64(hi) {
		return hi
	}
	return int64(v)
}
