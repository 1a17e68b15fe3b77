package main

import (
	"strings"
	"testing"

	"github.com/latch-gitops/latch/internal/testenv"
)

// TestReviewHarness runs the benchmark's core small on the real Gitea
// (skipped, or failed under CI, without the binary): PRs opened and counted
// open, each update costs at most two forge calls, a second pass changes
// nothing, and the section renders.
func TestReviewHarness(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Gitea")
	}
	cfg := config{steps: []int{2, 4}, updates: 2, log: t.Logf}
	res, err := measure(testenv.Context(t), t, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.steps) != 2 || len(res.steps[1].createCalls) != 2 || len(res.steps[1].updateCalls) != 2 {
		t.Fatalf("steps %+v", res.steps)
	}
	for _, s := range res.steps {
		for i, c := range s.updateCalls {
			if c < 1 || c > 2 || s.updateTimes[i] <= 0 {
				t.Errorf("%d open, update %d: %v calls in %v", s.open, i, c, s.updateTimes[i])
			}
			// The phases are measured and add up to no more than the whole.
			// The git push is part of the push phase.
			if s.find[i] <= 0 || s.push[i] <= 0 || s.write[i] <= 0 || s.baseline[i] <= 0 || s.baselinePR[i] <= 0 ||
				s.gitPush[i] <= 0 || s.gitPush[i] > s.push[i] || s.find[i]+s.push[i]+s.write[i] > s.updateTimes[i] {
				t.Errorf("%d open, update %d: find %v push %v (git push %v) write %v (whole %v), bare push %v, to a PR's branch %v",
					s.open, i, s.find[i], s.push[i], s.gitPush[i], s.write[i], s.updateTimes[i], s.baseline[i], s.baselinePR[i])
			}
		}
	}
	if !res.metGoal() {
		t.Error("goal not met")
	}
	text := render(res, "Machine: test.")
	for _, want := range []string{"<!-- BEGIN review -->", "| 4 | ", "met (≤ 2)", "| bare push, open PR |", "<!-- END review -->\n"} {
		if !strings.Contains(text, want) {
			t.Errorf("section lacks %q:\n%s", want, text)
		}
	}
}
