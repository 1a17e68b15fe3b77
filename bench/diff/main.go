// Command diff measures `latch diff` against `kubectl diff -f` (issue 12):
// it starts a real etcd + kube-apiserver, writes a repository declaring
// -objects objects (Deployments with probes and resources, Services,
// ConfigMaps, across namespaces), applies them with `kubectl apply -f` (so
// both tools see what a GitOps apply leaves), drifts 5 of them with kubectl
// (set image, patch), then times the real latch binary and kubectl diff at
// its default concurrency and at --concurrency=16 on the same server and
// files, in the same run. Both must name the same 5 objects; latch's
// requests (from its own counter) and false positives are reported. It
// prints and writes the section between <!-- BEGIN diff --> and
// <!-- END diff --> of docs/benchmarks.md.
//
//	go run ./bench/diff [-objects 2000] [-runs 5] [-quick] [-doc docs/benchmarks.md]
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

const section = "diff"

func main() {
	objects := flag.Int("objects", 2000, "declared objects (a third each Deployments, Services, ConfigMaps)")
	namespaces := flag.Int("namespaces", 10, "namespaces they are spread over")
	runs := flag.Int("runs", 5, "latch diff runs (the median is reported); kubectl diff runs once per setting")
	quick := flag.Bool("quick", false, "smoke run: 150 objects, 3 namespaces, 2 runs")
	doc := flag.String("doc", "docs/benchmarks.md", `markdown file whose diff section is rewritten ("" prints only)`)
	flag.Parse()
	if *quick {
		*objects, *namespaces, *runs = 150, 3, 2
	}
	cfg := config{objects: *objects, namespaces: *namespaces, runs: *runs,
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
		fmt.Fprintf(os.Stderr, "bench/diff: %v\n", err)
		os.Exit(1)
	}
	text := render(res, cfg, benchdoc.Machine(section, os.Args, started))
	fmt.Print(text)
	if *doc != "" {
		if err := benchdoc.RewriteSection(*doc, section, text); err != nil {
			fmt.Fprintf(os.Stderr, "bench/diff: %v\n", err)
			os.Exit(1)
		}
	}
	if !res.sameFound() {
		fmt.Fprintln(os.Stderr, "bench/diff: the tools did not find the same drifted objects")
		os.Exit(1)
	}
}
