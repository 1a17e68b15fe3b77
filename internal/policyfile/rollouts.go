package policyfile

import (
	"fmt"

	"go.yaml.in/yaml/v3"

	"github.com/latch-gitops/latch/internal/rollout"
)

// rolloutKeys are spec.defaults.rollouts': what the rollout follower records
// and when it calls a new version failed.
var rolloutKeys = []string{"milestones", "notReadyAfter", "crashLoopRestarts"}

// rolloutOptions parses spec.defaults.rollouts over base; a key left out
// keeps base's value. Each bad value is reported at its own node.
func (p *parser) rolloutOptions(n *yaml.Node, field string, base rollout.Options) rollout.Options {
	m, ok := p.mapping(n, field, rolloutKeys)
	if !ok {
		return base
	}
	out := base
	if mn, ok := m.get("milestones"); ok {
		f := field + ".milestones"
		if mn.Kind != yaml.SequenceNode || len(mn.Content) == 0 {
			p.errorf(mn, f, "must be a list of percentages such as [25, 50, 75], got %s", describe(mn))
		} else {
			var ms []int
			good := true
			for i, item := range mn.Content {
				v, ok := p.int(item, fmt.Sprintf("%s[%d]", f, i))
				if ok && (v < 0 || v > 100) {
					p.errorf(item, fmt.Sprintf("%s[%d]", f, i), "want a percentage within 0..100, got %d", v)
					ok = false
				}
				if !ok {
					good = false
					continue
				}
				ms = append(ms, int(v))
			}
			if good {
				if err := rollout.ValidateMilestones(ms); err != nil {
					p.errorf(mn, f, "%v", err)
				} else {
					out.Milestones = ms
				}
			}
		}
	}
	if dn, ok := m.get("notReadyAfter"); ok {
		if d, ok := p.duration(dn, field+".notReadyAfter"); ok {
			if d < rollout.MinNotReadyAfter {
				p.errorf(dn, field+".notReadyAfter", "want at least %s (a pod needs time to start), got %s", rollout.MinNotReadyAfter, dn.Value)
			} else {
				out.NotReadyAfter = d
			}
		}
	}
	if rn, ok := m.get("crashLoopRestarts"); ok {
		if v, ok := p.int(rn, field+".crashLoopRestarts"); ok {
			if v < 1 || v > 1000 {
				p.errorf(rn, field+".crashLoopRestarts", "want 1 to 1000 restarts, got %d", v)
			} else {
				out.CrashLoopRestarts = int32(v)
			}
		}
	}
	return out
}
