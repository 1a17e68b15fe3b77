package testenv

import (
	"context"
	_ "embed"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"
)

//go:embed testdata/argo-rollouts-crd.yaml
var argoRolloutsCRD []byte

// ArgoRolloutGVR is Argo Rollouts' resource.
var ArgoRolloutGVR = schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "rollouts"}

// InstallArgoRolloutCRD installs a small Rollout CRD
// (testdata/argo-rollouts-crd.yaml: Argo's names and subresources, no
// schema) and waits until the API server serves it and its discovery
// names it.
func InstallArgoRolloutCRD(t T, cfg *rest.Config, dyn dynamic.Interface) {
	t.Helper()
	ctx := context.Background()
	crd := &unstructured.Unstructured{}
	if err := yaml.Unmarshal(argoRolloutsCRD, &crd.Object); err != nil {
		t.Fatalf("testdata/argo-rollouts-crd.yaml: %v", err)
	}
	if _, err := dyn.Resource(crdGVR).Create(ctx, crd, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating CRD rollouts.argoproj.io: %v", err)
	}
	poll(t, "rollouts.argoproj.io served", func() bool {
		_, err := dyn.Resource(ArgoRolloutGVR).List(ctx, metav1.ListOptions{})
		return err == nil
	})
	waitDiscovered(t, cfg, ArgoRolloutGVR.GroupVersion(), "rollouts", "rollouts/scale", "rollouts/status")
}

// ArgoRollout plays the Argo Rollouts controller for one Rollout in a
// cluster without it: the test says which versions run, and it writes the
// ReplicaSets (owned by the Rollout, labelled rollouts-pod-template-hash),
// their pods and their statuses, and the Rollout's status.
type ArgoRollout struct {
	Client    kubernetes.Interface
	Dyn       dynamic.Interface
	Namespace string
	Name      string
	obj       *unstructured.Unstructured
}

// CreateArgoRollout creates namespace (if needed) and a canary Rollout
// there of replicas pods labelled app: name running image, as a GitOps
// tool would (field manager flux), with no status.
func CreateArgoRollout(t T, cfg *rest.Config, namespace, name string, replicas int64, image string) *ArgoRollout {
	t.Helper()
	ctx := context.Background()
	client := kubernetes.NewForConfigOrDie(cfg)
	dyn := dynamic.NewForConfigOrDie(cfg)
	if _, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	if _, err := client.CoreV1().ServiceAccounts(namespace).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default"}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	u := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(ArgoRolloutManifest(namespace, name, replicas, image)), &u.Object); err != nil {
		t.Fatal(err)
	}
	got, err := dyn.Resource(ArgoRolloutGVR).Namespace(namespace).Create(ctx, u, metav1.CreateOptions{FieldManager: "flux"})
	if err != nil {
		t.Fatalf("creating Rollout %s/%s: %v", namespace, name, err)
	}
	return &ArgoRollout{Client: client, Dyn: dyn, Namespace: namespace, Name: name, obj: got}
}

// ArgoRolloutManifest is the Rollout as git declares it: a canary of
// replicas pods running image, paused after setWeight 75.
func ArgoRolloutManifest(namespace, name string, replicas int64, image string) string {
	return fmt.Sprintf(`apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: %[2]s
  namespace: %[1]s
spec:
  replicas: %[3]d
  selector:
    matchLabels: {app: %[2]s}
  strategy:
    canary:
      steps:
        - setWeight: 25
        - pause: {duration: 10s}
        - setWeight: 75
        - pause: {}
  template:
    metadata:
      labels: {app: %[2]s}
    spec:
      containers:
        - name: %[2]s
          image: %[4]s
`, namespace, name, replicas, image)
}

// Version makes version hash (image) run replicas pods, ready of them
// Ready: its ReplicaSet, created if needed, and its pods, statuses written.
func (a *ArgoRollout) Version(t T, hash, image string, replicas, ready int32) {
	t.Helper()
	ctx := context.Background()
	labels := map[string]string{"app": a.Name, "rollouts-pod-template-hash": hash}
	name := a.Name + "-" + hash
	rsc := a.Client.AppsV1().ReplicaSets(a.Namespace)
	rs, err := rsc.Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		rs, err = rsc.Create(ctx, &appsv1.ReplicaSet{
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels, OwnerReferences: []metav1.OwnerReference{{
				APIVersion: "argoproj.io/v1alpha1", Kind: "Rollout", Name: a.Name, UID: a.obj.GetUID(), Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true)}}},
			Spec: appsv1.ReplicaSetSpec{Replicas: ptr.To(replicas), Selector: &metav1.LabelSelector{MatchLabels: labels},
				Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
					Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: a.Name, Image: image}}}}},
		}, metav1.CreateOptions{FieldManager: "rollouts-controller"})
	} else if err == nil {
		rs.Spec.Replicas = ptr.To(replicas)
		rs, err = rsc.Update(ctx, rs, metav1.UpdateOptions{FieldManager: "rollouts-controller"})
	}
	if err != nil {
		t.Fatalf("ReplicaSet %s/%s: %v", a.Namespace, name, err)
	}
	rs.Status = appsv1.ReplicaSetStatus{Replicas: replicas, ReadyReplicas: ready, AvailableReplicas: ready, ObservedGeneration: rs.Generation}
	if _, err := rsc.UpdateStatus(ctx, rs, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("ReplicaSet %s/%s status: %v", a.Namespace, name, err)
	}
	pods := a.Client.CoreV1().Pods(a.Namespace)
	have, err := pods.List(ctx, metav1.ListOptions{LabelSelector: "rollouts-pod-template-hash=" + hash})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range have.Items {
		var i int32
		if _, err := fmt.Sscanf(p.Name, name+"-%d", &i); err == nil && i >= replicas {
			// Never scheduled: the API server deletes it at once.
			if err := pods.Delete(ctx, p.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
				t.Fatal(err)
			}
		}
	}
	for i := range replicas {
		podName := fmt.Sprintf("%s-%d", name, i)
		p, err := pods.Get(ctx, podName, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			p, err = pods.Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: podName, Labels: labels,
				OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(rs, appsv1.SchemeGroupVersion.WithKind("ReplicaSet"))}},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: a.Name, Image: image}}}}, metav1.CreateOptions{})
		}
		if err != nil {
			t.Fatalf("pod %s/%s: %v", a.Namespace, podName, err)
		}
		status := corev1.ConditionFalse
		if i < ready {
			status = corev1.ConditionTrue
		}
		p.Status.Phase = corev1.PodRunning
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: status}}
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: a.Name, Image: image, Ready: status == corev1.ConditionTrue}}
		if _, err := pods.UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil {
			t.Fatalf("pod %s/%s status: %v", a.Namespace, podName, err)
		}
	}
}

// SetStatus writes the Rollout's status as the controller would, with
// status.observedGeneration the Rollout's generation (as a string, as Argo
// writes it).
func (a *ArgoRollout) SetStatus(t T, status map[string]any) {
	t.Helper()
	ctx := context.Background()
	res := a.Dyn.Resource(ArgoRolloutGVR).Namespace(a.Namespace)
	cur, err := res.Get(ctx, a.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	st := map[string]any{"observedGeneration": fmt.Sprint(cur.GetGeneration())}
	for k, v := range status {
		st[k] = v
	}
	cur.Object["status"] = st
	if a.obj, err = res.UpdateStatus(ctx, cur, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("Rollout %s/%s status: %v", a.Namespace, a.Name, err)
	}
}

// SetImage changes the Rollout's template image, as a GitOps tool applying
// a new commit would.
func (a *ArgoRollout) SetImage(t T, image string) {
	t.Helper()
	patch := fmt.Sprintf(`{"spec":{"template":{"spec":{"containers":[{"name":%q,"image":%q}]}}}}`, a.Name, image)
	got, err := a.Dyn.Resource(ArgoRolloutGVR).Namespace(a.Namespace).Patch(context.Background(), a.Name, "application/merge-patch+json", []byte(patch), metav1.PatchOptions{FieldManager: "flux"})
	if err != nil {
		t.Fatalf("Rollout %s/%s image: %v", a.Namespace, a.Name, err)
	}
	a.obj = got
}
