package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/latch-gitops/latch/bench/internal/benchdoc"
)

func render(res result, cfg config, machine string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "A repository of %d objects in %d namespaces (`testenv.WriteObjectRepo`: the namespaces, one CRD, and in equal parts Deployments, headless Services, ConfigMaps, HPAs and the CRD's custom resources) on a git remote; two fresh etcd + kube-apiservers. "+
		"`latch restore --repo URL --path manifests --work-dir W` (the real binary: clone into W, render, one LIST per kind, server-side apply in phases, 32 at a time) into the first; `kubectl apply --server-side -R -f manifests` into the second, on the same files, in the same run. The later restores into the first server reuse W, as an operator re-running restore does (a fetch instead of a clone); one more runs without --work-dir, cloning afresh "+
		"(kubectl resolves every kind before applying anything, so the custom resources fail until a second invocation: its time is the sum of the %d invocations it took). "+
		"Wall times of the whole process; latch's requests are its own client's count (discovery included), kubectl's the request lines of its `-v=6` log. Afterwards the servers hold %d (latch) and %d (kubectl) of the %d objects.\n\n",
		cfg.objects, cfg.namespaces, res.kubectl.passes, res.latchHas, res.kubectlHas, res.total)
	var seconds, cpus []time.Duration
	for _, r := range res.second {
		seconds, cpus = append(seconds, r.took), append(cpus, r.cpu)
	}
	ss, cs := benchdoc.Summarise(benchdoc.Seconds(seconds)), benchdoc.Summarise(benchdoc.Seconds(cpus))
	mid := res.second[len(res.second)/2]
	b.WriteString("| run | wall time | latch CPU (user + sys) | requests | objects changed |\n| --- | ---: | ---: | ---: | ---: |\n")
	fmt.Fprintf(&b, "| latch restore into the empty server | %.2f s | %.2f s | %d | %d |\n", res.first.took.Seconds(), res.first.cpu.Seconds(), res.first.requests, res.first.changed)
	fmt.Fprintf(&b, "| latch restore again (median of %d) | %.2f s (%.2f–%.2f) | %.2f s | %d | %d |\n", ss.N, ss.Median, ss.Min, ss.Max, cs.Median, mid.requests, mid.changed)
	fmt.Fprintf(&b, "| latch restore again, fresh clone (no --work-dir) | %.2f s | %.2f s | %d | %d |\n", res.fresh.took.Seconds(), res.fresh.cpu.Seconds(), res.fresh.requests, res.fresh.changed)
	fmt.Fprintf(&b, "| kubectl apply --server-side -R -f, first invocation (custom resources fail) | %.1f s | | | %d |\n", res.kubectl.firstPass.Seconds(), res.total-res.customResources)
	fmt.Fprintf(&b, "| kubectl apply --server-side -R -f, all %d invocations | %.1f s | | %d | %d |\n", res.kubectl.passes, res.kubectl.took.Seconds(), res.kubectl.requests, res.total)
	fmt.Fprintf(&b, "\nlatch restore is **%.1f×** faster than kubectl's invocations together and **%.1f×** faster than its first invocation alone, which leaves out the custom resources (goal ≥ 5×). "+
		"The second restore takes %.2f s wall, %.2f s of CPU (goal ≤ 1 s: %s), with %d requests, and changes %d objects (goal 0): objects the cluster already has as git declares them are not sent; from a fresh clone it takes %.2f s. "+
		"Load average during the run: %s (other work on the machine stretches wall times).\n",
		res.kubectl.took.Seconds()/res.first.took.Seconds(), res.kubectl.firstPass.Seconds()/res.first.took.Seconds(), ss.Median, cs.Median, verdict(ss.Median <= 1), mid.requests, mid.changed, res.fresh.took.Seconds(), res.load)
	return benchdoc.Section(section, "latch restore against kubectl apply --server-side", machine, b.String())
}

func verdict(met bool) string {
	if met {
		return "met"
	}
	return "**missed**"
}
