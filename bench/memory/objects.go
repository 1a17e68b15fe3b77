package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
)

// perNamespace Deployments share a namespace (and a git file).
const perNamespace = 100

// declaredReplicas is both what git declares and the live scale the
// "HPA" sets, so latch has nothing to commit: the benchmark measures
// watching, not committing.
const declaredReplicas = 10

func namespaceOf(i int) string { return fmt.Sprintf("bench-%03d", i/perNamespace) }
func nameOf(i int) string      { return fmt.Sprintf("svc-%05d", i) }

// hasHPA: every other Deployment is autoscaled (N/2 HPAs).
func hasHPA(i int) bool { return i%2 == 0 }

// deployment is a realistic object as kubectl apply leaves it: labels, a
// pod template with two containers (env, resources, probes), and the
// last-applied-configuration annotation holding the whole object as JSON.
func deployment(i int) (*appsv1.Deployment, error) {
	name, ns := nameOf(i), namespaceOf(i)
	labels := map[string]string{
		"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": "shop",
		"app.kubernetes.io/managed-by": "kubectl", "team": fmt.Sprintf("team-%02d", i%40), "tier": "backend",
	}
	env := []corev1.EnvVar{
		{Name: "LOG_LEVEL", Value: "info"}, {Name: "HTTP_PORT", Value: "8080"},
		{Name: "DATABASE_URL", Value: fmt.Sprintf("postgres://%s@db.%s.svc:5432/%s?sslmode=require", name, ns, name)},
		{Name: "CACHE_URL", Value: "redis://cache." + ns + ".svc:6379/0"},
		{Name: "FEATURE_FLAGS", Value: "search,cart,recommendations,checkout-v2"},
		{Name: "OTEL_EXPORTER_OTLP_ENDPOINT", Value: "http://otel-collector.observability.svc:4317"},
		{Name: "POD_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
	}
	res := func(cpu, mem string) corev1.ResourceRequirements {
		return corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse(mem)},
			Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse(mem)},
		}
	}
	d := &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(int32(2)),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app.kubernetes.io/name": name}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels, Annotations: map[string]string{"prometheus.io/scrape": "true", "prometheus.io/port": "9090"}},
				Spec: corev1.PodSpec{
					ServiceAccountName: name,
					Containers: []corev1.Container{{
						Name: "app", Image: fmt.Sprintf("registry.example.com/shop/%s:2.%d.0", name, i%17),
						Ports:          []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}, {Name: "metrics", ContainerPort: 9090}},
						Env:            env,
						Resources:      res("250m", "512Mi"),
						ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/ready", Port: intstrName("http")}}, PeriodSeconds: 5},
						LivenessProbe:  &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstrName("http")}}, InitialDelaySeconds: 10},
					}, {
						Name: "proxy", Image: "registry.example.com/infra/envoy:1.31.2",
						Args:         []string{"--config-path", "/etc/envoy/envoy.yaml", "--log-level", "warn"},
						Resources:    res("50m", "64Mi"),
						VolumeMounts: []corev1.VolumeMount{{Name: "envoy-config", MountPath: "/etc/envoy", ReadOnly: true}},
					}},
					Volumes: []corev1.Volume{{Name: "envoy-config", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: name + "-envoy"}}}}},
				},
			},
		},
	}
	applied, err := json.Marshal(d)
	if err != nil {
		return nil, fmt.Errorf("deployment %s/%s: last-applied-configuration: %w", ns, name, err)
	}
	d.Annotations = map[string]string{
		"kubectl.kubernetes.io/last-applied-configuration": string(applied) + "\n",
		"deployment.kubernetes.io/revision":                "1",
		"owner":                                            "team-" + strings.TrimPrefix(labels["team"], "team-") + "@example.com",
	}
	return d, nil
}

func hpa(i int) *autoscalingv2.HorizontalPodAutoscaler {
	return &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: nameOf(i), Namespace: namespaceOf(i), Labels: map[string]string{"app.kubernetes.io/name": nameOf(i)}},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: nameOf(i)},
			MinReplicas:    ptr.To(int32(2)), MaxReplicas: 100,
			Metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
				Name: corev1.ResourceCPU, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr.To(int32(70))}}}},
		},
	}
}

// createObjects creates Deployments from..to-1 (with their namespaces,
// HPAs and a /scale update, so managedFields hold a create and a scale
// entry) with workers in parallel. It returns the mean size of the
// last-applied-configuration annotation.
func createObjects(ctx context.Context, client kubernetes.Interface, from, to, workers int) (int, error) {
	for ns := from / perNamespace; ns*perNamespace < to; ns++ {
		_, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespaceOf(ns * perNamespace)}}, metav1.CreateOptions{})
		if err != nil && !strings.Contains(err.Error(), "already exists") {
			return 0, fmt.Errorf("namespace %s: %w", namespaceOf(ns*perNamespace), err)
		}
	}
	jobs := make(chan int)
	var (
		mu         sync.Mutex
		firstErr   error
		annotation int
	)
	fail := func(err error) {
		mu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		mu.Unlock()
	}
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				d, err := deployment(i)
				if err != nil {
					fail(err)
					continue
				}
				mu.Lock()
				annotation += len(d.Annotations["kubectl.kubernetes.io/last-applied-configuration"])
				mu.Unlock()
				apps := client.AppsV1().Deployments(d.Namespace)
				if _, err := apps.Create(ctx, d, metav1.CreateOptions{FieldManager: "kubectl-client-side-apply"}); err != nil {
					fail(fmt.Errorf("creating deployment %s/%s: %w", d.Namespace, d.Name, err))
					continue
				}
				scale := &autoscalingv1.Scale{ObjectMeta: metav1.ObjectMeta{Name: d.Name, Namespace: d.Namespace}, Spec: autoscalingv1.ScaleSpec{Replicas: declaredReplicas}}
				if _, err := apps.UpdateScale(ctx, d.Name, scale, metav1.UpdateOptions{FieldManager: "kube-controller-manager"}); err != nil {
					fail(fmt.Errorf("scaling deployment %s/%s: %w", d.Namespace, d.Name, err))
					continue
				}
				if hasHPA(i) {
					h := hpa(i)
					if _, err := client.AutoscalingV2().HorizontalPodAutoscalers(h.Namespace).Create(ctx, h, metav1.CreateOptions{FieldManager: "kubectl-client-side-apply"}); err != nil {
						fail(fmt.Errorf("creating HPA %s/%s: %w", h.Namespace, h.Name, err))
					}
				}
			}
		}()
	}
	for i := from; i < to; i++ {
		mu.Lock()
		stop := firstErr != nil
		mu.Unlock()
		if stop || ctx.Err() != nil {
			break
		}
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	if firstErr == nil && ctx.Err() != nil {
		firstErr = ctx.Err()
	}
	if to == from {
		return 0, firstErr
	}
	return annotation / (to - from), firstErr
}

// manifests is the git file declaring namespace ns's Deployments (those
// below n) and their HPAs, at the live scale.
func manifests(nsIndex, n int) string {
	var b strings.Builder
	for i := nsIndex * perNamespace; i < min(n, (nsIndex+1)*perNamespace); i++ {
		fmt.Fprintf(&b, "---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: %s\n  namespace: %s\nspec:\n  replicas: %d # latched\n  selector:\n    matchLabels: {app.kubernetes.io/name: %s}\n  template:\n    metadata:\n      labels: {app.kubernetes.io/name: %s}\n    spec:\n      containers: [{name: app, image: \"registry.example.com/shop/%s:2.%d.0\"}]\n",
			nameOf(i), namespaceOf(i), declaredReplicas, nameOf(i), nameOf(i), nameOf(i), i%17)
		if hasHPA(i) {
			fmt.Fprintf(&b, "---\napiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata:\n  name: %s\n  namespace: %s\nspec:\n  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: %s}\n  minReplicas: 2\n  maxReplicas: 100\n",
				nameOf(i), namespaceOf(i), nameOf(i))
		}
	}
	return b.String()
}

func intstrName(name string) intstr.IntOrString { return intstr.FromString(name) }
