package policy

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestRound(t *testing.T) {
	sigfig := Ladder{Kind: LadderSigFig}
	step10 := Ladder{Kind: LadderStep, Step: 10}
	magnitude := Ladder{Kind: LadderMagnitude}
	s125 := Ladder{Kind: LadderSeries, Series: "1-2-5"}
	r5 := Ladder{Kind: LadderSeries, Series: "R5"}
	r10 := Ladder{Kind: LadderSeries, Series: "R10"}
	tests := []struct {
		rule Ladder
		in   int64
		want int64
	}{
		{sigfig, 0, 0}, {sigfig, 1, 1}, {sigfig, 9, 9}, {sigfig, 14, 10}, {sigfig, 15, 20},
		{sigfig, 94, 90}, {sigfig, 95, 100}, {sigfig, 1234, 1000}, {sigfig, 1500, 2000}, {sigfig, 9500, 10000},
		{step10, 0, 0}, {step10, 4, 0}, {step10, 5, 10}, {step10, 14, 10}, {step10, 15, 20}, {step10, 1234, 1230},
		{Ladder{Kind: LadderStep, Step: 25}, 37, 25}, {Ladder{Kind: LadderStep, Step: 25}, 38, 50},
		// magnitude rounds in log space: the boundary between 1 and 10 is √10 ≈ 3.16.
		{magnitude, 3, 1}, {magnitude, 4, 10}, {magnitude, 31, 10}, {magnitude, 32, 100}, {magnitude, 316, 100}, {magnitude, 317, 1000},
		// 1-2-5: boundaries √2, √10, √50, √200 …
		{s125, 1, 1}, {s125, 2, 2}, {s125, 3, 2}, {s125, 4, 5}, {s125, 7, 5}, {s125, 8, 10}, {s125, 14, 10}, {s125, 15, 20}, {s125, 31, 20}, {s125, 32, 50},
		// R5: 1 2 3 4 6 10 16 25 40 63 100 (1.6, 2.5, 6.3 rounded at the first decade).
		{r5, 5, 6}, {r5, 12, 10}, {r5, 13, 16}, {r5, 19, 16}, {r5, 20, 25}, {r5, 50, 40}, {r5, 51, 63}, {r5, 80, 100},
		{r10, 11, 10}, {r10, 12, 13}, {r10, 120, 125}, {r10, 700, 630}, {r10, 720, 800},
		// The largest int64 does not overflow.
		{sigfig, 1<<63 - 1, 9000000000000000000}, {s125, 1<<63 - 1, 5000000000000000000},
	}
	for _, tt := range tests {
		got, err := Round(tt.rule, tt.in)
		if err != nil {
			t.Errorf("Round(%s, %d): %v", tt.rule, tt.in, err)
			continue
		}
		if got != tt.want {
			t.Errorf("Round(%s, %d) = %d, want %d", tt.rule, tt.in, got, tt.want)
		}
	}
}

func TestRoundErrors(t *testing.T) {
	tests := []struct {
		rule    Ladder
		in      int64
		wantErr string
	}{
		{Ladder{Kind: LadderSigFig}, -1, "value must be ≥ 0"},
		{Ladder{Kind: LadderStep}, 5, "rule.step: must be > 0"},
		{Ladder{Kind: LadderSeries, Series: "E12"}, 5, `rule.series: unknown series "E12"`},
		{Ladder{Kind: "floor"}, 5, `rule.kind: unknown kind "floor"`},
		{Ladder{}, 5, "rule.kind: must be set"},
		{Ladder{Kind: LadderSigFig, Step: 3}, 5, "rule.step: only valid with kind"},
		{Ladder{Kind: LadderStep, Step: 3, Series: "R5"}, 5, "rule.series: only valid with kind"},
	}
	for _, tt := range tests {
		_, err := Round(tt.rule, tt.in)
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("Round(%+v, %d) error = %v, want it to contain %q", tt.rule, tt.in, err, tt.wantErr)
		}
	}
}

func TestLevels(t *testing.T) {
	tests := []struct {
		rule   Ladder
		lo, hi int64
		want   []int64
	}{
		{Ladder{Kind: LadderSeries, Series: "1-2-5"}, 0, 100, []int64{0, 1, 2, 5, 10, 20, 50, 100}},
		{Ladder{Kind: LadderSeries, Series: "R5"}, 1, 100, []int64{1, 2, 3, 4, 6, 10, 16, 25, 40, 63, 100}},
		{Ladder{Kind: LadderSeries, Series: "R10"}, 10, 100, []int64{10, 13, 16, 20, 25, 32, 40, 50, 63, 80, 100}},
		{Ladder{Kind: LadderMagnitude}, 1, 10000, []int64{1, 10, 100, 1000, 10000}},
		{Ladder{Kind: LadderSigFig}, 8, 40, []int64{8, 9, 10, 20, 30, 40}},
		{Ladder{Kind: LadderStep, Step: 5}, 3, 20, []int64{5, 10, 15, 20}},
	}
	for _, tt := range tests {
		got, err := Levels(tt.rule, tt.lo, tt.hi)
		if err != nil {
			t.Fatalf("Levels(%s): %v", tt.rule, err)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("Levels(%s, %d, %d) = %v, want %v", tt.rule, tt.lo, tt.hi, got, tt.want)
		}
	}
}

func TestValidate(t *testing.T) {
	ok := DefaultParams()
	if err := ok.Validate(); err != nil {
		t.Fatalf("DefaultParams().Validate() = %v", err)
	}
	tests := []struct {
		name    string
		mutate  func(*Params)
		wantErr string
	}{
		{"hysteresis high", func(p *Params) { p.Hysteresis = 1.5 }, "hysteresis: must be in [0, 1), got 1.5"},
		{"hysteresis one", func(p *Params) { p.Hysteresis = 1 }, "hysteresis: must be in [0, 1), got 1"},
		{"hysteresis negative", func(p *Params) { p.Hysteresis = -0.1 }, "hysteresis: must be in [0, 1), got -0.1"},
		{"dwell down", func(p *Params) { p.DwellDown = -1 }, "dwellDown: must be ≥ 0"},
		{"dwell up", func(p *Params) { p.DwellUp = -1 }, "dwellUp: must be ≥ 0"},
		{"min", func(p *Params) { p.Min = -2 }, "min: must be ≥ 0"},
		{"max", func(p *Params) { p.Max = -2 }, "max: must be ≥ 0"},
		{"min above max", func(p *Params) { p.Min, p.Max = 10, 5 }, "min: must be ≤ max, got min 10 > max 5"},
		{"rule", func(p *Params) { p.Ladder = Ladder{Kind: LadderSeries, Series: "1-3"} }, `rule.series: unknown series "1-3"`},
		{"rule kind", func(p *Params) { p.Ladder = Ladder{} }, "rule.kind: must be set"},
		{"rule step", func(p *Params) { p.Ladder = Ladder{Kind: LadderStep} }, "rule.step: must be > 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := DefaultParams()
			tt.mutate(&p)
			err := p.Validate()
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Validate() = %v, want it to contain %q", err, tt.wantErr)
			}
			// The field is structured: a caller places the problem by
			// Field, never by splitting the message.
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("Validate() = %T, want a *FieldError inside", err)
			}
			wantField, wantMsg, _ := strings.Cut(tt.wantErr, ": ")
			if fe.Field != wantField || !strings.HasPrefix(fe.Msg, wantMsg) {
				t.Errorf("FieldError = {%q, %q}, want {%q, %q…}", fe.Field, fe.Msg, wantField, wantMsg)
			}
		})
	}
}

func TestValidateReportsEveryField(t *testing.T) {
	p := Params{Ladder: Ladder{Kind: "nope"}, Hysteresis: 2, DwellDown: -1, DwellUp: -1, Min: 9, Max: 3}
	var fes FieldErrors
	if !errors.As(p.Validate(), &fes) {
		t.Fatalf("Validate() = %v, want FieldErrors", p.Validate())
	}
	var got []string
	for _, fe := range fes {
		got = append(got, fe.Field)
	}
	want := []string{"rule.kind", "hysteresis", "dwellDown", "dwellUp", "min"}
	if !slices.Equal(got, want) {
		t.Errorf("fields = %v, want %v", got, want)
	}
}
