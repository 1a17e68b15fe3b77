package policyfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/latch-gitops/latch/internal/safefile"
)

// parser is the strict YAML node reader the schema (parse.go) and the latch
// parameters (params.go) are written on: it reads typed scalars, mappings
// with checked keys and lists, and collects every problem as an Error at
// the node's line and column with its field path.
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
