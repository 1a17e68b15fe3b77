package manifest

import (
	"bytes"
	"encoding/json"
	"fmt"

	yaml "go.yaml.in/yaml/v3"

	"github.com/latch-gitops/latch/internal/objectid"
)

// markerKeyword is the JSON key that makes a comment a latch marker.
const markerKeyword = `"$latch"`

// markerComment is the JSON a marker comment holds, e.g.
// # {"$latch": "apps/v1/Deployment/shop/web", "field": "spec.replicas"}
type markerComment struct {
	Ref   string `json:"$latch"`
	Field string `json:"field"`
}

// scanMarkers finds marker comments in a parsed file and the integer scalar
// each one sits beside. A marker it cannot honour is a Problem.
func scanMarkers(f *parsedFile, l *loader) []markerDecl {
	data := f.src.lines.data
	if !bytes.Contains(data, []byte(markerKeyword)) {
		return nil
	}
	var byLine map[int][]*yaml.Node
	var out []markerDecl
	for line := 1; line <= len(f.src.lines.starts); line++ {
		text := f.src.lines.lineText(line)
		if !bytes.Contains(text, []byte(markerKeyword)) {
			continue
		}
		hash := commentStart(text)
		if hash < 0 {
			continue
		}
		body := bytes.TrimSpace(text[hash+1:])
		if !bytes.HasPrefix(body, []byte("{")) || !bytes.Contains(body, []byte(markerKeyword)) {
			continue
		}
		var mc markerComment
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&mc); err != nil {
			l.problem(f.rel, line, "malformed latch marker %s: %v", body, err)
			continue
		}
		ref, err := objectid.Parse(mc.Ref)
		if err != nil {
			l.problem(f.rel, line, "latch marker: %v", err)
			continue
		}
		if mc.Field == "" {
			mc.Field = DefaultField
		}
		if byLine == nil {
			byLine = map[int][]*yaml.Node{}
			for _, d := range f.docs {
				collectValueScalars(d, byLine)
			}
		}
		var candidates []*yaml.Node
		for _, n := range byLine[line] {
			if n.Column-1 < hash {
				candidates = append(candidates, n)
			}
		}
		if len(candidates) != 1 {
			l.problem(f.rel, line, "latch marker for %s: want exactly one value on its line, found %d", ref, len(candidates))
			continue
		}
		loc, err := scalarLocation(f.src, candidates[0], ViaMarker, mc.Field)
		if err != nil {
			l.problem(f.rel, line, "latch marker for %s: %v", ref, err)
			continue
		}
		out = append(out, markerDecl{ref: ref, field: mc.Field, place: fmt.Sprintf("%s:%d", f.rel, line), decl: fieldDecl{loc: loc}})
	}
	return out
}

// commentStart returns the index of the '#' that starts a comment on a
// line, skipping quoted strings, or -1.
func commentStart(text []byte) int {
	var quote byte
	for i := 0; i < len(text); i++ {
		c := text[i]
		switch {
		case quote == '"' && c == '\\':
			i++
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			if i == 0 || text[i-1] == ' ' || text[i-1] == '\t' || text[i-1] == ':' || text[i-1] == '[' || text[i-1] == '{' || text[i-1] == ',' || text[i-1] == '-' {
				quote = c
			}
		case c == '#' && (i == 0 || text[i-1] == ' ' || text[i-1] == '\t'):
			return i
		}
	}
	return -1
}

// collectValueScalars indexes by line every scalar (or alias) that is a
// mapping value or sequence item: what a marker can point at.
func collectValueScalars(n *yaml.Node, byLine map[int][]*yaml.Node) {
	switch n.Kind {
	case yaml.MappingNode, yaml.SequenceNode:
		for i, v := range n.Content {
			if n.Kind == yaml.MappingNode && i%2 == 0 {
				continue // a key, not a value
			}
			if v.Kind == yaml.ScalarNode || v.Kind == yaml.AliasNode {
				byLine[v.Line] = append(byLine[v.Line], v)
			} else {
				collectValueScalars(v, byLine)
			}
		}
	case yaml.DocumentNode:
		for _, c := range n.Content {
			collectValueScalars(c, byLine)
		}
	}
}
