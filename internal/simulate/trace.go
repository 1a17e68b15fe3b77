package simulate

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Trace is a series of samples, one per step. Times is nil for a trace of
// bare numbers, whose sample i is taken to be at i·step; a CSV trace carries
// its own timestamps.
type Trace struct {
	Values []float64
	Times  []time.Time
}

// Len is the number of samples.
func (t Trace) Len() int { return len(t.Values) }

// At returns the time of sample i: its own timestamp, or start + i·step.
func (t Trace) At(i int, start time.Time, step time.Duration) time.Time {
	if t.Times != nil {
		return t.Times[i]
	}
	return start.Add(time.Duration(i) * step)
}

// Replicas returns the values as replica counts (checked integral by
// ParseTrace with integers set).
func (t Trace) Replicas() []int64 {
	out := make([]int64, len(t.Values))
	for i, v := range t.Values {
		out[i] = int64(v)
	}
	return out
}

// maxExactFloat is the largest integer every smaller one of which float64
// holds exactly (2^53).
const maxExactFloat = 1 << 53

// ParseTrace reads a trace: either numbers separated by whitespace and
// newlines, one sample each, or CSV rows "timestamp,value" with the
// timestamp in RFC 3339 or unix seconds (an optional first row
// "timestamp,<name>" is a header). Lines starting with '#' are comments.
// With integers set every value must be a whole number (replica counts);
// otherwise any finite number ≥ 0 (load). Errors name the file and line.
func ParseTrace(r io.Reader, name string, integers bool) (Trace, error) {
	var tr Trace
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 16*1024*1024)
	csv := false
	seenData := false
	lineNo := 0
	for sc.Scan() {
		lineNo++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		isCSV := strings.Contains(line, ",")
		if !seenData {
			csv = isCSV
			tr.Times = nil
			if csv {
				tr.Times = []time.Time{}
			}
		} else if isCSV != csv {
			if csv {
				return Trace{}, fmt.Errorf("%s:%d: want a CSV row timestamp,value like the lines before, got %q", name, lineNo, line)
			}
			return Trace{}, fmt.Errorf("%s:%d: CSV row %q in a trace of whitespace-separated numbers", name, lineNo, line)
		}
		if !csv {
			seenData = true
			for _, field := range strings.Fields(line) {
				v, err := parseValue(field, integers)
				if err != nil {
					return Trace{}, fmt.Errorf("%s:%d: %w", name, lineNo, err)
				}
				tr.Values = append(tr.Values, v)
			}
			continue
		}
		cols := strings.Split(line, ",")
		if len(cols) != 2 {
			return Trace{}, fmt.Errorf("%s:%d: want 2 CSV columns timestamp,value, got %d in %q", name, lineNo, len(cols), line)
		}
		stamp, value := strings.TrimSpace(cols[0]), strings.TrimSpace(cols[1])
		if !seenData && strings.EqualFold(stamp, "timestamp") {
			seenData = true // a header row
			continue
		}
		seenData = true
		at, err := parseTimestamp(stamp)
		if err != nil {
			return Trace{}, fmt.Errorf("%s:%d: timestamp: %w", name, lineNo, err)
		}
		if n := len(tr.Times); n > 0 && !at.After(tr.Times[n-1]) {
			return Trace{}, fmt.Errorf("%s:%d: timestamp %s is not after the previous sample's %s", name, lineNo,
				at.Format(time.RFC3339Nano), tr.Times[n-1].Format(time.RFC3339Nano))
		}
		v, err := parseValue(value, integers)
		if err != nil {
			return Trace{}, fmt.Errorf("%s:%d: %w", name, lineNo, err)
		}
		tr.Times = append(tr.Times, at)
		tr.Values = append(tr.Values, v)
	}
	if err := sc.Err(); err != nil {
		return Trace{}, fmt.Errorf("%s:%d: reading: %w", name, lineNo+1, err)
	}
	if len(tr.Values) == 0 {
		return Trace{}, fmt.Errorf("%s: empty trace: no samples in %d lines", name, lineNo)
	}
	return tr, nil
}

func parseValue(s string, integers bool) (float64, error) {
	if integers {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			if errors.Is(err, strconv.ErrRange) {
				return 0, fmt.Errorf("replica count %q is out of range", s)
			}
			if f, ferr := strconv.ParseFloat(s, 64); ferr == nil && !math.IsNaN(f) && !math.IsInf(f, 0) {
				return 0, fmt.Errorf("replica count %q is not a whole number", s)
			}
			return 0, fmt.Errorf("replica count %q is not a number", s)
		}
		if n < 0 {
			return 0, fmt.Errorf("replica count %d is negative", n)
		}
		if n > maxExactFloat {
			return 0, fmt.Errorf("replica count %d is above %d", n, int64(maxExactFloat))
		}
		return float64(n), nil
	}
	f, err := strconv.ParseFloat(s, 64)
	switch {
	case err != nil && !errors.Is(err, strconv.ErrRange):
		return 0, fmt.Errorf("load %q is not a number", s)
	case err != nil, math.IsInf(f, 0):
		return 0, fmt.Errorf("load %q is out of range", s)
	case math.IsNaN(f):
		return 0, fmt.Errorf("load %q is not a number (NaN)", s)
	case f < 0:
		return 0, fmt.Errorf("load %v is negative", f)
	}
	return f, nil
}

// parseTimestamp accepts RFC 3339 (with or without fractional seconds) or
// unix seconds, whole or decimal.
func parseTimestamp(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	secs, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(secs) || math.IsInf(secs, 0) || math.Abs(secs) > 1e11 {
		return time.Time{}, fmt.Errorf("%q is neither RFC 3339 nor unix seconds", s)
	}
	whole, frac := math.Modf(secs)
	return time.Unix(int64(whole), int64(math.Round(frac*1e9))).UTC(), nil
}

// ReplicaTrace checks samples gathered elsewhere (a Prometheus series) as
// ParseTrace checks a file's: times strictly increasing, every value a
// whole number ≥ 0. Errors name the series and the sample's time.
func ReplicaTrace(name string, times []time.Time, values []float64) (Trace, error) {
	if len(times) != len(values) {
		return Trace{}, fmt.Errorf("%s: %d times for %d values", name, len(times), len(values))
	}
	if len(values) == 0 {
		return Trace{}, fmt.Errorf("%s: empty trace: no samples", name)
	}
	for i, v := range values {
		at := times[i].UTC().Format(time.RFC3339Nano)
		switch {
		case math.IsNaN(v) || math.IsInf(v, 0):
			return Trace{}, fmt.Errorf("%s: sample at %s: replica count %v is not a number", name, at, v)
		case v < 0:
			return Trace{}, fmt.Errorf("%s: sample at %s: replica count %v is negative", name, at, v)
		case v != math.Trunc(v):
			return Trace{}, fmt.Errorf("%s: sample at %s: replica count %v is not a whole number", name, at, v)
		case v > maxExactFloat:
			return Trace{}, fmt.Errorf("%s: sample at %s: replica count %v is above %d", name, at, v, int64(maxExactFloat))
		case i > 0 && !times[i].After(times[i-1]):
			return Trace{}, fmt.Errorf("%s: sample at %s is not after the previous sample's %s", name, at, times[i-1].UTC().Format(time.RFC3339Nano))
		}
	}
	return Trace{Values: slices.Clone(values), Times: slices.Clone(times)}, nil
}
