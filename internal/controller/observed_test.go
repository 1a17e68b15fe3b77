package controller

import (
	"reflect"
	"testing"
	"time"

	"github.com/latch-gitops/latch/internal/decide"
	"github.com/latch-gitops/latch/internal/objectid"
)

func TestObservedLog(t *testing.T) {
	t0 := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	web := objectid.Ref{Group: "apps", Kind: "Deployment", Namespace: "shop", Name: "web"}
	api := objectid.Ref{Group: "apps", Kind: "Deployment", Namespace: "shop", Name: "api"}
	key := func(d decide.Decision) string { return d.Ref.Name }
	pass := func(declared int64, observed ...int64) []decide.Decision {
		var out []decide.Decision
		for i, v := range observed {
			out = append(out, decide.Decision{Ref: []objectid.Ref{web, api}[i], Field: ReplicasField, Declared: declared, Observed: v})
		}
		return out
	}
	type step struct {
		declared int64
		observed []int64
	}
	for _, tc := range []struct {
		name       string
		steps      []step
		wantValues []int64
		wantLow    int64
		wantHigh   int64
		wantSpan   time.Duration
	}{
		{"one pass", []step{{40, []int64{400}}}, []int64{400}, 400, 400, 0},
		{"passes add up", []step{{40, []int64{40}}, {40, []int64{120}}, {40, []int64{400}}}, []int64{40, 120, 400}, 40, 400, 2 * time.Minute},
		{"git's value changing starts again", []step{{40, []int64{400}}, {400, []int64{390}}, {400, []int64{410}}}, []int64{390, 410}, 390, 410, time.Minute},
		{"a field not decided is forgotten", []step{{40, []int64{400, 9}}, {40, nil}, {40, []int64{30, 9}}}, []int64{30}, 30, 30, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var l observedLog
			for i, s := range tc.steps {
				l.record(pass(s.declared, s.observed...), key, t0.Add(time.Duration(i)*time.Minute))
			}
			got := l.series("web")
			if !reflect.DeepEqual(got.Values, tc.wantValues) || got.Min() != tc.wantLow || got.Max() != tc.wantHigh || got.Span != tc.wantSpan {
				t.Errorf("series = %+v (min %d max %d), want values %v min %d max %d span %v", got, got.Min(), got.Max(), tc.wantValues, tc.wantLow, tc.wantHigh, tc.wantSpan)
			}
		})
	}

	t.Run("bounded, downsampled, exact range", func(t *testing.T) {
		var l observedLog
		const n = 1000
		for i := 0; i < n; i++ {
			v := int64(100)
			switch i {
			case 500:
				v = 9000 // a one-pass spike
			case 501:
				v = 2 // and a dip
			}
			l.record(pass(40, v), key, t0.Add(time.Duration(i)*time.Second))
		}
		s := l.series("web")
		if len(s.Values) > observedPoints || len(s.Values) < observedPoints/2 {
			t.Fatalf("%d points after %d passes, want between %d and %d", len(s.Values), n, observedPoints/2, observedPoints)
		}
		if s.Min() != 2 || s.Max() != 9000 || s.Last() != 100 || s.Span != (n-1)*time.Second {
			t.Errorf("min %d max %d last %d span %v, want 2 9000 100 %v", s.Min(), s.Max(), s.Last(), s.Span, (n-1)*time.Second)
		}
		spikes := 0
		for _, v := range s.Values {
			if v == 9000 {
				spikes++
			}
		}
		if spikes != 1 {
			t.Errorf("the spike is in %d points of %v, want 1", spikes, s.Values)
		}
		if l.fields["web"].per*(len(s.Values)-1)+l.fields["web"].filled != n {
			t.Errorf("points stand for %d samples each (%d in the last), not %d in all", l.fields["web"].per, l.fields["web"].filled, n)
		}
	})
}
