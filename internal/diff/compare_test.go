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

func TestCompareKindsAndInput(t *testing.T) {
	svcGVK := schema.GroupVersionKind{Version: "v1", Kind: "Service"}
	cmGVK := schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}
	poolGVK := schema.GroupVersionKind{Group: "example.com", Version: "v1", Kind: "Pool"}
	declSvc := "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: shop}\nspec:\n  selector: {app: web}\n  ports: [{port: 80, targetPort: http}, {port: 9090, targetPort: 9090, name: metrics}]\n"
	liveSvc := `apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop, uid: a1}
spec:
  clusterIP: 10.0.0.7
  clusterIPs: [10.0.0.7]
  type: ClusterIP
  sessionAffinity: None
  ipFamilies: [IPv4]
  selector: {app: web}
  ports: [{port: 80, targetPort: http, protocol: TCP}, {port: 9090, targetPort: 9090, name: metrics, protocol: TCP}]
`
	declCM := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {mode: fast, retries: \"3\"}\n"
	liveCM := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: shop\n  managedFields:\n    - {manager: kubectl-edit, operation: Update, time: \"2026-12-01T11:00:00Z\", fieldsType: FieldsV1, fieldsV1: {\"f:data\": {\"f:mode\": {}}}}\ndata: {mode: slow, retries: \"3\"}\n"
	declPool := "apiVersion: example.com/v1\nkind: Pool\nmetadata: {name: p, namespace: shop}\nspec: {size: 3, zones: [a, b]}\n"
	livePool := "apiVersion: example.com/v1\nkind: Pool\nmetadata: {name: p, namespace: shop, generation: 1}\nspec: {size: 3, zones: [a, b], defaulted: true}\nstatus: {ready: 3}\n"
	unmanaged := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: hand-made\n  namespace: shop\n  managedFields: [{manager: kubectl-create, operation: Update, time: \"2026-12-01T09:00:00Z\"}]\ndata: {a: b}\n"
	rootCA := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: kube-root-ca.crt\n  namespace: shop\n  managedFields: [{manager: kube-controller-manager, operation: Update}]\ndata: {ca.crt: x}\n"
	otherNS := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: elsewhere, namespace: kube-system}\n"
	marker := &manifest.Declared{
		Ref:     objectid.Ref{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "shop", Name: "web"},
		Object:  map[string]any{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": map[string]any{"name": "web", "namespace": "shop"}, "spec": map[string]any{"replicas": int64(3)}},
		Origin:  manifest.Position{File: "charts/shop/values.yaml", Line: 2},
		Partial: true,
		Fields:  map[string]manifest.Position{"spec.replicas": {File: "charts/shop/values.yaml", Line: 2, Column: 17}},
	}
	pol := parsePolicy(t, livePolicy)

	in := Input{
		Declared: []*manifest.Declared{declared(t, declSvc), declared(t, declCM), declared(t, declPool), marker},
		Live: map[schema.GroupVersionKind]KindList{
			svcGVK:      {Namespaced: true, Objects: []*unstructured.Unstructured{mustObject(t, liveSvc)}},
			cmGVK:       {Namespaced: true, Objects: []*unstructured.Unstructured{mustObject(t, liveCM), mustObject(t, unmanaged), mustObject(t, rootCA), mustObject(t, otherNS)}},
			poolGVK:     {Namespaced: true, Objects: []*unstructured.Unstructured{mustObject(t, livePool)}},
			deployGVK(): {Namespaced: true, Objects: []*unstructured.Unstructured{live(t, "web:1.0", "5", "kubectl-scale", `{"f:spec":{"f:replicas":{}}}`)}},
		},
		DefaultNamespace: "shop",
		Types:            typesFor,
		Normalizers:      DefaultNormalizers(scheme.Scheme),
		Policy:           pol,
		Now:              t0,
		IncludeUnmanaged: true,
	}
	rep := Compare(in)
	got := map[string]ObjectResult{}
	for _, o := range rep.Objects {
		got[o.Ref.Kind+"/"+o.Ref.Name] = o
	}
	want := map[string]ObjectStatus{
		"Service/web":         StatusInSync, // protocol defaulted, int-or-string both forms
		"ConfigMap/settings":  StatusDrift,  // declared without namespace: the default one
		"Pool/p":              StatusInSync, // no schema: compared structurally; server's extra field is not drift
		"Deployment/web":      StatusDrift,  // the marker's replicas, from Helm values
		"ConfigMap/hand-made": StatusUnmanaged,
	}
	for k, st := range want {
		if got[k].Status != st {
			t.Errorf("%s: %q, want %q (%s %s)", k, got[k].Status, st, got[k].Error, describe(got[k].Fields))
		}
	}
	if len(got) != len(want) {
		t.Errorf("objects %v, want only %v (kube-root-ca.crt and other namespaces are not unmanaged)", got, want)
	}
	cm := got["ConfigMap/settings"]
	if len(cm.Fields) != 1 || cm.Fields[0].Path != ".data.mode" || cm.Fields[0].ChangedBy == nil || cm.Fields[0].ChangedBy.Manager != "kubectl-edit" {
		t.Errorf("ConfigMap fields %s", describe(cm.Fields))
	}
	if f := got["Deployment/web"].Fields; len(f) != 1 || f[0].Source.String() != "charts/shop/values.yaml:2:17" {
		t.Errorf("marker field %+v", f)
	}
	if rep.ExitCode() != 1 || rep.Summary.Unmanaged != 1 || rep.Summary.Drifted != 2 {
		t.Errorf("exit %d summary %+v", rep.ExitCode(), rep.Summary)
	}

	// A kind that cannot be listed: its objects are not compared, the rest are.
	in.IncludeUnmanaged = false
	in.Live[poolGVK] = KindList{Err: errString("the server could not find the requested resource (CRD not installed)")}
	rep = Compare(in)
	if o := find(rep, "Pool"); o.Status != StatusError || !strings.Contains(o.Error, "CRD not installed") {
		t.Errorf("Pool: %+v", o)
	}
	if rep.ExitCode() != 1 || rep.Summary.Errors != 1 || rep.Summary.Compared != 3 {
		t.Errorf("exit %d summary %+v", rep.ExitCode(), rep.Summary)
	}

	// Nothing comparable: exit 2.
	rep = Compare(Input{Declared: in.Declared[2:3], Live: map[schema.GroupVersionKind]KindList{poolGVK: in.Live[poolGVK]}})
	if rep.ExitCode() != 2 {
		t.Errorf("nothing compared: exit %d, summary %+v", rep.ExitCode(), rep.Summary)
	}

	// A manifest that does not fit its kind is that object's error.
	bad := declared(t, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {mode: [not, a, string]}\n")
	rep = Compare(Input{Declared: []*manifest.Declared{bad}, Live: in.Live, DefaultNamespace: "shop", Types: typesFor, Normalizers: DefaultNormalizers(scheme.Scheme), Policy: pol})
	if o := find(rep, "ConfigMap"); o.Status != StatusError || !strings.Contains(o.Error, "apps/configmap.yaml:1:1") {
		t.Errorf("bad manifest: %+v", o)
	}
}

type errString string

func (e errString) Error() string { return string(e) }

func find(rep *Report, kind string) ObjectResult {
	for _, o := range rep.Objects {
		if o.Ref.Kind == kind {
			return o
		}
	}
	return ObjectResult{}
}

func TestWriteText(t *testing.T) {
	in := Input{
		Declared:    []*manifest.Declared{declared(t, declDeploy)},
		Live:        map[schema.GroupVersionKind]KindList{deployGVK(): {Namespaced: true, Objects: []*unstructured.Unstructured{live(t, "web:2.0", "3", "kubectl-set", `{"f:spec":{"f:template":{"f:spec":{"f:containers":{"k:{\"name\":\"web\"}":{"f:image":{}}}}}}}`)}}},
		Types:       typesFor,
		Normalizers: DefaultNormalizers(scheme.Scheme),
		Now:         t0,
	}
	rep := Compare(in)
	var b strings.Builder
	if err := rep.WriteText(&b, TextOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{
		"apps/v1/Deployment/shop/web drift (apps/deployment.yaml:1:1)",
		"--- git/apps/v1/Deployment/shop/web",
		"+++ live/apps/v1/Deployment/shop/web",
		"-      - image: web:1.0",
		"+      - image: web:2.0",
		`.spec.template.spec.containers[name="web"].image: drift (immutable, rule builtin/pod-templates)`,
		"git web:1.0 at apps/deployment.yaml:1:1; live web:2.0, changed by kubectl-set at 2026-12-01T11:50:00Z",
		"1 declared, 1 compared: 0 in sync, 1 drifted, 0 missing, 0 pending",
	} {
		if !strings.Contains(b.String(), s) {
			t.Errorf("text output lacks %q:\n%s", s, b.String())
		}
	}
	var jb bytes.Buffer
	if err := rep.WriteJSON(&jb); err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(jb.Bytes(), &back); err != nil {
		t.Fatalf("-o json is not valid JSON: %v\n%s", err, jb.String())
	}
	if len(back.Objects) != 1 || back.Objects[0].Fields[0].ChangedBy.Manager != "kubectl-set" {
		t.Errorf("json round trip: %+v", back)
	}
}
