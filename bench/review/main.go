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
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/latch-gitops/latch/bench/internal/benchdoc"
	"github.com/latch-gitops/latch/internal/testenv"
)

const section = "review"

func main() {
	open := flag.String("open", "10,50,200", "open latch PRs at which updates are measured, comma separated, ascending")
	updates := flag.Int("updates", 20, "PR updates measured at each step")
	quick := flag.Bool("quick", false, "smoke run: 3 and 8 open PRs, 3 updates")
	doc := flag.String("doc", "docs/benchmarks.md", `markdown file whose review section is rewritten ("" prints only)`)
	flag.Parse()
	if *quick {
		*open, *updates = "3,8", 3
	}
	cfg := config{updates: *updates, log: func(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }}
	for _, s := range strings.Split(*open, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 || (len(cfg.steps) > 0 && n <= cfg.steps[len(cfg.steps)-1]) {
			fmt.Fprintf(os.Stderr, "bench/review: -open: %q is not a positive count above the previous one\n", s)
			os.Exit(2)
		}
		cfg.steps = append(cfg.steps, n)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	started := time.Now()
	session := &testenv.Session{Log: cfg.log}
	var res result
	err := session.Run(func() error {
		var err error
		res, err = measure(ctx, session, cfg)
		return err
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench/review: %v\n", err)
		os.Exit(1)
	}
	text := render(res, benchdoc.Machine(section, os.Args, started))
	fmt.Print(text)
	if *doc != "" {
		if err := benchdoc.RewriteSection(*doc, section, text); err != nil {
			fmt.Fprintf(os.Stderr, "bench/review: %v\n", err)
			os.Exit(1)
		}
	}
	if !res.metGoal() {
		fmt.Fprintln(os.Stderr, "bench/review: a PR update cost more than 2 forge calls")
		os.Exit(1)
	}
}
