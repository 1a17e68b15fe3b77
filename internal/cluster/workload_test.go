package cluster

import (
	"context"
	"reflect"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
	ctrlclient "sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/latch-gitops/latch/internal/testenv"
)

func TestListAgainstAPIServer(t *testing.T) {
	cfg := testenv.APIServer(t)
	client := kubernetes.NewForConfigOrDie(cfg)
	reader, err := ctrlclient.New(cfg, ctrlclient.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, ns := range []string{"shop", "db"} {
		if _, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	podTemplate := func(app string) corev1.PodTemplateSpec {
		return corev1.PodTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": app}},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: app, Image: "example.com/" + app}}},
		}
	}
	create := metav1.CreateOptions{FieldManager: "flux"}
	for _, name := range []string{"web", "api"} {
		dep := &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop", Labels: map[string]string{"tier": "front"}},
			Spec: appsv1.DeploymentSpec{
				Replicas: ptr.To[int32](3),
				Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
				Template: podTemplate(name),
			},
		}
		if _, err := client.AppsV1().Deployments("shop").Create(ctx, dep, create); err != nil {
			t.Fatal(err)
		}
	}
	sts := &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: "pg", Namespace: "db"},
		Spec: appsv1.StatefulSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "pg"}},
			Template: podTemplate("pg"),
		},
	}
	if _, err := client.AppsV1().StatefulSets("db").Create(ctx, sts, create); err != nil {
		t.Fatal(err)
	}
	hpa := &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop"},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"},
			MinReplicas:    ptr.To[int32](2),
			MaxReplicas:    500,
		},
	}
	if _, err := client.AutoscalingV2().HorizontalPodAutoscalers("shop").Create(ctx, hpa, create); err != nil {
		t.Fatal(err)
	}
	// Scale web the way the HPA controller does: through /scale.
	scale := &autoscalingv1.Scale{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop"}, Spec: autoscalingv1.ScaleSpec{Replicas: 37}}
	if _, err := client.AppsV1().Deployments("shop").UpdateScale(ctx, "web", scale, metav1.UpdateOptions{FieldManager: "horizontal-pod-autoscaler"}); err != nil {
		t.Fatal(err)
	}

	got, err := List(ctx, reader, "")
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		kind, key, manager string
		replicas           int64
		hpa                *HPA
	}{
		{"Deployment", "shop/api", "flux", 3, nil},
		{"Deployment", "shop/web", "horizontal-pod-autoscaler", 37, &HPA{Name: "web", MinReplicas: 2, MaxReplicas: 500}},
		{"StatefulSet", "db/pg", "flux", 1, nil},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d workloads, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		g := got[i]
		if g.Kind != w.kind || g.NamespacedName() != w.key || g.Replicas != w.replicas || g.ReplicasManager != w.manager {
			t.Errorf("workload %d = %s %s replicas %d manager %q, want %s %s %d %q", i, g.Kind, g.NamespacedName(), g.Replicas, g.ReplicasManager, w.kind, w.key, w.replicas, w.manager)
		}
		if (g.HPA == nil) != (w.hpa == nil) || (g.HPA != nil && !reflect.DeepEqual(*g.HPA, *w.hpa)) {
			t.Errorf("workload %s HPA = %+v, want %+v", w.key, g.HPA, w.hpa)
		}
	}
	if got[1].Labels["tier"] != "front" {
		t.Errorf("labels not carried: %v", got[1].Labels)
	}

	only, err := List(ctx, reader, "db")
	if err != nil {
		t.Fatal(err)
	}
	if len(only) != 1 || only[0].NamespacedName() != "db/pg" {
		t.Errorf("namespace db: %+v", only)
	}
}

func TestReplicasManager(t *testing.T) {
	t1 := metav1.Unix(100, 0)
	t2 := metav1.Unix(200, 0)
	entry := func(manager, raw string, at *metav1.Time) metav1.ManagedFieldsEntry {
		return metav1.ManagedFieldsEntry{Manager: manager, FieldsV1: &metav1.FieldsV1{Raw: []byte(raw)}, Time: at}
	}
	tests := []struct {
		name    string
		entries []metav1.ManagedFieldsEntry
		want    string
	}{
		{"none", nil, ""},
		{"other fields only", []metav1.ManagedFieldsEntry{entry("flux", `{"f:spec":{"f:template":{}}}`, &t1)}, ""},
		{"single owner", []metav1.ManagedFieldsEntry{entry("flux", `{"f:spec":{"f:replicas":{}}}`, &t1)}, "flux"},
		{"latest of two", []metav1.ManagedFieldsEntry{
			entry("flux", `{"f:spec":{"f:replicas":{}}}`, &t1),
			entry("kube-controller-manager", `{"f:spec":{"f:replicas":{}}}`, &t2),
		}, "kube-controller-manager"},
		{"malformed ignored", []metav1.ManagedFieldsEntry{entry("x", `{not json`, &t2), entry("flux", `{"f:spec":{"f:replicas":{}}}`, &t1)}, "flux"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ReplicasManager(tt.entries); got != tt.want {
				t.Errorf("ReplicasManager = %q, want %q", got, tt.want)
			}
		})
	}
}
