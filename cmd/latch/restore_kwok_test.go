package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/latch-gitops/latch/internal/objectid"
	"github.com/latch-gitops/latch/internal/rollout"
	"github.com/latch-gitops/latch/internal/rolloutrecord"
	"github.com/latch-gitops/latch/internal/testenv"
)

const badImage = "example.com/pay:bad"

// rolloutManifest is a Deployment as a person writes it, for the kwok
// cluster (fake nodes taint their pods away unless tolerated).
func rolloutManifest(name, image string, replicas int, extra string) string {
	return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ` + name + `
  namespace: shop
spec:
  replicas: ` + itoa(int64(replicas)) + `
` + extra + `  strategy:
    rollingUpdate: {maxSurge: 1, maxUnavailable: 0}
  selector:
    matchLabels: {app: ` + name + `}
  template:
    metadata:
      labels: {app: ` + name + `}
    spec:
      tolerations: [{key: kwok.x-k8s.io/node, operator: Exists}]
      containers:
        - name: ` + name + `
          image: ` + image + `
`
}

// TestRestoreStories runs issue 13's stories (a) and (b) on two kwok
// clusters: on the first, web's rollout to version 2 is paused near 90 %
// (healthy) and pay's rollout to a version whose pods never become Ready
// fails at 0 %; latch sync --once records both. Restored into a fresh
// cluster, web comes back at version 2 at git's scale, and pay at version
// 1: no pod of its failing version is ever created there, and the report
// says why.
func TestRestoreStories(t *testing.T) {
	first := testenv.Cluster(t, testenv.ClusterOptions{NeverReadyImages: []string{badImage}})
	remote := testenv.NewGitRemote(t)
	t.Setenv("LATCH_GIT_USERNAME", remote.Username)
	t.Setenv("LATCH_GIT_PASSWORD", remote.Password)
	human := remote.Human(t)
	webV1 := rolloutManifest("web", "example.com/web:1", 10, "  minReadySeconds: 2\n")
	payV1 := rolloutManifest("pay", "example.com/pay:1", 4, "  progressDeadlineSeconds: 10\n")
	human.WriteFile("clusters/prod/web.yaml", webV1)
	human.WriteFile("clusters/prod/pay.yaml", payV1)
	human.Commit("web and pay at version 1")
	human.Push()
	ctx := testenv.Context(t)

	// The GitOps tool's part on the first cluster: apply the head.
	apply := func(kubeconfig string) string {
		t.Helper()
		out, err := latch(t, "--kubeconfig", kubeconfig, "restore", "--repo", remote.URL)
		if err != nil {
			t.Fatalf("applying the head: %v\n%s", err, out)
		}
		return out
	}
	apply(first.Kubeconfig)
	available := func(c kubernetes.Interface, name string, n int32) func() bool {
		return func() bool {
			d, err := c.AppsV1().Deployments("shop").Get(ctx, name, metav1.GetOptions{})
			return err == nil && d.Status.AvailableReplicas >= n && d.Status.UpdatedReplicas >= n
		}
	}
	testenv.WaitUntil(t, "web at 10 and pay at 4 available", func() bool {
		return available(first.Client, "web", 10)() && available(first.Client, "pay", 4)()
	})

	human.WriteFile("clusters/prod/web.yaml", strings.Replace(webV1, "example.com/web:1", "example.com/web:2", 1))
	human.WriteFile("clusters/prod/pay.yaml", strings.Replace(payV1, "example.com/pay:1", badImage, 1))
	human.Commit("web and pay at version 2")
	human.Push()
	apply(first.Kubeconfig)

	// (a) pause web's rollout once 8 of 10 new pods are available.
	testenv.WaitUntil(t, "web's new ReplicaSet at 8 available", func() bool {
		_, n := newRS(t, first.Client, "web", "example.com/web:2")
		return n >= 8
	})
	if _, err := first.Client.AppsV1().Deployments("shop").Patch(ctx, "web", types.MergePatchType, []byte(`{"spec":{"paused":true}}`), metav1.PatchOptions{FieldManager: "kubectl-rollout"}); err != nil {
		t.Fatal(err)
	}
	// (b) pay's new pods never become Ready: the progress deadline passes.
	testenv.WaitUntil(t, "pay's ProgressDeadlineExceeded", func() bool {
		d, err := first.Client.AppsV1().Deployments("shop").Get(ctx, "pay", metav1.GetOptions{})
		if err != nil {
			return false
		}
		for _, c := range d.Status.Conditions {
			if c.Type == appsv1.DeploymentProgressing && c.Reason == rollout.ReasonProgressDeadlineExceeded {
				return true
			}
		}
		return false
	})

	out, err := latch(t, "--kubeconfig", first.Kubeconfig, "sync", "--once", "--repo", remote.URL, "--state-file", t.TempDir()+"/s.json")
	if err != nil {
		t.Fatalf("sync: %v\n%s", err, out)
	}
	t.Logf("sync on the first cluster:\n%s", out)
	human.Pull()
	records := map[string]*rolloutrecord.Record{}
	for _, name := range []string{"web", "pay"} {
		ref := objectid.Ref{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "shop", Name: name}
		file, _ := rolloutrecord.Path(ref)
		rec, err := rolloutrecord.Parse(file, []byte(human.ReadFile(file)))
		if err != nil {
			t.Fatalf("record of %s: %v", name, err)
		}
		records[name] = rec
	}
	if r := records["web"]; r.Health != rollout.Healthy || r.Milestone < 75 || r.Complete {
		t.Fatalf("web's record %+v, want healthy at 75 %% or more, not complete", r)
	}
	if r := records["pay"]; r.Health != rollout.Failed || r.Milestone > 25 || r.LastGood.Images["pay"] != "example.com/pay:1" {
		t.Fatalf("pay's record %+v, want failed at 25 %% or less with version 1 as last good", r)
	}
	// latch status shows both rollouts in flight beside what git latched.
	out, err = latch(t, "--kubeconfig", first.Kubeconfig, "status", "--repo", remote.URL)
	if err != nil {
		t.Fatalf("status: %v\n%s", err, out)
	}
	t.Logf("status on the first cluster:\n%s", out)
	for name, want := range map[string]string{
		"shop/web": fmt.Sprintf("%% healthy; git: %d%% healthy", records["web"].Milestone),
		"shop/pay": fmt.Sprintf("%% failed; git: %d%% failed", records["pay"].Milestone),
	} {
		if line := lineWith(out, name); !strings.Contains(line, want) {
			t.Errorf("status line of %s %q lacks %q", name, line, want)
		}
	}

	// A fresh cluster; watch every pod from before the restore.
	second := testenv.Cluster(t, testenv.ClusterOptions{NeverReadyImages: []string{badImage}})
	var mu sync.Mutex
	seen := map[string]bool{}
	w, err := second.Client.CoreV1().Pods("").Watch(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	go func() {
		for ev := range w.ResultChan() {
			if p, ok := ev.Object.(*corev1.Pod); ok && len(p.Spec.Containers) > 0 {
				mu.Lock()
				seen[p.Spec.Containers[0].Image] = true
				mu.Unlock()
			}
		}
	}()
	out = apply(second.Kubeconfig)
	t.Logf("restore into a fresh cluster:\n%s", out)
	for _, want := range []string{
		"apps/v1/Deployment/shop/web replicas 10, version new: rollout of",
		"apps/v1/Deployment/shop/pay replicas 4, version last-good: rollout of",
		"failed at 0 %",
		"restored at the last good version",
		"reverted    apps/v1/Deployment/shop/pay in git",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the report lacks %q", want)
		}
	}
	testenv.WaitUntil(t, "web (version 2) at 10 and pay (version 1) at 4 available on the fresh cluster", func() bool {
		return available(second.Client, "web", 10)() && available(second.Client, "pay", 4)()
	})
	for name, image := range map[string]string{"web": "example.com/web:2", "pay": "example.com/pay:1"} {
		d, err := second.Client.AppsV1().Deployments("shop").Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got := d.Spec.Template.Spec.Containers[0].Image; got != image || *d.Spec.Replicas != int32(map[string]int{"web": 10, "pay": 4}[name]) {
			t.Errorf("%s restored at %s × %d, want %s", name, got, *d.Spec.Replicas, image)
		}
	}
	// The revert is in git: pay's file at version 1, its record held.
	human.Pull()
	if got := human.ReadFile("clusters/prod/pay.yaml"); !strings.Contains(got, "image: example.com/pay:1") {
		t.Errorf("pay.yaml after the restore:\n%s\nwant version 1 written back", got)
	}
	payFile, _ := rolloutrecord.Path(objectid.Ref{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "shop", Name: "pay"})
	if rec, err := rolloutrecord.Parse(payFile, []byte(human.ReadFile(payFile))); err != nil || !rec.Held {
		t.Errorf("pay's record after the restore: %+v, %v; want held", rec, err)
	}
	// The watch delivers pod events on its own, so its map may trail the
	// Deployments' status just read: wait for the pods that status counts.
	testenv.WaitUntil(t, "the pod watch seeing pay:1 and web:2 pods", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return seen["example.com/pay:1"] && seen["example.com/web:2"]
	})
	mu.Lock()
	defer mu.Unlock()
	if seen[badImage] {
		t.Fatalf("a pod of pay's failing version was created on the fresh cluster (images seen: %v)", seen)
	}
	if !seen["example.com/pay:1"] || !seen["example.com/web:2"] {
		t.Fatalf("the pod watch saw %v; want pay:1 and web:2 pods", seen)
	}
}

// newRS returns the image and available count of name's ReplicaSet that
// runs image.
func newRS(t *testing.T, c kubernetes.Interface, name, image string) (string, int32) {
	t.Helper()
	list, err := c.AppsV1().ReplicaSets("shop").List(context.Background(), metav1.ListOptions{LabelSelector: "app=" + name})
	if err != nil {
		return "", 0
	}
	for _, rs := range list.Items {
		if rs.Spec.Template.Spec.Containers[0].Image == image {
			return image, rs.Status.AvailableReplicas
		}
	}
	return "", 0
}

// lineWith is the first line of out that contains part ("" when none).
func lineWith(out, part string) string {
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, part) {
			return line
		}
	}
	return ""
}
