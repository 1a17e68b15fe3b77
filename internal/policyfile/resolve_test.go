package policyfile

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/latch-gitops/latch/internal/policy"

	"github.com/latch-gitops/latch/internal/objectid"
)

func mustParse(t *testing.T, rules string) *Policy {
	t.Helper()
	pol, err := Parse("latch.yaml", []byte(header+rules))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return pol
}

var (
	web    = Object{Ref: objectid.Ref{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "shop", Name: "web-1"}, Labels: map[string]string{"tier": "frontend"}, HasHPA: true}
	cart   = Object{Ref: objectid.Ref{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "shop", Name: "cart"}}
	rollot = Object{Ref: objectid.Ref{Group: "argoproj.io", Version: "v1alpha1", Kind: "Rollout", Namespace: "shop", Name: "web-2"}, HasHPA: true}
)

func TestResolvePrecedence(t *testing.T) {
	pol := mustParse(t, `  rules:
    - name: first
      fields:
        spec.replicas: {mode: latch, hysteresis: 0.3, max: 500}
        metadata.labels: converge
    - name: second
      match: {names: ["web-*"]}
      fields:
        spec.replicas: {mode: latch, min: 2}
    - name: third-not-matching
      match: {namespaces: [other]}
      fields:
        spec.replicas: ignore
    - name: whole-spec
      match: {labels: "tier=backend"}
      fields:
        spec: ignore
`)
	tests := []struct {
		name      string
		obj       Object
		path      string
		wantMode  policy.Mode
		wantFrom  string
		wantLatch *policy.Params
	}{
		{
			name: "a later matching rule replaces the entry whole",
			obj:  web, path: "spec.replicas", wantMode: policy.ModeLatch, wantFrom: "second",
			// hysteresis and max are not carried over from "first".
			wantLatch: &policy.Params{Ladder: policy.DefaultParams().Ladder, Hysteresis: policy.DefaultHysteresis, DwellDown: policy.DefaultDwellDown, DwellUp: policy.DefaultDwellUp, Window: policy.DefaultWindow, MissBudget: policy.DefaultMissBudget, OverprovisionBudget: policy.DefaultOverprovisionBudget, Min: 2},
		},
		{
			name: "an earlier rule keeps the fields a later one does not set",
			obj:  web, path: "metadata.labels", wantMode: policy.ModeConverge, wantFrom: "first",
		},
		{
			name: "a file rule overrides a built-in rule",
			obj:  cart, path: "spec.replicas", wantMode: policy.ModeLatch, wantFrom: "first",
			wantLatch: &policy.Params{Ladder: policy.DefaultParams().Ladder, Hysteresis: 0.3, DwellDown: policy.DefaultDwellDown, DwellUp: policy.DefaultDwellUp, Window: policy.DefaultWindow, MissBudget: policy.DefaultMissBudget, OverprovisionBudget: policy.DefaultOverprovisionBudget, Max: 500},
		},
		{
			name: "built-in rules still apply to fields the file does not name",
			obj:  web, path: "spec.template", wantMode: policy.ModeImmutable, wantFrom: "builtin/pod-templates",
		},
		{
			name: "a field under a set path takes its ancestor's mode",
			obj:  web, path: "spec.template.spec.containers", wantMode: policy.ModeImmutable, wantFrom: "builtin/pod-templates",
		},
		{
			name: "a field under a latched field is ignored",
			obj:  web, path: "spec.replicas.value", wantMode: policy.ModeIgnore,
		},
		{
			name: "a field no rule names is ignored",
			obj:  web, path: "spec.strategy", wantMode: policy.ModeIgnore,
		},
		{
			name: "a later rule on an ancestor path overrides earlier descendants",
			obj:  func() Object { o := web; o.Labels = map[string]string{"tier": "backend"}; return o }(),
			path: "spec.replicas", wantMode: policy.ModeIgnore, wantFrom: "whole-spec",
		},
		{
			name: "a later rule on an ancestor path overrides built-in descendants",
			obj:  func() Object { o := web; o.Labels = map[string]string{"tier": "backend"}; return o }(),
			path: "spec.template", wantMode: policy.ModeIgnore, wantFrom: "whole-spec",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := pol.Resolve(tt.obj).Field(tt.path)
			if got.Mode != tt.wantMode || got.From != tt.wantFrom {
				t.Errorf("Field(%q) = %s from %q, want %s from %q", tt.path, got.Mode, got.From, tt.wantMode, tt.wantFrom)
			}
			switch {
			case tt.wantLatch == nil && got.Latch != nil:
				t.Errorf("Latch = %+v, want nil", *got.Latch)
			case tt.wantLatch != nil && (got.Latch == nil || *got.Latch != *tt.wantLatch):
				t.Errorf("Latch = %+v, want %+v", got.Latch, *tt.wantLatch)
			}
		})
	}
}

func TestResolveEarlierAncestorLaterDescendant(t *testing.T) {
	pol := mustParse(t, `  rules:
    - name: all
      fields: {spec: immutable}
    - name: replicas
      match: {hasHPA: true}
      fields: {spec.replicas: latch}
`)
	r := pol.Resolve(web)
	if got := r.Field("spec.replicas"); got.Mode != policy.ModeLatch || got.From != "replicas" {
		t.Errorf("spec.replicas = %s from %s, want latch from replicas", got.Mode, got.From)
	}
	if got := r.Field("spec.strategy"); got.Mode != policy.ModeImmutable || got.From != "all" {
		t.Errorf("spec.strategy = %s from %s, want immutable from all", got.Mode, got.From)
	}
	if len(r.Warnings) != 0 {
		t.Errorf("unexpected warnings: %v", r.Warnings)
	}
	// Without an HPA the replicas rule does not match and spec governs.
	if got := pol.Resolve(cart).Field("spec.replicas"); got.Mode != policy.ModeImmutable {
		t.Errorf("cart spec.replicas = %s, want immutable", got.Mode)
	}
}

func TestResolveWarnsWhenFightingTheHPA(t *testing.T) {
	pol := mustParse(t, "  rules:\n    - name: pin\n      fields: {spec.replicas: {mode: converge, grace: 1m}}\n")
	if w := pol.Resolve(web).Warnings; len(w) != 1 || !strings.Contains(w[0], "converge (rule pin)") {
		t.Errorf("HPA-scaled object: warnings = %q, want one naming converge and rule pin", w)
	}
	if w := pol.Resolve(cart).Warnings; len(w) != 0 {
		t.Errorf("object without an HPA: warnings = %q, want none", w)
	}
}

func TestMatch(t *testing.T) {
	yes, no := true, false
	tests := []struct {
		name  string
		match string
		obj   Object
		want  bool
	}{
		{"empty match selects everything", "{}", cart, true},
		{"kind", "{kinds: [Deployment]}", web, true},
		{"kind is case-sensitive and exact", "{kinds: [DeploymentX]}", web, false},
		{"kind with group", "{kinds: [Rollout.argoproj.io]}", rollot, true},
		{"kind with another group", "{kinds: [Deployment.extensions]}", web, false},
		{"kind list is any-of", "{kinds: [StatefulSet, Rollout]}", rollot, true},
		{"namespace glob", "{namespaces: [\"sh?p\"]}", web, true},
		{"name glob", "{names: [\"web-*\"]}", web, true},
		{"name glob miss", "{names: [\"web-*\"]}", cart, false},
		{"labels", "{labels: \"tier in (frontend, api)\"}", web, true},
		{"labels miss", "{labels: \"tier\"}", cart, false},
		{"labels negation", "{labels: \"!tier\"}", cart, true},
		{"criteria are all-of", "{names: [\"web-*\"], labels: \"tier=backend\"}", web, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pol := mustParse(t, "  rules:\n    - name: r\n      match: "+tt.match+"\n      fields: {x: ignore}\n")
			m := pol.Rules[len(pol.Rules)-1].Match
			if got := m.Matches(tt.obj); got != tt.want {
				t.Errorf("Matches(%s) = %t, want %t", tt.obj, got, tt.want)
			}
		})
	}
	for _, tt := range []struct {
		has  *bool
		obj  Object
		want bool
	}{{&yes, web, true}, {&yes, cart, false}, {&no, cart, true}, {&no, web, false}, {nil, web, true}} {
		m := Match{HasHPA: tt.has}
		if got := m.Matches(tt.obj); got != tt.want {
			t.Errorf("hasHPA=%v on %s: got %t, want %t", tt.has, tt.obj, got, tt.want)
		}
	}
}

func TestResolveDoesNotShareParams(t *testing.T) {
	pol := Default()
	r := pol.Resolve(web)
	r.Fields["spec.replicas"].Latch.Max = 7
	if got := pol.Resolve(web).Field("spec.replicas").Latch.Max; got != 0 {
		t.Errorf("changing a resolved Params changed the policy: max = %d", got)
	}
}

func TestDefaultPolicy(t *testing.T) {
	pol := Default()
	if pol.FromFile {
		t.Error("Default().FromFile = true")
	}
	r := pol.Resolve(web)
	if got := r.Field("spec.replicas"); got.Mode != policy.ModeLatch || got.Latch == nil || *got.Latch != policy.DefaultParams() {
		t.Errorf("HPA workload spec.replicas = %+v, want latch with policy.DefaultParams()", got)
	}
	if got := r.Field("spec.template"); got.Mode != policy.ModeImmutable {
		t.Errorf("spec.template = %s, want immutable", got.Mode)
	}
	if got := pol.Resolve(cart).Field("spec.replicas"); got.Mode != policy.ModeIgnore {
		t.Errorf("workload without HPA: spec.replicas = %s, want ignore (left to the GitOps tool)", got.Mode)
	}
}

func TestFieldPolicyJSON(t *testing.T) {
	r := mustParse(t, "  rules:\n    - name: r\n      fields:\n        a: {mode: latch, rule: {kind: step, step: 5}, hysteresis: 0.25, dwellDown: 90m, dwellUp: 1m, max: 40}\n        b: {mode: converge, grace: 2h}\n        c: immutable\n").Resolve(cart)
	got, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"fields":{"a":{"mode":"latch","rule":{"kind":"step","step":5},"hysteresis":0.25,"dwellDown":"1h30m","dwellUp":"1m","max":40,"from":"r"},` +
		`"b":{"mode":"converge","grace":"2h","from":"r"},"c":{"mode":"immutable","from":"r"},"spec.template":{"mode":"immutable","from":"builtin/pod-templates"}}}`
	if string(got) != want {
		t.Errorf("JSON:\n got %s\nwant %s", got, want)
	}
}

func TestFormatDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "0s", 90 * time.Minute: "1h30m", 2 * time.Hour: "2h", 45 * time.Second: "45s",
		time.Hour + 5*time.Second: "1h0m5s", 1500 * time.Millisecond: "1.5s", 10 * time.Minute: "10m",
	} {
		got := formatDuration(d)
		if got != want {
			t.Errorf("formatDuration(%v) = %q, want %q", d, got, want)
		}
		if back, err := time.ParseDuration(got); err != nil || back != d {
			t.Errorf("formatDuration(%v) = %q does not parse back: %v, %v", d, got, back, err)
		}
	}
}
