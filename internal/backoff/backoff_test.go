package backoff

import (
	"testing"
	"time"
)

func TestCeiling(t *testing.T) {
	p := Policy{Initial: 5 * time.Second, Max: time.Minute}
	for _, tc := range []struct {
		failures int
		want     time.Duration
	}{
		{0, 0},
		{-1, 0},
		{1, 5 * time.Second},
		{2, 10 * time.Second},
		{3, 20 * time.Second},
		{4, 40 * time.Second},
		{5, time.Minute}, // 80s capped
		{6, time.Minute},
		{1000, time.Minute}, // no overflow
	} {
		if got := p.Ceiling(tc.failures); got != tc.want {
			t.Errorf("Ceiling(%d) = %s, want %s", tc.failures, got, tc.want)
		}
	}
}

func TestJittered(t *testing.T) {
	p := Policy{Initial: 4 * time.Second, Max: 16 * time.Second}
	for _, tc := range []struct {
		failures int
		u        float64
		want     time.Duration
	}{
		{1, 0, 2 * time.Second},
		{1, 0.5, 3 * time.Second},
		{1, 0.999999, 4*time.Second - 2*time.Microsecond},
		{1, 1, 4 * time.Second},  // clamped to the ceiling
		{1, 7, 4 * time.Second},  // a broken source cannot exceed it
		{1, -3, 2 * time.Second}, // nor go below half
		{2, 0, 4 * time.Second},
		{3, 0.25, 10 * time.Second},
		{9, 0, 8 * time.Second}, // half the cap
		{0, 0.5, 0},
	} {
		if got := p.Jittered(tc.failures, tc.u); got != tc.want {
			t.Errorf("Jittered(%d, %v) = %s, want %s", tc.failures, tc.u, got, tc.want)
		}
	}
}

// TestRun steps a state through failures and a success, with the time
// given: due at once, then one wait per failure, doubling to the cap, and
// due at once again after the success.
func TestRun(t *testing.T) {
	p := Policy{Initial: time.Second, Max: 4 * time.Second}
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	var s State
	if got := s.Remaining(t0); got != 0 {
		t.Fatalf("fresh state: remaining %s, want 0", got)
	}
	steps := []struct {
		at            time.Duration // since t0
		wantWait      time.Duration // u = 0: half the ceiling
		probe         time.Duration // since the failure
		wantRemaining time.Duration
	}{
		{0, 500 * time.Millisecond, 100 * time.Millisecond, 400 * time.Millisecond},
		{time.Second, time.Second, time.Second, 0},
		{3 * time.Second, 2 * time.Second, 0, 2 * time.Second},
		{10 * time.Second, 2 * time.Second, 3 * time.Second, 0}, // capped at 4s, half of it
	}
	for i, st := range steps {
		now := t0.Add(st.at)
		s = p.Failed(s, now, 0)
		if s.Failures != i+1 || s.Wait != st.wantWait || !s.Until.Equal(now.Add(st.wantWait)) {
			t.Errorf("failure %d: %+v, want wait %s", i+1, s, st.wantWait)
		}
		if got := s.Remaining(now.Add(st.probe)); got != st.wantRemaining {
			t.Errorf("failure %d: remaining %s after %s, want %s", i+1, got, st.probe, st.wantRemaining)
		}
	}
	s = p.Succeeded(s)
	if s != (State{}) || s.Remaining(t0) != 0 {
		t.Errorf("after a success: %+v, want the zero state", s)
	}
	if s = p.Failed(s, t0, 0); s.Wait != 500*time.Millisecond {
		t.Errorf("the first failure after a success waits %s, want the initial half again", s.Wait)
	}
}

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		p  Policy
		ok bool
	}{
		{Policy{Initial: time.Second, Max: time.Minute}, true},
		{Policy{Initial: time.Second, Max: time.Second}, true},
		{Policy{Initial: 0, Max: time.Minute}, false},
		{Policy{Initial: time.Minute, Max: time.Second}, false},
	} {
		if err := tc.p.Check(); (err == nil) != tc.ok {
			t.Errorf("%+v.Check() = %v, want ok=%v", tc.p, err, tc.ok)
		}
	}
}
