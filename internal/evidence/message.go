package evidence

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"text/template"
	"unicode/utf8"

	"github.com/latch-gitops/latch/internal/objectid"
)

// Change is one field latch changes in git, with the evidence for it.
type Change struct {
	// Object is the changed object. The trailers record its kind (optional),
	// namespace and name; reading them back leaves group and version empty.
	Object objectid.Ref `json:"object"`
	// Field is the field path, e.g. "spec.replicas".
	Field string `json:"field"`
	// File is the slash path of the edited file in the repository (optional).
	File string `json:"file,omitempty"`
	// From is the value git declared before; To the value latch declares.
	From int64 `json:"from"`
	To   int64 `json:"to"`
	// Observed is the live value latch rounded.
	Observed int64 `json:"observed"`
	// Rule names the latch rule that rounded it, e.g. "sigfig".
	Rule string `json:"rule,omitempty"`
	// Min and Max are the bounds the value was clamped to (Max 0: none);
	// BoundsFrom says who set them, "HPA" when empty.
	Min        int64  `json:"min,omitempty"`
	Max        int64  `json:"max,omitempty"`
	BoundsFrom string `json:"boundsFrom,omitempty"`
	// ChangedBy is the managedFields manager that set the live value, e.g.
	// "kube-controller-manager" for an HPA's scale.
	ChangedBy string `json:"changedBy,omitempty"`
	// Reason is the policy's human-readable evidence (optional).
	Reason string `json:"reason,omitempty"`
}

// FieldKey identifies one field of one object.
type FieldKey struct {
	Object objectid.Key
	Field  string
}

// Key identifies the field a change is about: object and field.
func (c Change) Key() FieldKey { return FieldKey{Object: c.Object.Key(), Field: c.Field} }

// Ref is "Kind namespace/name", or "namespace/name" without a kind.
func (c Change) Ref() string {
	if c.Object.Kind == "" {
		return c.Object.NamespacedName()
	}
	return c.Object.Kind + " " + c.Object.NamespacedName()
}

// Name is the object's name without its namespace.
func (c Change) Name() string { return c.Object.Name }

// ShortField is the last segment of the field path ("replicas").
func (c Change) ShortField() string { return c.Field[strings.LastIndex(c.Field, ".")+1:] }

// Bounds is "HPA 2..500", or "" when there are none.
func (c Change) Bounds() string { return FormatBounds(c.BoundsFrom, c.Min, c.Max) }

// FormatBounds is the one spelling of bounds in commits, trailers and PR
// bodies: "HPA 2..500" (from "" means HPA), "" without a maximum.
func FormatBounds(from string, min, max int64) string {
	if max <= 0 {
		return ""
	}
	if from == "" {
		from = "HPA"
	}
	return fmt.Sprintf("%s %d..%d", from, min, max)
}

// MessageData is what a commit message template executes on.
type MessageData struct {
	// Cluster names the cluster the values were observed on (may be empty).
	Cluster string
	// Changes are the window's changes, in the caller's order.
	Changes []Change
	// Subject is the default subject line, for templates that keep it.
	Subject string
}

// DefaultMessageTemplate is the body latch writes when no template is given.
// Templates see MessageData; Change's methods (Ref, Name, ShortField,
// Bounds) are available in them.
const DefaultMessageTemplate = `{{.Subject}}

{{if .Cluster}}Latched from cluster {{.Cluster}}:{{else}}Latched:{{end}}
{{- range .Changes}}
- {{.Ref}} {{.Field}}: {{.From}} → {{.To}}{{with .File}} in {{.}}{{end}}
  observed {{.Observed}}{{with .Bounds}}, {{.}}{{end}}{{with .Rule}}, rule {{.}}{{end}}{{with .ChangedBy}}, live value set by {{.}}{{end}}
{{- with .Reason}}
  {{.}}{{end}}
{{- end}}
`

// ParseMessageTemplate parses a commit message template (for latch.yaml or a
// flag). Execution errors (a missing field) are reported, not printed.
func ParseMessageTemplate(name, text string) (*template.Template, error) {
	t, err := template.New(name).Option("missingkey=error").Parse(text)
	if err != nil {
		return nil, fmt.Errorf("commit message template %s: %w", name, err)
	}
	return t, nil
}

// maxSubject is the subject length (in runes) the several-changes subject
// keeps to, so that `git log --oneline` and forges do not cut it.
const maxSubject = 72

// Subject is the default subject line for changes.
//
//	one:     latch: shop/web replicas 3 → 40 (observed 37; HPA 2..500)
//	several: latch: 5 workloads (web 3 → 40, api 10 → 20, …)
func Subject(changes []Change) string {
	switch len(changes) {
	case 0:
		return "latch: no changes"
	case 1:
		c := changes[0]
		evidence := fmt.Sprintf("observed %d", c.Observed)
		if b := c.Bounds(); b != "" {
			evidence += "; " + b
		}
		return fmt.Sprintf("latch: %s %s %d → %d (%s)", c.Object.NamespacedName(), c.ShortField(), c.From, c.To, evidence)
	}
	objects := map[objectid.Key]bool{}
	fields := map[string]bool{}
	for _, c := range changes {
		objects[c.Object.Key()] = true
		fields[c.ShortField()] = true
	}
	var head string
	switch {
	case len(objects) == len(changes):
		head = fmt.Sprintf("latch: %d workloads", len(changes))
	case len(objects) == 1:
		head = fmt.Sprintf("latch: %s %d fields", changes[0].Object.NamespacedName(), len(changes))
	default:
		head = fmt.Sprintf("latch: %d changes in %d workloads", len(changes), len(objects))
	}
	items := make([]string, len(changes))
	for i, c := range changes {
		var name string
		switch {
		case len(objects) == 1:
			name = c.ShortField()
		case len(fields) == 1:
			name = c.Name()
		default:
			name = c.Name() + " " + c.ShortField()
		}
		items[i] = fmt.Sprintf("%s %d → %d", name, c.From, c.To)
	}
	// As many items as fit, at least one, "…" for the rest.
	subject := head + " (" + items[0]
	for i := 1; i < len(items); i++ {
		tail := ")"
		if i < len(items)-1 {
			tail = ", …)"
		}
		if utf8.RuneCountInString(subject+", "+items[i]+tail) > maxSubject {
			return subject + ", …)"
		}
		subject += ", " + items[i]
	}
	return subject + ")"
}

// Trailer keys. Each change is one block starting with Latch-Object; the
// optional Latch-Cluster comes once, before the first block. Optional keys
// are left out when empty.
const (
	TrailerCluster   = "Latch-Cluster"
	TrailerObject    = "Latch-Object"
	TrailerKind      = "Latch-Kind"
	TrailerField     = "Latch-Field"
	TrailerFile      = "Latch-File"
	TrailerValue     = "Latch-Value" // "3 -> 40"
	TrailerObserved  = "Latch-Observed"
	TrailerBounds    = "Latch-Bounds" // "HPA 2..500"
	TrailerRule      = "Latch-Rule"
	TrailerChangedBy = "Latch-Changed-By"
)

// CommitMessage renders the commit message for one window's changes: the
// template (nil: DefaultMessageTemplate) for the subject and body, then a
// blank line and the Latch-* trailers, which the template cannot change so
// that ParseMessage and `git interpret-trailers --parse` always read them.
func CommitMessage(tmpl *template.Template, changes []Change, cluster string) (string, error) {
	if len(changes) == 0 {
		return "", errors.New("commit message: no changes")
	}
	clean := make([]Change, len(changes))
	for i, c := range changes {
		c.Object = oneLineObject(c.Object)
		c.Field, c.File = oneLine(c.Field), oneLine(c.File)
		c.Rule, c.BoundsFrom, c.ChangedBy, c.Reason = oneLine(c.Rule), oneLine(c.BoundsFrom), oneLine(c.ChangedBy), oneLine(c.Reason)
		if c.Object.NamespacedName() == "" || c.Field == "" {
			return "", fmt.Errorf("commit message: change %d (%s %s): object and field must be set", i+1, c.Ref(), c.Field)
		}
		clean[i] = c
	}
	cluster = oneLine(cluster)
	if tmpl == nil {
		var err error
		if tmpl, err = ParseMessageTemplate("default", DefaultMessageTemplate); err != nil {
			return "", err
		}
	}
	var body strings.Builder
	if err := tmpl.Execute(&body, MessageData{Cluster: cluster, Changes: clean, Subject: Subject(clean)}); err != nil {
		return "", fmt.Errorf("commit message template %s: %w", tmpl.Name(), err)
	}
	text := tidy(body.String())
	if text == "" {
		return "", fmt.Errorf("commit message template %s: rendered an empty message", tmpl.Name())
	}
	var b strings.Builder
	b.WriteString(text)
	b.WriteString("\n\n")
	if cluster != "" {
		fmt.Fprintf(&b, "%s: %s\n", TrailerCluster, cluster)
	}
	for _, c := range clean {
		fmt.Fprintf(&b, "%s: %s\n", TrailerObject, c.Object.NamespacedName())
		if c.Object.Kind != "" {
			fmt.Fprintf(&b, "%s: %s\n", TrailerKind, c.Object.Kind)
		}
		fmt.Fprintf(&b, "%s: %s\n", TrailerField, c.Field)
		if c.File != "" {
			fmt.Fprintf(&b, "%s: %s\n", TrailerFile, c.File)
		}
		fmt.Fprintf(&b, "%s: %d -> %d\n", TrailerValue, c.From, c.To)
		fmt.Fprintf(&b, "%s: %d\n", TrailerObserved, c.Observed)
		if c.Max > 0 {
			fmt.Fprintf(&b, "%s: %s\n", TrailerBounds, c.Bounds())
		}
		if c.Rule != "" {
			fmt.Fprintf(&b, "%s: %s\n", TrailerRule, c.Rule)
		}
		if c.ChangedBy != "" {
			fmt.Fprintf(&b, "%s: %s\n", TrailerChangedBy, c.ChangedBy)
		}
	}
	return b.String(), nil
}

// oneLineObject makes the parts of o the trailers hold safe for a trailer
// value, such that parsing the trailers back gives the same parts: the
// kind, and namespace/name as one value.
func oneLineObject(o objectid.Ref) objectid.Ref {
	o.Group, o.Version, o.Kind = oneLine(o.Group), oneLine(o.Version), oneLine(o.Kind)
	return o.WithNamespacedName(oneLine(o.NamespacedName()))
}

// oneLine makes s safe for a subject or a trailer value: every run of
// whitespace (line breaks included) becomes one space.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// tidy trims trailing spaces from every line, leading and trailing blank
// lines, and runs of blank lines, as `git commit --cleanup=whitespace` would.
func tidy(s string) string {
	lines := strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n")
	var out []string
	blank := false
	for _, l := range lines {
		l = strings.TrimRight(l, " \t\r")
		if l == "" {
			blank = len(out) > 0
			continue
		}
		if blank {
			out = append(out, "")
			blank = false
		}
		out = append(out, l)
	}
	return strings.Join(out, "\n")
}

// ParseMessage reads the Latch-* trailers back from a commit message written
// by CommitMessage: the cluster and the changes, without Reason (which lives
// in the body only) and with Min/Max/BoundsFrom from Latch-Bounds.
func ParseMessage(message string) (cluster string, changes []Change, err error) {
	message = strings.TrimRight(strings.ReplaceAll(message, "\r\n", "\n"), "\n")
	block := message
	if i := strings.LastIndex(message, "\n\n"); i >= 0 {
		block = message[i+2:]
	}
	for n, line := range strings.Split(block, "\n") {
		key, value, ok := strings.Cut(line, ": ")
		if !ok || !strings.HasPrefix(key, "Latch-") {
			continue
		}
		if key == TrailerCluster {
			cluster = value
			continue
		}
		if key == TrailerObject {
			changes = append(changes, Change{Object: objectid.Ref{}.WithNamespacedName(value)})
			continue
		}
		if len(changes) == 0 {
			return "", nil, fmt.Errorf("commit message trailer line %d: %s before %s", n+1, key, TrailerObject)
		}
		c := &changes[len(changes)-1]
		switch key {
		case TrailerKind:
			c.Object.Kind = value
		case TrailerField:
			c.Field = value
		case TrailerFile:
			c.File = value
		case TrailerValue:
			from, to, ok := strings.Cut(value, " -> ")
			if !ok {
				return "", nil, fmt.Errorf("commit message trailer line %d: %s %q: want FROM -> TO", n+1, key, value)
			}
			if c.From, err = strconv.ParseInt(from, 10, 64); err != nil {
				return "", nil, fmt.Errorf("commit message trailer line %d: %s: %w", n+1, key, err)
			}
			if c.To, err = strconv.ParseInt(to, 10, 64); err != nil {
				return "", nil, fmt.Errorf("commit message trailer line %d: %s: %w", n+1, key, err)
			}
		case TrailerObserved:
			if c.Observed, err = strconv.ParseInt(value, 10, 64); err != nil {
				return "", nil, fmt.Errorf("commit message trailer line %d: %s: %w", n+1, key, err)
			}
		case TrailerBounds:
			i := strings.LastIndex(value, " ")
			lo, hi, ok := strings.Cut(value[i+1:], "..")
			if i < 0 || !ok {
				return "", nil, fmt.Errorf("commit message trailer line %d: %s %q: want SOURCE MIN..MAX", n+1, key, value)
			}
			c.BoundsFrom = value[:i]
			if c.Min, err = strconv.ParseInt(lo, 10, 64); err != nil {
				return "", nil, fmt.Errorf("commit message trailer line %d: %s: %w", n+1, key, err)
			}
			if c.Max, err = strconv.ParseInt(hi, 10, 64); err != nil {
				return "", nil, fmt.Errorf("commit message trailer line %d: %s: %w", n+1, key, err)
			}
		case TrailerRule:
			c.Rule = value
		case TrailerChangedBy:
			c.ChangedBy = value
		}
	}
	if len(changes) == 0 {
		return "", nil, errors.New("commit message: no Latch-Object trailer")
	}
	return cluster, changes, nil
}
