// Package samplerepo is latch's one sample GitOps repository: a plain
// manifest with comments and its HPA, a Kustomize overlay deciding a
// workload's replicas, and Helm values with a latch marker. `make demo`
// seeds it into a local remote and the end-to-end tests latch it, so the
// three layouts latch edits are exercised by the same bytes users see in
// the demo. The differences each caller needs are Options, not copies.
package samplerepo

import "fmt"

// Options are what a caller may vary.
type Options struct {
	// Cluster names the overlay folder, clusters/<Cluster>/ (default "demo").
	Cluster string
	// WebMaxReplicas is the web HPA's maximum (default 500).
	WebMaxReplicas int
	// DwellDown, when set, adds a latch.yaml with this dwell down and no
	// dwell up, so a story sees moves within seconds; empty: no latch.yaml
	// (latch's defaults).
	DwellDown string
	// Readme, when set, adds a README.md with this content (a file only a
	// person edits).
	Readme string
}

func (o Options) cluster() string {
	if o.Cluster == "" {
		return "demo"
	}
	return o.Cluster
}

func (o Options) webMax() int {
	if o.WebMaxReplicas == 0 {
		return 500
	}
	return o.WebMaxReplicas
}

// Paths of the files whose replicas latch edits.
func (o Options) WebPath() string { return "clusters/" + o.cluster() + "/web.yaml" }
func (o Options) APIOverlayPath() string {
	return "clusters/" + o.cluster() + "/api/kustomization.yaml"
}

// WorkerValuesPath is the Helm values file with the marker.
const WorkerValuesPath = "charts/worker/values.yaml"

// Namespace is where every sample workload lives.
const Namespace = "shop"

// Workload is a sample workload as a test or the demo creates it live.
type Workload struct {
	Name string
	// Replicas is what git declares at the seed.
	Replicas int32
	// HPAMin and HPAMax are the bounds of the workload's HPA.
	HPAMin, HPAMax int32
}

// Workloads lists the sample's workloads with their seeded scale and the
// bounds of the HPA that drives each (worker's HPA is not in git; the
// cluster's is used).
func (o Options) Workloads() []Workload {
	return []Workload{
		{Name: "web", Replicas: 3, HPAMin: 2, HPAMax: int32(o.webMax())},
		{Name: "api", Replicas: 4, HPAMin: 2, HPAMax: 400},
		{Name: "worker", Replicas: 2, HPAMin: 1, HPAMax: 100},
	}
}

// Web is the plain web manifest: a Deployment, whose replicas line latch
// rewrites, and its HPA.
func Web(o Options) string {
	return fmt.Sprintf(`# The storefront. Its HPA decides the scale; latch keeps git near it.
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: %s
spec:
  replicas: 3 # latched by latch
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: "example.com/web:1"
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: web
  namespace: %s
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  minReplicas: 2
  maxReplicas: %d
`, Namespace, Namespace, o.webMax())
}

// Policy is a latch.yaml with the given dwell down and no dwell up.
func Policy(dwellDown string) string {
	return `# latch's policy for this repository. Without this file latch uses its
# defaults: spec.replicas of every HPA-driven workload is latched (series R5,
# 50% hysteresis, dwell down 4h); pod templates are immutable.
apiVersion: latch.dev/v1alpha1
kind: LatchPolicy
spec:
  defaults:
    latch:
      # Demo and tests only: real clusters want hours here, so a lull does
      # not become a commit.
      dwellDown: ` + dwellDown + `
      dwellUp: 0s
      # The budgets need a day of history; a demo of seconds turns them
      # off, so a move down is made once its dwell has passed.
      window: 0s
`
}

// Files is the repository, path → content.
func Files(o Options) map[string]string {
	files := map[string]string{
		o.WebPath(): Web(o),
		"base/api/deployment.yaml": `apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
spec:
  replicas: 1
  selector:
    matchLabels: {app: api}
  template:
    metadata:
      labels: {app: api}
    spec:
      containers: [{name: api, image: example.com/api:1}]
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: api
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: api}
  minReplicas: 2
  maxReplicas: 400
`,
		"base/api/kustomization.yaml": "resources:\n  - deployment.yaml\n",
		o.APIOverlayPath(): `# This cluster's api: the base, in namespace shop, at the count below.
namespace: ` + Namespace + `
resources:
  - ../../../base/api
replicas:
  - name: api
    count: 4 # latch edits this count, not the base
`,
		WorkerValuesPath: `image:
  repository: example.com/worker
  tag: "1"
# The chart renders spec.replicas from this value; the marker tells latch so.
replicaCount: 2 # {"$latch": "apps/v1/Deployment/shop/worker"}
`,
	}
	if o.DwellDown != "" {
		files["latch.yaml"] = Policy(o.DwellDown)
	}
	if o.Readme != "" {
		files["README.md"] = o.Readme
	}
	return files
}

// Summary describes the files for a person, one line each (the demo prints it).
func Summary(o Options) []string {
	lines := []string{
		fmt.Sprintf("%-37s plain manifest (with comments) + its HPA (2..%d)", o.WebPath(), o.webMax()),
		fmt.Sprintf("%-37s Kustomize overlay deciding api's replicas (HPA 2..400 in the base)", o.APIOverlayPath()),
		fmt.Sprintf("%-37s Helm values: replicaCount with a latch marker (HPA 1..100, in the cluster)", WorkerValuesPath),
	}
	if o.DwellDown != "" {
		lines = append([]string{fmt.Sprintf("%-37s the policy: defaults, with a %s dwell down", "latch.yaml", o.DwellDown)}, lines...)
	}
	return lines
}

// ReplicasLine is the web file's replicas line at v, as latch writes it.
func ReplicasLine(v int64) string { return fmt.Sprintf("  replicas: %d # latched by latch\n", v) }

// Lines latch rewrites in the other two layouts, at v.
func APICountLine(v int64) string {
	return fmt.Sprintf("    count: %d # latch edits this count, not the base", v)
}
func WorkerValuesLine(v int64) string {
	return fmt.Sprintf(`replicaCount: %d # {"$latch": "apps/v1/Deployment/shop/worker"}`, v)
}
