package manifest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	yaml "go.yaml.in/yaml/v3"

	"github.com/latch-gitops/latch/internal/safefile"
)

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// lineTable maps the parser's 1-based (line, column) to byte offsets. The
// parser counts columns in characters and treats CRLF, CR, LF, NEL, LS and
// PS as line breaks, and skips a leading byte-order mark, so this does too.
type lineTable struct {
	data   []byte
	starts []int
}

func newLineTable(data []byte) *lineTable {
	t := &lineTable{data: data, starts: make([]int, 1, 64)}
	if bytes.HasPrefix(data, utf8BOM) {
		t.starts[0] = len(utf8BOM)
	}
	for i := t.starts[0]; i < len(data); {
		switch c := data[i]; {
		case c == '\r' && i+1 < len(data) && data[i+1] == '\n':
			i += 2
			t.starts = append(t.starts, i)
		case c == '\r' || c == '\n':
			i++
			t.starts = append(t.starts, i)
		case c == 0xC2 && i+1 < len(data) && data[i+1] == 0x85: // NEL
			i += 2
			t.starts = append(t.starts, i)
		case c == 0xE2 && i+2 < len(data) && data[i+1] == 0x80 && (data[i+2] == 0xA8 || data[i+2] == 0xA9): // LS, PS
			i += 3
			t.starts = append(t.starts, i)
		default:
			i++
		}
	}
	return t
}

// offset returns the byte offset of a 1-based line and character column.
func (t *lineTable) offset(line, column int) (int, error) {
	if line < 1 || line > len(t.starts) || column < 1 {
		return 0, fmt.Errorf("position %d:%d outside the file", line, column)
	}
	off := t.starts[line-1]
	for c := 1; c < column; c++ {
		if off >= len(t.data) {
			return 0, fmt.Errorf("position %d:%d outside the file", line, column)
		}
		_, size := utf8.DecodeRune(t.data[off:])
		off += size
	}
	return off, nil
}

// lineText returns the bytes of a 1-based line without its line break.
func (t *lineTable) lineText(line int) []byte {
	if line < 1 || line > len(t.starts) {
		return nil
	}
	start := t.starts[line-1]
	end := len(t.data)
	if line < len(t.starts) {
		end = t.starts[line]
	}
	return bytes.TrimRight(t.data[start:end], "\r\n")
}

// textSource says where parsed YAML text sits in a file: the whole file, or
// the content of a literal block scalar (an inline Kustomize patch), whose
// lines map one to one onto file lines shifted by lineShift and colShift.
type textSource struct {
	file      string // slash path relative to the checkout root
	lines     *lineTable
	lineShift int
	colShift  int
}

func (s textSource) place(line int) string {
	return fmt.Sprintf("%s:%d", s.file, line+s.lineShift)
}

// nonNegativeInt is the only integer form latch edits: YAML 1.1 would read a
// leading zero as octal, and signs, underscores or hex are not what a person
// writes for replicas.
var nonNegativeInt = regexp.MustCompile(`^(0|[1-9][0-9]*)$`)

// scalarLocation finds the digits of an integer scalar node in the file, or
// says why latch will not edit it. field names the field in errors. Where
// the value is the object's own field (every via but ViaMarker), a quoted
// value is a string the API rejects, and latch will not write one: only a
// marker's value (Helm values, whose chart decides the type) may be quoted.
func scalarLocation(src textSource, node *yaml.Node, via, field string) (Location, error) {
	line, col := node.Line+src.lineShift, node.Column+src.colShift
	loc := Location{File: src.file, Line: line, Column: col, Via: via}
	switch {
	case node.Kind == yaml.AliasNode:
		return loc, fmt.Errorf("%s:%d: value is an alias (*%s) of a shared value; latch will not edit a value other fields share", src.file, line, node.Value)
	case node.Kind != yaml.ScalarNode:
		return loc, fmt.Errorf("%s:%d: value is not a scalar", src.file, line)
	case node.Anchor != "":
		return loc, fmt.Errorf("%s:%d: value carries anchor &%s and may be shared through aliases; latch will not edit it", src.file, line, node.Anchor)
	case node.Style&yaml.TaggedStyle != 0:
		return loc, fmt.Errorf("%s:%d: value has an explicit tag %s; latch only edits untagged integers", src.file, line, node.Tag)
	case node.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0:
		return loc, fmt.Errorf("%s:%d: value is a block scalar; latch only edits integers written on one line", src.file, line)
	case !nonNegativeInt.MatchString(node.Value):
		return loc, fmt.Errorf("%s:%d: value %s is not a plain non-negative integer", src.file, line, safefile.Excerpt(node.Value))
	case via != ViaMarker && node.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0:
		return loc, fmt.Errorf("%s:%d:%d: %s: %s is a string where the API wants an integer; write it without quotes", src.file, line, col, field, safefile.Excerpt(node.Value))
	}
	off, err := src.lines.offset(line, col)
	if err != nil {
		return loc, fmt.Errorf("%s: %w", src.file, err)
	}
	data := src.lines.data
	digits := off
	if node.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0 {
		quote := byte('"')
		if node.Style&yaml.SingleQuotedStyle != 0 {
			quote = '\''
		}
		if off >= len(data) || data[off] != quote {
			return loc, fmt.Errorf("%s:%d:%d: expected a quote where the parser placed the value", src.file, line, col)
		}
		digits = off + 1
		if end := digits + len(node.Value); end >= len(data) || data[end] != quote {
			return loc, fmt.Errorf("%s:%d:%d: quoted value is not written as plain digits", src.file, line, col)
		}
	}
	if end := digits + len(node.Value); end > len(data) || string(data[digits:end]) != node.Value {
		return loc, fmt.Errorf("%s:%d:%d: bytes at the parser's position do not spell %q", src.file, line, col, node.Value)
	}
	loc.Offset, loc.Length, loc.Value = digits, len(node.Value), node.Value
	return loc, nil
}

// parseDocuments decodes every document of a YAML stream.
func parseDocuments(data []byte) ([]*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var docs []*yaml.Node
	for {
		doc := new(yaml.Node)
		err := dec.Decode(doc)
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return docs, err
		}
		if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
			docs = append(docs, doc.Content[0])
		}
	}
}

var yamlErrLine = regexp.MustCompile(`line (\d+)`)

// errorLine pulls the line number out of a parser error message, or 0.
func errorLine(err error) int {
	m := yamlErrLine.FindStringSubmatch(err.Error())
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// mapValue returns the value under key in a mapping node. A key written twice
// or a merge key (<<) that might supply it is an error: the value that counts
// would be ambiguous or shared.
func mapValue(m *yaml.Node, key string) (*yaml.Node, error) {
	if m.Kind != yaml.MappingNode {
		return nil, nil
	}
	var found *yaml.Node
	merge := false
	for i := 0; i+1 < len(m.Content); i += 2 {
		k := m.Content[i]
		if k.Kind == yaml.ScalarNode && k.Value == "<<" && k.Tag == "!!merge" {
			merge = true
			continue
		}
		if k.Kind == yaml.ScalarNode && k.Value == key {
			if found != nil {
				return nil, fmt.Errorf("line %d: key %q written twice in one mapping", k.Line, key)
			}
			found = m.Content[i+1]
		}
	}
	if found == nil && merge {
		return nil, fmt.Errorf("line %d: key %q may come from a merge key (<<), a value shared with other mappings", m.Line, key)
	}
	return found, nil
}

// stringAt returns the string scalar at a dotted path, or "".
func stringAt(n *yaml.Node, path ...string) string {
	for _, p := range path {
		v, _ := mapValue(n, p)
		if v == nil {
			return ""
		}
		n = v
	}
	if n.Kind != yaml.ScalarNode {
		return ""
	}
	return n.Value
}

// fieldNode walks a dotted field path ("spec.replicas") from a mapping. It
// returns nil, nil when the field is absent, and an error when reaching it
// needs an alias or merge key.
func fieldNode(n *yaml.Node, field string) (*yaml.Node, error) {
	parts := strings.Split(field, ".")
	for i, p := range parts {
		if n.Kind == yaml.AliasNode {
			return nil, fmt.Errorf("line %d: %s is reached through an alias (*%s), a value shared with other fields", n.Line, strings.Join(parts[:i], "."), n.Value)
		}
		v, err := mapValue(n, p)
		if err != nil || v == nil {
			return nil, err
		}
		if v.Anchor != "" && i < len(parts)-1 {
			return nil, fmt.Errorf("line %d: %s carries anchor &%s and may be shared through aliases", v.Line, strings.Join(parts[:i+1], "."), v.Anchor)
		}
		n = v
	}
	return n, nil
}

// literalBlockSource returns where the content of a literal block scalar
// starts in its file, so YAML parsed from it can be mapped back to bytes.
// Only literal style with automatic indentation keeps lines one to one.
func literalBlockSource(src textSource, node *yaml.Node) (textSource, error) {
	line := node.Line + src.lineShift
	if node.Kind != yaml.ScalarNode || node.Style&yaml.LiteralStyle == 0 {
		return textSource{}, fmt.Errorf("%s:%d: inline patch is not a literal block (|); latch cannot map its positions to the file", src.file, line)
	}
	header := src.lines.lineText(line)
	if i := bytes.LastIndexByte(header, '|'); i >= 0 {
		if rest := bytes.TrimLeft(header[i+1:], "+-"); len(rest) > 0 && rest[0] >= '1' && rest[0] <= '9' {
			return textSource{}, fmt.Errorf("%s:%d: inline patch has an explicit indentation indicator; not supported", src.file, line)
		}
	}
	for l := line + 1; l <= len(src.lines.starts); l++ {
		text := src.lines.lineText(l)
		if len(bytes.TrimSpace(text)) == 0 {
			continue
		}
		indent := len(text) - len(bytes.TrimLeft(text, " "))
		return textSource{file: src.file, lines: src.lines, lineShift: line, colShift: indent}, nil
	}
	return textSource{}, fmt.Errorf("%s:%d: empty inline patch", src.file, line)
}

// scalarValueAt finds the scalar the parser places at (line, column) of data,
// looking inside literal block scalars too (inline patches), and returns its
// value. It is how an edit is checked after the fact.
func scalarValueAt(data []byte, line, column int) (string, error) {
	docs, err := parseDocuments(data)
	if err != nil {
		return "", err
	}
	src := textSource{lines: newLineTable(data)}
	for _, d := range docs {
		if v, ok := findScalar(d, src, line, column, 0); ok {
			return v, nil
		}
	}
	return "", fmt.Errorf("no scalar at %d:%d", line, column)
}

func findScalar(n *yaml.Node, src textSource, line, column, depth int) (string, bool) {
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Line+src.lineShift == line && n.Column+src.colShift == column && n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) == 0 {
			return n.Value, true
		}
		start := n.Line + src.lineShift
		if n.Style&yaml.LiteralStyle != 0 && depth < 2 && line > start && line <= start+strings.Count(n.Value, "\n")+1 {
			inner, err := literalBlockSource(src, n)
			if err != nil {
				return "", false
			}
			docs, err := parseDocuments([]byte(n.Value))
			if err != nil {
				return "", false
			}
			for _, d := range docs {
				if v, ok := findScalar(d, inner, line, column, depth+1); ok {
					return v, true
				}
			}
		}
	case yaml.DocumentNode, yaml.MappingNode, yaml.SequenceNode:
		for _, c := range n.Content {
			if v, ok := findScalar(c, src, line, column, depth); ok {
				return v, true
			}
		}
	}
	return "", false
}
