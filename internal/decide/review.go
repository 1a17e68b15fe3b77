package decide

import "github.com/latch-gitops/latch/internal/review"

// ReviewInput is the pass's review setting, gathered with the rest.
type ReviewInput struct {
	// Default is the mode of objects no latch.yaml rule gives one.
	Default review.Mode
	// Thresholds are the suspicious rules' (latch.yaml spec.defaults.review).
	Thresholds review.Thresholds
}

// Review is what the review step decided for one field of one object.
type Review struct {
	// Mode is the object's review mode; From names the latch.yaml rule
	// that set it ("" : the default).
	Mode review.Mode
	From string
	// Reasons are the suspicious rules that fired for a latch (Evidence
	// set), in their documented order.
	Reasons []review.Reason
	// NeedsReview: this latch goes through a pull request instead of the
	// direct push (Mode.NeedsReview of the assessment).
	NeedsReview bool
	// HPA is the live HPA's metrics the rules read (nil: not readable), for
	// the PR body.
	HPA *review.HPAMetrics
}

// decideReview sets each decision's Review. The suspicious rules see every
// latch of the pass as one window (a fleet-wide surge counts all of them,
// whatever their mode); only the object's own mode says whether its latch
// needs a person.
func decideReview(in Input, out []Decision, objs []int) {
	if in.Review == nil {
		return
	}
	var window []review.Candidate
	var latches []int
	for i := range out {
		o := in.Objects[objs[i]]
		mode, from := in.Review.Default, ""
		if o.Policy.Review != "" {
			mode, from = o.Policy.Review, o.Policy.ReviewFrom
		}
		if mode == "" {
			mode = review.Never
		}
		out[i].Review = &Review{Mode: mode, From: from, HPA: o.HPAMetrics}
		d := out[i]
		if d.Evidence == nil {
			continue
		}
		max := d.Max
		if fp := o.Policy.Field(d.Field); fp.Latch != nil && fp.Latch.Max > 0 && (max <= 0 || fp.Latch.Max < max) {
			max = fp.Latch.Max
		}
		window = append(window, review.Candidate{Object: d.Ref, From: d.Declared, To: d.Target, Observed: d.Observed,
			Max: max, FirstLatch: !o.Latched, HPA: o.HPAMetrics})
		latches = append(latches, i)
	}
	for j, a := range review.Assess(in.Review.Thresholds, window) {
		r := out[latches[j]].Review
		r.Reasons = a.Reasons
		r.NeedsReview = r.Mode.NeedsReview(a)
	}
}
