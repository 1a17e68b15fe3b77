package review

import (
	"reflect"
	"testing"
)

func rules(a Assessment) []Rule {
	var out []Rule
	for _, r := range a.Reasons {
		out = append(out, r.Rule)
	}
	return out
}

func TestAssessSingleRules(t *testing.T) {
	def := DefaultThresholds()
	web := Object{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "shop", Name: "web"}
	cases := []struct {
		name string
		t    Thresholds
		c    Candidate
		want []Rule
	}{
		{"ordinary", def, Candidate{Object: web, From: 40, To: 60, Observed: 57, Max: 500}, nil},
		{"10x up", def, Candidate{Object: web, From: 40, To: 400, Observed: 398, Max: 500}, []Rule{RuleJump}},
		{"10x down", def, Candidate{Object: web, From: 400, To: 40, Observed: 41, Max: 500}, []Rule{RuleJump}},
		{"just under 10x", def, Candidate{Object: web, From: 40, To: 399, Observed: 399, Max: 500}, nil},
		{"to zero counts as a jump by the other value", def, Candidate{Object: web, From: 40, To: 0}, []Rule{RuleJump}},
		{"from zero to 9 is under 10x", def, Candidate{Object: web, From: 0, To: 9}, nil},
		{"at max", def, Candidate{Object: web, From: 300, To: 500, Observed: 500, Max: 500}, []Rule{RuleAtMax}},
		{"beyond max", def, Candidate{Object: web, From: 300, To: 600, Observed: 600, Max: 500}, []Rule{RuleAtMax}},
		{"no max declared", def, Candidate{Object: web, From: 300, To: 600, Observed: 600}, nil},
		{"first latch", def, Candidate{Object: web, From: 3, To: 4, FirstLatch: true}, []Rule{RuleFirstLatch}},
		{"first latch rule off", Thresholds{Jump: 10}, Candidate{Object: web, From: 3, To: 4, FirstLatch: true}, nil},
		{"jump rule off", Thresholds{}, Candidate{Object: web, From: 3, To: 400}, nil},
		{"custom jump 3x", Thresholds{Jump: 3}, Candidate{Object: web, From: 10, To: 30}, []Rule{RuleJump}},
		{"HPA explains it", def, Candidate{Object: web, From: 40, To: 80, Observed: 80,
			HPA: &HPAMetrics{Replicas: 80, Metrics: []Metric{{"cpu", 75, 80}}}}, nil},
		{"HPA does not explain it", def, Candidate{Object: web, From: 40, To: 80, Observed: 80,
			HPA: &HPAMetrics{Replicas: 80, Metrics: []Metric{{"cpu", 10, 80}}}}, []Rule{RuleHPA}},
		{"HPA largest metric wins", def, Candidate{Object: web, From: 40, To: 80, Observed: 80,
			HPA: &HPAMetrics{Replicas: 80, Metrics: []Metric{{"cpu", 10, 80}, {"rps", 950, 1000}}}}, nil},
		{"HPA unreadable metrics ignored", def, Candidate{Object: web, From: 40, To: 80, Observed: 80,
			HPA: &HPAMetrics{Replicas: 80, Metrics: []Metric{{"cpu", 10, 0}}}}, nil},
		{"several rules in a stable order", def, Candidate{Object: web, From: 40, To: 500, Observed: 500, Max: 500, FirstLatch: true},
			[]Rule{RuleJump, RuleAtMax, RuleFirstLatch}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := Assess(tc.t, []Candidate{tc.c})
			if len(got) != 1 {
				t.Fatalf("got %d assessments", len(got))
			}
			if !reflect.DeepEqual(rules(got[0]), tc.want) {
				t.Fatalf("rules = %v, want %v (%+v)", rules(got[0]), tc.want, got[0].Reasons)
			}
			if got[0].Suspicious() != (len(tc.want) > 0) {
				t.Fatalf("Suspicious() = %v", got[0].Suspicious())
			}
			for _, r := range got[0].Reasons {
				if r.Text == "" {
					t.Fatalf("rule %s without text", r.Rule)
				}
			}
		})
	}
}

func TestAssessSurge(t *testing.T) {
	th := Thresholds{SurgeWorkloads: 3, SurgeJump: 3}
	mk := func(name string, from, to int64) Candidate {
		return Candidate{Object: Object{Kind: "Deployment", Namespace: "shop", Name: name}, From: from, To: to}
	}
	two := []Candidate{mk("a", 10, 30), mk("b", 10, 40), mk("c", 10, 12)}
	for i, a := range Assess(th, two) {
		if a.Suspicious() {
			t.Fatalf("two jumping workloads are not a surge of three: %d %+v", i, a)
		}
	}
	three := []Candidate{mk("a", 10, 30), mk("b", 10, 40), mk("c", 10, 12), mk("d", 90, 30)}
	got := Assess(th, three)
	want := []bool{true, true, false, true}
	for i, a := range got {
		if a.Suspicious() != want[i] {
			t.Fatalf("candidate %d: suspicious %v, want %v (%+v)", i, a.Suspicious(), want[i], a)
		}
		if want[i] && !reflect.DeepEqual(rules(a), []Rule{RuleSurge}) {
			t.Fatalf("candidate %d: rules %v", i, rules(a))
		}
	}
}

func TestThresholdsValidate(t *testing.T) {
	if err := DefaultThresholds().Validate(); err != nil {
		t.Fatal(err)
	}
	if err := (Thresholds{}).Validate(); err != nil {
		t.Fatalf("all rules off must be valid: %v", err)
	}
	for _, bad := range []Thresholds{{Jump: 1}, {Jump: -2}, {SurgeWorkloads: 1, SurgeJump: 2}, {SurgeWorkloads: 4}, {HPATolerance: 0.5}} {
		if err := bad.Validate(); err == nil {
			t.Errorf("%+v: no error", bad)
		}
	}
}

func TestModes(t *testing.T) {
	sus := Assessment{Reasons: []Reason{{RuleJump, "x"}}}
	cases := []struct {
		in        string
		plain, sx bool
		err       bool
	}{
		{"", false, false, false}, {"never", false, false, false}, {"always", true, true, false},
		{"suspicious", false, true, false}, {"Always", false, false, true}, {"sometimes", false, false, true},
	}
	for _, tc := range cases {
		m, err := ParseMode(tc.in)
		if (err != nil) != tc.err {
			t.Fatalf("%q: err %v", tc.in, err)
		}
		if err != nil {
			continue
		}
		if m.NeedsReview(Assessment{}) != tc.plain || m.NeedsReview(sus) != tc.sx {
			t.Fatalf("%q: NeedsReview(plain)=%v (suspicious)=%v", tc.in, m.NeedsReview(Assessment{}), m.NeedsReview(sus))
		}
	}
}
