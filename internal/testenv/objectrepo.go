package testenv

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"sigs.k8s.io/yaml"
)

// ObjectRepoDir is the folder of WriteObjectRepo's manifests inside the
// repository (what `latch restore --path` and `kubectl apply -R -f` get).
const ObjectRepoDir = "manifests"

// The kinds WriteObjectRepo declares besides its Namespaces and the Pool
// CRD, in the order it cycles through them.
var objectRepoKinds = []string{"Deployment", "Service", "ConfigMap", "HorizontalPodAutoscaler", "Pool"}

// ObjectRepo says what WriteObjectRepo wrote.
type ObjectRepo struct {
	// Counts is the number of objects of each kind.
	Counts map[string]int
	// Namespaces are the namespaces the objects live in (declared).
	Namespaces []string
	// Total is the number of objects.
	Total int
}

// ObjectRepoName is the name of the i-th object of its kind in the i%
// namespaces-th namespace: a Deployment, its headless Service, its
// ConfigMap and its HPA share it; Pools are named pool-….
func ObjectRepoName(kind string, i int) string {
	if kind == "Pool" {
		return fmt.Sprintf("pool-%04d", i)
	}
	return fmt.Sprintf("app-%04d", i)
}

// ObjectRepoNamespace is the name of the i-th namespace.
func ObjectRepoNamespace(i int) string { return fmt.Sprintf("restore-%02d", i) }

// WriteObjectRepo writes into dir/manifests a repository of objects in
// total: the namespaces (declared), the Pool CRD (PoolCRD), and in equal
// parts Deployments (resources, probes, ports, env), headless Services
// (a test API server's Service IP range is small), ConfigMaps, HPAs
// (autoscaling/v2, targeting the Deployments) and Pools. Files: one for
// the namespaces, one for the CRD, and one per namespace and kind, so
// `kubectl apply -R` meets Namespaces and the CRD first.
func WriteObjectRepo(dir string, total, namespaces int) (ObjectRepo, error) {
	root := filepath.Join(dir, ObjectRepoDir)
	if total < namespaces+1+len(objectRepoKinds) {
		return ObjectRepo{}, fmt.Errorf("WriteObjectRepo: %d objects are too few for %d namespaces, the CRD and one of each kind", total, namespaces)
	}
	out := ObjectRepo{Counts: map[string]int{}, Total: total}
	var nsFile strings.Builder
	for i := range namespaces {
		ns := ObjectRepoNamespace(i)
		out.Namespaces = append(out.Namespaces, ns)
		fmt.Fprintf(&nsFile, "---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: %s\n  labels: {team: t%d}\n", ns, i%3)
	}
	out.Counts["Namespace"] = namespaces
	crd, err := yaml.Marshal(PoolCRD())
	if err != nil {
		return out, err
	}
	out.Counts["CustomResourceDefinition"] = 1
	files := map[string]*strings.Builder{"00-namespaces.yaml": &nsFile, "01-crd.yaml": {}}
	files["01-crd.yaml"].Write(crd)
	rest := total - namespaces - 1
	for k := range rest {
		kind := objectRepoKinds[k%len(objectRepoKinds)]
		i := k / len(objectRepoKinds)
		ns := ObjectRepoNamespace(i % namespaces)
		file := ns + "/" + strings.ToLower(kind) + "s.yaml"
		b := files[file]
		if b == nil {
			b = &strings.Builder{}
			files[file] = b
		}
		name := ObjectRepoName(kind, i)
		b.WriteString("---\n")
		switch kind {
		case "Deployment":
			fmt.Fprintf(b, objectRepoDeployment, name, ns, 2+i%5, i%7)
		case "Service":
			fmt.Fprintf(b, objectRepoService, name, ns)
		case "ConfigMap":
			fmt.Fprintf(b, objectRepoConfigMap, name, ns, i, i%2 == 0)
		case "HorizontalPodAutoscaler":
			fmt.Fprintf(b, objectRepoHPA, name, ns, 2, 20+i%10)
		case "Pool":
			fmt.Fprintf(b, objectRepoPool, name, ns, 1+i%4)
		}
		out.Counts[kind]++
	}
	for rel, b := range files {
		path := filepath.Join(root, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return out, err
		}
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			return out, err
		}
	}
	return out, nil
}

// ObjectRepoImage is the image of the i-th Deployment's app container.
func ObjectRepoImage(i int) string { return fmt.Sprintf("registry.example/app:1.%d", i%7) }

const objectRepoDeployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: %[1]s
  namespace: %[2]s
  labels: {app: %[1]s}
spec:
  replicas: %[3]d
  selector:
    matchLabels: {app: %[1]s}
  template:
    metadata:
      labels: {app: %[1]s}
    spec:
      containers:
        - name: app
          image: registry.example/app:1.%[4]d
          ports:
            - {name: http, containerPort: 8080}
          env:
            - {name: MODE, value: normal}
          resources:
            requests: {cpu: 100m, memory: 64Mi}
            limits: {cpu: "1", memory: 128Mi}
          readinessProbe:
            httpGet: {path: /ready, port: http}
`

const objectRepoService = `apiVersion: v1
kind: Service
metadata:
  name: %[1]s
  namespace: %[2]s
spec:
  clusterIP: None
  selector: {app: %[1]s}
  ports:
    - {name: http, port: 80, targetPort: http}
`

const objectRepoConfigMap = `apiVersion: v1
kind: ConfigMap
metadata:
  name: %[1]s
  namespace: %[2]s
data:
  index: "%[3]d"
  feature: "%[4]t"
`

const objectRepoHPA = `apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: %[1]s
  namespace: %[2]s
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: %[1]s}
  minReplicas: %[3]d
  maxReplicas: %[4]d
  metrics:
    - type: Resource
      resource:
        name: cpu
        target: {type: Utilization, averageUtilization: 70}
`

const objectRepoPool = `apiVersion: demo.latch.dev/v1
kind: Pool
metadata:
  name: %[1]s
  namespace: %[2]s
spec:
  replicas: %[3]d
`
