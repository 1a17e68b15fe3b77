package promsource

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// kube-state-metrics series latch reads.
const (
	// HPADesired is the replica count an HPA wants, labels namespace and
	// horizontalpodautoscaler.
	HPADesired = "kube_horizontalpodautoscaler_status_desired_replicas"
	// DeploymentSpec is a Deployment's spec.replicas, labels namespace and
	// deployment: the fallback when no HPA series exists.
	DeploymentSpec = "kube_deployment_spec_replicas"
)

// Workload names one workload: its namespace and the name of its HPA (or,
// for the fallback, its Deployment).
type Workload struct {
	Namespace, Name string
}

func (w Workload) String() string { return w.Namespace + "/" + w.Name }

// ParseWorkload reads NAMESPACE/NAME.
func ParseWorkload(s string) (Workload, error) {
	ns, name, ok := strings.Cut(s, "/")
	if !ok || ns == "" || name == "" || strings.Contains(name, "/") {
		return Workload{}, fmt.Errorf("workload %q: want NAMESPACE/NAME", s)
	}
	return Workload{Namespace: ns, Name: name}, nil
}

// History is one workload's replica series and where it came from.
type History struct {
	Workload Workload
	// Query is the PromQL the series answered; Series its labels.
	Query, Series string
	Times         []time.Time
	Values        []float64
}

// Replicas reads one workload's desired replicas from the HPA series, and
// if there is none from the Deployment's spec.replicas. No series from
// either, or more than one from the one that answered, is an error naming
// the queries and series.
func (c *Client) Replicas(ctx context.Context, w Workload, start, end time.Time, step time.Duration) (History, Stats, error) {
	var total Stats
	var tried []string
	for _, q := range []string{
		selector(HPADesired, "namespace", w.Namespace, "horizontalpodautoscaler", w.Name),
		selector(DeploymentSpec, "namespace", w.Namespace, "deployment", w.Name),
	} {
		series, st, err := c.QueryRange(ctx, q, start, end, step)
		total.Requests += st.Requests
		if err != nil {
			return History{}, total, err
		}
		tried = append(tried, q)
		switch len(series) {
		case 0:
			continue
		case 1:
			s := series[0]
			return History{Workload: w, Query: q, Series: s.String(), Times: s.Times, Values: s.Values}, total, nil
		default:
			return History{}, total, fmt.Errorf("workload %s: query %s returned %d series, want one: %s (narrow it, e.g. to one kube-state-metrics instance)",
				w, q, len(series), seriesList(series))
		}
	}
	return History{}, total, fmt.Errorf("workload %s: no series from %s between %s and %s", w, strings.Join(tried, " nor "),
		start.UTC().Format(time.RFC3339), end.UTC().Format(time.RFC3339))
}

// AllHPAs reads the desired replicas of every HPA, one History per
// namespace/name in name order. Two series for one HPA (two
// kube-state-metrics instances) are an error naming them.
func (c *Client) AllHPAs(ctx context.Context, start, end time.Time, step time.Duration) ([]History, Stats, error) {
	series, st, err := c.QueryRange(ctx, HPADesired, start, end, step)
	if err != nil {
		return nil, st, err
	}
	if len(series) == 0 {
		return nil, st, fmt.Errorf("query %s: no series between %s and %s: is kube-state-metrics scraped?", HPADesired,
			start.UTC().Format(time.RFC3339), end.UTC().Format(time.RFC3339))
	}
	byWorkload := map[Workload][]Series{}
	for _, s := range series {
		w := Workload{Namespace: s.Labels["namespace"], Name: s.Labels["horizontalpodautoscaler"]}
		if w.Namespace == "" || w.Name == "" {
			return nil, st, fmt.Errorf("query %s: series %s lacks the namespace or horizontalpodautoscaler label", HPADesired, s)
		}
		byWorkload[w] = append(byWorkload[w], s)
	}
	out := make([]History, 0, len(byWorkload))
	for w, ss := range byWorkload {
		if len(ss) > 1 {
			return nil, st, fmt.Errorf("workload %s: query %s returned %d series for it, want one: %s", w, HPADesired, len(ss), seriesList(ss))
		}
		out = append(out, History{Workload: w, Query: HPADesired, Series: ss[0].String(), Times: ss[0].Times, Values: ss[0].Values})
	}
	slices.SortFunc(out, func(a, b History) int { return strings.Compare(a.Workload.String(), b.Workload.String()) })
	return out, st, nil
}

// Requests is how many query_range requests one series over [start, end]
// at step takes with chunk points each (0: DefaultChunkPoints).
func Requests(start, end time.Time, step time.Duration, chunk int) int {
	if chunk == 0 {
		chunk = DefaultChunkPoints
	}
	points := int(end.Sub(start)/step) + 1
	return (points + chunk - 1) / chunk
}

func selector(metric string, kv ...string) string {
	var b strings.Builder
	b.WriteString(metric + "{")
	for i := 0; i < len(kv); i += 2 {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(kv[i] + "=" + strconv.Quote(kv[i+1]))
	}
	return b.String() + "}"
}

func seriesList(ss []Series) string {
	names := make([]string, len(ss))
	for i, s := range ss {
		names[i] = s.String()
	}
	return strings.Join(names, ", ")
}
