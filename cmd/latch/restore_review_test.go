package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/latch-gitops/latch/internal/evidence"
	"github.com/latch-gitops/latch/internal/forgetest"
	"github.com/latch-gitops/latch/internal/gitrepo"
	"github.com/latch-gitops/latch/internal/objectid"
	"github.com/latch-gitops/latch/internal/review"
	"github.com/latch-gitops/latch/internal/reviewflow"
	"github.com/latch-gitops/latch/internal/rolloutrecord"
	"github.com/latch-gitops/latch/internal/testenv"
)

const payRolloutBranch = "latch/prod/_rollout/shop/deployment.apps/pay"

// TestRestoreRevertThroughReview: pay's rollout to version 2 failed at
// 0 %. `latch restore --review always` creates pay at version 1 and
// proposes the revert in exactly one PR, on pay's rollout branch: the base
// branch plus one commit holding pay.yaml at version 1 (the latched scale
// kept) and the record held; main does not move. A second restore without
// --review (latch.yaml's rule for shop says suspicious: a revert is
// suspicious) finds that PR by its marker and opens none.
func TestRestoreRevertThroughReview(t *testing.T) {
	cp := testenv.StartControlPlane(t)
	g := testenv.Gitea(t)
	policy := "apiVersion: latch.dev/v1alpha1\nkind: LatchPolicy\nspec:\n  rules:\n    - name: shop\n      match: {namespaces: [shop]}\n      review: suspicious\n      fields: {spec.replicas: latch}\n"
	v1 := rolloutManifest("pay", "example.com/pay:1", 4, "")
	repo := newForgeRepo(t, g, map[string]string{"latch.yaml": policy, "clusters/prod/pay.yaml": v1})
	commit := func(path, content, msg string) string {
		full := filepath.Join(repo.dir, path)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		git(t, repo.dir, "add", "-A")
		git(t, repo.dir, "-c", "user.name=Person", "-c", "user.email=p@example.com", "commit", "--quiet", "-m", msg)
		return git(t, repo.dir, "rev-parse", "HEAD")
	}
	good := git(t, repo.dir, "rev-parse", "HEAD")
	v2 := strings.Replace(v1, "example.com/pay:1", badImage, 1)
	declared := commit("clusters/prod/pay.yaml", v2, "pay at version 2")
	commit("clusters/prod/pay.yaml", strings.Replace(v2, "replicas: 4", "replicas: 6", 1), "latch: shop/pay replicas 4 → 6")
	ref := objectid.Ref{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "shop", Name: "pay"}
	file, _ := rolloutrecord.Path(ref)
	data, err := rolloutrecord.Build(failedPayRecord(ref, declared, good, 0, 0, "progress deadline exceeded"))
	if err != nil {
		t.Fatal(err)
	}
	commit(file, string(data), "latch: rollout of pay failed")
	git(t, repo.dir, "push", "--quiet", "origin", "HEAD:refs/heads/"+g.Branch)
	mainBefore := repo.head(g.Branch)

	restoreArgs := []string{"--kubeconfig", cp.Kubeconfig, "restore", "--repo", g.CloneURL(), "--cluster-name", "prod", "--forge", "gitea", "--forge-url", g.URL}
	out, err := latch(t, append(restoreArgs, "--review", "always")...)
	if err != nil {
		t.Fatalf("restore: %v\n%s", err, out)
	}
	t.Logf("restore --review always:\n%s", out)
	if strings.Contains(out, g.Token) {
		t.Fatal("the forge token is in latch's output")
	}
	prs := repo.pulls()
	if len(prs) != 1 || prs[0].State != "open" || prs[0].Head.Ref != payRolloutBranch {
		t.Fatalf("want exactly one open PR from %s, got %+v", payRolloutBranch, prs)
	}
	pr := prs[0]
	if want := "revert proposed in PR #" + itoa(int64(pr.Number)); !strings.Contains(out, want) {
		t.Errorf("report lacks %q", want)
	}
	for _, want := range []string{"bad: failed at 0 %", "progress deadline exceeded", "| last good commit | " + good + " |", "pay=example.com/pay:1", "clusters/prod/pay.yaml", "<!-- latch-review "} {
		if !strings.Contains(pr.Body, want) {
			t.Errorf("PR body lacks %q:\n%s", want, pr.Body)
		}
	}
	if repo.head(g.Branch) != mainBefore {
		t.Fatal("the restore moved main")
	}
	if n := repo.commitsAhead(payRolloutBranch); n != "1" {
		t.Fatalf("the rollout branch is %s commits ahead of main, want 1", n)
	}
	if got := repo.show(payRolloutBranch, "clusters/prod/pay.yaml") + "\n"; got != strings.Replace(v1, "replicas: 4", "replicas: 6", 1) {
		t.Fatalf("pay.yaml on the PR branch:\n%s\nwant version 1 at the latched 6", got)
	}
	rec, err := rolloutrecord.Parse(file, []byte(repo.show(payRolloutBranch, file)+"\n"))
	if err != nil || !rec.Held {
		t.Fatalf("record on the PR branch: %+v, %v; want held", rec, err)
	}
	d, err := kubernetes.NewForConfigOrDie(cp.Config).AppsV1().Deployments("shop").Get(testenv.Context(t), "pay", metav1.GetOptions{})
	if err != nil || d.Spec.Template.Spec.Containers[0].Image != "example.com/pay:1" {
		t.Fatalf("pay restored as %+v (%v), want version 1", d.Spec, err)
	}

	branchHead := repo.head(payRolloutBranch)
	out, err = latch(t, restoreArgs...)
	if err != nil {
		t.Fatalf("second restore: %v\n%s", err, out)
	}
	t.Logf("second restore (latch.yaml: suspicious):\n%s", out)
	if prs := repo.pulls(); len(prs) != 1 {
		t.Fatalf("the second restore opened another PR: %+v", prs)
	}
	if repo.head(g.Branch) != mainBefore || repo.head(payRolloutBranch) != branchHead {
		t.Fatal("the second restore moved main or the PR branch")
	}
	if !strings.Contains(out, "revert proposed in PR #"+itoa(int64(pr.Number))) || !strings.Contains(out, "already proposes") {
		t.Errorf("second report does not name the open PR:\n%s", out)
	}
}

// TestRestoreGoesByTheRecordInItsPR: under review mode always the record
// of pay's failed rollout waits in its PR and main has none. Restore reads
// it there, creates pay at its last good version, and the revert takes
// that PR over (same number, now the revert); main does not move.
func TestRestoreGoesByTheRecordInItsPR(t *testing.T) {
	cp := testenv.StartControlPlane(t)
	g := testenv.Gitea(t)
	policy := "apiVersion: latch.dev/v1alpha1\nkind: LatchPolicy\nspec:\n  rules:\n    - name: shop\n      match: {namespaces: [shop]}\n      review: always\n      fields: {spec.replicas: latch}\n"
	v1 := rolloutManifest("pay", "example.com/pay:1", 4, "")
	repo := newForgeRepo(t, g, map[string]string{"latch.yaml": policy, "clusters/prod/pay.yaml": v1})
	good := git(t, repo.dir, "rev-parse", "HEAD")
	if err := os.WriteFile(filepath.Join(repo.dir, "clusters/prod/pay.yaml"), []byte(strings.Replace(v1, "example.com/pay:1", badImage, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	git(t, repo.dir, "-c", "user.name=Person", "-c", "user.email=p@example.com", "commit", "--quiet", "-am", "pay at version 2")
	declared := git(t, repo.dir, "rev-parse", "HEAD")
	git(t, repo.dir, "push", "--quiet", "origin", "HEAD:refs/heads/"+g.Branch)
	mainBefore := repo.head(g.Branch)

	// The follower's record PR, as reviewflow opens it.
	ctx := testenv.Context(t)
	clone, fc := forgetest.Latch(t, g)
	ref := objectid.Ref{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "shop", Name: "pay"}
	rec := failedPayRecord(ref, declared, good, 25, 30, "a new pod is crash-looping")
	file, _ := rolloutrecord.Path(ref)
	flow := &reviewflow.Flow{Repo: clone, Forge: fc, Cluster: "prod", Push: gitrepo.PushOptions{Cluster: "prod"}}
	opened, err := flow.RunRollout(ctx, reviewflow.RolloutItem{Object: ref, Kind: review.Record,
		Key:      review.RecordKey("bad", 25, "failed", false, false),
		Evidence: review.RolloutEvidence{Object: ref, Kind: review.Record, RecordFile: file, Revision: "bad", Health: "failed", Milestone: 25, Percent: 30},
		Edit: func(ctx context.Context, ws gitrepo.Workspace) ([]evidence.Change, error) {
			if _, err := rolloutrecord.Write(ws.Dir, rec); err != nil {
				return nil, err
			}
			return []evidence.Change{{Object: ref, Field: review.RecordField, File: file, To: 25, Observed: 30, Rule: "rollout", Reason: "failed"}}, nil
		}})
	if err != nil || !opened.Created {
		t.Fatalf("record PR: %+v, %v", opened, err)
	}

	out, err := latch(t, "--kubeconfig", cp.Kubeconfig, "restore", "--repo", g.CloneURL(), "--cluster-name", "prod", "--forge", "gitea", "--forge-url", g.URL)
	if err != nil {
		t.Fatalf("restore: %v\n%s", err, out)
	}
	t.Logf("restore:\n%s", out)
	if !strings.Contains(out, "version last-good: rollout of bad failed at 25 %") || !strings.Contains(out, "revert proposed in PR #"+itoa(int64(opened.PR))) {
		t.Fatalf("restore did not go by the record in PR #%d:\n%s", opened.PR, out)
	}
	d, err := kubernetes.NewForConfigOrDie(cp.Config).AppsV1().Deployments("shop").Get(ctx, "pay", metav1.GetOptions{})
	if err != nil || d.Spec.Template.Spec.Containers[0].Image != "example.com/pay:1" {
		t.Fatalf("pay restored as %+v (%v), want version 1", d.Spec, err)
	}
	prs := repo.pulls()
	if len(prs) != 1 || prs[0].Number != opened.PR || !strings.Contains(prs[0].Title, "revert") {
		t.Fatalf("want PR #%d alone, now the revert: %+v", opened.PR, prs)
	}
	if repo.head(g.Branch) != mainBefore {
		t.Fatal("the restore moved main")
	}
	held, err := rolloutrecord.Parse(file, []byte(repo.show(payRolloutBranch, file)+"\n"))
	if err != nil || !held.Held || held.Milestone != 25 {
		t.Fatalf("record on the PR branch: %+v, %v; want the PR's record, held", held, err)
	}
	if got := repo.show(payRolloutBranch, "clusters/prod/pay.yaml") + "\n"; got != v1 {
		t.Fatalf("pay.yaml on the PR branch:\n%s\nwant version 1", got)
	}
}
