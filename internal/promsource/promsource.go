// Package promsource reads a workload's replica history from a Prometheus
// server's HTTP API (query_range), split into requests under the server's
// per-query point limit, and returns plain series. It gathers and decides
// nothing: latch simulate --prometheus hands its series to internal/simulate.
//
// Credentials (a bearer token, or a user and password) are sent as headers
// and never appear in an error: errors name the server without user info,
// the query and, for a bad series, its labels.
package promsource

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// PrometheusMaxPoints is the most points per series a query_range may
// return: Prometheus refuses a longer range at a step.
const PrometheusMaxPoints = 11000

// DefaultChunkPoints is how many steps one request asks for, safely under
// PrometheusMaxPoints.
const DefaultChunkPoints = 10000

// Auth is how the client authenticates; at most one of BearerToken and
// Username is set (Password goes with Username).
type Auth struct {
	BearerToken        string
	Username, Password string
}

// Client queries one Prometheus server.
type Client struct {
	// Base is the server's URL, e.g. http://prometheus:9090 (a path prefix
	// is kept: http://host/prometheus).
	Base *url.URL
	// HTTP is the client used; nil is http.DefaultClient.
	HTTP *http.Client
	Auth Auth
	// ChunkPoints is the most steps one request spans; 0 is
	// DefaultChunkPoints. It must stay ≤ PrometheusMaxPoints.
	ChunkPoints int
}

// Series is one time series of a range query, samples in time order.
type Series struct {
	Labels map[string]string
	Times  []time.Time
	Values []float64
}

// String renders the labels as Prometheus does: {a="1", b="2"}.
func (s Series) String() string { return labelString(s.Labels) }

func labelString(l map[string]string) string {
	keys := slices.Sorted(maps.Keys(l))
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + strconv.Quote(l[k])
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// Stats counts the requests a read made.
type Stats struct {
	Requests int
}

// New parses a server URL; it must be http or https with a host. User
// info in the URL becomes basic auth (and is removed from the URL).
func New(raw string, auth Auth) (*Client, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("prometheus URL: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("prometheus URL %s: want http:// or https:// and a host", u.Redacted())
	}
	if u.User != nil {
		if auth.BearerToken != "" || auth.Username != "" {
			return nil, fmt.Errorf("prometheus URL %s: user info in the URL and other credentials given: choose one", u.Redacted())
		}
		auth.Username = u.User.Username()
		auth.Password, _ = u.User.Password()
		u.User = nil
	}
	if auth.BearerToken != "" && auth.Username != "" {
		return nil, errors.New("prometheus: a bearer token and a user given: choose one")
	}
	u.RawQuery, u.Fragment = "", ""
	return &Client{Base: u, Auth: auth}, nil
}

// QueryRange evaluates query at start, start+step, … up to end (inclusive),
// in requests of at most ChunkPoints steps, and returns every series with
// its samples from all requests joined, in the order Prometheus first
// returned them. Samples of one series are in time order.
func (c *Client) QueryRange(ctx context.Context, query string, start, end time.Time, step time.Duration) ([]Series, Stats, error) {
	var st Stats
	chunk := c.ChunkPoints
	if chunk == 0 {
		chunk = DefaultChunkPoints
	}
	switch {
	case step < time.Second || step%time.Second != 0:
		return nil, st, fmt.Errorf("query %s: step %v: must be a whole number of seconds ≥ 1s", query, step)
	case end.Before(start):
		return nil, st, fmt.Errorf("query %s: end %s is before start %s", query, end.Format(time.RFC3339), start.Format(time.RFC3339))
	case chunk < 1 || chunk > PrometheusMaxPoints:
		return nil, st, fmt.Errorf("chunk of %d points: must be 1..%d", chunk, PrometheusMaxPoints)
	}
	var out []Series
	index := map[string]int{}
	span := time.Duration(chunk-1) * step
	for from := start; !from.After(end); from = from.Add(span + step) {
		to := from.Add(span)
		if to.After(end) {
			to = end
		}
		part, err := c.queryRange(ctx, query, from, to, step)
		st.Requests++
		if err != nil {
			return nil, st, err
		}
		for _, s := range part {
			key := labelString(s.Labels)
			i, ok := index[key]
			if !ok {
				index[key] = len(out)
				out = append(out, s)
				continue
			}
			o := &out[i]
			if n := len(o.Times); n > 0 && len(s.Times) > 0 && !s.Times[0].After(o.Times[n-1]) {
				return nil, st, fmt.Errorf("query %s: series %s: sample at %s is not after the previous request's last at %s",
					query, key, s.Times[0].Format(time.RFC3339), o.Times[n-1].Format(time.RFC3339))
			}
			o.Times = append(o.Times, s.Times...)
			o.Values = append(o.Values, s.Values...)
		}
	}
	return out, st, nil
}

// response is the API's envelope for query_range.
type response struct {
	Status    string `json:"status"`
	ErrorType string `json:"errorType"`
	Error     string `json:"error"`
	Data      struct {
		ResultType string `json:"resultType"`
		Result     []struct {
			Metric map[string]string `json:"metric"`
			Values [][2]any          `json:"values"`
		} `json:"result"`
	} `json:"data"`
}

// maxBody caps a response body read: a chunk of 10,000 points of a few
// hundred series is well under it.
const maxBody = 256 << 20

func (c *Client) queryRange(ctx context.Context, query string, from, to time.Time, step time.Duration) ([]Series, error) {
	u := c.Base.JoinPath("api", "v1", "query_range")
	form := url.Values{
		"query": {query},
		"start": {strconv.FormatInt(from.Unix(), 10)},
		"end":   {strconv.FormatInt(to.Unix(), 10)},
		"step":  {strconv.FormatInt(int64(step/time.Second), 10)},
	}
	where := fmt.Sprintf("prometheus %s: query %s from %s to %s", c.Base.Redacted(), query, from.UTC().Format(time.RFC3339), to.UTC().Format(time.RFC3339))
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	switch {
	case c.Auth.BearerToken != "":
		req.Header.Set("Authorization", "Bearer "+c.Auth.BearerToken)
	case c.Auth.Username != "":
		req.SetBasicAuth(c.Auth.Username, c.Auth.Password)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return nil, fmt.Errorf("%s: reading the response: %w", where, err)
	}
	if len(body) > maxBody {
		return nil, fmt.Errorf("%s: response larger than %d MiB", where, maxBody>>20)
	}
	var r response
	jsonErr := json.Unmarshal(body, &r)
	if resp.StatusCode/100 != 2 {
		msg := http.StatusText(resp.StatusCode)
		if jsonErr == nil && r.Error != "" {
			msg = r.ErrorType + ": " + r.Error
		} else if t := strings.TrimSpace(string(body)); t != "" && len(t) < 300 {
			msg = t
		}
		return nil, fmt.Errorf("%s: HTTP %d: %s", where, resp.StatusCode, msg)
	}
	if jsonErr != nil {
		return nil, fmt.Errorf("%s: not a Prometheus API response: %w", where, jsonErr)
	}
	if r.Status != "success" {
		return nil, fmt.Errorf("%s: status %q: %s: %s", where, r.Status, r.ErrorType, r.Error)
	}
	if r.Data.ResultType != "matrix" {
		return nil, fmt.Errorf("%s: result type %q, want matrix", where, r.Data.ResultType)
	}
	out := make([]Series, len(r.Data.Result))
	for i, res := range r.Data.Result {
		s := Series{Labels: res.Metric, Times: make([]time.Time, len(res.Values)), Values: make([]float64, len(res.Values))}
		if s.Labels == nil {
			s.Labels = map[string]string{}
		}
		for j, pair := range res.Values {
			at, v, err := parsePoint(pair)
			if err != nil {
				return nil, fmt.Errorf("%s: series %s: point %d: %w", where, s, j+1, err)
			}
			s.Times[j], s.Values[j] = at, v
		}
		out[i] = s
	}
	return out, nil
}

// parsePoint reads one [unix seconds, "value"] pair. Values may be NaN or
// ±Inf as Prometheus writes them; the caller judges them.
func parsePoint(p [2]any) (time.Time, float64, error) {
	secs, ok := p[0].(float64)
	if !ok {
		return time.Time{}, 0, fmt.Errorf("timestamp %v is not a number", p[0])
	}
	text, ok := p[1].(string)
	if !ok {
		return time.Time{}, 0, fmt.Errorf("value %v is not a string", p[1])
	}
	v, err := strconv.ParseFloat(text, 64)
	if err != nil {
		return time.Time{}, 0, fmt.Errorf("value %q is not a number", text)
	}
	ms := int64(secs*1000 + 0.5)
	return time.UnixMilli(ms).UTC(), v, nil
}
