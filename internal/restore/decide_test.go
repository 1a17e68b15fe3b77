package restore

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/latch-gitops/latch/internal/manifest"
	"github.com/latch-gitops/latch/internal/objectid"
	"github.com/latch-gitops/latch/internal/objtree"
	"github.com/latch-gitops/latch/internal/rollout"
	"github.com/latch-gitops/latch/internal/rolloutrecord"
)

var (
	webRef = objectid.Ref{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "shop", Name: "web"}
	hpaRef = objectid.Ref{Group: "autoscaling", Version: "v2", Kind: "HorizontalPodAutoscaler", Namespace: "shop", Name: "web"}
	crdRef = objectid.Ref{Group: "apiextensions.k8s.io", Version: "v1", Kind: "CustomResourceDefinition", Name: "pools.example.com"}
	nsRef  = objectid.Ref{Version: "v1", Kind: "Namespace", Name: "db"}
)

const (
	commitNew = "2222222222222222222222222222222222222222"
	commitOld = "1111111111111111111111111111111111111111"
)

func deployment(image string, replicas int64) *manifest.Declared {
	return &manifest.Declared{Ref: webRef, Origin: manifest.Position{File: "clusters/prod/web.yaml", Line: 1}, Object: map[string]any{
		"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": map[string]any{"name": "web", "namespace": "shop"},
		"spec": map[string]any{"replicas": replicas, "template": map[string]any{"spec": map[string]any{
			"containers": []any{map[string]any{"name": "web", "image": image}}}}},
		"status": map[string]any{"replicas": int64(3)},
	}}
}

func hpa() *manifest.Declared {
	return &manifest.Declared{Ref: hpaRef, Origin: manifest.Position{File: "clusters/prod/web.yaml", Line: 20}, Object: map[string]any{
		"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
		"metadata": map[string]any{"name": "web", "namespace": "shop"},
		"spec":     map[string]any{"minReplicas": int64(2), "maxReplicas": int64(50)},
	}}
}

func record(health rollout.Health, milestone int, mutate ...func(*rolloutrecord.Record)) *rolloutrecord.Set {
	r := &rolloutrecord.Record{Object: webRef,
		Current:   rolloutrecord.Version{Revision: "new-hash", Commit: commitNew, Images: map[string]string{"web": "example.com/web:2"}},
		LastGood:  rolloutrecord.Version{Revision: "old-hash", Commit: commitOld, Images: map[string]string{"web": "example.com/web:1"}},
		Milestone: milestone, Percent: milestone + 5, Health: health, Reason: "because", Updated: time.Unix(0, 0)}
	for _, m := range mutate {
		m(r)
	}
	return &rolloutrecord.Set{Records: map[objectid.Key]*rolloutrecord.Record{webRef.Key(): r},
		Files: map[objectid.Key]string{webRef.Key(): ".latch/rollouts/shop/deployment-web.md"}}
}

func lastGood(d *manifest.Declared) map[objectid.Key]*manifest.Declared {
	return map[objectid.Key]*manifest.Declared{webRef.Key(): d}
}

func TestDecide(t *testing.T) {
	type want struct {
		version  Version
		image    string
		replicas int64
		whyPart  string
		failure  string
		problem  string
		reverted bool
	}
	tests := []struct {
		name string
		in   Input
		want want
	}{
		{
			name: "no record: as git, at the latched scale",
			in:   Input{Objects: []*manifest.Declared{deployment("example.com/web:2", 40), hpa()}},
			want: want{version: AsGit, image: "example.com/web:2", replicas: 40},
		},
		{
			name: "story (a): healthy at 90 %, milestone 75: forward",
			in:   Input{Objects: []*manifest.Declared{deployment("example.com/web:2", 10), hpa()}, Records: record(rollout.Healthy, 75)},
			want: want{version: Forward, image: "example.com/web:2", replicas: 10, whyPart: "healthy at 80 % (milestone 75 % ≥ 75 %)"},
		},
		{
			name: "healthy but below the threshold: back, at git's scale",
			in: Input{Objects: []*manifest.Declared{deployment("example.com/web:2", 10), hpa()}, Records: record(rollout.Healthy, 50),
				LastGood: lastGood(deployment("example.com/web:1", 3))},
			want: want{version: Back, image: "example.com/web:1", replicas: 10, whyPart: "only at 55 %", reverted: true},
		},
		{
			name: "a lower threshold takes it forward",
			in: Input{Objects: []*manifest.Declared{deployment("example.com/web:2", 10)}, Records: record(rollout.Healthy, 50),
				ForwardThreshold: 50},
			want: want{version: Forward, image: "example.com/web:2", replicas: 10},
		},
		{
			name: "story (b): failed at 0 %: back to the last good image",
			in: Input{Objects: []*manifest.Declared{deployment("example.com/web:2", 4), hpa()}, Records: record(rollout.Failed, 0),
				LastGood: lastGood(deployment("example.com/web:1", 4))},
			want: want{version: Back, image: "example.com/web:1", replicas: 4, whyPart: "failed at 0 %: because", reverted: true},
		},
		{
			name: "failed even past the threshold: back",
			in: Input{Objects: []*manifest.Declared{deployment("example.com/web:2", 4)}, Records: record(rollout.Failed, 75),
				LastGood: lastGood(deployment("example.com/web:1", 4))},
			want: want{version: Back, image: "example.com/web:1", replicas: 4, reverted: true},
		},
		{
			name: "progressing with nothing available: back",
			in: Input{Objects: []*manifest.Declared{deployment("example.com/web:2", 4)}, Records: record(rollout.Progressing, 0),
				LastGood: lastGood(deployment("example.com/web:1", 4))},
			want: want{version: Back, image: "example.com/web:1", replicas: 4, whyPart: "no pod of the new version", reverted: true},
		},
		{
			name: "sent back with no last good commit: not applied",
			in: Input{Objects: []*manifest.Declared{deployment("example.com/web:2", 4)},
				Records: record(rollout.Failed, 0, func(r *rolloutrecord.Record) { r.LastGood = rolloutrecord.Version{} })},
			want: want{failure: "names no last good commit"},
		},
		{
			name: "sent back, the last good commit does not declare it: not applied",
			in: Input{Objects: []*manifest.Declared{deployment("example.com/web:2", 4)}, Records: record(rollout.Failed, 0),
				LastGood: lastGood(nil)},
			want: want{failure: "does not declare it"},
		},
		{
			name: "sent back, last good not rendered: not applied",
			in:   Input{Objects: []*manifest.Declared{deployment("example.com/web:2", 4)}, Records: record(rollout.Failed, 0)},
			want: want{failure: "was not rendered"},
		},
		{
			name: "held: git declares the last good version again",
			in: Input{Objects: []*manifest.Declared{deployment("example.com/web:1", 4)},
				Records: record(rollout.Failed, 0, func(r *rolloutrecord.Record) { r.Held = true })},
			want: want{version: AsGit, image: "example.com/web:1", replicas: 4, whyPart: "held"},
		},
		{
			name: "complete: as git",
			in: Input{Objects: []*manifest.Declared{deployment("example.com/web:2", 4)},
				Records: record(rollout.Healthy, 100, func(r *rolloutrecord.Record) { r.Complete = true })},
			want: want{version: AsGit, image: "example.com/web:2", replicas: 4, whyPart: "completed"},
		},
		{
			name: "git declares a newer template than the record: as git",
			in:   Input{Objects: []*manifest.Declared{deployment("example.com/web:3", 4)}, Records: record(rollout.Failed, 0)},
			want: want{version: AsGit, image: "example.com/web:3", replicas: 4, whyPart: "newer template (web=example.com/web:3)"},
		},
		{
			name: "live, scaled by the autoscaler: its scale stands",
			in: Input{Objects: []*manifest.Declared{deployment("example.com/web:2", 40)},
				Live: map[objectid.Key]Live{webRef.Key(): {ReplicasManager: "kube-controller-manager"}}},
			want: want{version: AsGit, image: "example.com/web:2", replicas: -1, whyPart: "live scale kept (owned by kube-controller-manager)"},
		},
		{
			name: "live, scale from an earlier restore: applied again (a no-op)",
			in: Input{Objects: []*manifest.Declared{deployment("example.com/web:2", 40)},
				Live: map[objectid.Key]Live{webRef.Key(): {ReplicasManager: Manager}}},
			want: want{version: AsGit, image: "example.com/web:2", replicas: 40},
		},
		{
			name: "a broken manifest stops everything",
			in: Input{Objects: []*manifest.Declared{deployment("example.com/web:2", 4)},
				Problems: []manifest.Problem{{File: "clusters/prod/api.yaml", Line: 3, Message: "did not find expected key"}}},
			want: want{problem: "clusters/prod/api.yaml:3: did not find expected key"},
		},
		{
			name: "a broken record stops everything",
			in: Input{Objects: []*manifest.Declared{deployment("example.com/web:2", 4)},
				RecordErrors: []error{errors.New(".latch/rollouts/shop/deployment-web.md: field health: \"fine\" is not one of progressing, healthy, failed")}},
			want: want{problem: "deployment-web.md: field health"},
		},
		{
			name: "an object declared twice stops everything",
			in:   Input{Objects: []*manifest.Declared{deployment("example.com/web:2", 4), deployment("example.com/web:2", 5)}},
			want: want{problem: "declared twice"},
		},
		{
			name: "a record of an object git does not declare stops everything",
			in:   Input{Objects: []*manifest.Declared{hpa()}, Records: record(rollout.Healthy, 75)},
			want: want{problem: "deployment-web.md: field object: apps/v1/Deployment/shop/web is not declared in git"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			plan := Decide(tc.in)
			if tc.want.problem != "" {
				if len(plan.Problems) == 0 || !strings.Contains(strings.Join(plan.Problems, "\n"), tc.want.problem) || len(plan.Actions) != 0 {
					t.Fatalf("problems %q, actions %d; want only a problem containing %q", plan.Problems, len(plan.Actions), tc.want.problem)
				}
				return
			}
			if len(plan.Problems) > 0 {
				t.Fatalf("problems: %q", plan.Problems)
			}
			if tc.want.failure != "" {
				if len(plan.Failures) != 1 || !strings.Contains(plan.Failures[0].Why, tc.want.failure) {
					t.Fatalf("failures %+v, want one containing %q", plan.Failures, tc.want.failure)
				}
				for _, a := range plan.Actions {
					if a.Ref == webRef {
						t.Fatalf("the failed workload is applied anyway: %+v", a)
					}
				}
				return
			}
			var web *Action
			for i := range plan.Actions {
				if plan.Actions[i].Ref == webRef {
					web = &plan.Actions[i]
				}
			}
			if web == nil {
				t.Fatalf("no action for web: %+v (failures %+v)", plan.Actions, plan.Failures)
			}
			if web.Version != tc.want.version || Images(web.Body)["web"] != tc.want.image || web.Replicas != tc.want.replicas {
				t.Fatalf("web: version %s image %s replicas %d; want %s %s %d (%s)", web.Version, Images(web.Body)["web"], web.Replicas,
					tc.want.version, tc.want.image, tc.want.replicas, web.Why)
			}
			if r, ok := objtree.Int(web.Body, "spec", "replicas"); ok != (tc.want.replicas >= 0) || (ok && r != tc.want.replicas) {
				t.Fatalf("body spec.replicas = %d (%v), want %d", r, ok, tc.want.replicas)
			}
			if !strings.Contains(web.Why, tc.want.whyPart) {
				t.Errorf("why %q, want it to contain %q", web.Why, tc.want.whyPart)
			}
			if _, has := web.Body["status"]; has {
				t.Error("status is applied")
			}
			if got := len(plan.Reverts) == 1; got != tc.want.reverted {
				t.Errorf("reverts %+v, want reverted %v", plan.Reverts, tc.want.reverted)
			}
			if tc.want.reverted {
				r := plan.Reverts[0]
				if r.File != "clusters/prod/web.yaml" || r.Replicas != tc.want.replicas || r.Images["web"] != tc.want.image || r.LastGood != commitOld {
					t.Errorf("revert %+v, want web.yaml back to %s at %d replicas", r, tc.want.image, tc.want.replicas)
				}
			}
		})
	}
}

func TestDecideDoesNotChangeItsInput(t *testing.T) {
	head, old := deployment("example.com/web:2", 10), deployment("example.com/web:1", 3)
	Decide(Input{Objects: []*manifest.Declared{head}, Records: record(rollout.Failed, 0), LastGood: lastGood(old)})
	if _, ok := head.Object["status"]; !ok || Images(old.Object)["web"] != "example.com/web:1" {
		t.Fatal("Decide edited git's objects")
	}
	if r, _ := objtree.Int(old.Object, "spec", "replicas"); r != 3 {
		t.Fatalf("Decide edited the last good object's replicas to %d", r)
	}
}

func TestPhasesAndNamespaces(t *testing.T) {
	pool := &manifest.Declared{Ref: objectid.Ref{Group: "example.com", Version: "v1", Kind: "Pool", Namespace: "db", Name: "p"},
		Object: map[string]any{"apiVersion": "example.com/v1", "kind": "Pool", "metadata": map[string]any{"name": "p", "namespace": "db"}}}
	crd := &manifest.Declared{Ref: crdRef, Object: map[string]any{"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "metadata": map[string]any{"name": crdRef.Name}}}
	ns := &manifest.Declared{Ref: nsRef, Object: map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": "db"}}}
	worker := &manifest.Declared{Ref: objectid.Ref{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "jobs", Name: "worker"}, Partial: true,
		Object: map[string]any{"spec": map[string]any{"replicas": int64(2)}}}
	plan := Decide(Input{Objects: []*manifest.Declared{pool, deployment("example.com/web:1", 3), hpa(), crd, ns, worker}})
	var got []string
	for _, a := range plan.Actions {
		got = append(got, a.Phase.String()+" "+a.Ref.String())
	}
	want := []string{
		"namespaces v1/Namespace//db",
		"namespaces v1/Namespace//shop", // not declared: created for web and its HPA
		"custom resource definitions apiextensions.k8s.io/v1/CustomResourceDefinition//pools.example.com",
		"objects apps/v1/Deployment/shop/web",
		"objects autoscaling/v2/HorizontalPodAutoscaler/shop/web",
		"objects example.com/v1/Pool/db/p",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("actions:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(plan.Skipped) != 1 || !strings.Contains(plan.Skipped[0].Why, "Helm") {
		t.Fatalf("skipped %+v, want the Helm-values workload", plan.Skipped)
	}
	// A namespace the cluster has is not created again.
	plan = Decide(Input{Objects: []*manifest.Declared{deployment("example.com/web:1", 3)},
		Live: map[objectid.Key]Live{{Kind: "Namespace", Name: "shop"}: {}}})
	if len(plan.Actions) != 1 || plan.Actions[0].Ref != webRef {
		t.Fatalf("actions %+v, want web only", plan.Actions)
	}
}

func TestLastGoodCommits(t *testing.T) {
	objs := []*manifest.Declared{deployment("example.com/web:2", 4)}
	if got := LastGoodCommits(objs, record(rollout.Failed, 0), 0); len(got[commitOld]) != 1 || got[commitOld][0] != webRef {
		t.Fatalf("LastGoodCommits = %v, want web at %s", got, commitOld)
	}
	if got := LastGoodCommits(objs, record(rollout.Healthy, 75), 0); len(got) != 0 {
		t.Fatalf("LastGoodCommits(forward) = %v, want none", got)
	}
}
