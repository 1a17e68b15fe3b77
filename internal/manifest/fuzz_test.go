package manifest

import (
	"bytes"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	yaml "go.yaml.in/yaml/v3"
)

// genDeployment builds a Deployment document around spec.replicas from the
// fuzzer's choices: indentation, line endings, BOM, document markers,
// flow or block style, quoting, comments and key order.
func genDeployment(shape uint32, comment string, old uint32) string {
	bit := func(i uint) bool { return shape>>i&1 == 1 }
	indent := strings.Repeat(" ", int(shape&3)+1)
	nl := "\n"
	if bit(2) {
		nl = "\r\n"
	}
	// Comments come from the fuzzer; keep them on one line.
	comment = strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' || r == 0x85 || r == 0x2028 || r == 0x2029 || r == 0 || r == 0xFEFF {
			return ' '
		}
		return r
	}, comment)
	value := strconv.FormatUint(uint64(old), 10)
	switch shape >> 3 & 3 {
	case 1:
		value = `"` + value + `"`
	case 2:
		value = `'` + value + `'`
	}
	lineComment := ""
	if bit(5) {
		lineComment = strings.Repeat(" ", int(shape>>6&3)+1) + "# " + comment
	}
	var b strings.Builder
	if bit(8) {
		b.WriteString("\uFEFF")
	}
	if bit(9) {
		b.WriteString("---" + nl + "apiVersion: v1" + nl + "kind: ConfigMap" + nl + "metadata: {name: other, namespace: shop}" + nl + "data: {k: \"3\"}" + nl + "..." + nl + "---" + nl)
	} else if bit(10) {
		b.WriteString("---" + nl)
	}
	if bit(11) {
		b.WriteString("# " + comment + nl)
	}
	meta := "metadata:" + nl + indent + "name: web" + nl + indent + "namespace: shop" + nl
	if bit(12) {
		meta = "metadata: {name: web, namespace: shop}" + nl
	}
	var spec string
	if bit(13) {
		spec = "spec: {selector: {matchLabels: {app: web}}, replicas: " + value + "}" + lineComment + nl
		if bit(14) {
			spec = "spec: {replicas: " + value + ", paused: false}" + lineComment + nl
		}
	} else {
		spec = "spec:" + nl
		if bit(14) {
			spec += indent + "# " + comment + nl
		}
		if bit(15) {
			spec += indent + "selector:" + nl + indent + indent + "matchLabels: {app: web}" + nl
		}
		spec += indent + "replicas:" + strings.Repeat(" ", int(shape>>16&3)+1) + value + lineComment + nl
		if bit(18) {
			spec += indent + "template:" + nl + indent + indent + "spec: {containers: [{name: web, image: \"web:1\"}]}" + nl
		}
	}
	head := "apiVersion: apps/v1" + nl + "kind: Deployment" + nl
	if bit(19) {
		b.WriteString(spec + meta + head)
	} else {
		b.WriteString(head + meta + spec)
	}
	if bit(20) {
		b.WriteString("..." + nl)
	}
	if bit(21) {
		b.WriteString("---" + nl + "apiVersion: apps/v1" + nl + "kind: Deployment" + nl + "metadata: {name: api, namespace: shop}" + nl + "spec: {replicas: " + value + "}" + nl)
	}
	return b.String()
}

// locate finds spec.replicas of shop/web in data as BuildIndex would.
func locate(data []byte) (Location, error, bool) {
	docs, err := parseDocuments(data)
	if err != nil {
		return Location{}, err, false
	}
	b := &builder{fields: []string{DefaultField}}
	src := textSource{file: "f.yaml", lines: newLineTable(data)}
	for _, d := range docs {
		for _, o := range b.objectsFromDoc(src, d) {
			if o.ref.Name == "web" {
				dec, ok := o.fields[DefaultField]
				return dec.loc, dec.err, ok
			}
		}
	}
	return Location{}, nil, false
}

func FuzzEdit(f *testing.F) {
	f.Add(uint32(0), "latched", uint32(3), int64(40))
	f.Add(uint32(0xFFFFFFFF), "größe ☃ # not: a [key]", uint32(9), int64(10))
	f.Add(uint32(1<<2|1<<13|1<<5|1<<8), "\"quoted\" 'x'", uint32(100), int64(5))
	f.Add(uint32(1<<3|1<<9|1<<21), "", uint32(0), int64(1000000))
	f.Add(uint32(2<<3|1<<19|1<<20|1<<11), "\t", uint32(7), int64(0))
	f.Fuzz(func(t *testing.T, shape uint32, comment string, old uint32, newValue int64) {
		if newValue < 0 {
			newValue = -(newValue + 1)
		}
		input := []byte(genDeployment(shape, comment, old))
		loc, err, ok := locate(input)
		if !ok {
			// Only a comment YAML forbids (control characters, invalid
			// UTF-8) may make the generated document unusable.
			if _, perr := parseDocuments(input); perr == nil || printableYAML(comment) {
				t.Fatalf("replicas not found (parse error %v, lookup error %v) in generated input %q", perr, err, input)
			}
			return
		}
		if quoted := shape>>3&3 == 1 || shape>>3&3 == 2; quoted {
			// A string where the API wants an integer is refused, never edited.
			if err == nil || !strings.Contains(err.Error(), "a string where the API wants an integer") {
				t.Fatalf("quoted replicas located for editing (err %v)\n%q", err, input)
			}
			return
		}
		if err != nil {
			t.Fatalf("replicas found but refused: %v\n%q", err, input)
		}
		if loc.Value != strconv.FormatUint(uint64(old), 10) {
			t.Fatalf("located value %q, want %d", loc.Value, old)
		}
		out, err := editBytes(input, []Edit{{Loc: loc, NewValue: newValue}})
		if err != nil {
			t.Fatalf("edit refused: %v\n%q", err, input)
		}
		digits := strconv.FormatInt(newValue, 10)
		if !bytes.Equal(out[:loc.Offset], input[:loc.Offset]) ||
			!bytes.Equal(out[loc.Offset+len(digits):], input[loc.Offset+loc.Length:]) ||
			string(out[loc.Offset:loc.Offset+len(digits)]) != digits {
			t.Fatalf("bytes outside the scalar changed:\n in: %q\nout: %q", input, out)
		}
		docs, err := parseDocuments(out)
		if err != nil {
			t.Fatalf("output does not parse: %v\n%q", err, out)
		}
		// Decode independently of the index: the object now says newValue.
		found := false
		for _, d := range docs {
			var obj struct {
				Metadata struct{ Name string }
				Spec     struct{ Replicas yaml.Node }
			}
			if err := d.Decode(&obj); err != nil || obj.Metadata.Name != "web" {
				continue
			}
			found = true
			if obj.Spec.Replicas.Value != digits {
				t.Fatalf("after the edit spec.replicas is %q, want %s\n%q", obj.Spec.Replicas.Value, digits, out)
			}
		}
		if !found {
			t.Fatalf("web is gone after the edit:\n%q", out)
		}
	})
}

// printableYAML reports whether YAML allows s in a comment.
func printableYAML(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r != '\t' && (r < 0x20 || r == 0x7F || (r >= 0x80 && r < 0xA0 && r != 0x85) || (r >= 0xD800 && r <= 0xDFFF) || r == 0xFFFE || r == 0xFFFF) {
			return false
		}
	}
	return true
}
