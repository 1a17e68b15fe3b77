package decide

import (
	"reflect"
	"testing"

	"github.com/latch-gitops/latch/internal/objectid"
	"github.com/latch-gitops/latch/internal/policy"
	"github.com/latch-gitops/latch/internal/review"
)

func reviewRules(r *Review) []review.Rule {
	var out []review.Rule
	for _, x := range r.Reasons {
		out = append(out, x.Rule)
	}
	return out
}

func TestDecideReview(t *testing.T) {
	def := review.DefaultThresholds()
	named := func(name string, observed int64, declared string, change func(*Object)) Object {
		return object(observed, declared, func(o *Object) {
			o.Ref = objectid.Ref{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "shop", Name: name}
			o.Latched = true
			if change != nil {
				change(o)
			}
		})
	}
	withMode := func(m review.Mode) func(*Object) {
		return func(o *Object) { o.Policy.Review, o.Policy.ReviewFrom = m, "web-tier" }
	}
	tests := []struct {
		name    string
		review  *ReviewInput
		objs    []Object
		modes   []review.Mode
		from    []string
		needs   []bool
		reasons [][]review.Rule
	}{
		{name: "review off: no Review at all", objs: []Object{named("a", 400, "40", nil)}},
		{name: "suspicious: a 10× jump needs a person, an ordinary latch does not",
			review: &ReviewInput{Default: review.Suspicious, Thresholds: def},
			objs:   []Object{named("a", 400, "40", nil), named("b", 90, "40", nil)},
			modes:  []review.Mode{review.Suspicious, review.Suspicious}, from: []string{"", ""},
			needs: []bool{true, false}, reasons: [][]review.Rule{{review.RuleJump}, nil}},
		{name: "first latch of a workload history has never latched",
			review: &ReviewInput{Default: review.Suspicious, Thresholds: def},
			objs:   []Object{named("a", 90, "40", func(o *Object) { o.Latched = false })},
			modes:  []review.Mode{review.Suspicious}, from: []string{""},
			needs: []bool{true}, reasons: [][]review.Rule{{review.RuleFirstLatch}}},
		{name: "nothing to latch: the mode is kept, no reasons",
			review: &ReviewInput{Default: review.Always, Thresholds: def},
			objs:   []Object{named("a", 40, "40", nil)},
			modes:  []review.Mode{review.Always}, from: []string{""},
			needs: []bool{false}, reasons: [][]review.Rule{nil}},
		{name: "a rule's mode wins over the default",
			review: &ReviewInput{Default: review.Never, Thresholds: def},
			objs:   []Object{named("a", 90, "40", withMode(review.Always)), named("b", 400, "40", nil)},
			modes:  []review.Mode{review.Always, review.Never}, from: []string{"web-tier", ""},
			needs: []bool{true, false}, reasons: [][]review.Rule{nil, {review.RuleJump}}},
		{name: "a rule saying never wins over a suspicious default",
			review: &ReviewInput{Default: review.Suspicious, Thresholds: def},
			objs:   []Object{named("a", 400, "40", withMode(review.Never))},
			modes:  []review.Mode{review.Never}, from: []string{"web-tier"},
			needs: []bool{false}, reasons: [][]review.Rule{{review.RuleJump}}},
		{name: "the latch rule's max counts as the declared maximum",
			review: &ReviewInput{Default: review.Suspicious, Thresholds: def},
			objs: []Object{named("a", 90, "40", func(o *Object) {
				p := policy.DefaultParams()
				p.Max = 100
				fp := o.Policy.Fields[replicas]
				fp.Latch = &p
				o.Policy.Fields[replicas] = fp
			})},
			modes: []review.Mode{review.Suspicious}, from: []string{""},
			needs: []bool{true}, reasons: [][]review.Rule{{review.RuleAtMax}}},
		{name: "the HPA's metrics do not explain the value",
			review: &ReviewInput{Default: review.Suspicious, Thresholds: def},
			objs: []Object{named("a", 90, "40", func(o *Object) {
				o.HPAMetrics = &review.HPAMetrics{Replicas: 90, Metrics: []review.Metric{{Name: "cpu", Current: 10, Target: 80}}}
			})},
			modes: []review.Mode{review.Suspicious}, from: []string{""},
			needs: []bool{true}, reasons: [][]review.Rule{{review.RuleHPA}}},
		{name: "a surge counts every latch of the pass, whatever its mode",
			review: &ReviewInput{Default: review.Suspicious, Thresholds: review.Thresholds{SurgeWorkloads: 3, SurgeJump: 3}},
			objs: []Object{named("a", 200, "40", withMode(review.Never)), named("b", 200, "40", nil),
				named("c", 200, "40", nil), named("d", 40, "40", nil)},
			modes: []review.Mode{review.Never, review.Suspicious, review.Suspicious, review.Suspicious}, from: []string{"web-tier", "", "", ""},
			needs:   []bool{false, true, true, false},
			reasons: [][]review.Rule{{review.RuleSurge}, {review.RuleSurge}, {review.RuleSurge}, nil}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Decide(Input{Now: now, Objects: tc.objs, Review: tc.review})
			if len(got) != len(tc.objs) {
				t.Fatalf("%d decisions for %d objects", len(got), len(tc.objs))
			}
			for i, d := range got {
				if tc.review == nil {
					if d.Review != nil {
						t.Fatalf("%s: Review %+v with review off", d.Ref.Name, d.Review)
					}
					continue
				}
				r := d.Review
				if r == nil {
					t.Fatalf("%s: no Review", d.Ref.Name)
				}
				if r.Mode != tc.modes[i] || r.From != tc.from[i] || r.NeedsReview != tc.needs[i] || !reflect.DeepEqual(reviewRules(r), tc.reasons[i]) {
					t.Fatalf("%s: mode %s from %q needs %v rules %v; want %s %q %v %v", d.Ref.Name, r.Mode, r.From, r.NeedsReview, reviewRules(r),
						tc.modes[i], tc.from[i], tc.needs[i], tc.reasons[i])
				}
			}
		})
	}
}
