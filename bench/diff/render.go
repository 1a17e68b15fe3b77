package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/latch-gitops/latch/bench/internal/benchdoc"
)

func render(res result, cfg config, machine string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "A real etcd + kube-apiserver; a repository declaring %d objects in %d namespaces (a third each: Deployments with two containers, probes, resources in other units than the server stores and ports without protocol; Services with named target ports; ConfigMaps), applied with `kubectl apply -f` (%v), then 5 drifted with kubectl (`set image` ×2, `set env` of a declared variable, `patch configmap`, `patch service`). "+
		"`latch diff --repo` (the real binary, `-o json`, latch.yaml making `spec` and `data` immutable) and `kubectl diff -f` on the same files and server, in the same run. latch's requests are its own client's count (discovery included); kubectl's are the request lines of its `-v=6` log.\n\n",
		cfg.objects, cfg.namespaces, res.applyTook.Round(time.Second))
	var latchTimes []time.Duration
	for _, r := range res.latch {
		latchTimes = append(latchTimes, r.took)
	}
	ls := benchdoc.Summarise(benchdoc.Seconds(latchTimes))
	b.WriteString("| tool | time | requests | drifted objects found | same 5 as planted | false positives |\n| --- | ---: | ---: | ---: | --- | ---: |\n")
	row := func(name string, took string, r toolRun) {
		fmt.Fprintf(&b, "| %s | %s | %d | %d | %s | %d |\n", name, took, r.requests, len(r.found), yesNo(same(r.found, res.drifted)), falsePositives(r.found, res.drifted))
	}
	row(fmt.Sprintf("latch diff (median of %d)", ls.N), fmt.Sprintf("%.2f s (%.2f–%.2f)", ls.Median, ls.Min, ls.Max), res.latch[len(res.latch)/2])
	row("kubectl diff -f", fmt.Sprintf("%.1f s", res.kubectl.took.Seconds()), res.kubectl)
	row("kubectl diff -f --concurrency=16", fmt.Sprintf("%.1f s", res.kubectl16.took.Seconds()), res.kubectl16)
	goal := res.kinds + len(res.drifted)
	fmt.Fprintf(&b, "\nlatch diff is **%.0f×** faster than default `kubectl diff` and **%.0f×** faster than `--concurrency=16` (goal ≥ 20× the default). "+
		"Requests: %d against a goal of ≤ kinds + drifted = %d + %d = %d (latch does not dry-run: one paged LIST per kind plus discovery).\n",
		res.kubectl.took.Seconds()/ls.Median, res.kubectl16.took.Seconds()/ls.Median, res.latch[len(res.latch)/2].requests, res.kinds, len(res.drifted), goal)
	return benchdoc.Section(section, "latch diff against kubectl diff", machine, b.String())
}

func yesNo(ok bool) string {
	if ok {
		return "yes"
	}
	return "**no**"
}

func same(a, b []string) bool { return strings.Join(a, ",") == strings.Join(b, ",") }

func falsePositives(found, planted []string) int {
	want := map[string]bool{}
	for _, p := range planted {
		want[p] = true
	}
	n := 0
	for _, f := range found {
		if !want[f] {
			n++
		}
	}
	return n
}
