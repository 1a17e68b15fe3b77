package deploytest

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

// TestKustomizeBase builds deploy/kustomize as it is and holds it to the same
// RBAC invariants as the chart. Without an overlay the pod lacks its
// per-cluster settings: exactly repo, path and cluster-name, which the
// kubelet would report as missing ConfigMap keys.
func TestKustomizeBase(t *testing.T) {
	r, err := buildKustomize(kustomizeFS(t), kustomizeBase)
	if err != nil {
		t.Fatal(err)
	}
	wantKinds := map[string]int{
		"Namespace": 1, "ServiceAccount": 1, "ConfigMap": 1, "ClusterRole": 1, "ClusterRoleBinding": 1,
		"Role": 1, "RoleBinding": 1, "Deployment": 1, "Service": 1,
	}
	if got := r.kinds(); !maps.Equal(got, wantKinds) {
		t.Errorf("kinds: got %v, want %v", got, wantKinds)
	}
	for _, o := range r {
		namespaced := o.kind != "ClusterRole" && o.kind != "ClusterRoleBinding" && o.kind != "Namespace"
		if namespaced && o.namespace != releaseNamespace {
			t.Errorf("%v: namespace %q, want %q", o, o.namespace, releaseNamespace)
		}
	}
	assertDefaultRBAC(t, r)
	dep := only[*appsv1.Deployment](t, r, "Deployment")
	for _, p := range bindingProblems(r, dep.Spec.Template.Spec.ServiceAccountName, releaseNamespace) {
		t.Errorf("bindings: %s", p)
	}
	_, argProblems := expandedArgs(dep.Spec.Template.Spec.Containers[0], r)
	cm := only[*corev1.ConfigMap](t, r, "ConfigMap")
	want := []string{
		`env LATCH_CLUSTER_NAME: ConfigMap ` + cm.Name + ` has no key "cluster-name"`,
		`env LATCH_PATH: ConfigMap ` + cm.Name + ` has no key "path"`,
		`env LATCH_REPO: ConfigMap ` + cm.Name + ` has no key "repo"`,
	}
	slices.Sort(argProblems)
	if !slices.Equal(argProblems, want) {
		t.Errorf("unresolved settings in the base: got %q, want %q", argProblems, want)
	}
	if !strings.HasPrefix(cm.Name, "latch-config-") {
		t.Errorf("ConfigMap %q: want the generator's hash suffix, so a config change rolls the pod", cm.Name)
	}
}

// TestKustomizeExample builds the example overlay, which must give a pod that
// passes every check, and compares it with the chart rendered with the same
// settings: the two install methods must deploy the same pod with the same
// RBAC.
func TestKustomizeExample(t *testing.T) {
	r, err := buildKustomize(kustomizeFS(t), kustomizeExample)
	if err != nil {
		t.Fatal(err)
	}
	dep := only[*appsv1.Deployment](t, r, "Deployment")
	svc := only[*corev1.Service](t, r, "Service")
	for _, p := range podProblems(dep, svc, r) {
		t.Errorf("Deployment: %s", p)
	}

	chartValues := with(with(with(requiredValues(),
		"config.path", "clusters/prod-eu-1"),
		"config.clusterName", "prod-eu-1"),
		"git.secretName", gitSecretName(dep))
	chart, err := renderChart(chartValues)
	if err != nil {
		t.Fatal(err)
	}
	chartGrants, _ := grantsOf(chart)
	kustomizeGrants, _ := grantsOf(r)
	if extra, missing := grantDiff(kustomizeGrants, chartGrants); len(extra)+len(missing) > 0 {
		t.Errorf("kustomize RBAC vs chart:\n only in kustomize: %v\n only in chart: %v", extra, missing)
	}
	chartDep := only[*appsv1.Deployment](t, chart, "Deployment")
	if got, want := normalPodSpec(t, dep, r), normalPodSpec(t, chartDep, chart); got != want {
		t.Errorf("kustomize and chart pods differ:\nkustomize: %s\nchart:     %s", got, want)
	}
	if *dep.Spec.Replicas != *chartDep.Spec.Replicas {
		t.Errorf("replicas: kustomize %d, chart %d", *dep.Spec.Replicas, *chartDep.Spec.Replicas)
	}
	if got, want := only[*corev1.Service](t, r, "Service").Spec.Ports, only[*corev1.Service](t, chart, "Service").Spec.Ports; !slices.Equal(got, want) {
		t.Errorf("metrics Service ports: kustomize %+v, chart %+v", got, want)
	}
}

// normalPodSpec is a pod spec as JSON with args expanded and the env that only
// carries settings into args dropped, so a chart pod (flags inline) and a
// kustomize pod (flags from a ConfigMap) compare.
func normalPodSpec(t *testing.T, dep *appsv1.Deployment, r rendering) string {
	t.Helper()
	pod := *dep.Spec.Template.Spec.DeepCopy()
	c := &pod.Containers[0]
	args, problems := expandedArgs(*c, r)
	if len(problems) > 0 {
		t.Errorf("%s: %q", dep.Name, problems)
	}
	// Flag order is not meaning: sort after the subcommand.
	slices.Sort(args[1:])
	c.Args = args
	c.Env = slices.DeleteFunc(c.Env, func(e corev1.EnvVar) bool { return e.ValueFrom != nil })
	data, err := json.Marshal(pod)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// TestKustomizeEnforce adds components/enforce to the base: the only changes
// must be patch on deployments and statefulsets and --enforce=on, equal to
// the chart's enforce.enabled=true.
func TestKustomizeEnforce(t *testing.T) {
	fsys := kustomizeFS(t)
	overlay := "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [../kustomize]\ncomponents: [../kustomize/components/enforce]\n"
	if err := fsys.WriteFile("/deploy/enforce/kustomization.yaml", []byte(overlay)); err != nil {
		t.Fatal(err)
	}
	r, err := buildKustomize(fsys, "/deploy/enforce")
	if err != nil {
		t.Fatal(err)
	}
	grants, problems := grantsOf(r)
	problems = append(problems, rbacProblems(grants, true)...)
	for _, p := range problems {
		t.Errorf("RBAC: %s", p)
	}
	chart, err := renderChart(with(requiredValues(), "enforce.enabled", true))
	if err != nil {
		t.Fatal(err)
	}
	chartGrants, _ := grantsOf(chart)
	if extra, missing := grantDiff(grants, chartGrants); len(extra)+len(missing) > 0 {
		t.Errorf("kustomize+enforce vs chart enforce.enabled=true:\n only in kustomize: %v\n only in chart: %v", extra, missing)
	}
	if extra, missing := grantDiff(grants, union(defaultGrants(), enforceGrants())); len(extra)+len(missing) > 0 {
		t.Errorf("kustomize+enforce:\n extra: %v\n missing: %v", extra, missing)
	}
	if got := enforceFlag(t, r); got != "on" {
		t.Errorf("--enforce=%q, want on", got)
	}
	base, err := buildKustomize(kustomizeFS(t), kustomizeBase)
	if err != nil {
		t.Fatal(err)
	}
	if got := enforceFlag(t, base); got != "" {
		t.Errorf("the base passes --enforce=%s", got)
	}
}

// TestKustomizeImageMatchesChart keeps the two install methods on the same
// release: the kustomize image tag is the chart's appVersion.
func TestKustomizeImageMatchesChart(t *testing.T) {
	r, err := buildKustomize(kustomizeFS(t), kustomizeBase)
	if err != nil {
		t.Fatal(err)
	}
	chart, err := renderChart(requiredValues())
	if err != nil {
		t.Fatal(err)
	}
	got := only[*appsv1.Deployment](t, r, "Deployment").Spec.Template.Spec.Containers[0].Image
	want := only[*appsv1.Deployment](t, chart, "Deployment").Spec.Template.Spec.Containers[0].Image
	if got != want {
		t.Errorf("kustomize image %q, chart image %q", got, want)
	}
}
