package main

var seedSummary = []string{
	"latch.yaml                            the policy: defaults, with a 20s dwell down for the demo",
	"clusters/demo/web.yaml                plain manifest (with comments) + its HPA (2..5000)",
	"clusters/demo/api/kustomization.yaml  Kustomize overlay deciding api's replicas (HPA 2..400 in the base)",
	"charts/worker/values.yaml             Helm values: replicaCount with a latch marker (HPA 1..100)",
}

var seedFiles = map[string]string{
	"latch.yaml": `# latch's policy for this repository. Without this file latch uses its
# defaults: spec.replicas of every HPA-driven workload is latched (series R5,
# 50% hysteresis, dwell down 4h); pod templates are immutable.
apiVersion: latch.dev/v1alpha1
kind: LatchPolicy
spec:
  defaults:
    latch:
      # Demo only: real clusters want hours here, so a lull does not
      # become a commit.
      dwellDown: 20s
      dwellUp: 0s
`,
	"clusters/demo/web.yaml": `# The storefront. Its HPA decides the scale; latch keeps git near it.
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  replicas: 3 # written back by latch
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
  namespace: shop
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  minReplicas: 2
  maxReplicas: 5000
`,
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
	"clusters/demo/api/kustomization.yaml": `# The demo cluster's api: the base, in namespace shop, at the count below.
namespace: shop
resources:
  - ../../../base/api
replicas:
  - name: api
    count: 4 # latch edits this count, not the base
`,
	"charts/worker/values.yaml": `image:
  repository: example.com/worker
  tag: "1"
# The chart renders spec.replicas from this value; the marker tells latch so.
replicaCount: 2 # {"$latch": "apps/v1/Deployment/shop/worker"}
`,
}
