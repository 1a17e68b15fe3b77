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

	"github.com/latch-gitops/latch/bench/internal/benchmain"
	"github.com/latch-gitops/latch/internal/testenv"
)

const section = "diff"

func main() {
	objects := flag.Int("objects", 2000, "declared objects (a third each Deployments, Services, ConfigMaps)")
	namespaces := flag.Int("namespaces", 10, "namespaces they are spread over")
	runs := flag.Int("runs", 5, "latch diff runs (the median is reported); kubectl diff runs once per setting")
	doc := benchmain.Parse(section, "smoke run: 150 objects, 3 namespaces, 2 runs", func() {
		*objects, *namespaces, *runs = 150, 3, 2
	})
	cfg := config{objects: *objects, namespaces: *namespaces, runs: *runs, log: benchmain.Logf}
	var res result
	benchmain.Run(section, doc, func(ctx context.Context, session *testenv.Session, machine string) (string, error) {
		var err error
		if res, err = measure(ctx, session, cfg); err != nil {
			return "", err
		}
		return render(res, cfg, machine), nil
	})
	if !res.sameFound() {
		benchmain.Exitf(section, 1, "the tools did not find the same drifted objects")
	}
}
