package policyfile

import (
	"reflect"
	"strings"
	"testing"

	"github.com/latch-gitops/latch/internal/objectid"
	"github.com/latch-gitops/latch/internal/review"
)

func TestParseReviewErrors(t *testing.T) {
	tests := []struct{ name, yaml, want string }{
		{"unknown review mode",
			header + "  rules:\n    - name: a\n      review: sometimes\n      fields: {spec.replicas: latch}\n",
			`latch.yaml:6:15: spec.rules[0].review: unknown review mode "sometimes": want one of never, always, suspicious`},
		{"review is a mode, not a mapping",
			header + "  rules:\n    - name: a\n      review: {mode: always}\n      fields: {spec.replicas: latch}\n",
			`latch.yaml:6:15: spec.rules[0].review: must be a string, got a mapping`},
		{"jump factor of 1",
			header + "  defaults:\n    review: {jump: 1}\n",
			`latch.yaml:5:20: spec.defaults.review.jump: want a factor above 1 (or 0 to turn the rule off), got 1`},
		{"unknown threshold",
			header + "  defaults:\n    review: {jumps: 5}\n",
			`latch.yaml:5:14: spec.defaults.review.jumps: unknown key "jumps"; did you mean "jump"? (want one of jump, atMax, firstLatch, surge, hpaTolerance)`},
		{"surge of one workload",
			header + "  defaults:\n    review:\n      surge: {workloads: 1, jump: 3}\n",
			`latch.yaml:6:26: spec.defaults.review.surge.workloads: want 2 or more workloads (or 0 to turn the rule off), got 1`},
		{"firstLatch not a bool",
			header + "  defaults:\n    review: {firstLatch: yes}\n",
			`latch.yaml:5:26: spec.defaults.review.firstLatch: must be true or false, got string "yes"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("latch.yaml", []byte(tc.yaml))
			if err == nil {
				t.Fatal("no error")
			}
			first := strings.Split(err.Error(), "\n")[0]
			if first != tc.want {
				t.Fatalf("got  %s\nwant %s", first, tc.want)
			}
		})
	}
}

func TestParseAndResolveReview(t *testing.T) {
	pol, err := Parse("latch.yaml", []byte(header+`  defaults:
    review:
      jump: 5
      firstLatch: false
      surge: {workloads: 3, jump: 2.5}
  rules:
    - name: all
      review: suspicious
      fields: {spec.replicas: latch}
    - name: payments
      match: {namespaces: [pay]}
      review: always
      fields: {spec.replicas: latch}
    - name: no-review-name
      match: {names: [batch-*]}
      fields: {spec.replicas: latch}
`))
	if err != nil {
		t.Fatal(err)
	}
	want := review.Thresholds{Jump: 5, AtMax: true, FirstLatch: false, SurgeWorkloads: 3, SurgeJump: 2.5, HPATolerance: 2}
	if !reflect.DeepEqual(pol.Defaults.Review, want) || !pol.Defaults.ReviewSet {
		t.Fatalf("thresholds %+v", pol.Defaults.Review)
	}
	for _, tc := range []struct {
		ns, name string
		mode     review.Mode
		from     string
	}{
		{"shop", "web", review.Suspicious, "all"},
		{"pay", "web", review.Always, "payments"},
		// A later rule without review keeps the earlier rule's mode.
		{"pay", "batch-1", review.Always, "payments"},
	} {
		r := pol.Resolve(Object{Ref: objectid.Ref{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: tc.ns, Name: tc.name}})
		if r.Review != tc.mode || r.ReviewFrom != tc.from {
			t.Errorf("%s/%s: review %q from %q, want %q from %q", tc.ns, tc.name, r.Review, r.ReviewFrom, tc.mode, tc.from)
		}
	}
	if d := Default(); d.Defaults.Review != review.DefaultThresholds() || d.Defaults.ReviewSet {
		t.Fatalf("default policy thresholds %+v", d.Defaults.Review)
	}
	if r := Default().Resolve(Object{Ref: objectid.Ref{Kind: "Deployment", Name: "x"}, HasHPA: true}); r.Review != "" {
		t.Fatalf("built-in rules set a review mode: %q", r.Review)
	}
}
