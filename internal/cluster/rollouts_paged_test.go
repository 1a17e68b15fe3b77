package cluster

import (
	"context"
	"fmt"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	ctrlclient "sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/latch-gitops/latch/internal/testenv"
)

// countingReader counts the LIST requests of each list type it passes on.
type countingReader struct {
	ctrlclient.Reader
	deployments, replicaSets atomic.Int64
	// unstructured counts LISTs of custom kinds (Argo Rollouts).
	unstructured atomic.Int64
}

func (r *countingReader) List(ctx context.Context, list ctrlclient.ObjectList, opts ...ctrlclient.ListOption) error {
	switch list.(type) {
	case *appsv1.DeploymentList:
		r.deployments.Add(1)
	case *appsv1.ReplicaSetList:
		r.replicaSets.Add(1)
	case *unstructured.UnstructuredList:
		r.unstructured.Add(1)
	}
	return r.Reader.List(ctx, list, opts...)
}

// TestListRolloutsPages: with two objects a page, five Deployments and
// their five ReplicaSets take three LISTs each against a real API server,
// and every Deployment still finds its own ReplicaSet across pages.
func TestListRolloutsPages(t *testing.T) {
	cfg := testenv.APIServer(t)
	client := kubernetes.NewForConfigOrDie(cfg)
	ctx := testenv.Context(t)
	if _, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "paged"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		name := fmt.Sprintf("app-%d", i)
		labels := map[string]string{"app": name}
		tmpl := corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "main", Image: fmt.Sprintf("example.com/%s:%d", name, i)}}}}
		dep, err := client.AppsV1().Deployments("paged").Create(ctx, &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec:       appsv1.DeploymentSpec{Replicas: ptr.To(int32(3)), Selector: &metav1.LabelSelector{MatchLabels: labels}, Template: tmpl},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		// No controller-manager runs here: the ReplicaSet the Deployment
		// controller would make, owned by the Deployment.
		rsLabels := map[string]string{"app": name, "pod-template-hash": fmt.Sprintf("h%d", i)}
		rsTmpl := tmpl
		rsTmpl.Labels = rsLabels
		_, err = client.AppsV1().ReplicaSets("paged").Create(ctx, &appsv1.ReplicaSet{
			ObjectMeta: metav1.ObjectMeta{Name: name + "-rs", Labels: rsLabels,
				Annotations:     map[string]string{revisionAnnotation: "1", "kubectl.kubernetes.io/last-applied-configuration": "{}"},
				OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(dep, appsv1.SchemeGroupVersion.WithKind("Deployment"))}},
			Spec: appsv1.ReplicaSetSpec{Replicas: ptr.To(int32(3)), Selector: &metav1.LabelSelector{MatchLabels: rsLabels}, Template: rsTmpl},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
	}
	base, err := ctrlclient.New(cfg, ctrlclient.Options{})
	if err != nil {
		t.Fatal(err)
	}
	reader := &countingReader{Reader: base}
	src := LiveRollouts(reader)
	src.Page = 2
	at := time.Now()
	got, err := ListRollouts(ctx, src, "paged", at)
	if err != nil {
		t.Fatal(err)
	}
	if d, r := reader.deployments.Load(), reader.replicaSets.Load(); d != 3 || r != 3 {
		t.Errorf("LISTs of Deployments %d, of ReplicaSets %d; want 3 pages each for 5 objects at 2 a page", d, r)
	}
	if len(got) != 5 {
		t.Fatalf("%d rollouts, want 5: %+v", len(got), got)
	}
	for i, r := range got {
		name := fmt.Sprintf("app-%d", i)
		if r.Name != name || r.Snapshot.Revision != fmt.Sprintf("h%d", i) || r.NewImages["main"] != fmt.Sprintf("example.com/%s:%d", name, i) ||
			r.Snapshot.Desired != 3 || r.Snapshot.NewReplicas != 3 {
			t.Errorf("rollout %d: %s revision %q images %v snapshot %+v", i, r.Name, r.Snapshot.Revision, r.NewImages, r.Snapshot)
		}
	}

	// latch run's source: the same rollouts from an informer cache that
	// strips each object as it arrives (Strip), pods live.
	informers := strippedCache(t, ctx, cfg)
	cached, err := ListRollouts(ctx, CachedRollouts(informers, base), "paged", at)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cached, got) {
		t.Errorf("from the stripped cache:\n%+v\nlive:\n%+v", cached, got)
	}
	var stored appsv1.ReplicaSetList
	if err := informers.List(ctx, &stored); err != nil || len(stored.Items) != 5 {
		t.Fatalf("cached ReplicaSets %d, %v", len(stored.Items), err)
	}
	if rs := stored.Items[0]; rs.Annotations["kubectl.kubernetes.io/last-applied-configuration"] != "" || len(rs.ManagedFields) != 0 {
		t.Errorf("the cache keeps a whole ReplicaSet: %+v", rs.ObjectMeta)
	}
}

// strippedCache is latch run's informer cache on cfg, stripping each object
// as it arrives (Strip), started and synced; it stops when the test ends.
func strippedCache(t *testing.T, ctx context.Context, cfg *rest.Config) cache.Cache {
	t.Helper()
	informers, err := cache.New(cfg, cache.Options{DefaultTransform: Strip})
	if err != nil {
		t.Fatal(err)
	}
	cacheCtx, stop := context.WithCancel(ctx)
	t.Cleanup(stop)
	go func() { _ = informers.Start(cacheCtx) }()
	if !informers.WaitForCacheSync(ctx) {
		t.Fatal("cache did not sync")
	}
	return informers
}
