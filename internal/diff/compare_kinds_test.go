package diff

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/scheme"

	"github.com/latch-gitops/latch/internal/manifest"
	"github.com/latch-gitops/latch/internal/objectid"
)

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
