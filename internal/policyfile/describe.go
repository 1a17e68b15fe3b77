package policyfile

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/latch-gitops/latch/internal/policy"
	"github.com/latch-gitops/latch/internal/review"
	"github.com/latch-gitops/latch/internal/rollout"
)

// Summary is a policy as `latch policy check` shows it: every rule in
// evaluation order with every field's complete, resolved parameters.
// It marshals to readable JSON/YAML (durations as "2h", not nanoseconds).
type Summary struct {
	Source   string          `json:"source"`
	Defaults DefaultsSummary `json:"defaults"`
	Rules    []RuleSummary   `json:"rules"`
}

// DefaultsSummary is Defaults for display.
type DefaultsSummary struct {
	Latch         FieldPolicy `json:"latch"`
	ConvergeGrace string      `json:"convergeGrace"`
	// Review is shown when the file sets spec.defaults.review.
	Review *review.Thresholds `json:"review,omitempty"`
	// Rollouts is shown when the file sets spec.defaults.rollouts: the
	// follower's settings with the defaults filled in for keys left out.
	Rollouts *RolloutsSummary `json:"rollouts,omitempty"`
}

// RolloutsSummary is spec.defaults.rollouts for display.
type RolloutsSummary struct {
	Milestones        []int  `json:"milestones"`
	NotReadyAfter     string `json:"notReadyAfter"`
	CrashLoopRestarts int32  `json:"crashLoopRestarts"`
}

// rolloutsSummary is nil when o is the zero value (the file is silent).
func rolloutsSummary(o rollout.Options) *RolloutsSummary {
	if len(o.Milestones) == 0 && o.NotReadyAfter == 0 && o.CrashLoopRestarts == 0 {
		return nil
	}
	o = o.WithDefaults()
	return &RolloutsSummary{Milestones: o.Milestones, NotReadyAfter: formatDuration(o.NotReadyAfter), CrashLoopRestarts: o.CrashLoopRestarts}
}

// RuleSummary is a Rule for display.
type RuleSummary struct {
	Name    string                 `json:"name"`
	Builtin bool                   `json:"builtin,omitempty"`
	Line    int                    `json:"line,omitempty"`
	Match   MatchSummary           `json:"match"`
	Fields  map[string]FieldPolicy `json:"fields"`
	Review  review.Mode            `json:"review,omitempty"`
}

// MatchSummary is a Match for display; empty means "any".
type MatchSummary struct {
	Kinds      []string `json:"kinds,omitempty"`
	Namespaces []string `json:"namespaces,omitempty"`
	Names      []string `json:"names,omitempty"`
	Labels     string   `json:"labels,omitempty"`
	HasHPA     *bool    `json:"hasHPA,omitempty"`
}

// Summary describes the policy for display.
func (p *Policy) Summary() Summary {
	latch := p.Defaults.Latch
	s := Summary{
		Source: p.Source,
		Defaults: DefaultsSummary{
			Latch:         FieldPolicy{Mode: policy.ModeLatch, Latch: &latch},
			ConvergeGrace: formatDuration(p.Defaults.ConvergeGrace),
		},
		Rules: make([]RuleSummary, 0, len(p.Rules)),
	}
	if p.Defaults.ReviewSet {
		th := p.Defaults.Review
		s.Defaults.Review = &th
	}
	s.Defaults.Rollouts = rolloutsSummary(p.Defaults.Rollouts)
	for _, r := range p.Rules {
		rs := RuleSummary{
			Name:    r.Name,
			Builtin: r.Builtin,
			Line:    r.Line,
			Match: MatchSummary{
				Kinds:      r.Match.Kinds,
				Namespaces: r.Match.Namespaces,
				Names:      r.Match.Names,
				Labels:     r.Match.LabelsText,
				HasHPA:     r.Match.HasHPA,
			},
			Fields: make(map[string]FieldPolicy, len(r.Fields)),
			Review: r.Review,
		}
		for path, f := range r.Fields {
			rs.Fields[path] = FieldPolicy{Mode: f.Mode, Latch: f.Latch, Grace: f.Grace}
		}
		s.Rules = append(s.Rules, rs)
	}
	return s
}

// WriteText writes the summary for people: one block per rule, in the
// order rules are applied.
func (s Summary) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "source: %s\n", s.Source)
	fmt.Fprintf(&b, "defaults:\n  latch: %s\n  converge: grace %s\n", describeLatch(s.Defaults.Latch.Latch), s.Defaults.ConvergeGrace)
	if th := s.Defaults.Review; th != nil {
		fmt.Fprintf(&b, "  review: jump %v, atMax %t, firstLatch %t, surge %d workloads jumping %v, hpaTolerance %v\n",
			th.Jump, th.AtMax, th.FirstLatch, th.SurgeWorkloads, th.SurgeJump, th.HPATolerance)
	}
	if ro := s.Defaults.Rollouts; ro != nil {
		ms := make([]string, len(ro.Milestones))
		for i, m := range ro.Milestones {
			ms[i] = strconv.Itoa(m)
		}
		fmt.Fprintf(&b, "  rollouts: milestones %s %% (0 and 100 always), notReadyAfter %s, crashLoopRestarts %d\n",
			strings.Join(ms, ", "), ro.NotReadyAfter, ro.CrashLoopRestarts)
	}
	b.WriteString("rules (applied in order; for each field, the last matching rule that sets it wins):\n")
	for i, r := range s.Rules {
		where := fmt.Sprintf("line %d", r.Line)
		if r.Builtin {
			where = "built-in"
		}
		fmt.Fprintf(&b, "  %d. %s (%s)\n", i+1, r.Name, where)
		fmt.Fprintf(&b, "     match: %s\n", r.Match.text())
		if r.Review != "" {
			fmt.Fprintf(&b, "     review: %s\n", r.Review)
		}
		paths := make([]string, 0, len(r.Fields))
		for path := range r.Fields {
			paths = append(paths, path)
		}
		sort.Strings(paths)
		for _, path := range paths {
			fmt.Fprintf(&b, "     %s: %s\n", path, r.Fields[path].Text())
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func (m MatchSummary) text() string {
	var parts []string
	list := func(key string, vals []string) {
		if len(vals) > 0 {
			parts = append(parts, key+"="+strings.Join(vals, ","))
		}
	}
	list("kinds", m.Kinds)
	list("namespaces", m.Namespaces)
	list("names", m.Names)
	if m.Labels != "" {
		parts = append(parts, "labels="+strconv.Quote(m.Labels))
	}
	if m.HasHPA != nil {
		parts = append(parts, "hasHPA="+strconv.FormatBool(*m.HasHPA))
	}
	if len(parts) == 0 {
		return "any object"
	}
	return strings.Join(parts, " ")
}

// Text is the field policy on one line: "latch (rule sigfig, ...)",
// "converge (grace 10m)", "immutable".
func (f FieldPolicy) Text() string {
	s := string(f.Mode)
	switch {
	case f.Latch != nil:
		s += " (" + describeLatch(f.Latch) + ")"
	case f.Mode == policy.ModeConverge:
		s += " (grace " + formatDuration(f.Grace) + ")"
	}
	if f.From != "" {
		s += " from " + f.From
	}
	return s
}

func describeLatch(p *policy.Params) string {
	if p == nil {
		return "none"
	}
	s := fmt.Sprintf("rule %s, hysteresis %g, dwellDown %s, dwellUp %s", p.Ladder, p.Hysteresis, formatDuration(p.DwellDown), formatDuration(p.DwellUp))
	// The budgets are named only when they differ from the built-in ones.
	if d := policy.DefaultParams(); p.Window != d.Window || p.MissBudget != d.MissBudget || p.OverprovisionBudget != d.OverprovisionBudget {
		s += fmt.Sprintf(", window %s, missBudget %g, overprovisionBudget %g", formatDuration(p.Window), p.MissBudget, p.OverprovisionBudget)
	}
	if p.Min > 0 {
		s += fmt.Sprintf(", min %d", p.Min)
	}
	if p.Max > 0 {
		s += fmt.Sprintf(", max %d", p.Max)
	}
	return s
}

// formatDuration is time.Duration.String without the zero tails ("2h", not
// "2h0m0s"); the result still parses with time.ParseDuration.
func formatDuration(d time.Duration) string {
	s := d.String()
	if d == 0 || d%time.Second != 0 {
		return s
	}
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// WriteText writes the resolved fields for people, one per line.
func (r Resolved) WriteText(w io.Writer) error {
	var b strings.Builder
	if len(r.Fields) == 0 {
		b.WriteString("no rule sets any field: latch ignores this object\n")
	}
	for _, path := range r.Paths() {
		fmt.Fprintf(&b, "%s: %s\n", path, r.Fields[path].Text())
	}
	if r.Review != "" {
		fmt.Fprintf(&b, "review: %s (rule %s)\n", r.Review, r.ReviewFrom)
	}
	for _, w := range r.Warnings {
		fmt.Fprintf(&b, "warning: %s\n", w)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
