package policyfile

import (
	"slices"

	"go.yaml.in/yaml/v3"

	"github.com/latch-gitops/latch/internal/review"
)

// Keys of the review settings: a rule's review is a mode; the suspicious
// rules' thresholds are set once, in spec.defaults.review.
var (
	reviewKeys = []string{"jump", "atMax", "firstLatch", "surge", "hpaTolerance"}
	surgeKeys  = []string{"workloads", "jump"}
)

// reviewMode reads a rule's review: never, always or suspicious.
func (p *parser) reviewMode(n *yaml.Node, field string) (review.Mode, bool) {
	s, ok := p.str(n, field)
	if !ok {
		return "", false
	}
	if s == "" || !slices.Contains(review.Modes, review.Mode(s)) {
		p.errorf(n, field, "unknown review mode %q: want one of %s", s, reviewModeList())
		return "", false
	}
	return review.Mode(s), true
}

func reviewModeList() string { return joinNames(review.Modes) }

// reviewThresholds parses spec.defaults.review over base; a key left out
// keeps base's value. Each bad value is reported at its own node.
func (p *parser) reviewThresholds(n *yaml.Node, field string, base review.Thresholds) review.Thresholds {
	m, ok := p.mapping(n, field, reviewKeys)
	if !ok {
		return base
	}
	out := base
	factor := func(n *yaml.Node, f string, dst *float64) {
		v, ok := p.float(n, f)
		if !ok {
			return
		}
		if v != 0 && !(v > 1) {
			p.errorf(n, f, "want a factor above 1 (or 0 to turn the rule off), got %s", n.Value)
			return
		}
		*dst = v
	}
	flag := func(n *yaml.Node, f string, dst *bool) {
		if b, ok := p.bool(n, f); ok {
			*dst = b
		}
	}
	if v, ok := m.get("jump"); ok {
		factor(v, field+".jump", &out.Jump)
	}
	if v, ok := m.get("atMax"); ok {
		flag(v, field+".atMax", &out.AtMax)
	}
	if v, ok := m.get("firstLatch"); ok {
		flag(v, field+".firstLatch", &out.FirstLatch)
	}
	if v, ok := m.get("hpaTolerance"); ok {
		factor(v, field+".hpaTolerance", &out.HPATolerance)
	}
	if v, ok := m.get("surge"); ok {
		sf := field + ".surge"
		if isNull(v) || (v.Kind == yaml.ScalarNode && v.Value == "false" && v.ShortTag() == "!!bool") {
			out.SurgeWorkloads = 0
			return out
		}
		sm, ok := p.mapping(v, sf, surgeKeys)
		if !ok {
			return out
		}
		if wn, ok := sm.get("workloads"); ok {
			if w, ok := p.int(wn, sf+".workloads"); ok {
				if w < 0 || w == 1 || w > 1<<20 {
					p.errorf(wn, sf+".workloads", "want 2 or more workloads (or 0 to turn the rule off), got %d", w)
				} else {
					out.SurgeWorkloads = int(w)
				}
			}
		}
		if jn, ok := sm.get("jump"); ok {
			if j, ok := p.float(jn, sf+".jump"); ok {
				if !(j > 1) {
					p.errorf(jn, sf+".jump", "want a factor above 1, got %s", jn.Value)
				} else {
					out.SurgeJump = j
				}
			}
		}
	}
	return out
}
