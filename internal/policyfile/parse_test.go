package policyfile

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/latch-gitops/latch/internal/policy"
)

// header is the valid preamble most error cases build on; it is 3 lines,
// so a case's first own line is line 4.
const header = "apiVersion: latch.dev/v1alpha1\nkind: LatchPolicy\nspec:\n"

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		// want is the exact first error: file:line:col: field: message.
		want string
	}{
		{
			name: "empty file",
			yaml: "",
			want: "latch.yaml: empty file: want one LatchPolicy document (apiVersion: latch.dev/v1alpha1, kind: LatchPolicy)",
		},
		{
			name: "comments only",
			yaml: "# nothing here\n",
			want: "latch.yaml: empty file: want one LatchPolicy document (apiVersion: latch.dev/v1alpha1, kind: LatchPolicy)",
		},
		{
			name: "multiple documents",
			yaml: header + "  rules: []\n---\napiVersion: latch.dev/v1alpha1\n",
			want: "latch.yaml:6:1: a second YAML document: the file must hold exactly one LatchPolicy",
		},
		{
			name: "tab indentation",
			yaml: header + "\trules: []\n",
			want: "latch.yaml:4: invalid YAML: found character that cannot start any token",
		},
		{
			name: "unclosed flow mapping",
			yaml: header + "  defaults: {latch: {hysteresis: 0.1}\n",
			want: "latch.yaml:4: invalid YAML: did not find expected ',' or '}'",
		},
		{
			name: "not a mapping",
			yaml: "- a\n- b\n",
			want: "latch.yaml:1:1: must be a mapping, got a list",
		},
		{
			name: "missing apiVersion",
			yaml: "kind: LatchPolicy\n",
			want: "latch.yaml:1:1: apiVersion: required: want latch.dev/v1alpha1",
		},
		{
			name: "wrong apiVersion",
			yaml: "apiVersion: latch.dev/v1\nkind: LatchPolicy\n",
			want: `latch.yaml:1:13: apiVersion: want latch.dev/v1alpha1, got "latch.dev/v1"`,
		},
		{
			name: "wrong kind",
			yaml: "apiVersion: latch.dev/v1alpha1\nkind: Policy\n",
			want: `latch.yaml:2:7: kind: want LatchPolicy, got "Policy"`,
		},
		{
			name: "unknown top-level key",
			yaml: header + "  rules: []\nstatus: {}\n",
			want: `latch.yaml:5:1: status: unknown key "status" (want one of apiVersion, kind, metadata, spec)`,
		},
		{
			name: "unknown key, case slip",
			yaml: header + "  rules:\n    - name: a\n      match: {hasHpa: true}\n      fields: {spec.replicas: latch}\n",
			want: `latch.yaml:6:15: spec.rules[0].match.hasHpa: unknown key "hasHpa"; did you mean "hasHPA"? (want one of kinds, namespaces, names, labels, hasHPA)`,
		},
		{
			name: "unknown key in spec",
			yaml: header + "  rule: []\n",
			want: `latch.yaml:4:3: spec.rule: unknown key "rule"; did you mean "rules"? (want one of defaults, rules)`,
		},
		{
			name: "unknown key in match",
			yaml: header + "  rules:\n    - name: a\n      match: {kind: [Deployment]}\n      fields: {spec.replicas: latch}\n",
			want: `latch.yaml:6:15: spec.rules[0].match.kind: unknown key "kind"; did you mean "kinds"? (want one of kinds, namespaces, names, labels, hasHPA)`,
		},
		{
			name: "unknown key in field entry",
			yaml: header + "  rules:\n    - name: a\n      fields:\n        spec.replicas: {mode: latch, hysterisis: 0.2}\n",
			want: `latch.yaml:7:38: spec.rules[0].fields["spec.replicas"].hysterisis: unknown key "hysterisis"; did you mean "hysteresis"? (want one of mode, rule, hysteresis, dwellDown, dwellUp, window, missBudget, overprovisionBudget, min, max, grace)`,
		},
		{
			name: "unknown key in round rule",
			yaml: header + "  defaults:\n    latch:\n      rule: {kind: step, step: 5, by: 2}\n",
			want: `latch.yaml:6:35: spec.defaults.latch.rule.by: unknown key "by" (want one of kind, step, series)`,
		},
		{
			name: "duplicate key",
			yaml: header + "  rules: []\n  rules: []\n",
			want: "latch.yaml:5:3: spec.rules: duplicate key (first at line 4)",
		},
		{
			name: "duplicate field path",
			yaml: header + "  rules:\n    - name: a\n      fields:\n        spec.replicas: latch\n        spec.replicas: ignore\n",
			want: `latch.yaml:8:9: spec.rules[0].fields["spec.replicas"]: duplicate key (first at line 7)`,
		},
		{
			name: "bad rule kind",
			yaml: header + "  rules:\n    - name: a\n      fields:\n        spec.replicas: {mode: latch, rule: {kind: round}}\n",
			want: `latch.yaml:7:51: spec.rules[0].fields["spec.replicas"].rule.kind: unknown rule kind "round": want one of sigfig, step, magnitude, series`,
		},
		{
			name: "step zero",
			yaml: header + "  rules:\n    - name: a\n      fields:\n        spec.replicas: {mode: latch, rule: {kind: step, step: 0}}\n",
			want: `latch.yaml:7:63: spec.rules[0].fields["spec.replicas"].rule.step: must be > 0 with kind "step", got 0`,
		},
		{
			name: "step negative",
			yaml: header + "  defaults:\n    latch: {rule: {kind: step, step: -5}}\n",
			want: `latch.yaml:5:38: spec.defaults.latch.rule.step: must be > 0 with kind "step", got -5`,
		},
		{
			name: "step missing",
			yaml: header + "  defaults:\n    latch: {rule: {kind: step}}\n",
			want: `latch.yaml:5:19: spec.defaults.latch.rule.step: required for kind step: the multiple to round to, such as step: 5`,
		},
		{
			name: "step with the wrong kind",
			yaml: header + "  defaults:\n    latch: {rule: {kind: sigfig, step: 5}}\n",
			want: `latch.yaml:5:34: spec.defaults.latch.rule.step: only valid with kind step (this rule's kind is sigfig)`,
		},
		{
			name: "bad series",
			yaml: header + "  defaults:\n    latch: {rule: {kind: series, series: E12}}\n",
			want: `latch.yaml:5:42: spec.defaults.latch.rule.series: unknown series "E12" (want one of 1-2-5, R5, R10)`,
		},
		{
			name: "rule without fields",
			yaml: header + "  rules:\n    - name: a\n    - name: b\n      fields:\n        spec.replicas: {mode: latch, hysteresis: 1.5}\n",
			want: "latch.yaml:5:7: spec.rules[0].fields: required: a rule must set at least one field",
		},
		{
			name: "hysteresis out of range in the second rule",
			yaml: header + "  rules:\n    - name: a\n      fields: {spec.replicas: latch}\n    - name: b\n      fields:\n        spec.replicas: {mode: latch, hysteresis: 1.5}\n",
			want: `latch.yaml:9:50: spec.rules[1].fields["spec.replicas"].hysteresis: must be in [0, 1), got 1.5`,
		},
		{
			name: "hysteresis not a number",
			yaml: header + "  defaults:\n    latch: {hysteresis: \"0.1\"}\n",
			want: `latch.yaml:5:25: spec.defaults.latch.hysteresis: must be a number, got string "0.1"`,
		},
		{
			name: "min greater than max",
			yaml: header + "  rules:\n    - name: a\n      fields:\n        spec.replicas: {mode: latch, min: 10, max: 5}\n",
			want: `latch.yaml:7:43: spec.rules[0].fields["spec.replicas"].min: must be ≤ max, got min 10 > max 5`,
		},
		{
			name: "min greater than an inherited max",
			yaml: header + "  defaults:\n    latch: {max: 100}\n  rules:\n    - name: a\n      fields:\n        spec.replicas: {mode: latch, min: 200}\n",
			want: `latch.yaml:9:43: spec.rules[0].fields["spec.replicas"].min: must be ≤ max, got min 200 > max 100`,
		},
		{
			name: "max below an inherited min",
			yaml: header + "  defaults:\n    latch: {min: 50}\n  rules:\n    - name: a\n      fields:\n        spec.replicas: {mode: latch, max: 10}\n",
			want: `latch.yaml:9:43: spec.rules[0].fields["spec.replicas"].max: must be ≤ max, got min 50 > max 10`,
		},
		{
			name: "negative min",
			yaml: header + "  defaults:\n    latch: {min: -1}\n",
			want: `latch.yaml:5:18: spec.defaults.latch.min: must be ≥ 0 (0 means unset), got -1`,
		},
		{
			name: "fractional max",
			yaml: header + "  defaults:\n    latch: {max: 2.5}\n",
			want: `latch.yaml:5:18: spec.defaults.latch.max: must be an integer, got number 2.5`,
		},
		{
			name: "bad duration",
			yaml: header + "  defaults:\n    latch: {dwellDown: 2 hours}\n",
			want: `latch.yaml:5:24: spec.defaults.latch.dwellDown: must be a duration such as 90m or 2h, got "2 hours"`,
		},
		{
			name: "duration without unit",
			yaml: header + "  defaults:\n    converge: {grace: 90}\n",
			want: `latch.yaml:5:23: spec.defaults.converge.grace: must be a duration such as 90m or 2h, got "90"`,
		},
		{
			name: "negative duration",
			yaml: header + "  defaults:\n    latch: {dwellUp: -5m}\n",
			want: `latch.yaml:5:22: spec.defaults.latch.dwellUp: must not be negative, got -5m`,
		},
		{
			name: "miss budget out of range",
			yaml: header + "  defaults:\n    latch: {missBudget: 1.5}\n",
			want: `latch.yaml:5:25: spec.defaults.latch.missBudget: must be in [0, 1), got 1.5`,
		},
		{
			name: "negative overprovision budget",
			yaml: header + "  defaults:\n    latch: {overprovisionBudget: -1}\n",
			want: `latch.yaml:5:34: spec.defaults.latch.overprovisionBudget: must be a number ≥ 0, got -1`,
		},
		{
			name: "window not a duration",
			yaml: header + "  defaults:\n    latch: {window: day}\n",
			want: `latch.yaml:5:21: spec.defaults.latch.window: must be a duration such as 90m or 2h, got "day"`,
		},
		{
			name: "invalid label selector",
			yaml: header + "  rules:\n    - name: a\n      match: {labels: \"tier in (a\"}\n      fields: {spec.replicas: latch}\n",
			want: `latch.yaml:6:23: spec.rules[0].match.labels: invalid label selector "tier in (a": `,
		},
		{
			name: "invalid label value",
			yaml: header + "  rules:\n    - name: a\n      match: {labels: \"tier=front end\"}\n      fields: {spec.replicas: latch}\n",
			want: `latch.yaml:6:23: spec.rules[0].match.labels: invalid label selector "tier=front end": `,
		},
		{
			name: "invalid name glob",
			yaml: header + "  rules:\n    - name: a\n      match: {names: [ok, \"web-[\"]}\n      fields: {spec.replicas: latch}\n",
			want: `latch.yaml:6:27: spec.rules[0].match.names[1]: invalid glob "web-[": syntax error in pattern (path.Match syntax: *, ?, [a-z])`,
		},
		{
			name: "invalid namespace glob",
			yaml: header + "  rules:\n    - name: a\n      match: {namespaces: [\"[z-a\"]}\n      fields: {spec.replicas: latch}\n",
			want: `latch.yaml:6:28: spec.rules[0].match.namespaces[0]: invalid glob "[z-a": syntax error in pattern (path.Match syntax: *, ?, [a-z])`,
		},
		{
			name: "empty kinds list",
			yaml: header + "  rules:\n    - name: a\n      match: {kinds: []}\n      fields: {spec.replicas: latch}\n",
			want: `latch.yaml:6:22: spec.rules[0].match.kinds: must not be empty (omit the key to match anything)`,
		},
		{
			name: "lower-case kind",
			yaml: header + "  rules:\n    - name: a\n      match: {kinds: [deployment]}\n      fields: {spec.replicas: latch}\n",
			want: `latch.yaml:6:23: spec.rules[0].match.kinds[0]: "deployment" is not a Kind: want a capitalised Kind such as Deployment, optionally with its API group (Rollout.argoproj.io)`,
		},
		{
			name: "hasHPA not a boolean",
			yaml: header + "  rules:\n    - name: a\n      match: {hasHPA: \"yes\"}\n      fields: {spec.replicas: latch}\n",
			want: `latch.yaml:6:23: spec.rules[0].match.hasHPA: must be true or false, got string "yes"`,
		},
		{
			name: "unknown mode",
			yaml: header + "  rules:\n    - name: a\n      fields: {spec.replicas: pinned}\n",
			want: `latch.yaml:6:31: spec.rules[0].fields["spec.replicas"]: unknown mode "pinned": want one of immutable, latch, converge, ignore`,
		},
		{
			name: "mode missing",
			yaml: header + "  rules:\n    - name: a\n      fields: {spec.replicas: {hysteresis: 0.2}}\n",
			want: `latch.yaml:6:31: spec.rules[0].fields["spec.replicas"].mode: required: one of immutable, latch, converge, ignore`,
		},
		{
			name: "latch key on an immutable field",
			yaml: header + "  rules:\n    - name: a\n      fields: {spec.template: {mode: immutable, max: 3}}\n",
			want: `latch.yaml:6:49: spec.rules[0].fields["spec.template"].max: only valid with mode latch (this field's mode is immutable)`,
		},
		{
			name: "grace on a latch field",
			yaml: header + "  rules:\n    - name: a\n      fields: {spec.replicas: {mode: latch, grace: 5m}}\n",
			want: `latch.yaml:6:45: spec.rules[0].fields["spec.replicas"].grace: only valid with mode converge (this field's mode is latch)`,
		},
		{
			name: "bad field path",
			yaml: header + "  rules:\n    - name: a\n      fields:\n        spec.containers[0].image: immutable\n",
			want: `latch.yaml:7:9: spec.rules[0].fields["spec.containers[0].image"]: not a field path: want dot-separated field names such as spec.replicas (no list indices)`,
		},
		{
			name: "empty fields",
			yaml: header + "  rules:\n    - name: a\n      fields: {}\n",
			want: `latch.yaml:6:15: spec.rules[0].fields: must set at least one field, such as spec.replicas: latch`,
		},
		{
			name: "rule without a name",
			yaml: header + "  rules:\n    - fields: {spec.replicas: latch}\n",
			want: `latch.yaml:5:7: spec.rules[0].name: required: every rule needs a name, so output can say which rule decided a field`,
		},
		{
			name: "duplicate rule name",
			yaml: header + "  rules:\n    - name: a\n      fields: {spec.replicas: latch}\n    - name: a\n      fields: {spec.template: ignore}\n",
			want: `latch.yaml:7:13: spec.rules[1].name: duplicate rule name "a" (also spec.rules[0])`,
		},
		{
			name: "reserved rule name",
			yaml: header + "  rules:\n    - name: builtin/mine\n      fields: {spec.replicas: latch}\n",
			want: `latch.yaml:5:13: spec.rules[0].name: names starting with builtin/ are reserved for built-in rules`,
		},
		{
			name: "rules not a list",
			yaml: header + "  rules: {a: b}\n",
			want: `latch.yaml:4:10: spec.rules: must be a list of rules, got a mapping`,
		},
		{
			name: "alias",
			yaml: header + "  defaults:\n    latch: &d {hysteresis: 0.2}\n  rules:\n    - name: a\n      fields: {spec.replicas: *d}\n",
			want: `latch.yaml:8:31: YAML alias *d: aliases are not supported; write the value out`,
		},
		{
			name: "merge key",
			yaml: header + "  defaults:\n    latch: {<<: {hysteresis: 0.2}}\n",
			want: `latch.yaml:5:13: spec.defaults.latch: YAML merge keys (<<) are not supported; write the keys out`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pol, err := Parse("latch.yaml", []byte(tt.yaml))
			if err == nil {
				t.Fatalf("Parse accepted the file; policy: %+v", pol)
			}
			if pol != nil {
				t.Errorf("Parse returned a policy along with the error")
			}
			var first *Error
			if !errors.As(err, &first) {
				t.Fatalf("error %T is not a *Error: %v", err, err)
			}
			if got := first.Error(); !strings.HasPrefix(got, tt.want) {
				t.Errorf("first error:\n got %s\nwant %s", got, tt.want)
			}
		})
	}
}

// TestParseReportsEveryError: one check run shows every fix to make.
func TestParseReportsEveryError(t *testing.T) {
	src := header + "  defaults:\n    latch: {hysteresis: 2, dwellUp: soon}\n  rules:\n    - name: a\n      match: {names: [\"[\"]}\n      fields: {spec.replicas: {mode: latch, min: 9, max: 3}}\n"
	_, err := Parse("p.yaml", []byte(src))
	var list ErrorList
	if !errors.As(err, &list) {
		t.Fatalf("want an ErrorList, got %T: %v", err, err)
	}
	want := []string{
		`p.yaml:5:37: spec.defaults.latch.dwellUp: must be a duration such as 90m or 2h, got "soon"`,
		`p.yaml:8:23: spec.rules[0].match.names[0]: invalid glob "[": syntax error in pattern (path.Match syntax: *, ?, [a-z])`,
		`p.yaml:9:50: spec.rules[0].fields["spec.replicas"].min: must be ≤ max, got min 9 > max 3`,
	}
	if len(list) != len(want) {
		t.Fatalf("got %d errors, want %d:\n%v", len(list), len(want), err)
	}
	for i := range want {
		if list[i].Error() != want[i] {
			t.Errorf("error %d:\n got %s\nwant %s", i, list[i], want[i])
		}
	}
}

func TestParseFillsDefaults(t *testing.T) {
	src := header + `  defaults:
    latch: {rule: {kind: step, step: 10}, dwellDown: 1h}
    converge: {grace: 5m}
  rules:
    - name: a
      fields:
        spec.replicas: {mode: latch, max: 300}
        metadata.annotations: converge
        metadata.labels: {mode: converge, grace: 1h}
`
	pol, err := Parse("latch.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	r := pol.Rules[len(pol.Rules)-1]
	wantLatch := policy.Params{
		Ladder:     policy.Ladder{Kind: policy.LadderStep, Step: 10},
		Hysteresis: builtinLatchParams().Hysteresis, // not in the file: built-in
		DwellDown:  time.Hour,
		DwellUp:    builtinLatchParams().DwellUp,
		Max:        300,
		// The budgets are not in the file: built-in.
		Window:              builtinLatchParams().Window,
		MissBudget:          builtinLatchParams().MissBudget,
		OverprovisionBudget: builtinLatchParams().OverprovisionBudget,
	}
	if got := r.Fields["spec.replicas"]; got.Latch == nil || *got.Latch != wantLatch {
		t.Errorf("spec.replicas latch params = %+v, want %+v", got.Latch, wantLatch)
	}
	if got := r.Fields["metadata.annotations"].Grace; got != 5*time.Minute {
		t.Errorf("metadata.annotations grace = %s, want the default 5m", got)
	}
	if got := r.Fields["metadata.labels"].Grace; got != time.Hour {
		t.Errorf("metadata.labels grace = %s, want 1h", got)
	}
	// The built-in HPA rule latches with the file's defaults too.
	hpa := pol.Rules[1]
	if hpa.Name != "builtin/hpa-replicas" || hpa.Fields["spec.replicas"].Latch.Ladder.Step != 10 {
		t.Errorf("built-in hpa rule did not take the file's defaults: %+v", hpa.Fields["spec.replicas"].Latch)
	}
}

func TestParseAcceptsMinimalFiles(t *testing.T) {
	for _, src := range []string{
		"apiVersion: latch.dev/v1alpha1\nkind: LatchPolicy\n",
		header + "  rules: []\n",
		header + "  rules:\n",
		"---\n" + header + "  defaults: {}\n",
		header + "  rules: []\n---\n",
	} {
		pol, err := Parse("latch.yaml", []byte(src))
		if err != nil {
			t.Errorf("Parse(%q): %v", src, err)
			continue
		}
		if len(pol.Rules) != len(Default().Rules) {
			t.Errorf("Parse(%q): %d rules, want only the %d built-in ones", src, len(pol.Rules), len(Default().Rules))
		}
	}
}
