package policyfile

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/latch-gitops/latch/internal/policy"

	"github.com/latch-gitops/latch/internal/objectid"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// sampleObjects are the workloads every golden file resolves.
var sampleObjects = []Object{
	{Ref: objectid.Ref{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "shop", Name: "web-1"}, Labels: map[string]string{"tier": "frontend", "env": "prod"}, HasHPA: true},
	{Ref: objectid.Ref{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "shop", Name: "web-1"}, Labels: map[string]string{"tier": "frontend", "env": "staging"}, HasHPA: true},
	{Ref: objectid.Ref{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "shop", Name: "cart"}, HasHPA: false},
	{Ref: objectid.Ref{Group: "apps", Version: "v1", Kind: "StatefulSet", Namespace: "queue", Name: "worker"}, Labels: map[string]string{"app.kubernetes.io/component": "worker"}, HasHPA: true},
	{Ref: objectid.Ref{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "batch-nightly", Name: "crunch"}, HasHPA: true},
	{Ref: objectid.Ref{Group: "argoproj.io", Version: "v1alpha1", Kind: "Rollout", Namespace: "shop", Name: "checkout"}, HasHPA: true},
	{Ref: objectid.Ref{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "sandbox", Name: "toy"}, HasHPA: true},
	{Ref: objectid.Ref{Group: "", Version: "v1", Kind: "ConfigMap", Namespace: "shop", Name: "settings"}},
}

// render is what a golden file holds: the policy as `latch policy check`
// prints it, then what it resolves to for each sample object. The engine's
// default parameters are printed as <engine defaults>: they are tuned in
// internal/policy, and this package's goldens should change when its own
// behaviour does, not when a default is re-measured. TestDefaultPolicy
// checks the values themselves.
func render(t *testing.T, pol *Policy) []byte {
	t.Helper()
	var b bytes.Buffer
	b.WriteString("== policy\n")
	if err := pol.Summary().WriteText(&b); err != nil {
		t.Fatal(err)
	}
	b.WriteString("== resolved\n")
	for _, obj := range sampleObjects {
		fmt.Fprintf(&b, "-- %s\n", obj)
		if err := pol.Resolve(obj).WriteText(&b); err != nil {
			t.Fatal(err)
		}
	}
	engine := policy.DefaultParams()
	return bytes.ReplaceAll(b.Bytes(), []byte(describeLatch(&engine)), []byte("<engine defaults>"))
}

func checkGolden(t *testing.T, goldenPath string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(goldenPath, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(goldenPath)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (go test -update rewrites it after review):\n--- got\n%s\n--- want\n%s", goldenPath, got, want)
	}
}

func TestGoldenValidPolicies(t *testing.T) {
	inputs, err := filepath.Glob("testdata/valid/*.yaml")
	if err != nil || len(inputs) == 0 {
		t.Fatalf("no inputs in testdata/valid: %v", err)
	}
	for _, in := range inputs {
		t.Run(filepath.Base(in), func(t *testing.T) {
			data, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			pol, err := Parse(filepath.Base(in), data)
			if err != nil {
				t.Fatalf("valid policy rejected:\n%v", err)
			}
			checkGolden(t, strings.TrimSuffix(in, ".yaml")+".golden", render(t, pol))
		})
	}
}

func TestGoldenDefault(t *testing.T) {
	checkGolden(t, "testdata/default.golden", render(t, Default()))
}

// TestExamplePolicy keeps examples/latch.yaml valid and its meaning reviewed.
func TestExamplePolicy(t *testing.T) {
	const example = "../../examples/latch.yaml"
	data, err := os.ReadFile(example)
	if err != nil {
		t.Fatal(err)
	}
	pol, err := Parse("examples/latch.yaml", data)
	if err != nil {
		t.Fatalf("examples/latch.yaml is rejected:\n%v", err)
	}
	if got := len(pol.Rules) - len(Default().Rules); got != 5 {
		t.Errorf("examples/latch.yaml has %d rules, want the 5 it documents", got)
	}
	checkGolden(t, "testdata/example.golden", render(t, pol))
}
