package policyfile

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/latch-gitops/latch/internal/objectid"
	"github.com/latch-gitops/latch/internal/policy"
	"github.com/latch-gitops/latch/internal/review"
)

// Object is what Resolve needs to know about a workload.
type Object struct {
	objectid.Ref
	Labels map[string]string
	// HasHPA is true when a HorizontalPodAutoscaler targets the object.
	HasHPA bool
}

// String names the object for messages: "Deployment.apps shop/web-1
// {tier=frontend} hasHPA=true".
func (o Object) String() string {
	keys := make([]string, 0, len(o.Labels))
	for k := range o.Labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	pairs := make([]string, len(keys))
	for i, k := range keys {
		pairs[i] = k + "=" + o.Labels[k]
	}
	return fmt.Sprintf("%s %s/%s {%s} hasHPA=%t", o.KindGroup(), o.Namespace, o.Name, strings.Join(pairs, ","), o.HasHPA)
}

// FieldPolicy is the resolved mode of one field path for one object.
type FieldPolicy struct {
	Mode policy.Mode
	// Latch holds the complete parameters when Mode is latch, else nil.
	Latch *policy.Params
	// Grace is set when Mode is converge.
	Grace time.Duration
	// From names the rule that decided ("web-tier", "builtin/pod-templates");
	// empty when no rule names the field and it is ignored.
	From string
}

// Resolved is the per-field policy for one object.
type Resolved struct {
	// Fields maps each field path some matching rule set to its policy.
	// Paths nest: see Field for how a path without its own entry resolves.
	Fields map[string]FieldPolicy `json:"fields"`
	// Review is the review mode of the last matching rule that sets one
	// ("": none does; the caller's default applies), ReviewFrom that rule.
	Review     review.Mode `json:"review,omitempty"`
	ReviewFrom string      `json:"reviewFrom,omitempty"`
	// Warnings point out settings that work against the cluster, such as
	// reverting the replicas an HPA sets. They do not stop latch.
	Warnings []string `json:"warnings,omitempty"`
}

// Resolve applies the rules to obj. Rules are applied in order (built-in
// rules, then the file's rules in file order); when a matching rule sets a
// field path, it replaces whatever earlier rules said about that path and
// about every path under it. So the last matching rule wins, per field.
//
// Why order and not "most specific selector wins": specificity between a
// label selector and a name glob has no obvious ranking, and a reader can
// always find the winner by reading the file bottom-up, as with .gitignore.
// Why the whole entry and not key by key: each resolved field is then one
// line of the file plus spec.defaults, and min/max from different rules can
// never combine into a pair nobody wrote or validated.
func (p *Policy) Resolve(obj Object) Resolved {
	fields := map[string]FieldPolicy{}
	var mode review.Mode
	var modeFrom string
	for _, r := range p.Rules {
		if !r.Match.Matches(obj) {
			continue
		}
		if r.Review != "" {
			mode, modeFrom = r.Review, r.Name
		}
		for fieldPath := range r.Fields {
			for existing := range fields {
				if existing == fieldPath || isUnder(existing, fieldPath) {
					delete(fields, existing)
				}
			}
		}
		for fieldPath, spec := range r.Fields {
			fp := FieldPolicy{Mode: spec.Mode, Grace: spec.Grace, From: r.Name}
			if spec.Latch != nil {
				params := *spec.Latch
				fp.Latch = &params
			}
			fields[fieldPath] = fp
		}
	}
	r := Resolved{Fields: fields, Review: mode, ReviewFrom: modeFrom}
	if obj.HasHPA {
		switch fp := r.Field(objectid.ReplicasField); fp.Mode {
		case policy.ModeImmutable, policy.ModeConverge:
			r.Warnings = append(r.Warnings, fmt.Sprintf(
				"spec.replicas is %s (rule %s) but an HPA scales this object: latch would revert the HPA's changes; use latch or ignore",
				fp.Mode, fp.From))
		}
	}
	return r
}

// Field returns the policy for fieldPath: its own entry if a rule set it,
// else the entry of its closest ancestor ("spec.template" governs
// "spec.template.spec.containers"), else ignore. A latch entry governs only
// its own path: a field under a latched field is ignored, since only the
// latched integer itself is rounded and written back.
func (r Resolved) Field(fieldPath string) FieldPolicy {
	if fp, ok := r.Fields[fieldPath]; ok {
		return fp
	}
	for ancestor := parentPath(fieldPath); ancestor != ""; ancestor = parentPath(ancestor) {
		if fp, ok := r.Fields[ancestor]; ok {
			if fp.Mode == policy.ModeLatch {
				break
			}
			return fp
		}
	}
	return FieldPolicy{Mode: policy.ModeIgnore}
}

// Paths lists the field paths set for the object, sorted.
func (r Resolved) Paths() []string {
	paths := make([]string, 0, len(r.Fields))
	for p := range r.Fields {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	return paths
}

func isUnder(fieldPath, ancestor string) bool {
	return strings.HasPrefix(fieldPath, ancestor+".")
}

func parentPath(fieldPath string) string {
	i := strings.LastIndexByte(fieldPath, '.')
	if i < 0 {
		return ""
	}
	return fieldPath[:i]
}

// MarshalJSON writes durations as Go duration strings ("30m0s") rather than
// nanoseconds, and only the keys that mean something for the mode.
func (f FieldPolicy) MarshalJSON() ([]byte, error) {
	return json.Marshal(fieldView(f.Mode, f.Latch, f.Grace, f.From))
}

type fieldJSON struct {
	Mode       policy.Mode    `json:"mode"`
	Rule       *policy.Ladder `json:"rule,omitempty"`
	Hysteresis *float64       `json:"hysteresis,omitempty"`
	DwellDown  string         `json:"dwellDown,omitempty"`
	DwellUp    string         `json:"dwellUp,omitempty"`
	// The budgets appear only when they differ from the built-in ones.
	Window              string   `json:"window,omitempty"`
	MissBudget          *float64 `json:"missBudget,omitempty"`
	OverprovisionBudget *float64 `json:"overprovisionBudget,omitempty"`
	Min                 int64    `json:"min,omitempty"`
	Max                 int64    `json:"max,omitempty"`
	Grace               string   `json:"grace,omitempty"`
	From                string   `json:"from,omitempty"`
}

func fieldView(mode policy.Mode, latch *policy.Params, grace time.Duration, from string) fieldJSON {
	v := fieldJSON{Mode: mode, From: from}
	switch {
	case latch != nil:
		rule, hysteresis := latch.Ladder, latch.Hysteresis
		v.Rule, v.Hysteresis = &rule, &hysteresis
		v.DwellDown, v.DwellUp = formatDuration(latch.DwellDown), formatDuration(latch.DwellUp)
		v.Min, v.Max = latch.Min, latch.Max
		if d := policy.DefaultParams(); latch.Window != d.Window || latch.MissBudget != d.MissBudget || latch.OverprovisionBudget != d.OverprovisionBudget {
			miss, over := latch.MissBudget, latch.OverprovisionBudget
			v.Window, v.MissBudget, v.OverprovisionBudget = formatDuration(latch.Window), &miss, &over
		}
	case mode == policy.ModeConverge:
		v.Grace = formatDuration(grace)
	}
	return v
}
