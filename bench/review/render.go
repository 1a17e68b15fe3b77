package main

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/latch-gitops/latch/bench/internal/benchdoc"
)

// render writes the section: one row per open-PR count.
func render(res result, machine string) string {
	var b strings.Builder
	b.WriteString(benchdoc.Begin(section) + "\n")
	b.WriteString("### Review: forge calls and latency with many open PRs (issue 11)\n\n")
	b.WriteString("A real Gitea (the test binary) holds one repository with a file per workload. `internal/reviewflow` — what `latch run` and `latch sync` call for each workload in review — opens one PR per workload for a 10× jump (the suspicious mode sends it to review) until the count in the first column is open, then updates PRs spread over the old and the new ones with a further jump, and runs each workload's flow a second time, which must find its PR right and change nothing. Forge calls are the forge client's own count of HTTP requests (its transport); git pushes to the PR branch go over Gitea's smart HTTP and are not forge calls. The time is from the decision (the flow called with the new proposal) to the PR updated: gather (find the PR by branch), push the branch, update title and body. It comes after the batch window, which is the operator's setting.\n\n")
	b.WriteString("| open latch PRs | forge calls per update (median, max) | goal | calls per idle pass (max) | calls per PR opened (median) | decision → PR updated s (p50, p99, max) | goal |\n")
	b.WriteString("| ---: | --- | --- | ---: | ---: | --- | --- |\n")
	for _, s := range res.steps {
		calls := benchdoc.Summarise(s.updateCalls)
		secs := benchdoc.Summarise(benchdoc.Seconds(s.updateTimes))
		fmt.Fprintf(&b, "| %d | %.0f, %.0f | %s | %.0f | %.0f | %.2f, %.2f, %.2f | %s |\n",
			s.open, calls.Median, calls.Max, goal(calls.Max <= 2, "≤ 2"), slices.Max(s.idleCalls), benchdoc.Summarise(s.createCalls).Median,
			secs.P50, secs.P99, secs.Max, goal(secs.P99 <= 2, "≤ 2 s"))
	}
	b.WriteString("\nWhere an update's time goes (p50 s): find the PR (one forge call) while reading the branch (one git fetch), push the PR branch (latch's git: build base + one commit in the work tree, push it with a lease), of which the `git push` alone, write the PR (one forge call); and two floors measured between the updates, a bare `git push` of one commit to the same Gitea repository with the git CLI: to a branch of its own, and to the branch of an open PR, which is what latch's push is (Gitea's post-receive hook updates each open PR of the pushed branch, `refs/pull/N/head`, before the push returns). Each timed step (an update, each floor) starts after a 1 s pause, so none runs beside Gitea's background check of the PR the previous push updated. The ratios are to the second floor.\n\n")
	b.WriteString("| open latch PRs | find | push branch | of it git push | forge write | whole update | bare push, no PR | bare push, open PR | update ÷ bare push | push ÷ bare push |\n")
	b.WriteString("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	for _, s := range res.steps {
		p50 := func(d []time.Duration) float64 { return benchdoc.Summarise(benchdoc.Seconds(d)).P50 }
		whole, floor := p50(s.updateTimes), p50(s.baselinePR)
		fmt.Fprintf(&b, "| %d | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %s | %s |\n", s.open, p50(s.find), p50(s.push), p50(s.gitPush), p50(s.write), whole,
			p50(s.baseline), floor, ratio(whole, floor), ratio(p50(s.push), floor))
	}
	b.WriteString("\nThe calls per update do not grow with the number open: the flow finds its PR by branch (`GET /repos/{owner}/{repo}/pulls/{base}/{head}` on Gitea) instead of listing the open ones, and asks for latch's own login once per process.\n\n")
	b.WriteString(machine + "\n")
	b.WriteString(benchdoc.End(section) + "\n")
	return b.String()
}

func goal(met bool, what string) string {
	if met {
		return "met (" + what + ")"
	}
	return "**missed** (" + what + ")"
}

func ratio(a, b float64) string {
	if b <= 0 {
		return "–"
	}
	return fmt.Sprintf("%.1f×", a/b)
}
