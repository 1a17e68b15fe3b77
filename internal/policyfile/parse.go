package policyfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"path"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/latch-gitops/latch/internal/policy"
	"github.com/latch-gitops/latch/internal/safefile"
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
	defaultsKeys  = []string{"latch", "converge"}
	convergeKeys  = []string{"grace"}
	ruleKeys      = []string{"name", "match", "fields"}
	matchKeys     = []string{"kinds", "namespaces", "names", "labels", "hasHPA"}
	latchKeys     = []string{"rule", "hysteresis", "dwellDown", "dwellUp", "min", "max"}
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

type parser struct {
	file string
	errs ErrorList
}

func (p *parser) errorf(n *yaml.Node, field, format string, args ...any) {
	e := &Error{File: p.file, Field: field, Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		e.Line, e.Column = n.Line, n.Column
	}
	p.errs = append(p.errs, e)
}

// yamlParserProblems are the problems the YAML parser (as opposed to its
// scanner) reports. yaml.v3 adds one to the 0-based line of scanner errors
// but not of parser errors, so those say "line 3" about line 4
// (go-yaml/yaml#205); syntaxError corrects them. The two sets of messages
// are disjoint in go.yaml.in/yaml/v3 v3.0.6 (scannerc.go, parserc.go).
var yamlParserProblems = []string{
	"did not find expected ',' or ']'",
	"did not find expected ',' or '}'",
	"did not find expected '-' indicator",
	"did not find expected <document start>",
	"did not find expected <stream-start>",
	"did not find expected key",
	"did not find expected node content",
	"found duplicate %TAG directive",
	"found duplicate %YAML directive",
	"found incompatible YAML document",
	"found undefined tag handle",
}

// syntaxError reports a YAML syntax error. yaml.v3 gives a line but no
// column, so the error has none either.
func (p *parser) syntaxError(err error) {
	e := &Error{File: p.file, Msg: err.Error()}
	if m := yamlLinePattern.FindStringSubmatch(err.Error()); m != nil {
		e.Line, _ = strconv.Atoi(m[1])
		e.Msg = "invalid YAML: " + m[2]
		for _, problem := range yamlParserProblems {
			if strings.HasPrefix(m[2], problem) {
				e.Line++
				break
			}
		}
	}
	p.errs = append(p.errs, e)
}

func (p *parser) document(data []byte) *Policy {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			p.errorf(nil, "", "empty file: want one LatchPolicy document (apiVersion: %s, kind: %s)", APIVersion, Kind)
		} else {
			p.syntaxError(err)
		}
		return nil
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case errors.Is(err, io.EOF):
	case err == nil && (len(extra.Content) == 0 || (isNull(extra.Content[0]) && extra.Content[0].Value == "")):
		// A trailing "---" with nothing after it is not a second policy.
	case err != nil:
		p.syntaxError(err)
		return nil
	default:
		at := &extra
		if len(extra.Content) > 0 {
			at = extra.Content[0]
		}
		p.errorf(at, "", "a second YAML document: the file must hold exactly one LatchPolicy")
		return nil
	}
	if len(doc.Content) == 0 || isNull(doc.Content[0]) {
		p.errorf(nil, "", "empty file: want one LatchPolicy document (apiVersion: %s, kind: %s)", APIVersion, Kind)
		return nil
	}
	root := doc.Content[0]
	if p.rejectAliases(root) {
		return nil
	}
	return p.policy(root)
}

// rejectAliases refuses YAML aliases: they would make a value's position
// ambiguous in error messages, and a policy short enough to read needs none.
func (p *parser) rejectAliases(n *yaml.Node) bool {
	found := false
	var walk func(*yaml.Node)
	walk = func(n *yaml.Node) {
		if n.Kind == yaml.AliasNode {
			p.errorf(n, "", "YAML alias *%s: aliases are not supported; write the value out", n.Value)
			found = true
			return
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(n)
	return found
}

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

func modeList() string {
	names := make([]string, len(policy.Modes))
	for i, m := range policy.Modes {
		names[i] = string(m)
	}
	return strings.Join(names, ", ")
}

// latchParams overlays the latch keys present in m on base. sources maps
// each parameter the entry set ("hysteresis", "rule", "rule.step") to its
// value node, so range errors found later point at the right line.
func (p *parser) latchParams(m *mapNode, field string, base policy.Params) (policy.Params, map[string]*yaml.Node) {
	out := base
	sources := map[string]*yaml.Node{}
	if n, ok := m.get("rule"); ok {
		sources["rule"] = n
		if r, ok := p.roundRule(n, field+".rule", sources); ok {
			out.Ladder = r
		}
	}
	if n, ok := m.get("hysteresis"); ok {
		sources["hysteresis"] = n
		if v, ok := p.float(n, field+".hysteresis"); ok {
			out.Hysteresis = v
		}
	}
	if n, ok := m.get("dwellDown"); ok {
		sources["dwellDown"] = n
		if v, ok := p.duration(n, field+".dwellDown"); ok {
			out.DwellDown = v
		}
	}
	if n, ok := m.get("dwellUp"); ok {
		sources["dwellUp"] = n
		if v, ok := p.duration(n, field+".dwellUp"); ok {
			out.DwellUp = v
		}
	}
	if n, ok := m.get("min"); ok {
		sources["min"] = n
		if v, ok := p.int(n, field+".min"); ok {
			out.Min = v
		}
	}
	if n, ok := m.get("max"); ok {
		sources["max"] = n
		if v, ok := p.int(n, field+".max"); ok {
			out.Max = v
		}
	}
	return out, sources
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
	ok = true
	if sn, present := m.get("step"); present {
		sources["rule.step"] = sn
		if r.Kind != policy.LadderStep {
			p.errorf(m.keyOf("step"), field+".step", "only valid with kind step (this rule's kind is %s)", r.Kind)
			ok = false
		} else if r.Step, present = p.int(sn, field+".step"); !present {
			ok = false
		}
	} else if r.Kind == policy.LadderStep {
		p.errorf(n, field+".step", "required for kind step: the multiple to round to, such as step: 5")
		ok = false
	}
	if sn, present := m.get("series"); present {
		sources["rule.series"] = sn
		if r.Kind != policy.LadderSeries {
			p.errorf(m.keyOf("series"), field+".series", "only valid with kind series (this rule's kind is %s)", r.Kind)
			ok = false
		} else if r.Series, present = p.str(sn, field+".series"); !present {
			ok = false
		}
	} else if r.Kind == policy.LadderSeries {
		p.errorf(n, field+".series", "required for kind series: one of %s", strings.Join(policy.SeriesNames, ", "))
		ok = false
	}
	return r, ok
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

// mapNode is a YAML mapping whose keys were checked: strings, no
// duplicates, none outside the allowed set.
type mapNode struct {
	node    *yaml.Node
	entries []mapEntry
}

type mapEntry struct {
	name       string
	key, value *yaml.Node
}

func (m *mapNode) get(name string) (*yaml.Node, bool) {
	for _, e := range m.entries {
		if e.name == name {
			return e.value, true
		}
	}
	return nil, false
}

func (m *mapNode) keyOf(name string) *yaml.Node {
	for _, e := range m.entries {
		if e.name == name {
			return e.key
		}
	}
	return m.node
}

// mapping checks n is a mapping (null counts as empty) with string keys,
// no duplicates and, when allowed is non-nil, only allowed keys. Bad keys
// are reported and skipped; ok is false only when n is not a mapping.
func (p *parser) mapping(n *yaml.Node, field string, allowed []string) (*mapNode, bool) {
	m := &mapNode{node: n}
	if isNull(n) {
		return m, true
	}
	if n.Kind != yaml.MappingNode {
		p.errorf(n, field, "must be a mapping, got %s", describe(n))
		return nil, false
	}
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			p.errorf(k, field, "YAML merge keys (<<) are not supported; write the keys out")
			continue
		}
		if k.Kind != yaml.ScalarNode || k.ShortTag() != "!!str" {
			p.errorf(k, field, "keys must be strings, got %s", describe(k))
			continue
		}
		kf := joinField(field, k.Value)
		if allowed == nil { // keys are data (field paths), not schema
			kf = fmt.Sprintf("%s[%q]", field, k.Value)
		}
		if first, dup := seen[k.Value]; dup {
			p.errorf(k, kf, "duplicate key (first at line %d)", first.Line)
			continue
		}
		seen[k.Value] = k
		if allowed != nil && !slices.Contains(allowed, k.Value) {
			p.errorf(k, kf, "unknown key %q%s (want one of %s)", k.Value, suggest(k.Value, allowed), strings.Join(allowed, ", "))
			continue
		}
		m.entries = append(m.entries, mapEntry{name: k.Value, key: k, value: v})
	}
	return m, true
}

// suggest catches the usual slips: kind for kinds, hasHpa for hasHPA,
// hysterisis for hysteresis (a case-insensitive edit distance of at most 2).
func suggest(key string, allowed []string) string {
	best, bestDist := "", 3
	for _, a := range allowed {
		if d := editDistance(strings.ToLower(key), strings.ToLower(a)); d < bestDist {
			best, bestDist = a, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf("; did you mean %q?", best)
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func joinField(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

type listItem struct {
	value string
	node  *yaml.Node
}

// stringList reads a non-empty list of strings. An empty list is an error,
// not "match anything": omitting the key says that unambiguously.
func (p *parser) stringList(n *yaml.Node, field string) []listItem {
	if n.Kind != yaml.SequenceNode {
		p.errorf(n, field, "must be a list of strings, got %s", describe(n))
		return nil
	}
	if len(n.Content) == 0 {
		p.errorf(n, field, "must not be empty (omit the key to match anything)")
		return nil
	}
	var out []listItem
	for i, c := range n.Content {
		if s, ok := p.str(c, fmt.Sprintf("%s[%d]", field, i)); ok {
			out = append(out, listItem{s, c})
		}
	}
	return out
}

func (p *parser) str(n *yaml.Node, field string) (string, bool) {
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" {
		p.errorf(n, field, "must be a string, got %s", describe(n))
		return "", false
	}
	return n.Value, true
}

func (p *parser) bool(n *yaml.Node, field string) (bool, bool) {
	var b bool
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" || n.Decode(&b) != nil {
		p.errorf(n, field, "must be true or false, got %s", describe(n))
		return false, false
	}
	return b, true
}

func (p *parser) int(n *yaml.Node, field string) (int64, bool) {
	var v int64
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" {
		p.errorf(n, field, "must be an integer, got %s", describe(n))
		return 0, false
	}
	if err := n.Decode(&v); err != nil {
		p.errorf(n, field, "must be an integer that fits in 64 bits, got %s", n.Value)
		return 0, false
	}
	return v, true
}

func (p *parser) float(n *yaml.Node, field string) (float64, bool) {
	var v float64
	tag := n.ShortTag()
	if n.Kind != yaml.ScalarNode || (tag != "!!int" && tag != "!!float") || n.Decode(&v) != nil {
		p.errorf(n, field, "must be a number, got %s", describe(n))
		return 0, false
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		p.errorf(n, field, "must be a finite number, got %s", n.Value)
		return 0, false
	}
	return v, true
}

// duration reads a Go duration ("90m", "2h", "1h30m"); a bare 0 is allowed.
func (p *parser) duration(n *yaml.Node, field string) (time.Duration, bool) {
	tag := n.ShortTag()
	if n.Kind != yaml.ScalarNode || (tag != "!!str" && tag != "!!int") {
		p.errorf(n, field, "must be a duration such as 90m or 2h, got %s", describe(n))
		return 0, false
	}
	d, err := time.ParseDuration(n.Value)
	if err != nil {
		p.errorf(n, field, "must be a duration such as 90m or 2h, got %q", n.Value)
		return 0, false
	}
	if d < 0 {
		p.errorf(n, field, "must not be negative, got %s", n.Value)
		return 0, false
	}
	return d, true
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// short is an unquoted value from the file for a message, cut like
// safefile.Excerpt when long.
func short(v string) string {
	if len(v) <= safefile.ExcerptRunes {
		return v
	}
	return safefile.Excerpt(v)
}

// describe names a node's type for error messages, quoting at most a short
// excerpt of its value.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return "nothing (null)"
		case "!!str":
			return "string " + safefile.Excerpt(n.Value)
		case "!!bool":
			return "boolean " + n.Value
		case "!!int", "!!float":
			return "number " + short(n.Value)
		}
		return fmt.Sprintf("%s %s", n.ShortTag(), short(n.Value))
	}
	return "unknown YAML node"
}
