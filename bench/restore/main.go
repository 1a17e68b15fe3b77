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

	"github.com/latch-gitops/latch/bench/internal/benchmain"
	"github.com/latch-gitops/latch/internal/testenv"
)

const section = "restore"

func main() {
	objects := flag.Int("objects", 2000, "objects the repository declares")
	namespaces := flag.Int("namespaces", 10, "namespaces they are spread over")
	secondRuns := flag.Int("second-runs", 3, "restores after the first (the median is reported)")
	doc := benchmain.Parse(section, "smoke run: 150 objects, 3 namespaces, 1 second run", func() {
		*objects, *namespaces, *secondRuns = 150, 3, 1
	})
	cfg := config{objects: *objects, namespaces: *namespaces, secondRuns: *secondRuns, log: benchmain.Logf}
	problem := ""
	benchmain.Run(section, doc, func(ctx context.Context, session *testenv.Session, machine string) (string, error) {
		res, err := measure(ctx, session, cfg)
		if err != nil {
			return "", err
		}
		problem = res.problem()
		return render(res, cfg, machine), nil
	})
	if problem != "" {
		benchmain.Exitf(section, 1, "%s", problem)
	}
}
