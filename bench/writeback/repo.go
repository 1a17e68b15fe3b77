package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strconv"

	"github.com/latch-gitops/latch/internal/objectid"
)

// declaration says how a workload's replica count is written in git.
type declaration string

const (
	declPlain     declaration = "plain manifest"
	declKustomize declaration = "kustomize overlay replicas:"
	declHelm      declaration = "Helm values with a $latch marker"
)

// workload is one Deployment the generated repository declares, with what
// the baseline script needs to edit it without latch's index: the file and
// a sed expression a person would write for that layout.
type workload struct {
	ref   objectid.Ref
	decl  declaration
	file  string         // slash path of the declaring file
	sed   string         // sed -E substitution with NEW as the value placeholder
	match *regexp.Regexp // the same substitution for the Go baseline: group 1 is kept
}

// genRepo writes a realistic GitOps checkout of exactly files files under
// dir and returns its Deployments in a fixed pseudo-random order (seed 4),
// so that any prefix mixes the three declaration styles. The layout:
//
//   - Helm: one chart per 100 files (Chart.yaml, templates ×3, values.yaml
//     with replicaCount and a $latch marker);
//   - Kustomize: one app per 100 files: a base (kustomization, Deployment,
//     Service, HPA) and prod and staging overlays each with replicas:;
//   - plain: the rest as apps/teamT/appN/{deployment,hpa,service,configmap}.yaml
//     (the Deployment with comments, labels, probes, env and resources),
//     and ConfigMaps to make up the count.
func genRepo(dir string, files int) ([]workload, error) {
	w := &writer{dir: dir}
	var out []workload
	charts := max(1, files/100)
	for c := 0; c < charts; c++ {
		name := fmt.Sprintf("chart%03d", c)
		ns := fmt.Sprintf("helm-%02d", c%10)
		ref := objectid.Ref{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: ns, Name: name}
		base := "charts/" + name
		w.write(base+"/Chart.yaml", fmt.Sprintf("apiVersion: v2\nname: %s\nversion: 1.%d.0\nappVersion: \"2.%d\"\n", name, c, c))
		w.write(base+"/templates/deployment.yaml", helmDeploymentTemplate)
		w.write(base+"/templates/hpa.yaml", helmHPATemplate)
		w.write(base+"/templates/service.yaml", helmServiceTemplate)
		w.write(base+"/values.yaml", fmt.Sprintf(helmValues, name, ref.String()))
		out = append(out, workload{ref: ref, decl: declHelm, file: base + "/values.yaml",
			sed: `s/^(replicaCount: )[0-9]+/\1NEW/`, match: regexp.MustCompile(`(?m)^(replicaCount: )[0-9]+`)})
	}
	apps := max(1, files/100)
	for a := 0; a < apps; a++ {
		name := fmt.Sprintf("kapp%03d", a)
		base := "kustomize/" + name + "/base"
		w.write(base+"/kustomization.yaml", "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - deployment.yaml\n  - service.yaml\n  - hpa.yaml\nlabels:\n  - pairs: {app.kubernetes.io/part-of: "+name+"}\n")
		w.write(base+"/deployment.yaml", deployment(name, "", 1))
		w.write(base+"/service.yaml", service(name, ""))
		w.write(base+"/hpa.yaml", hpa(name, "", 2, 50))
		for _, env := range []string{"prod", "staging"} {
			w.write(fmt.Sprintf("kustomize/%s/overlays/%s/kustomization.yaml", name, env), fmt.Sprintf(
				"apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: %s-%s\nresources:\n  - ../../base\nimages:\n  - name: registry.example.com/%s\n    newTag: \"2.%d\"\nreplicas:\n  - name: %s\n    count: 4 # latched\n",
				name, env, name, a, name))
		}
		ref := objectid.Ref{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: name + "-prod", Name: name}
		out = append(out, workload{ref: ref, decl: declKustomize, file: fmt.Sprintf("kustomize/%s/overlays/prod/kustomization.yaml", name),
			sed: `s/^(    count: )[0-9]+/\1NEW/`, match: regexp.MustCompile(`(?m)^(    count: )[0-9]+`)})
	}
	for n := 0; w.n+4 <= files; n++ {
		name := fmt.Sprintf("app%05d", n)
		ns := fmt.Sprintf("team%02d", n%40)
		base := fmt.Sprintf("apps/%s/%s", ns, name)
		w.write(base+"/deployment.yaml", deployment(name, ns, 3))
		w.write(base+"/hpa.yaml", hpa(name, ns, 2, 100))
		w.write(base+"/service.yaml", service(name, ns))
		w.write(base+"/configmap.yaml", configMap(name, ns))
		ref := objectid.Ref{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: ns, Name: name}
		out = append(out, workload{ref: ref, decl: declPlain, file: base + "/deployment.yaml",
			sed: `s/^(  replicas: )[0-9]+/\1NEW/`, match: regexp.MustCompile(`(?m)^(  replicas: )[0-9]+`)})
	}
	for i := 0; w.n < files; i++ {
		w.write(fmt.Sprintf("shared/config/extra-%05d.yaml", i), configMap(fmt.Sprintf("extra-%05d", i), "shared"))
	}
	if w.err != nil {
		return nil, w.err
	}
	rng := rand.New(rand.NewPCG(4, 4))
	rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out, nil
}

type writer struct {
	dir string
	n   int
	err error
}

func (w *writer) write(rel, content string) {
	if w.err != nil {
		return
	}
	p := filepath.Join(w.dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		w.err = fmt.Errorf("generating %s: %w", rel, err)
		return
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		w.err = fmt.Errorf("generating %s: %w", rel, err)
		return
	}
	w.n++
}

func nsLine(ns string) string {
	if ns == "" {
		return ""
	}
	return "  namespace: " + ns + "\n"
}

func deployment(name, ns string, replicas int) string {
	return "# " + name + ": owned by its team; replicas are latched from the live HPA scale.\n" +
		"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: " + name + "\n" + nsLine(ns) +
		"  labels:\n    app.kubernetes.io/name: " + name + "\n    app.kubernetes.io/managed-by: flux\n" +
		"spec:\n  replicas: " + strconv.Itoa(replicas) + " # latched\n  revisionHistoryLimit: 5\n" +
		"  selector:\n    matchLabels:\n      app.kubernetes.io/name: " + name + "\n" +
		"  template:\n    metadata:\n      labels:\n        app.kubernetes.io/name: " + name + "\n" +
		"    spec:\n      containers:\n        - name: app\n          image: registry.example.com/" + name + ":2.1\n" +
		"          ports: [{containerPort: 8080, name: http}]\n" +
		"          env:\n            - {name: LOG_LEVEL, value: info}\n            - {name: POOL_SIZE, value: \"16\"}\n" +
		"          resources:\n            requests: {cpu: 100m, memory: 128Mi}\n            limits: {memory: 256Mi}\n" +
		"          readinessProbe:\n            httpGet: {path: /ready, port: http}\n" +
		"        - name: proxy\n          image: registry.example.com/proxy:1.9\n          resources:\n            requests: {cpu: 10m, memory: 32Mi}\n"
}

func hpa(name, ns string, min, max int) string {
	return "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata:\n  name: " + name + "\n" + nsLine(ns) +
		"spec:\n  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: " + name + "}\n" +
		"  minReplicas: " + strconv.Itoa(min) + "\n  maxReplicas: " + strconv.Itoa(max) + "\n" +
		"  metrics:\n    - type: Resource\n      resource: {name: cpu, target: {type: Utilization, averageUtilization: 70}}\n"
}

func service(name, ns string) string {
	return "apiVersion: v1\nkind: Service\nmetadata:\n  name: " + name + "\n" + nsLine(ns) +
		"spec:\n  selector: {app.kubernetes.io/name: " + name + "}\n  ports: [{name: http, port: 80, targetPort: http}]\n"
}

func configMap(name, ns string) string {
	return "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + name + "-config\n" + nsLine(ns) +
		"data:\n  settings.yaml: |\n    cache_size: 512\n    feature_flags: [search, cart]\n  region: eu-west-1\n"
}

const helmValues = `# Values for %s.
image:
  repository: registry.example.com/app
  tag: "2.1"
# The chart renders spec.replicas from this; the marker tells latch so.
replicaCount: 2 # {"$latch": "%s"}
autoscaling:
  minReplicas: 2
  maxReplicas: 80
resources:
  requests: {cpu: 100m, memory: 128Mi}
`

const helmDeploymentTemplate = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}
spec:
  replicas: {{ .Values.replicaCount }}
  selector:
    matchLabels: {app: {{ .Release.Name }}}
  template:
    metadata:
      labels: {app: {{ .Release.Name }}}
    spec:
      containers:
        - name: app
          image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"
          resources: {{- toYaml .Values.resources | nindent 12 }}
`

const helmHPATemplate = `apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {{ .Release.Name }}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: {{ .Release.Name }}}
  minReplicas: {{ .Values.autoscaling.minReplicas }}
  maxReplicas: {{ .Values.autoscaling.maxReplicas }}
`

const helmServiceTemplate = `apiVersion: v1
kind: Service
metadata:
  name: {{ .Release.Name }}
spec:
  selector: {app: {{ .Release.Name }}}
  ports: [{port: 80, targetPort: 8080}]
`
