// Command restore measures `latch restore` against `kubectl apply
// --server-side -R -f` (issue 13): it writes a repository of -objects
// objects (testenv.WriteObjectRepo: namespaces, a CRD and its custom
// resources, Deployments, headless Services, ConfigMaps, HPAs) to a git
// remote, starts two fresh etcd + kube-apiservers, restores the repository
// into the first with the real latch binary and applies the same files to
// the second with kubectl, in the same run; then restores again into the
// first (-second-runs times), which must write nothing. It prints and
// writes the section between <!-- BEGIN restore --> and
// <!-- END restore --> of docs/benchmarks.md.
//
//	go run ./bench/restore [-objects 2000] [-namespaces 10] [-second-runs 3] [-quick] [-doc docs/benchmarks.md]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/latch-gitops/latch/bench/internal/benchdoc"
	"github.com/latch-gitops/latch/internal/testenv"
)

const section = "restore"

func main() {
	objects := flag.Int("objects", 2000, "objects the repository declares")
	namespaces := flag.Int("namespaces", 10, "namespaces they are spread over")
	secondRuns := flag.Int("second-runs", 3, "restores after the first (the median is reported)")
	quick := flag.Bool("quick", false, "smoke run: 150 objects, 3 namespaces, 1 second run")
	doc := flag.String("doc", "docs/benchmarks.md", `markdown file whose restore section is rewritten ("" prints only)`)
	flag.Parse()
	if *quick {
		*objects, *namespaces, *secondRuns = 150, 3, 1
	}
	cfg := config{objects: *objects, namespaces: *namespaces, secondRuns: *secondRuns,
		log: func(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }}
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
		fmt.Fprintf(os.Stderr, "bench/restore: %v\n", err)
		os.Exit(1)
	}
	text := render(res, cfg, benchdoc.Machine(section, os.Args, started))
	fmt.Print(text)
	if *doc != "" {
		if err := benchdoc.RewriteSection(*doc, section, text); err != nil {
			fmt.Fprintf(os.Stderr, "bench/restore: %v\n", err)
			os.Exit(1)
		}
	}
	if problem := res.problem(); problem != "" {
		fmt.Fprintln(os.Stderr, "bench/restore: "+problem)
		os.Exit(1)
	}
}
