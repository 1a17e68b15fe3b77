package controller

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/latch-gitops/latch/internal/cluster"
	"github.com/latch-gitops/latch/internal/forge"
	"github.com/latch-gitops/latch/internal/objectid"
)

// reviewTracker remembers the PR number latch last saw open per workload,
// so a merge by a person is counted once (the forge is the state; this
// only feeds the merged metric of this process).
type reviewTracker struct {
	open map[objectid.Key]int
}

// reportReviews counts the review flow's forge writes, posts an Event per
// write ("opened PR #12 …") and a Warning per failure; failed reports
// whether any workload's review step failed (its latch is still pending).
func (b *batchLoop) reportReviews(workloads []cluster.Workload, reviews []ReviewOutcome) (failed bool) {
	if b.reviews.open == nil {
		b.reviews.open = map[objectid.Key]int{}
	}
	for _, r := range reviews {
		w := workloadFor(workloads, r.Ref)
		key := r.Key()
		change := fmt.Sprintf("%s %d → %d", r.ShortField(), r.From, r.To)
		switch {
		case r.Error != "":
			failed = true
			b.event(w, corev1.EventTypeWarning, "ReviewFailed", "review flow failed; the latch stays pending: "+r.Error)
			continue
		case r.Created:
			b.metrics.PRs.WithLabelValues("opened").Inc()
			b.event(w, corev1.EventTypeNormal, "ReviewOpened", fmt.Sprintf("opened PR #%d: %s%s%s", r.PR, change, suspiciousText(r.Suspicious), link(r.URL)))
		case r.Closed:
			b.metrics.PRs.WithLabelValues("closed").Inc()
			b.event(w, corev1.EventTypeNormal, "ReviewClosed", fmt.Sprintf("closed PR #%d: %s", r.PR, r.Why))
		case r.Updated:
			b.metrics.PRs.WithLabelValues("updated").Inc()
			b.event(w, corev1.EventTypeNormal, "ReviewUpdated", fmt.Sprintf("updated PR #%d: %s%s%s", r.PR, change, suspiciousText(r.Suspicious), link(r.URL)))
		}
		switch {
		case r.PR != 0 && (r.Created || r.Updated || r.State == forge.StateOpen) && !r.Closed:
			b.reviews.open[key] = r.PR
		case r.State == forge.StateMerged && b.reviews.open[key] == r.PR:
			b.metrics.PRs.WithLabelValues("merged").Inc()
			b.event(w, corev1.EventTypeNormal, "ReviewMerged", fmt.Sprintf("PR #%d was merged: git declares its value", r.PR))
			delete(b.reviews.open, key)
		case r.Closed || r.State == forge.StateClosed:
			delete(b.reviews.open, key)
		}
	}
	return failed
}

func suspiciousText(rules []string) string {
	if len(rules) == 0 {
		return ""
	}
	return " (" + strings.Join(rules, ", ") + ")"
}

func link(url string) string {
	if url == "" {
		return ""
	}
	return ": " + url
}
