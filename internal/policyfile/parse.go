package policyfile

import (
	"fmt"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/latch-gitops/latch/internal/policy"
)

// Parse reads a LatchPolicy document strictly. filename is used only in
// error messages and as the policy's Source. On failure the error is an ErrorList holding every
// problem found, each naming file:line:column and the field path.
func Parse(filename string, data []byte) (*Policy, error) {
	if filename == "" {
		filename = "<input>"
	}
	p := &parser{file: filename}
	pol := p.document(data)
	if len(p.errs) > 0 {
		sort.SliceStable(p.errs, func(i, j int) bool {
			a, b := p.errs[i], p.errs[j]
			if a.Line != b.Line {
				return a.Line < b.Line
			}
			return a.Column < b.Column
		})
		return nil, p.errs
	}
	return pol, nil
}

// Keys accepted at each level. Listing them in one place keeps the
// unknown-key messages and docs/policy.md honest.
var (
	topKeys       = []string{"apiVersion", "kind", "metadata", "spec"}
	metadataKeys  = []string{"name"}
	specKeys      = []string{"defaults", "rules"}
	defaultsKeys  = []string{"latch", "converge", "review", "rollouts"}
	convergeKeys  = []string{"grace"}
	ruleKeys      = []string{"name", "match", "fields", "review"}
	matchKeys     = []string{"kinds", "namespaces", "names", "labels", "hasHPA"}
	latchKeys     = []string{"rule", "hysteresis", "dwellDown", "dwellUp", "window", "missBudget", "overprovisionBudget", "min", "max"}
	fieldKeys     = append([]string{"mode"}, append(slices.Clone(latchKeys), "grace")...)
	roundRuleKeys = []string{"kind", "step", "series"}
)

var (
	// kindPattern: a Kind, optionally qualified by API group (Kind.group).
	kindPattern = regexp.MustCompile(`^[A-Z][A-Za-z0-9]*(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)
	// fieldPathPattern: dot-separated field names, no list indices.
	fieldPathPattern = regexp.MustCompile(`^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$`)
	// yamlLinePattern pulls the line out of a yaml syntax error.
	yamlLinePattern = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)
)

func (p *parser) policy(root *yaml.Node) *Policy {
	top, ok := p.mapping(root, "", topKeys)
	if !ok {
		return nil
	}
	p.requiredConst(top, "apiVersion", APIVersion)
	p.requiredConst(top, "kind", Kind)
	if n, ok := top.get("metadata"); ok {
		if meta, ok := p.mapping(n, "metadata", metadataKeys); ok {
			if name, ok := meta.get("name"); ok {
				p.str(name, "metadata.name")
			}
		}
	}
	pol := &Policy{Source: p.file, FromFile: true, Defaults: builtinDefaults()}
	spec := &mapNode{}
	if n, ok := top.get("spec"); ok {
		if spec, ok = p.mapping(n, "spec", specKeys); !ok {
			return nil
		}
	}
	if n, ok := spec.get("defaults"); ok {
		pol.Defaults = p.defaults(n, pol.Defaults)
	}
	pol.Rules = builtinRules(pol.Defaults)
	if n, ok := spec.get("rules"); ok {
		pol.Rules = append(pol.Rules, p.rules(n, pol.Defaults)...)
	}
	return pol
}

func (p *parser) requiredConst(m *mapNode, key, want string) {
	n, ok := m.get(key)
	if !ok {
		p.errorf(m.node, key, "required: want %s", want)
		return
	}
	if got, ok := p.str(n, key); ok && got != want {
		p.errorf(n, key, "want %s, got %q", want, got)
	}
}

// defaults parses spec.defaults over base. When spec.defaults is invalid
// the errors are reported and base is returned, so rules are checked
// against sane defaults instead of repeating the same error for every field.
func (p *parser) defaults(n *yaml.Node, base Defaults) Defaults {
	const field = "spec.defaults"
	m, ok := p.mapping(n, field, defaultsKeys)
	if !ok {
		return base
	}
	out := base
	if ln, ok := m.get("latch"); ok {
		if lm, ok := p.mapping(ln, field+".latch", latchKeys); ok {
			before := len(p.errs)
			params, sources := p.latchParams(lm, field+".latch", base.Latch)
			if len(p.errs) == before && p.checkParams(params, lm, sources, field+".latch", "the built-in defaults") {
				out.Latch = params
			}
		}
	}
	if rn, ok := m.get("review"); ok {
		out.Review = p.reviewThresholds(rn, field+".review", base.Review)
		out.ReviewSet = true
	}
	if rn, ok := m.get("rollouts"); ok {
		out.Rollouts = p.rolloutOptions(rn, field+".rollouts", base.Rollouts)
	}
	if cn, ok := m.get("converge"); ok {
		if cm, ok := p.mapping(cn, field+".converge", convergeKeys); ok {
			if gn, ok := cm.get("grace"); ok {
				if grace, ok := p.duration(gn, field+".converge.grace"); ok {
					out.ConvergeGrace = grace
				}
			}
		}
	}
	return out
}

func (p *parser) rules(n *yaml.Node, d Defaults) []Rule {
	const field = "spec.rules"
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		p.errorf(n, field, "must be a list of rules, got %s", describe(n))
		return nil
	}
	var out []Rule
	firstByName := map[string]int{}
	for i, rn := range n.Content {
		rf := fmt.Sprintf("%s[%d]", field, i)
		m, ok := p.mapping(rn, rf, ruleKeys)
		if !ok {
			continue
		}
		r := Rule{Line: rn.Line, Match: Match{Labels: labels.Everything()}, Fields: map[string]FieldSpec{}}
		if nn, ok := m.get("name"); !ok {
			p.errorf(m.node, rf+".name", "required: every rule needs a name, so output can say which rule decided a field")
		} else if name, ok := p.str(nn, rf+".name"); ok {
			switch prev, dup := firstByName[name]; {
			case name == "":
				p.errorf(nn, rf+".name", "must not be empty")
			case strings.HasPrefix(name, "builtin/"):
				p.errorf(nn, rf+".name", "names starting with builtin/ are reserved for built-in rules")
			case dup:
				p.errorf(nn, rf+".name", "duplicate rule name %q (also %s[%d])", name, field, prev)
			default:
				firstByName[name] = i
			}
			r.Name = name
		}
		if mn, ok := m.get("match"); ok {
			r.Match = p.match(mn, rf+".match")
		}
		if rv, ok := m.get("review"); ok {
			if mode, ok := p.reviewMode(rv, rf+".review"); ok {
				r.Review = mode
			}
		}
		if fn, ok := m.get("fields"); !ok {
			p.errorf(m.node, rf+".fields", "required: a rule must set at least one field")
		} else {
			r.Fields = p.fields(fn, rf+".fields", d)
		}
		out = append(out, r)
	}
	return out
}

func (p *parser) match(n *yaml.Node, field string) Match {
	out := Match{Labels: labels.Everything()}
	m, ok := p.mapping(n, field, matchKeys)
	if !ok {
		return out
	}
	if kn, ok := m.get("kinds"); ok {
		for i, k := range p.stringList(kn, field+".kinds") {
			if !kindPattern.MatchString(k.value) {
				p.errorf(k.node, fmt.Sprintf("%s.kinds[%d]", field, i),
					"%q is not a Kind: want a capitalised Kind such as Deployment, optionally with its API group (Rollout.argoproj.io)", k.value)
				continue
			}
			out.Kinds = append(out.Kinds, k.value)
		}
	}
	out.Namespaces = p.globs(m, "namespaces", field)
	out.Names = p.globs(m, "names", field)
	if ln, ok := m.get("labels"); ok {
		if text, ok := p.str(ln, field+".labels"); ok {
			sel, err := labels.Parse(text)
			switch {
			case strings.TrimSpace(text) == "":
				p.errorf(ln, field+".labels", "must not be empty (omit labels to match any labels)")
			case err != nil:
				p.errorf(ln, field+".labels", "invalid label selector %q: %v", text, err)
			default:
				out.Labels, out.LabelsText = sel, text
			}
		}
	}
	if hn, ok := m.get("hasHPA"); ok {
		if b, ok := p.bool(hn, field+".hasHPA"); ok {
			out.HasHPA = &b
		}
	}
	return out
}

func (p *parser) globs(m *mapNode, key, field string) []string {
	n, ok := m.get(key)
	if !ok {
		return nil
	}
	var out []string
	for i, g := range p.stringList(n, field+"."+key) {
		if g.value == "" {
			p.errorf(g.node, fmt.Sprintf("%s.%s[%d]", field, key, i), "must not be empty")
			continue
		}
		if _, err := path.Match(g.value, ""); err != nil {
			p.errorf(g.node, fmt.Sprintf("%s.%s[%d]", field, key, i), "invalid glob %q: %v (path.Match syntax: *, ?, [a-z])", g.value, err)
			continue
		}
		out = append(out, g.value)
	}
	return out
}

func (p *parser) fields(n *yaml.Node, field string, d Defaults) map[string]FieldSpec {
	out := map[string]FieldSpec{}
	m, ok := p.mapping(n, field, nil)
	if !ok {
		return out
	}
	if len(m.entries) == 0 {
		p.errorf(n, field, "must set at least one field, such as spec.replicas: latch")
		return out
	}
	for _, e := range m.entries {
		ff := fmt.Sprintf("%s[%q]", field, e.name)
		if !fieldPathPattern.MatchString(e.name) {
			p.errorf(e.key, ff, "not a field path: want dot-separated field names such as spec.replicas (no list indices)")
			continue
		}
		if spec, ok := p.fieldSpec(e.value, ff, d); ok {
			spec.Line = e.key.Line
			out[e.name] = spec
		}
	}
	return out
}

// fieldSpec parses "spec.replicas: latch" or "spec.replicas: {mode: latch, ...}".
func (p *parser) fieldSpec(n *yaml.Node, field string, d Defaults) (FieldSpec, bool) {
	if n.Kind == yaml.ScalarNode && !isNull(n) {
		mode, ok := p.mode(n, field)
		if !ok {
			return FieldSpec{}, false
		}
		return completeSpec(mode, d), true
	}
	if n.Kind != yaml.MappingNode {
		p.errorf(n, field, "must be a mode (%s) or a mapping with a mode, got %s", modeList(), describe(n))
		return FieldSpec{}, false
	}
	m, ok := p.mapping(n, field, fieldKeys)
	if !ok {
		return FieldSpec{}, false
	}
	mn, ok := m.get("mode")
	if !ok {
		p.errorf(n, field+".mode", "required: one of %s", modeList())
		return FieldSpec{}, false
	}
	mode, ok := p.mode(mn, field+".mode")
	if !ok {
		return FieldSpec{}, false
	}
	before := len(p.errs)
	for _, e := range m.entries {
		switch {
		case slices.Contains(latchKeys, e.name) && mode != policy.ModeLatch:
			p.errorf(e.key, field+"."+e.name, "only valid with mode latch (this field's mode is %s)", mode)
		case e.name == "grace" && mode != policy.ModeConverge:
			p.errorf(e.key, field+"."+e.name, "only valid with mode converge (this field's mode is %s)", mode)
		}
	}
	if len(p.errs) > before {
		return FieldSpec{}, false
	}
	spec := completeSpec(mode, d)
	switch mode {
	case policy.ModeLatch:
		params, sources := p.latchParams(m, field, d.Latch)
		if len(p.errs) > before || !p.checkParams(params, m, sources, field, "spec.defaults.latch") {
			return FieldSpec{}, false
		}
		spec.Latch = &params
	case policy.ModeConverge:
		if gn, ok := m.get("grace"); ok {
			grace, ok := p.duration(gn, field+".grace")
			if !ok {
				return FieldSpec{}, false
			}
			spec.Grace = grace
		}
	}
	return spec, true
}

// completeSpec is a field entry with nothing but its mode: every parameter
// comes from the defaults.
func completeSpec(mode policy.Mode, d Defaults) FieldSpec {
	spec := FieldSpec{Mode: mode}
	switch mode {
	case policy.ModeLatch:
		params := d.Latch
		spec.Latch = &params
	case policy.ModeConverge:
		spec.Grace = d.ConvergeGrace
	}
	return spec
}

func (p *parser) mode(n *yaml.Node, field string) (policy.Mode, bool) {
	s, ok := p.str(n, field)
	if !ok {
		return "", false
	}
	if !slices.Contains(policy.Modes, policy.Mode(s)) {
		p.errorf(n, field, "unknown mode %q: want one of %s", s, modeList())
		return "", false
	}
	return policy.Mode(s), true
}

func modeList() string { return joinNames(policy.Modes) }

// joinNames lists the values of a string enum for a message.
func joinNames[T ~string](list []T) string {
	names := make([]string, len(list))
	for i, m := range list {
		names[i] = string(m)
	}
	return strings.Join(names, ", ")
}
