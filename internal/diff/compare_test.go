package diff

import (
	"bytes"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/applyconfigurations"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/yaml"

	"github.com/latch-gitops/latch/internal/manifest"
	"github.com/latch-gitops/latch/internal/policyfile"

	"github.com/latch-gitops/latch/internal/objectid"
)

// builtinTypes is client-go's converter for the built-in kinds; building it
// parses the embedded schema, so tests share one.
var builtinTypes = sync.OnceValue(func() TypeConverter { return applyconfigurations.NewTypeConverter(scheme.Scheme) })

func typesFor(gvk schema.GroupVersionKind) TypeConverter {
	if scheme.Scheme.Recognizes(gvk) {
		return builtinTypes()
	}
	return nil
}

var t0 = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

// The declared Deployment: what a person writes, with the traps a naive
// diff falls into (a quantity in another unit, a zero probe delay, ports
// without protocol, an int-or-string, a float-looking quantity).
const declDeploy = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  labels: {app: web, tier: frontend}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: web:1.0
          ports: [{containerPort: 8080, name: http}]
          env: [{name: MODE, value: prod}]
          resources:
            requests: {cpu: 1000m, memory: 512Mi}
            limits: {cpu: 0.5, memory: 1Gi}
          readinessProbe:
            httpGet: {path: /healthz, port: http}
            initialDelaySeconds: 0
            periodSeconds: 10
        - name: sidecar
          image: side:1
          args: [--verbose]
`

// liveDeploy is the same Deployment as the API server stores it after
// kubectl apply: canonical quantities, defaults filled, zero values
// omitted, status and managedFields added. %IMAGE% and %REPLICAS% vary.
const liveDeploy = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  uid: 5b0c
  resourceVersion: "812"
  generation: 2
  creationTimestamp: "2026-12-01T10:00:00Z"
  labels: {app: web, tier: frontend}
  annotations: {deployment.kubernetes.io/revision: "1"}
  managedFields:
    - manager: kubectl-client-side-apply
      operation: Update
      apiVersion: apps/v1
      time: "2026-12-01T10:00:00Z"
      fieldsType: FieldsV1
      fieldsV1: {"f:metadata":{"f:labels":{".":{},"f:app":{},"f:tier":{}}},"f:spec":{"f:selector":{},"f:template":{"f:metadata":{"f:labels":{".":{},"f:app":{}}},"f:spec":{"f:containers":{"k:{\"name\":\"web\"}":{".":{},"f:env":{},"f:image":{},"f:name":{},"f:ports":{},"f:readinessProbe":{},"f:resources":{}},"k:{\"name\":\"sidecar\"}":{".":{},"f:args":{},"f:image":{},"f:name":{}}}}}}}
    - manager: %MANAGER%
      operation: Update
      apiVersion: apps/v1
      time: "2026-12-01T11:50:00Z"
      fieldsType: FieldsV1
      fieldsV1: %OWNED%
spec:
  replicas: %REPLICAS%
  revisionHistoryLimit: 10
  progressDeadlineSeconds: 600
  selector: {matchLabels: {app: web}}
  strategy: {type: RollingUpdate, rollingUpdate: {maxSurge: 25%, maxUnavailable: 25%}}
  template:
    metadata:
      labels: {app: web}
    spec:
      restartPolicy: Always
      dnsPolicy: ClusterFirst
      schedulerName: default-scheduler
      terminationGracePeriodSeconds: 30
      securityContext: {}
      containers:
        - name: web
          image: %IMAGE%
          imagePullPolicy: IfNotPresent
          terminationMessagePath: /dev/termination-log
          terminationMessagePolicy: File
          ports: [{containerPort: 8080, name: http, protocol: TCP}]
          env: [{name: MODE, value: prod}, {name: INJECTED, value: by-webhook}]
          resources:
            requests: {cpu: "1", memory: 512Mi}
            limits: {cpu: 500m, memory: 1Gi}
          readinessProbe:
            httpGet: {path: /healthz, port: http, scheme: HTTP}
            periodSeconds: 10
            timeoutSeconds: 1
            successThreshold: 1
            failureThreshold: 3
        - name: sidecar
          image: side:1
          args: [--verbose]
          imagePullPolicy: IfNotPresent
          resources: {}
status:
  replicas: 3
  readyReplicas: 3
`

func live(t *testing.T, image, replicas, manager, owned string) *unstructured.Unstructured {
	t.Helper()
	if owned == "" {
		owned = `{"f:metadata":{"f:annotations":{}}}`
		manager = "kube-controller-manager"
	}
	r := strings.NewReplacer("%IMAGE%", image, "%REPLICAS%", replicas, "%MANAGER%", manager, "%OWNED%", owned)
	return mustObject(t, r.Replace(liveDeploy))
}

func mustObject(t *testing.T, y string) *unstructured.Unstructured {
	t.Helper()
	var m map[string]any
	js, err := yaml.YAMLToJSON([]byte(y))
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		t.Fatal(err)
	}
	return &unstructured.Unstructured{Object: fixNumbers(m).(map[string]any)}
}

// fixNumbers gives int64/float64 as client-go's JSON decoding does.
func fixNumbers(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = fixNumbers(e)
		}
	case []any:
		for i, e := range x {
			x[i] = fixNumbers(e)
		}
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, _ := x.Float64()
		return f
	}
	return v
}

func declared(t *testing.T, y string) *manifest.Declared {
	t.Helper()
	o := mustObject(t, y)
	gv, _ := schema.ParseGroupVersion(o.GetAPIVersion())
	return &manifest.Declared{
		Ref:    objectid.Ref{Group: gv.Group, Version: gv.Version, Kind: o.GetKind(), Namespace: o.GetNamespace(), Name: o.GetName()},
		Object: o.Object,
		Origin: manifest.Position{File: "apps/" + strings.ToLower(o.GetKind()) + ".yaml", Line: 1, Column: 1},
		Fields: map[string]manifest.Position{},
	}
}

const declHPA = `apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: web, namespace: shop}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  minReplicas: 2
  maxReplicas: 20
`

const livePolicy = `apiVersion: latch.dev/v1alpha1
kind: LatchPolicy
spec:
  defaults:
    converge: {grace: 15m}
  rules:
    - name: all
      fields:
        spec: immutable
        data: immutable
        metadata.labels: converge
    - name: scaled
      match: {hasHPA: true}
      fields:
        spec.replicas: latch
`

func parsePolicy(t *testing.T, text string) *policyfile.Policy {
	t.Helper()
	p, err := policyfile.Parse("latch.yaml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func deployGVK() schema.GroupVersionKind {
	return schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}
}

type wantField struct {
	path    string
	status  FieldStatus
	live    any
	manager string
}

func TestCompare(t *testing.T) {
	imageOwned := `{"f:spec":{"f:template":{"f:spec":{"f:containers":{"k:{\"name\":\"web\"}":{"f:image":{}}}}}}}`
	labelOwned := `{"f:metadata":{"f:labels":{"f:tier":{}}}}`
	replicasOwned := `{"f:spec":{"f:replicas":{}}}`
	withLabel := func(tier string) func(*unstructured.Unstructured) {
		return func(u *unstructured.Unstructured) {
			l := u.GetLabels()
			l["tier"] = tier
			u.SetLabels(l)
		}
	}
	cases := []struct {
		name     string
		decl     []string
		live     *unstructured.Unstructured
		edit     func(*unstructured.Unstructured)
		policy   string
		now      time.Time
		status   ObjectStatus
		fields   []wantField
		ignored  int
		exit     int
		unifiedH []string // substrings of the unified diff
	}{
		{
			name:   "freshly applied: quantities, zero probe delay, port protocol, defaults are not drift",
			decl:   []string{declDeploy},
			live:   live(t, "web:1.0", "3", "", ""),
			policy: livePolicy, status: StatusInSync, exit: 0,
		},
		{
			name:   "kubectl set image is drift, named with the live image",
			decl:   []string{declDeploy},
			live:   live(t, "web:2.0", "3", "kubectl-set", imageOwned),
			policy: livePolicy, status: StatusDrift, exit: 1,
			fields:   []wantField{{`.spec.template.spec.containers[name="web"].image`, FieldDrift, "web:2.0", "kubectl-set"}},
			unifiedH: []string{"-      - image: web:1.0", "+      - image: web:2.0", "         name: web"},
		},
		{
			name:   "the built-in policy compares pod templates",
			decl:   []string{declDeploy},
			live:   live(t, "web:2.0", "3", "kubectl-edit", imageOwned),
			status: StatusDrift, exit: 1,
			fields: []wantField{{`.spec.template.spec.containers[name="web"].image`, FieldDrift, "web:2.0", "kubectl-edit"}},
		},
		{
			name: "an HPA scale inside the latch band is in sync",
			decl: []string{declDeploy, declHPA},
			live: live(t, "web:1.0", "4", "kube-controller-manager", replicasOwned),
			// 3 declared, 4 live: R5 with hysteresis 0.5 keeps 3.
			policy: livePolicy, status: StatusInSync, exit: 0,
			fields: []wantField{{".spec.replicas", FieldLatched, int64(4), "kube-controller-manager"}},
		},
		{
			name:   "an HPA scale outside the band is latch pending, not drift",
			decl:   []string{declDeploy, declHPA},
			live:   live(t, "web:1.0", "17", "kube-controller-manager", replicasOwned),
			policy: livePolicy, status: StatusPending, exit: 0,
			fields: []wantField{{".spec.replicas", FieldLatchPending, int64(17), "kube-controller-manager"}},
		},
		{
			name:   "replicas without an HPA are immutable under a spec rule",
			decl:   []string{declDeploy},
			live:   live(t, "web:1.0", "5", "kubectl-scale", replicasOwned),
			policy: livePolicy, status: StatusDrift, exit: 1,
			fields: []wantField{{".spec.replicas", FieldDrift, int64(5), "kubectl-scale"}},
		},
		{
			name:   "a converge label within its grace is converging",
			decl:   []string{declDeploy},
			live:   live(t, "web:1.0", "3", "kubectl-label", labelOwned),
			edit:   withLabel("backend"),
			policy: livePolicy, now: t0.Add(-5 * time.Minute), status: StatusPending, exit: 0,
			fields: []wantField{{".metadata.labels.tier", FieldConverging, "backend", "kubectl-label"}},
		},
		{
			name:   "a converge label past its grace is drift",
			decl:   []string{declDeploy},
			live:   live(t, "web:1.0", "3", "kubectl-label", labelOwned),
			edit:   withLabel("backend"),
			policy: livePolicy, now: t0.Add(30 * time.Minute), status: StatusDrift, exit: 1,
			fields: []wantField{{".metadata.labels.tier", FieldDrift, "backend", "kubectl-label"}},
		},
		{
			name:   "a field no rule names is not compared, but counted",
			decl:   []string{declDeploy},
			live:   live(t, "web:1.0", "3", "kubectl-label", labelOwned),
			edit:   withLabel("backend"),
			status: StatusInSync, exit: 0, ignored: 1,
		},
		{
			name:   "a declared env value changed live; an injected one is not git's",
			decl:   []string{declDeploy},
			live:   live(t, "web:1.0", "3", "", ""),
			edit:   func(u *unstructured.Unstructured) { setEnv(u, "MODE", "debug") },
			policy: livePolicy, status: StatusDrift, exit: 1,
			fields: []wantField{{`.spec.template.spec.containers[name="web"].env[name="MODE"].value`, FieldDrift, "debug", "kubectl-client-side-apply"}},
		},
		{
			name: "an atomic list (args) that changed is one field",
			decl: []string{declDeploy},
			live: live(t, "web:1.0", "3", "", ""),
			edit: func(u *unstructured.Unstructured) {
				cs, _, _ := unstructured.NestedSlice(u.Object, "spec", "template", "spec", "containers")
				cs[1].(map[string]any)["args"] = []any{"--verbose", "--debug"}
				_ = unstructured.SetNestedSlice(u.Object, cs, "spec", "template", "spec", "containers")
			},
			policy: livePolicy, status: StatusDrift, exit: 1,
			fields: []wantField{{`.spec.template.spec.containers[name="sidecar"].args`, FieldDrift, []any{"--verbose", "--debug"}, "kubectl-client-side-apply"}},
		},
		{
			name: "a container git declares and live lacks is reported once, whole",
			decl: []string{declDeploy},
			live: live(t, "web:1.0", "3", "", ""),
			edit: func(u *unstructured.Unstructured) {
				cs, _, _ := unstructured.NestedSlice(u.Object, "spec", "template", "spec", "containers")
				_ = unstructured.SetNestedSlice(u.Object, cs[:1], "spec", "template", "spec", "containers")
			},
			policy: livePolicy, status: StatusDrift, exit: 1,
			fields: []wantField{{`.spec.template.spec.containers[name="sidecar"]`, FieldDrift, nil, ""}},
		},
		{
			name:   "a quantity really changed is drift",
			decl:   []string{declDeploy},
			live:   live(t, "web:1.0", "3", "", ""),
			edit:   func(u *unstructured.Unstructured) { setLimit(u, "cpu", "750m") },
			policy: livePolicy, status: StatusDrift, exit: 1,
			fields: []wantField{{`.spec.template.spec.containers[name="web"].resources.limits.cpu`, FieldDrift, "750m", "kubectl-client-side-apply"}},
		},
		{
			name:   "a probe delay set live where git declares 0 is drift",
			decl:   []string{declDeploy},
			live:   live(t, "web:1.0", "3", "", ""),
			edit:   func(u *unstructured.Unstructured) { setProbeDelay(u, 30) },
			policy: livePolicy, status: StatusDrift, exit: 1,
			fields: []wantField{{`.spec.template.spec.containers[name="web"].readinessProbe.initialDelaySeconds`, FieldDrift, int64(30), "kubectl-client-side-apply"}},
		},
		{
			name:   "declared but not live is missing",
			decl:   []string{declDeploy},
			policy: livePolicy, status: StatusMissing, exit: 1,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var decl []*manifest.Declared
			for _, y := range tc.decl {
				decl = append(decl, declared(t, y))
			}
			kl := KindList{Namespaced: true}
			if tc.live != nil {
				lo := tc.live.DeepCopy()
				if tc.edit != nil {
					tc.edit(lo)
				}
				kl.Objects = []*unstructured.Unstructured{lo}
			}
			in := Input{
				Declared:    decl[:1],
				Live:        map[schema.GroupVersionKind]KindList{deployGVK(): kl},
				Types:       typesFor,
				Normalizers: DefaultNormalizers(scheme.Scheme),
				Now:         t0,
			}
			if len(decl) > 1 {
				in.Declared = decl // the HPA is declared but only the Deployment is looked at
				in.Live[schema.GroupVersionKind{Group: "autoscaling", Version: "v2", Kind: "HorizontalPodAutoscaler"}] = KindList{Namespaced: true, Objects: []*unstructured.Unstructured{mustObject(t, declHPA)}}
			}
			if tc.policy != "" {
				in.Policy = parsePolicy(t, tc.policy)
			}
			if !tc.now.IsZero() {
				in.Now = tc.now
			}
			rep := Compare(in)
			var res *ObjectResult
			for i := range rep.Objects {
				if rep.Objects[i].Ref.Kind == "Deployment" {
					res = &rep.Objects[i]
				}
			}
			if res == nil {
				t.Fatalf("no result for the Deployment: %+v", rep.Objects)
			}
			if res.Status != tc.status {
				t.Errorf("status %q, want %q (error %q, fields %+v)", res.Status, tc.status, res.Error, res.Fields)
			}
			if got := rep.ExitCode(); got != tc.exit {
				t.Errorf("exit %d, want %d", got, tc.exit)
			}
			if res.Ignored != tc.ignored {
				t.Errorf("ignored %d fields, want %d", res.Ignored, tc.ignored)
			}
			if len(res.Fields) != len(tc.fields) {
				t.Fatalf("fields %s, want %d", describe(res.Fields), len(tc.fields))
			}
			for i, w := range tc.fields {
				f := res.Fields[i]
				if f.Path != w.path || f.Status != w.status || !equalJSON(f.Live, w.live) {
					t.Errorf("field %d = %s %s live %v, want %s %s live %v", i, f.Path, f.Status, f.Live, w.path, w.status, w.live)
				}
				got := ""
				if f.ChangedBy != nil {
					got = f.ChangedBy.Manager
				}
				if got != w.manager {
					t.Errorf("field %s changed by %q, want %q", f.Path, got, w.manager)
				}
			}
			for _, h := range tc.unifiedH {
				if !strings.Contains(res.Unified, h) {
					t.Errorf("unified diff lacks %q:\n%s", h, res.Unified)
				}
			}
		})
	}
}

func describe(fs []FieldResult) string {
	var parts []string
	for _, f := range fs {
		parts = append(parts, f.Path+" "+string(f.Status)+" live="+short(f.Live)+" git="+short(f.Declared))
	}
	return "[" + strings.Join(parts, "; ") + "]"
}

func equalJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

func container(u *unstructured.Unstructured, i int, f func(map[string]any)) {
	cs, _, _ := unstructured.NestedSlice(u.Object, "spec", "template", "spec", "containers")
	f(cs[i].(map[string]any))
	_ = unstructured.SetNestedSlice(u.Object, cs, "spec", "template", "spec", "containers")
}

func setEnv(u *unstructured.Unstructured, name, v string) {
	container(u, 0, func(c map[string]any) {
		for _, e := range c["env"].([]any) {
			if e.(map[string]any)["name"] == name {
				e.(map[string]any)["value"] = v
			}
		}
	})
}

func setLimit(u *unstructured.Unstructured, res, v string) {
	container(u, 0, func(c map[string]any) {
		c["resources"].(map[string]any)["limits"].(map[string]any)[res] = v
	})
}

func setProbeDelay(u *unstructured.Unstructured, v int64) {
	container(u, 0, func(c map[string]any) {
		c["readinessProbe"].(map[string]any)["initialDelaySeconds"] = v
	})
}
