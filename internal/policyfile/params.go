package policyfile

import (
	"errors"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/latch-gitops/latch/internal/policy"
)

// The latch parameters of a field entry or spec.defaults.latch: read over
// their defaults, then checked by the engine's own policy.Params.Validate.

// latchParams overlays the latch keys present in m on base. sources maps
// each parameter the entry set ("hysteresis", "rule", "rule.step") to its
// value node, so range errors found later point at the right line.
func (p *parser) latchParams(m *mapNode, field string, base policy.Params) (policy.Params, map[string]*yaml.Node) {
	out := base
	sources := map[string]*yaml.Node{}
	rule := func(n *yaml.Node, f string) (policy.Ladder, bool) { return p.roundRule(n, f, sources) }
	overlay(m, field, "rule", sources, rule, &out.Ladder)
	overlay(m, field, "hysteresis", sources, p.float, &out.Hysteresis)
	overlay(m, field, "dwellDown", sources, p.duration, &out.DwellDown)
	overlay(m, field, "dwellUp", sources, p.duration, &out.DwellUp)
	overlay(m, field, "window", sources, p.duration, &out.Window)
	overlay(m, field, "missBudget", sources, p.float, &out.MissBudget)
	overlay(m, field, "overprovisionBudget", sources, p.float, &out.OverprovisionBudget)
	overlay(m, field, "min", sources, p.int, &out.Min)
	overlay(m, field, "max", sources, p.int, &out.Max)
	return out, sources
}

// overlay reads the parameter key of m, when present, with read and stores
// it in dst; a value read reports its own errors, at field.key, and leaves
// dst as it was. The key's node goes into sources either way.
func overlay[T any](m *mapNode, field, key string, sources map[string]*yaml.Node, read func(*yaml.Node, string) (T, bool), dst *T) {
	n, ok := m.get(key)
	if !ok {
		return
	}
	sources[key] = n
	if v, ok := read(n, field+"."+key); ok {
		*dst = v
	}
}

// roundRule parses {kind: series, series: 1-2-5}. The keys a kind does not
// use are rejected rather than ignored: "kind: sigfig, step: 5" is a
// misunderstanding worth pointing out.
func (p *parser) roundRule(n *yaml.Node, field string, sources map[string]*yaml.Node) (policy.Ladder, bool) {
	m, ok := p.mapping(n, field, roundRuleKeys)
	if !ok {
		return policy.Ladder{}, false
	}
	kn, ok := m.get("kind")
	if !ok {
		p.errorf(n, field+".kind", "required: one of %s", ruleKindList())
		return policy.Ladder{}, false
	}
	sources["rule.kind"] = kn
	kindText, ok := p.str(kn, field+".kind")
	if !ok {
		return policy.Ladder{}, false
	}
	r := policy.Ladder{Kind: policy.LadderKind(kindText)}
	switch r.Kind {
	case policy.LadderSigFig, policy.LadderMagnitude, policy.LadderStep, policy.LadderSeries:
	default:
		p.errorf(kn, field+".kind", "unknown rule kind %q: want one of %s", kindText, ruleKindList())
		return policy.Ladder{}, false
	}
	ok = kindOption(p, m, n, field, policy.LadderStep, r.Kind, sources, p.int, &r.Step, "the multiple to round to, such as step: 5")
	ok = kindOption(p, m, n, field, policy.LadderSeries, r.Kind, sources, p.str, &r.Series, "one of "+strings.Join(policy.SeriesNames, ", ")) && ok
	return r, ok
}

// kindOption reads the rule option named after kind (step, series), which
// only rules of that kind take and which they need (required says what it
// holds), into dst; it reports whether the option is as ruleKind wants.
func kindOption[T any](p *parser, m *mapNode, rule *yaml.Node, field string, kind, ruleKind policy.LadderKind, sources map[string]*yaml.Node, read func(*yaml.Node, string) (T, bool), dst *T, required string) bool {
	key := string(kind)
	n, present := m.get(key)
	switch {
	case present:
		sources["rule."+key] = n
		if ruleKind != kind {
			p.errorf(m.keyOf(key), field+"."+key, "only valid with kind %s (this rule's kind is %s)", kind, ruleKind)
			return false
		}
		v, ok := read(n, field+"."+key)
		if ok {
			*dst = v
		}
		return ok
	case ruleKind == kind:
		p.errorf(rule, field+"."+key, "required for kind %s: %s", kind, required)
		return false
	}
	return true
}

func ruleKindList() string {
	return strings.Join([]string{string(policy.LadderSigFig), string(policy.LadderStep), string(policy.LadderMagnitude), string(policy.LadderSeries)}, ", ")
}

// paramFallbacks says where to report a problem with a parameter the entry
// did not set itself: min > max is reported at max when only max is in the
// entry, a bad rule.step at the rule.
var paramFallbacks = map[string][]string{
	"min":         {"max"},
	"max":         {"min"},
	"rule.kind":   {"rule"},
	"rule.step":   {"rule"},
	"rule.series": {"rule"},
}

// checkParams validates complete parameters with policy.Params.Validate
// (the engine's own rules, so the file can never accept what the engine
// rejects) and reports each problem at the value that caused it: Validate
// returns policy.FieldErrors, each naming its parameter. A problem with a
// value inherited from inheritedFrom is reported at the entry, saying so.
// It returns whether prm is valid.
func (p *parser) checkParams(prm policy.Params, m *mapNode, sources map[string]*yaml.Node, field, inheritedFrom string) bool {
	err := prm.Validate()
	if err == nil {
		return true
	}
	var problems policy.FieldErrors
	if !errors.As(err, &problems) {
		p.errorf(m.node, field, "%s", err)
		return false
	}
	for _, problem := range problems {
		key, msg := problem.Field, problem.Msg
		at, atKey := sources[key], key
		if at == nil {
			for _, alt := range paramFallbacks[key] {
				if n, ok := sources[alt]; ok {
					at, atKey = n, alt
					break
				}
			}
		}
		if at == nil {
			p.errorf(m.node, field+"."+key, "%s (inherited from %s)", msg, inheritedFrom)
			continue
		}
		p.errorf(at, field+"."+atKey, "%s", msg)
	}
	return false
}
