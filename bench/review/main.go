// Command review measures latch's review flow on a real Gitea (issue 11):
// forge calls per PR update as the number of open latch PRs grows to 200
// (goal ≤ 2, whatever the number open), and the time from the latch
// decision to the PR updated — the flow's own share, after the batch window
// (goal ≤ 2 s). It drives internal/reviewflow exactly as `latch run` does:
// one PR branch per workload, pushed over HTTP to Gitea's git, the PR
// created or updated through Gitea's REST API, calls counted by the forge
// client's own transport counter. It prints and writes the section between
// <!-- BEGIN review --> and <!-- END review --> of docs/benchmarks.md.
//
//	go run ./bench/review [-open 10,50,200] [-updates 20] [-quick] [-doc docs/benchmarks.md]
package main

import (
	"context"
	"flag"
	"strconv"

	"github.com/latch-gitops/latch/bench/internal/benchmain"
	"github.com/latch-gitops/latch/internal/testenv"
)

const section = "review"

func main() {
	open := flag.String("open", "10,50,200", "open latch PRs at which updates are measured, comma separated, ascending")
	updates := flag.Int("updates", 20, "PR updates measured at each step")
	doc := benchmain.Parse(section, "smoke run: 3 and 8 open PRs, 3 updates", func() {
		*open, *updates = "3,8", 3
	})
	previous := 0
	cfg := config{updates: *updates, log: benchmain.Logf,
		steps: benchmain.List(section, "open", *open, "a positive count above the previous one", func(s string) (int, bool) {
			n, err := strconv.Atoi(s)
			ok := err == nil && n >= 1 && n > previous
			previous = n
			return n, ok
		})}
	var res result
	benchmain.Run(section, doc, func(ctx context.Context, session *testenv.Session, machine string) (string, error) {
		var err error
		if res, err = measure(ctx, session, cfg); err != nil {
			return "", err
		}
		return render(res, machine), nil
	})
	if !res.metGoal() {
		benchmain.Exitf(section, 1, "a PR update cost more than 2 forge calls")
	}
}
