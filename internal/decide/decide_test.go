package decide

import (
	"strings"
	"testing"
	"time"

	"github.com/latch-gitops/latch/internal/manifest"
	"github.com/latch-gitops/latch/internal/objectid"
	"github.com/latch-gitops/latch/internal/policy"
	"github.com/latch-gitops/latch/internal/policyfile"
)

const replicas = "spec.replicas"

var (
	now = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	web = objectid.Ref{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "shop", Name: "web"}
)

func latched(fields ...string) policyfile.Resolved {
	params := policy.DefaultParams()
	r := policyfile.Resolved{Fields: map[string]policyfile.FieldPolicy{}}
	for _, f := range fields {
		r.Fields[f] = policyfile.FieldPolicy{Mode: policy.ModeLatch, Latch: &params, From: "test"}
	}
	return r
}

func at(value string) manifest.Location {
	return manifest.Location{File: "apps/web.yaml", Line: 7, Column: 13, Value: value, Via: manifest.ViaManifest}
}

// object is web latched on spec.replicas, observed at observed, declared
// in git as declared; change tweaks it.
func object(observed int64, declared string, change func(*Object)) Object {
	o := Object{Ref: web, Policy: latched(replicas), Live: map[string]int64{replicas: observed}, ChangedBy: "kube-controller-manager",
		Fields: map[string]Declared{replicas: {Loc: at(declared)}}}
	if change != nil {
		change(&o)
	}
	return o
}

func withField(f func(*Declared)) func(*Object) {
	return func(o *Object) {
		d := o.Fields[replicas]
		f(&d)
		o.Fields[replicas] = d
	}
}

func TestDecide(t *testing.T) {
	dwell := policy.DefaultDwellDown
	pendingDown := policy.State{Valid: true, Declared: 40, Pending: policy.DirDown, Since: now.Add(-2 * dwell), Extreme: 10}
	tests := []struct {
		name   string
		obj    Object
		target int64
		// reason, bounds and problem must contain these ("" : empty).
		reason, bounds, problem string
		edit                    bool
	}{
		{name: "up to the round number", obj: object(37, "3", nil), target: 40, edit: true},
		{name: "steady: nothing to edit", obj: object(40, "40", nil), target: 40},
		{name: "git HPA bounds win over the live HPA",
			obj: object(37, "3", func(o *Object) {
				o.GitBounds, o.LiveBounds = &Bounds{Min: 2, Max: 500}, &Bounds{Min: 1, Max: 10}
			}), target: 40, bounds: "HPA 2..500", edit: true},
		{name: "a live HPA git does not declare still binds (clamp)",
			obj:    object(37, "3", func(o *Object) { o.LiveBounds = &Bounds{Min: 1, Max: 10} }),
			target: 10, bounds: "live HPA 1..10", edit: true},
		{name: "clamp up to the minimum",
			obj: object(1, "1", func(o *Object) { o.GitBounds = &Bounds{Min: 5, Max: 50} }), target: 5, bounds: "HPA 5..50", edit: true},
		// The dwell resumes and the move is made; the target is the level
		// covering what the wait needed (⌈10/2⌉ = 5, read from the
		// quarter-octave bin up to 5.66): 6, where the pre-budget machine
		// took 10 (the level at or above 10/√2).
		{name: "stored state that matches git resumes its dwell",
			obj: object(10, "40", withField(func(d *Declared) { s := pendingDown; d.Stored = &s })), target: 6, edit: true},
		{name: "git moved under the stored state: resume from git",
			obj: object(10, "50", withField(func(d *Declared) { s := pendingDown; d.Stored = &s })), target: 50},
		{name: "a person's edit in this round wins",
			obj:    object(37, "3", withField(func(d *Declared) { d.PersonChanged = true })),
			target: 3, reason: "a person changed this field"},
		{name: "a person's edit does not matter when nothing changes",
			obj: object(40, "40", withField(func(d *Declared) { d.PersonChanged = true })), target: 40},
		{name: "problem from the index",
			obj: object(37, "", withField(func(d *Declared) { *d = Declared{Problem: "declared twice"} })), problem: "declared twice"},
		{name: "not an integer",
			obj: object(37, "3x", nil), problem: `value "3x" is not an integer`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Decide(Input{Now: now, Objects: []Object{tc.obj}})
			if len(got) != 1 {
				t.Fatalf("%d decisions, want 1: %+v", len(got), got)
			}
			d := got[0]
			if d.Ref != web || d.Field != replicas || d.Mode != policy.ModeLatch {
				t.Errorf("decision for %s %s (%s)", d.Ref, d.Field, d.Mode)
			}
			if !strings.Contains(d.Problem, tc.problem) || (tc.problem == "") != (d.Problem == "") {
				t.Fatalf("problem %q, want %q", d.Problem, tc.problem)
			}
			if tc.problem != "" {
				if d.Evidence != nil || d.Next != nil {
					t.Errorf("a problem with evidence %+v or a state %+v", d.Evidence, d.Next)
				}
				return
			}
			if d.Target != tc.target {
				t.Errorf("target %d, want %d (reason %q)", d.Target, tc.target, d.Reason)
			}
			if !strings.Contains(d.Reason, tc.reason) {
				t.Errorf("reason %q, want %q", d.Reason, tc.reason)
			}
			if d.Bounds() != tc.bounds {
				t.Errorf("bounds %q, want %q", d.Bounds(), tc.bounds)
			}
			if d.Next == nil || d.Next.Declared != d.Target {
				t.Errorf("next state %+v, want one declaring %d", d.Next, d.Target)
			}
			if (d.Evidence != nil) != tc.edit {
				t.Fatalf("evidence %+v, want an edit: %t", d.Evidence, tc.edit)
			}
			if e := d.Evidence; e != nil {
				if e.Object != web || e.Field != replicas || e.From != d.Declared || e.To != d.Target || e.Observed != d.Observed ||
					e.File != "apps/web.yaml" || e.ChangedBy != "kube-controller-manager" || e.Bounds() != tc.bounds || e.Rule == "" || e.Reason == "" {
					t.Errorf("evidence %+v for decision %+v", e, d)
				}
			}
		})
	}
}

// The decide step iterates the fields the policy latches, not only
// spec.replicas; a latched field without a live value is not decided, and
// fields in other modes never are.
func TestDecideIteratesTheLatchedFields(t *testing.T) {
	o := object(37, "3", func(o *Object) {
		o.Policy = latched(replicas, "spec.parallelism", "spec.minReadySeconds")
		o.Policy.Fields["spec.template"] = policyfile.FieldPolicy{Mode: policy.ModeImmutable}
		o.Live["spec.parallelism"] = 370
		o.Fields["spec.parallelism"] = Declared{Loc: at("10")}
	})
	got := Decide(Input{Now: now, Objects: []Object{o}})
	if len(got) != 2 || got[0].Field != "spec.parallelism" || got[1].Field != replicas {
		t.Fatalf("decisions %+v, want spec.parallelism and spec.replicas", got)
	}
	if got[0].Target != 400 || got[0].Evidence == nil || got[0].Evidence.Field != "spec.parallelism" {
		t.Errorf("spec.parallelism: %+v", got[0])
	}
}
