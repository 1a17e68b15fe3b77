package policy

import (
	"fmt"
	"math"
	"testing"
)

// TestBudgets pins down the window budgets of the default policy (issue
// 10): a short excursion is not chased while the window's miss budget
// allows, a sustained rise is followed, a daily cycle is held at one level
// while the over-provisioning budget allows, and samples at the minimum
// move nothing.
func TestBudgets(t *testing.T) {
	day := perMin(24 * 60)
	tests := []struct {
		name  string
		trace []int64
		min   int64
		// want are the changes after the first day (the history).
		want []change
	}{
		{
			// A day at 35 (declared 40, nothing missed), then 140 for five
			// minutes: 20 samples of the window's ~5,300 (22–24 h: twelve
			// 2 h buckets) are missed, within the 0.5 % budget, and the
			// spike ends before dwell up (10 min) passes.
			name:  "a spike within the miss budget and shorter than dwell up is not chased",
			trace: buildTrace([]segment{{day, 35, 35}, {perMin(5), 140, 140}, {perMin(60), 35, 35}}),
			want:  nil,
		},
		{
			// The same rise, sustained: once the window has missed 0.5 %
			// (26 samples, 6.5 min) it moves at once, to the smallest
			// level at or above 140/√2.
			name:  "a sustained rise is followed once the miss budget is spent",
			trace: buildTrace([]segment{{day, 35, 35}, {perMin(30), 140, 140}}),
			want:  []change{{day + 26, 100}},
		},
		{
			// A second five-minute spike an hour later: the first spent
			// 20 of the 26 missed samples the window allows, so the
			// second is followed at once when the budget runs out, eight
			// samples in.
			name:  "a spike once the miss budget is spent is followed at once",
			trace: buildTrace([]segment{{day, 35, 35}, {perMin(5), 140, 140}, {perMin(60), 35, 35}, {perMin(5), 140, 140}}),
			want:  []change{{day + perMin(5) + perMin(60) + 7, 100}},
		},
		{
			// Samples at 0 with no minimum (a scrape gap reads as 0) for
			// three hours inside a steady load: nothing moves.
			name:  "a monitoring gap at zero moves nothing",
			trace: buildTrace([]segment{{day, 200, 200}, {perMin(180), 0, 0}, {perMin(60), 200, 200}}),
			want:  nil,
		},
		{
			// Three days of a daily cycle between 10 and 200: after the
			// first day the level that covers the peak also holds the
			// trough within the over-provisioning budget; no commit.
			name:  "a daily cycle is held at one level",
			trace: dailyCycle(4, 10, 200),
			want:  nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []change
			for _, c := range replayDefault(tt.trace, tt.min) {
				if c.at >= day {
					got = append(got, c)
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("changes after the first day (sample, declared) = %v, want %v", got, tt.want)
			}
		})
	}
}

// dailyCycle is days of a smooth daily cycle between lo and hi (15 s samples).
func dailyCycle(days int, lo, hi float64) []int64 {
	n := days * perMin(24*60)
	out := make([]int64, n)
	for i := range out {
		phase := float64(i) / float64(perMin(24*60))
		out[i] = int64(math.Round(lo + (hi-lo)*(0.5-0.5*math.Cos(2*math.Pi*phase))))
	}
	return out
}
