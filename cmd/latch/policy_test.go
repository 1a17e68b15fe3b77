package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runLatch(t *testing.T, args ...string) (stdout string, err error) {
	t.Helper()
	stdout, _, err = runLatchStderr(t, args...)
	return stdout, err
}

func runLatchStderr(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	root := newRootCommand(&out, &errOut)
	root.SetArgs(args)
	err = root.Execute()
	return out.String(), errOut.String(), err
}

func TestPolicyCheck(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("apiVersion: latch.dev/v1alpha1\nkind: LatchPolicy\nspec:\n  rules:\n    - name: a\n      match: {kind: [Deployment]}\n      fields:\n        spec.replicas: {mode: latch, hysteresis: 1.5}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		args       []string
		wantOut    []string // substrings of stdout
		wantErr    string   // prefix of the error; empty for success
		wantStderr string
	}{
		{
			name:    "the example is accepted and its rules printed",
			args:    []string{"policy", "check", "../../examples/latch.yaml"},
			wantOut: []string{"source: ../../examples/latch.yaml", "1. builtin/pod-templates (built-in)", "3. web-tier (line ", "spec.replicas: latch (rule series 1-2-5, hysteresis 0.2, dwellDown 2h, dwellUp 10m, min 2, max 500)"},
		},
		{
			name:       "a broken file is an error naming file, line, column and field",
			args:       []string{"policy", "check", bad},
			wantErr:    bad + ": 2 problem(s) found",
			wantStderr: bad + ":6:15: spec.rules[0].match.kind: unknown key \"kind\"; did you mean \"kinds\"? (want one of kinds, namespaces, names, labels, hasHPA)\n" + bad + `:8:50: spec.rules[0].fields["spec.replicas"].hysteresis: must be in [0, 1), got 1.5` + "\n",
		},
		{
			name:    "a missing file named on the command line is an error",
			args:    []string{"policy", "check", filepath.Join(dir, "missing.yaml")},
			wantErr: "reading policy file: open " + filepath.Join(dir, "missing.yaml"),
		},
		{
			name: "resolving for an object",
			args: []string{"policy", "check", "../../examples/latch.yaml", "--object", "Deployment.apps/shop/web-1", "--labels", "tier=frontend,env=prod", "--hpa"},
			wantOut: []string{"resolved for Deployment.apps/shop/web-1:\n",
				"metadata.annotations: converge (grace 30m) from web-tier\n",
				"spec.replicas: latch (rule series 1-2-5, hysteresis 0.2, dwellDown 2h, dwellUp 10m, min 2, max 500) from web-tier\n"},
		},
		{
			name:    "a malformed object reference",
			args:    []string{"policy", "check", "../../examples/latch.yaml", "--object", "web-1"},
			wantErr: `flag --object: want KIND[.GROUP]/NAMESPACE/NAME, got "web-1"`,
		},
		{
			name:    "too many arguments",
			args:    []string{"policy", "check", "a.yaml", "b.yaml"},
			wantErr: "accepts at most 1 arg(s), received 2",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, stderr, err := runLatchStderr(t, tt.args...)
			if stderr != tt.wantStderr {
				t.Errorf("stderr:\n got %q\nwant %q", stderr, tt.wantStderr)
			}
			if tt.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want prefix %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			for _, want := range tt.wantOut {
				if !strings.Contains(out, want) {
					t.Errorf("output lacks %q:\n%s", want, out)
				}
			}
		})
	}
}

func TestPolicyCheckDefaultsToBuiltinWithoutLatchYAML(t *testing.T) {
	t.Chdir(t.TempDir())
	out, err := runLatch(t, "policy", "check")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out, "source: built-in policy (no latch.yaml in the repository)\n") {
		t.Errorf("output does not say the built-in policy applies:\n%s", out)
	}
	if err := os.WriteFile("latch.yaml", []byte("apiVersion: latch.dev/v1alpha1\nkind: Latch\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, stderr, err := runLatchStderr(t, "policy", "check"); err == nil || err.Error() != "latch.yaml: 1 problem(s) found" ||
		stderr != "latch.yaml:2:7: kind: want LatchPolicy, got \"Latch\"\n" {
		t.Errorf("broken ./latch.yaml: error = %v, stderr %q; want the parse error and no fallback", err, stderr)
	}
}

func TestPolicyCheckJSON(t *testing.T) {
	out, err := runLatch(t, "policy", "check", "../../examples/latch.yaml", "-o", "json", "--object", "StatefulSet/queue/w", "--labels", "app.kubernetes.io/component=worker", "--hpa")
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Policy struct {
			Rules []struct{ Name string }
		}
		Resolved struct {
			Fields map[string]struct {
				Mode string
				Rule struct {
					Kind string
					Step int64
				}
				Max  int64
				From string
			}
		}
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out)
	}
	if len(got.Policy.Rules) != 7 {
		t.Errorf("%d rules in JSON, want 7 (2 built-in + 5)", len(got.Policy.Rules))
	}
	r := got.Resolved.Fields["spec.replicas"]
	if r.Mode != "latch" || r.Rule.Kind != "step" || r.Rule.Step != 5 || r.Max != 200 || r.From != "workers" {
		t.Errorf("resolved spec.replicas = %+v, want latch step 5 max 200 from workers", r)
	}
}
