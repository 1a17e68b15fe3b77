package controller

import (
	"context"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

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

// TestRunFollowsStatefulSetRollouts: a StatefulSet rollout held by a
// partition (1 of 4: ordinals 1..3 on the new version, Ready) is recorded
// at milestone 75, healthy, naming the new revision and images, with the
// revision the held pod runs as the last good version and its images (read
// from its ControllerRevision): what `latch restore` needs to go forward.
func TestRunFollowsStatefulSetRollouts(t *testing.T) {
	env := testenv.Cluster(t, testenv.ClusterOptions{Nodes: 1})
	remote := testenv.NewGitRemote(t)
	manifest := `apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: db
  namespace: shop
spec:
  replicas: 4
  serviceName: db
  selector:
    matchLabels: {app: db}
  template:
    metadata:
      labels: {app: db}
    spec:
      containers:
        - name: db
          image: example.com/db:1
`
	seedWithPolicy(t, remote, fastPolicy, map[string]string{"apps/db.yaml": manifest})
	ctx := testenv.Context(t)
	if _, err := env.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop"}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	labels := map[string]string{"app": "db"}
	set := &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: "shop"},
		Spec: appsv1.StatefulSetSpec{Replicas: ptr.To(int32(4)), ServiceName: "db", PodManagementPolicy: appsv1.ParallelPodManagement,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "db", Image: "example.com/db:1"}}}}}}
	if _, err := env.Client.AppsV1().StatefulSets("shop").Create(ctx, set, metav1.CreateOptions{FieldManager: "flux"}); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "4 Ready pods of version 1", func() bool {
		s, err := env.Client.AppsV1().StatefulSets("shop").Get(ctx, "db", metav1.GetOptions{})
		return err == nil && s.Status.ReadyReplicas == 4 && s.Status.CurrentRevision == s.Status.UpdateRevision
	})
	startRun(t, env.Config, remote, runSpec{cluster: "kind", followRollouts: true})

	ref := objectid.Ref{Group: "apps", Version: "v1", Kind: "StatefulSet", Namespace: "shop", Name: "db"}
	file, err := rolloutrecord.Path(ref)
	if err != nil {
		t.Fatal(err)
	}
	patch := []byte(`{"spec":{"updateStrategy":{"type":"RollingUpdate","rollingUpdate":{"partition":1}},"template":{"spec":{"containers":[{"name":"db","image":"example.com/db:2"}]}}}}`)
	if _, err := env.Client.AppsV1().StatefulSets("shop").Patch(ctx, "db", types.StrategicMergePatchType, patch, metav1.PatchOptions{FieldManager: "flux"}); err != nil {
		t.Fatal(err)
	}
	var last string
	waitUntil(t, "a record of the StatefulSet's rollout at 75 %, healthy", func() bool {
		data, err := runGitOutput(remote.BareDir, "show", "main:"+file)
		if err != nil {
			return false
		}
		last = data
		r, err := rolloutrecord.Parse(file, []byte(data))
		if err != nil {
			t.Fatalf("latch wrote a record it cannot read: %v\n%s", err, data)
		}
		return r.Milestone == 75 && r.Health == rollout.Healthy && !r.Complete &&
			r.Current.Images["db"] == "example.com/db:2" && r.LastGood.Images["db"] == "example.com/db:1" &&
			r.Current.Revision != "" && r.LastGood.Revision != "" && r.Current.Revision != r.LastGood.Revision
	})
	t.Logf("record:\n%s", last)
}
