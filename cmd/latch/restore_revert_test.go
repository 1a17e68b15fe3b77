package main

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/latch-gitops/latch/internal/objectid"
	"github.com/latch-gitops/latch/internal/rollout"
	"github.com/latch-gitops/latch/internal/rolloutrecord"
	"github.com/latch-gitops/latch/internal/testenv"
)

// TestRestoreGoesBackAndWritesTheRevert: a record says pay's rollout to
// version 2 failed at 0 %. Restore creates pay at version 1 at git's
// latched scale, writes version 1 back into pay's file (the scale kept)
// and marks the record held in one commit with evidence; a second restore
// changes nothing and commits nothing.
func TestRestoreGoesBackAndWritesTheRevert(t *testing.T) {
	cp := testenv.StartControlPlane(t)
	remote := testenv.NewGitRemote(t)
	t.Setenv("LATCH_GIT_USERNAME", remote.Username)
	t.Setenv("LATCH_GIT_PASSWORD", remote.Password)
	human := remote.Human(t)
	v1 := rolloutManifest("pay", "example.com/pay:1", 4, "")
	human.WriteFile("clusters/prod/pay.yaml", v1)
	good := human.Commit("pay at version 1")
	human.WriteFile("clusters/prod/pay.yaml", strings.Replace(v1, "example.com/pay:1", badImage, 1))
	declared := human.Commit("pay at version 2")
	// latch latched the scale since (a digit edit in the same file).
	human.WriteFile("clusters/prod/pay.yaml", strings.Replace(strings.Replace(v1, "example.com/pay:1", badImage, 1), "replicas: 4", "replicas: 6", 1))
	human.Commit("latch: shop/pay replicas 4 → 6")
	ref := objectid.Ref{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "shop", Name: "pay"}
	file, _ := rolloutrecord.Path(ref)
	data, err := rolloutrecord.Build(failedPayRecord(ref, declared, good, 0, 0, "progress deadline exceeded"))
	if err != nil {
		t.Fatal(err)
	}
	human.WriteFile(file, string(data))
	human.Commit("latch: rollout of pay failed")
	human.Push()

	out, err := latch(t, "--kubeconfig", cp.Kubeconfig, "restore", "--repo", remote.URL)
	if err != nil {
		t.Fatalf("restore: %v\n%s", err, out)
	}
	t.Logf("restore:\n%s", out)
	for _, want := range []string{"apps/v1/Deployment/shop/pay replicas 6, version last-good: rollout of bad failed at 0 %: progress deadline exceeded",
		"reverted    apps/v1/Deployment/shop/pay in git"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	ctx := testenv.Context(t)
	d, err := kubernetes.NewForConfigOrDie(cp.Config).AppsV1().Deployments("shop").Get(ctx, "pay", metav1.GetOptions{})
	if err != nil || d.Spec.Template.Spec.Containers[0].Image != "example.com/pay:1" || *d.Spec.Replicas != 6 {
		t.Fatalf("pay restored as %+v (%v), want version 1 at 6", d.Spec, err)
	}
	human.Pull()
	if got := human.ReadFile("clusters/prod/pay.yaml"); got != strings.Replace(v1, "replicas: 4", "replicas: 6", 1) {
		t.Fatalf("pay.yaml after the revert:\n%s\nwant version 1 at the latched 6", got)
	}
	rec, err := rolloutrecord.Parse(file, []byte(human.ReadFile(file)))
	if err != nil || !rec.Held {
		t.Fatalf("record after the revert: %+v, %v; want held", rec, err)
	}
	trailers := git(t, remote.BareDir, "log", "-1", "--format=%(trailers:only,unfold)", "main")
	for _, want := range []string{"Latch-Object: shop/pay", "Latch-Field: rollout.held", "Latch-File: clusters/prod/pay.yaml", "Latch-Rule: restore"} {
		if !strings.Contains(trailers, want) {
			t.Errorf("revert commit trailers lack %q:\n%s", want, trailers)
		}
	}
	head := remote.Head(t, "main")
	out, err = latch(t, "--kubeconfig", cp.Kubeconfig, "restore", "--repo", remote.URL)
	if err != nil || !strings.Contains(out, " 0 changed ") || remote.Head(t, "main") != head {
		t.Fatalf("second restore: %v, head moved %v:\n%s", err, remote.Head(t, "main") != head, out)
	}
}

// failedPayRecord is the rollout record of pay's version 2 (badImage,
// declared by declared) failing at milestone/percent for reason, its last
// good version 1 declared by good.
func failedPayRecord(ref objectid.Ref, declared, good string, milestone, percent int, reason string) rolloutrecord.Record {
	return rolloutrecord.Record{Object: ref,
		Current:   rolloutrecord.Version{Revision: "bad", Commit: declared, Images: map[string]string{"pay": badImage}},
		LastGood:  rolloutrecord.Version{Revision: "good", Commit: good, Images: map[string]string{"pay": "example.com/pay:1"}},
		Milestone: milestone, Percent: percent, Health: rollout.Failed, Reason: reason, Updated: time.Now()}
}
