package main

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"strconv"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/latch-gitops/latch/internal/controller"
	"github.com/latch-gitops/latch/internal/restoreflow"
	"github.com/latch-gitops/latch/internal/testenv"
)

// latch runs the CLI in-process and returns stdout (and stderr on failure).
func latch(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := newRootCommand(&stdout, &stderr)
	cmd.SetArgs(args)
	err := cmd.Execute()
	if err != nil {
		return stdout.String() + stderr.String(), err
	}
	return stdout.String(), nil
}

// TestRestoreSampleRepo: latch the sample repository from one cluster,
// then restore it into an empty API server: namespaces, Deployments at the
// latched scales (plain manifest and Kustomize replicas), the HPA; the
// Helm-values workload is reported as skipped. A second restore changes
// nothing (every resourceVersion stays). Bad input applies nothing.
func TestRestoreSampleRepo(t *testing.T) {
	source := testenv.StartControlPlane(t)
	remote := testenv.NewGitRemote(t)
	human := seedSample(t, remote)
	t.Setenv("LATCH_GIT_USERNAME", remote.Username)
	t.Setenv("LATCH_GIT_PASSWORD", remote.Password)
	createWorkloads(t, kubernetes.NewForConfigOrDie(source.Config), sampleLive(sampleObserved))
	out, err := latch(t, "--kubeconfig", source.Kubeconfig, "sync", "--once", "--repo", remote.URL, "--state-file", t.TempDir()+"/s.json", "-o", "json")
	if err != nil {
		t.Fatalf("sync: %v\n%s", err, out)
	}
	var synced controller.Outcome
	if err := json.Unmarshal([]byte(out), &synced); err != nil {
		t.Fatal(err)
	}
	latched := map[string]int64{}
	for _, c := range synced.Result.Changes {
		latched[c.Object.Name] = c.To
	}
	if latched["web"] == 0 || latched["api"] == 0 {
		t.Fatalf("sync latched %v, want web and api", latched)
	}

	target := testenv.StartControlPlane(t)
	client := kubernetes.NewForConfigOrDie(target.Config)
	restore := func(extra ...string) (*restoreflow.Report, string, error) {
		t.Helper()
		out, err := latch(t, append([]string{"--kubeconfig", target.Kubeconfig, "restore", "--repo", remote.URL}, extra...)...)
		if err != nil {
			return nil, out, err
		}
		var rep restoreflow.Report
		if strings.Contains(strings.Join(extra, " "), "json") {
			if err := json.Unmarshal([]byte(out), &rep); err != nil {
				t.Fatalf("json: %v\n%s", err, out)
			}
		}
		return &rep, out, nil
	}

	// Dry run: the plan, nothing applied.
	_, out, err = restore("--dry-run")
	if err != nil {
		t.Fatalf("dry run: %v\n%s", err, out)
	}
	t.Logf("dry run:\n%s", out)
	if _, err := client.CoreV1().Namespaces().Get(context.Background(), "shop", metav1.GetOptions{}); err == nil {
		t.Fatal("a dry run created namespace shop")
	}

	_, out, err = restore()
	if err != nil {
		t.Fatalf("restore: %v\n%s", err, out)
	}
	t.Logf("restore:\n%s", out)
	for _, want := range []string{"created     apps/v1/Deployment/shop/web replicas " + itoa(latched["web"]), "skipped     apps/v1/Deployment/shop/worker"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	ctx := testenv.Context(t)
	for name, want := range latched {
		if name == "worker" {
			if _, err := client.AppsV1().Deployments("shop").Get(ctx, name, metav1.GetOptions{}); err == nil {
				t.Error("the Helm-values workload was applied from its markers")
			}
			continue
		}
		d, err := client.AppsV1().Deployments("shop").Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("Deployment shop/%s not restored: %v", name, err)
		}
		if got := int64(*d.Spec.Replicas); got != want {
			t.Errorf("shop/%s restored at %d replicas, want the latched %d", name, got, want)
		}
		managers := map[string]bool{}
		for _, m := range d.ManagedFields {
			managers[m.Manager] = true
		}
		if !managers["latch-restore"] || len(managers) != 1 {
			t.Errorf("shop/%s field managers %v, want latch-restore only", name, managers)
		}
	}
	hpa, err := client.AutoscalingV2().HorizontalPodAutoscalers("shop").Get(ctx, "web", metav1.GetOptions{})
	if err != nil || *hpa.Spec.MinReplicas != 2 || hpa.Spec.MaxReplicas != 500 {
		t.Fatalf("HPA shop/web: %v %+v", err, hpa)
	}
	versions := func() map[string]string {
		out := map[string]string{}
		deps, _ := client.AppsV1().Deployments("shop").List(ctx, metav1.ListOptions{})
		for _, d := range deps.Items {
			out["deployment/"+d.Name] = d.ResourceVersion
		}
		hpas, _ := client.AutoscalingV2().HorizontalPodAutoscalers("shop").List(ctx, metav1.ListOptions{})
		for _, h := range hpas.Items {
			out["hpa/"+h.Name] = h.ResourceVersion
		}
		ns, _ := client.CoreV1().Namespaces().Get(ctx, "shop", metav1.GetOptions{})
		out["namespace/shop"] = ns.ResourceVersion
		return out
	}
	before := versions()

	rep, out, err := restore("-o", "json")
	if err != nil {
		t.Fatalf("second restore: %v\n%s", err, out)
	}
	if rep.Changed != 0 || rep.Counts[restoreflow.Unchanged] != len(rep.Results) {
		t.Fatalf("second restore changed %d (counts %v), want 0", rep.Changed, rep.Counts)
	}
	if after := versions(); !maps.Equal(before, after) {
		t.Fatalf("second restore changed resourceVersions:\n%v\n%v", before, after)
	}

	// Bad input: a manifest that does not parse stops everything, and the
	// valid object beside it is not applied either.
	human.Pull()
	human.WriteFile("clusters/prod/settings.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings, namespace: shop}\ndata: {a: b}\n")
	human.WriteFile("clusters/prod/broken.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: broken\n")
	human.Commit("a broken manifest")
	human.Push()
	_, out, err = restore()
	if err == nil || !strings.Contains(out, "clusters/prod/broken.yaml") || !strings.Contains(out, "nothing applied") {
		t.Fatalf("restore of a broken repo: %v\n%s", err, out)
	}
	if _, err := client.CoreV1().ConfigMaps("shop").Get(ctx, "settings", metav1.GetOptions{}); err == nil {
		t.Fatal("a restore refused for bad input applied an object")
	}
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }
