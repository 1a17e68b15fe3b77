package policyfile

import (
	"path"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/labels"

	"github.com/latch-gitops/latch/internal/objectid"
	"github.com/latch-gitops/latch/internal/policy"
	"github.com/latch-gitops/latch/internal/review"
	"github.com/latch-gitops/latch/internal/rollout"
)

const (
	// APIVersion and Kind identify a LatchPolicy document.
	APIVersion = "latch.dev/v1alpha1"
	Kind       = "LatchPolicy"
	// DefaultFile is where Load looks, relative to the repository root.
	DefaultFile = "latch.yaml"
)

// Policy is a parsed, validated latch.yaml (or the built-in default).
// Every FieldSpec in it is complete: keys the file left out were filled from
// Defaults at parse time, so resolving never has to merge parameters.
type Policy struct {
	// Source says where the policy came from: a file name, or a note that
	// no file was found and the built-in policy applies.
	Source string
	// FromFile is false when the policy is the built-in default.
	FromFile bool
	Defaults Defaults
	// Rules in evaluation order: the built-in rules first, then the file's
	// rules in file order. Later rules override earlier ones, field by field.
	Rules []Rule
}

// Defaults fill whatever a field entry leaves unset.
type Defaults struct {
	Latch         policy.Params
	ConvergeGrace time.Duration
	// Review holds the suspicious rules' thresholds (spec.defaults.review;
	// review.DefaultThresholds for keys the file leaves out). ReviewSet is
	// true when the file has spec.defaults.review.
	Review    review.Thresholds
	ReviewSet bool
	// Rollouts tune the rollout follower (spec.defaults.rollouts: its
	// milestones and when a new version counts as failed); the zero value
	// is rollout's defaults.
	Rollouts rollout.Options
}

// Rule selects objects and sets the mode of some of their fields.
type Rule struct {
	Name    string
	Builtin bool
	Line    int // line of the rule in the file; 0 for built-in rules
	Match   Match
	// Fields maps a field path ("spec.replicas") to what the rule sets.
	Fields map[string]FieldSpec
	// Review is the rule's review mode for the objects it matches ("":
	// the rule does not say).
	Review review.Mode
}

// Match selects objects. Empty lists and a nil Labels/HasHPA match anything;
// within a list any entry may match, and every non-empty criterion must.
type Match struct {
	// Kinds are "Deployment" (any API group) or "Rollout.argoproj.io"
	// (Kind.group, kubectl style; "Deployment.apps").
	Kinds []string
	// Namespaces and Names are path.Match globs ("web-*", "shop-?").
	Namespaces []string
	Names      []string
	// Labels is a Kubernetes label selector ("tier=frontend,env in (prod)").
	Labels     labels.Selector
	LabelsText string
	// HasHPA, when set, requires the object to be (or not be) the target of
	// a HorizontalPodAutoscaler.
	HasHPA *bool
}

// FieldSpec is what one rule says about one field.
type FieldSpec struct {
	Mode policy.Mode
	// Latch is the complete latch parameters when Mode is latch, else nil.
	Latch *policy.Params
	// Grace is how long a converge field may drift before latch reverts it;
	// zero unless Mode is converge.
	Grace time.Duration
	Line  int // where the field entry is in the file; 0 for built-in rules
}

// builtinLatchParams are the engine's defaults, argued in internal/policy.
func builtinLatchParams() policy.Params {
	return policy.DefaultParams()
}

// builtinConvergeGrace is how long a converge field may drift by default:
// long enough for a hand-applied fix to be noticed and copied into git.
const builtinConvergeGrace = 10 * time.Minute

func builtinDefaults() Defaults {
	return Defaults{Latch: builtinLatchParams(), ConvergeGrace: builtinConvergeGrace, Review: review.DefaultThresholds()}
}

// builtinRules are the policy every repository starts with; a file's rules
// come after them and so can override any of their fields.
//   - pod templates are immutable: image, env and resources drift is what
//     GitOps exists to revert;
//   - a workload under an HPA has spec.replicas latched, since the HPA, not
//     git, decides its scale.
//
// spec.replicas without an HPA is not named: latch leaves it to the GitOps
// tool, which already treats git as the truth for it.
func builtinRules(d Defaults) []Rule {
	hasHPA := true
	latch := d.Latch
	return []Rule{
		{
			Name:    "builtin/pod-templates",
			Builtin: true,
			Match:   Match{Labels: labels.Everything()},
			Fields:  map[string]FieldSpec{"spec.template": {Mode: policy.ModeImmutable}},
		},
		{
			Name:    "builtin/hpa-replicas",
			Builtin: true,
			Match:   Match{Labels: labels.Everything(), HasHPA: &hasHPA},
			Fields:  map[string]FieldSpec{objectid.ReplicasField: {Mode: policy.ModeLatch, Latch: &latch}},
		},
	}
}

// Default is the policy for a repository with no latch.yaml.
func Default() *Policy {
	d := builtinDefaults()
	return &Policy{
		Source:   "built-in policy (no " + DefaultFile + ")",
		Defaults: d,
		Rules:    builtinRules(d),
	}
}

// Matches reports whether the rule's selector picks obj.
func (m Match) Matches(obj Object) bool {
	if len(m.Kinds) > 0 && !anyMatch(m.Kinds, func(k string) bool { return kindMatches(k, obj) }) {
		return false
	}
	if len(m.Namespaces) > 0 && !anyMatch(m.Namespaces, func(g string) bool { return globMatches(g, obj.Namespace) }) {
		return false
	}
	if len(m.Names) > 0 && !anyMatch(m.Names, func(g string) bool { return globMatches(g, obj.Name) }) {
		return false
	}
	if m.Labels != nil && !m.Labels.Matches(labels.Set(obj.Labels)) {
		return false
	}
	if m.HasHPA != nil && *m.HasHPA != obj.HasHPA {
		return false
	}
	return true
}

func anyMatch(list []string, f func(string) bool) bool {
	for _, s := range list {
		if f(s) {
			return true
		}
	}
	return false
}

// kindMatches compares "Kind" or "Kind.group" with the object's kind and group.
func kindMatches(pattern string, obj Object) bool {
	kind, group, qualified := strings.Cut(pattern, ".")
	if kind != obj.Kind {
		return false
	}
	return !qualified || group == obj.Group
}

// globMatches uses path.Match; patterns were validated at parse time, so an
// error cannot happen here and counts as no match.
func globMatches(pattern, s string) bool {
	ok, err := path.Match(pattern, s)
	return err == nil && ok
}
