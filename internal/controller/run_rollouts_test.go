package controller

import (
	"context"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/latch-gitops/latch/internal/objectid"
	"github.com/latch-gitops/latch/internal/rollout"
	"github.com/latch-gitops/latch/internal/rolloutrecord"
	"github.com/latch-gitops/latch/internal/testenv"
)

// TestRunFollowsRolloutsFromCache: latch run's rollout follower reads
// Deployments and ReplicaSets from its stripped informer caches (no LIST of
// every object per pass). On a whole cluster (controller manager, kwok
// nodes) a new image starts to roll out, and the record latch keeps in git
// names the new version with its images (from the cached ReplicaSet), not
// complete and not healthy (from the cached Deployment status: no new pod
// is available).
func TestRunFollowsRolloutsFromCache(t *testing.T) {
	// Version 2's pods never become Ready, so its rollout stays in flight
	// until latch has seen it: one that finished between two passes would
	// leave nothing to record (rollout.Next: nothing in flight, no record).
	env := testenv.Cluster(t, testenv.ClusterOptions{Nodes: 1, NeverReadyImages: []string{"example.com/web:2"}})
	remote := testenv.NewGitRemote(t)
	seedWithPolicy(t, remote, fastPolicy, map[string]string{"apps/web.yaml": manifestFor("shop", "web", 3, 0)})
	createWorkload(t, env.Client, "shop", "web", 3, 0)
	startRun(t, env.Config, remote, runSpec{cluster: "kind", followRollouts: true})

	ref := objectid.Ref{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "shop", Name: "web"}
	file, err := rolloutrecord.Path(ref)
	if err != nil {
		t.Fatal(err)
	}
	record := func() *rolloutrecord.Record {
		data, err := runGitOutput(remote.BareDir, "show", "main:"+file)
		if err != nil {
			return nil
		}
		rec, err := rolloutrecord.Parse(file, []byte(data))
		if err != nil {
			t.Fatalf("latch wrote a record it cannot read: %v\n%s", err, data)
		}
		return rec
	}
	patch := []byte(`{"spec":{"template":{"spec":{"containers":[{"name":"web","image":"example.com/web:2"}]}}}}`)
	if _, err := env.Client.AppsV1().Deployments("shop").Patch(context.Background(), "web", types.StrategicMergePatchType, patch, metav1.PatchOptions{FieldManager: "flux"}); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "a record of version 2's rollout in flight", func() bool {
		r := record()
		return r != nil && !r.Complete && r.Health != rollout.Healthy && r.Current.Images["web"] == "example.com/web:2" && r.Current.Revision != ""
	})
}
