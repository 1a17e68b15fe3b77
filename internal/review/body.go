package review

import (
	"fmt"
	"strings"
	"text/template"
	"time"

	"github.com/latch-gitops/latch/internal/evidence"
)

// Evidence is what a PR title and body template executes on.
type Evidence struct {
	Cluster string
	Object  Object
	Field   string
	// File is the declaring file's slash path; FileURL links to it on the
	// PR branch ("" when the forge gave no web URL).
	File, FileURL string
	// From is git's declared value, To latch's proposal, Observed the live
	// value.
	From, To, Observed int64
	// Min, Max and BoundsFrom are the bounds (Max 0: none).
	Min, Max   int64
	BoundsFrom string
	// ChangedBy is the managedFields manager that set the live value.
	ChangedBy string
	Rule      string
	// Reason is the policy's own evidence sentence.
	Reason string
	// Series is the observed series since the last latch.
	Series Series
	HPA    *HPAMetrics
	// Suspicious lists why the latch needs a person (empty in mode always
	// for an ordinary latch).
	Suspicious []Reason
	Mode       Mode
	// OnTop is set when latch added its commit on top of a person's.
	OnTop bool
}

// Series is the observed value sampled since the last latch.
type Series struct {
	// Values are the samples in time order, possibly downsampled (each
	// value then the largest of the samples it stands for).
	Values []int64
	// Span is how long the samples cover.
	Span time.Duration
	// Low and High, when Ranged, are the exact smallest and largest of
	// every sample, which downsampled Values may no longer hold.
	Low, High int64
	Ranged    bool
}

// Min, Max and Last summarise the series (0 when empty).
func (s Series) Min() int64 {
	if s.Ranged && len(s.Values) > 0 {
		return s.Low
	}
	return s.fold(func(a, b int64) int64 { return min(a, b) })
}

func (s Series) Max() int64 {
	if s.Ranged && len(s.Values) > 0 {
		return s.High
	}
	return s.fold(func(a, b int64) int64 { return max(a, b) })
}

func (s Series) Last() int64 {
	if len(s.Values) == 0 {
		return 0
	}
	return s.Values[len(s.Values)-1]
}

func (s Series) fold(f func(a, b int64) int64) int64 {
	if len(s.Values) == 0 {
		return 0
	}
	acc := s.Values[0]
	for _, v := range s.Values[1:] {
		acc = f(acc, v)
	}
	return acc
}

// Sparkline draws the series in at most width block characters (width ≤ 0:
// 40); each character is the largest sample of its share of the series, so
// a short spike still shows.
func (s Series) Sparkline(width int) string {
	if width <= 0 {
		width = 40
	}
	vals := s.Values
	if len(vals) == 0 {
		return ""
	}
	if len(vals) > width {
		buckets := make([]int64, width)
		for i := range buckets {
			lo, hi := i*len(vals)/width, (i+1)*len(vals)/width
			m := vals[lo]
			for _, v := range vals[lo:hi] {
				m = max(m, v)
			}
			buckets[i] = m
		}
		vals = buckets
	}
	const blocks = "▁▂▃▄▅▆▇█"
	runes := []rune(blocks)
	lo, hi := Series{Values: vals}.Min(), Series{Values: vals}.Max()
	var b strings.Builder
	for _, v := range vals {
		i := 0
		if hi > lo {
			i = int((v - lo) * int64(len(runes)-1) / (hi - lo))
		}
		b.WriteRune(runes[i])
	}
	return b.String()
}

// Duration is the series' span, rounded for people ("2h30m", "45s").
func (s Series) Duration() string {
	d := s.Span
	switch {
	case d <= 0:
		return ""
	case d >= time.Hour:
		d = d.Round(time.Minute)
	default:
		d = d.Round(time.Second)
	}
	out := d.String()
	if strings.HasSuffix(out, "m0s") {
		out = strings.TrimSuffix(out, "0s")
	}
	if strings.HasSuffix(out, "h0m") {
		out = strings.TrimSuffix(out, "0m")
	}
	return out
}

// Bounds is "HPA 2..500", or "" without a maximum.
func (e Evidence) Bounds() string { return evidence.FormatBounds(e.BoundsFrom, e.Min, e.Max) }

// Ref is "Kind namespace/name".
func (e Evidence) Ref() string { return ref(e.Object) }

// ShortField is the field's last segment ("replicas").
func (e Evidence) ShortField() string { return e.Field[strings.LastIndex(e.Field, ".")+1:] }

// DefaultTitle and DefaultBody are the templates used unless latch.yaml
// gives others. Titles are one line; latch folds any line break.
const DefaultTitle = `latch: {{.Ref}} {{.ShortField}} {{.From}} → {{.To}}{{with .Suspicious}} ({{(index . 0).Rule}}){{end}}`

const DefaultBody = `latch proposes **{{.Ref}}** {{.Field}}: **{{.From}} → {{.To}}**{{with .Cluster}} (cluster {{.}}){{end}}.
{{with .Suspicious}}
**Why this needs a person:**
{{range .}}- {{.Text}}
{{end}}{{end}}
| | |
| --- | --- |
| declared in git | {{.From}} |
| proposed | {{.To}} |
| observed now | {{.Observed}}{{with .ChangedBy}} (set by {{.}}){{end}} |
{{- with .Series.Values}}
| observed since the last latch | min {{$.Series.Min}} / max {{$.Series.Max}} / last {{$.Series.Last}}{{with $.Series.Duration}} over {{.}}{{end}} |
| series | ` + "`{{$.Series.Sparkline 40}}`" + ` |
{{- end}}
{{- with .Bounds}}
| bounds | {{.}} |
{{- end}}
{{- with .HPA}}{{range .Metrics}}
| HPA metric {{.Name}} | {{.Current}} (target {{.Target}}) |
{{- end}}{{end}}
{{- with .Rule}}
| rule | {{.}} |
{{- end}}
{{- with .File}}
| file | {{if $.FileURL}}[{{.}}]({{$.FileURL}}){{else}}{{.}}{{end}} |
{{- end}}
{{with .Reason}}
{{.}}
{{end}}
{{- if .OnTop}}
Someone pushed to this branch; latch added its commit on top instead of rebuilding the branch.
{{end}}
Merge to latch this value; close without merging to reject it (latch will not propose this band again until the value leaves it). latch updates this PR while it is open and closes it if the value comes back.
`

// Templates renders titles and bodies.
type Templates struct {
	Title, Body *template.Template
}

// ParseTemplates parses title and body templates ("" keeps the default).
func ParseTemplates(title, body string) (Templates, error) {
	if title == "" {
		title = DefaultTitle
	}
	if body == "" {
		body = DefaultBody
	}
	t, err := template.New("title").Option("missingkey=error").Parse(title)
	if err != nil {
		return Templates{}, fmt.Errorf("review title template: %w", err)
	}
	b, err := template.New("body").Option("missingkey=error").Parse(body)
	if err != nil {
		return Templates{}, fmt.Errorf("review body template: %w", err)
	}
	return Templates{Title: t, Body: b}, nil
}

// maxTitle keeps titles within every forge's limit (GitHub 256, GitLab 255).
const maxTitle = 200

// Render returns the title and the body with m as its marker. The marker is
// added here, after the template, so no template can drop or break it.
func (t Templates) Render(e Evidence, m Marker) (title, body string, err error) {
	if t.Title == nil || t.Body == nil {
		if t, err = ParseTemplates("", ""); err != nil {
			return "", "", err
		}
	}
	var tb, bb strings.Builder
	if err := t.Title.Execute(&tb, e); err != nil {
		return "", "", fmt.Errorf("review title template: %w", err)
	}
	if err := t.Body.Execute(&bb, e); err != nil {
		return "", "", fmt.Errorf("review body template: %w", err)
	}
	title = strings.Join(strings.Fields(tb.String()), " ")
	if r := []rune(title); len(r) > maxTitle {
		title = string(r[:maxTitle-1]) + "…"
	}
	if title == "" {
		return "", "", fmt.Errorf("review title template: rendered an empty title")
	}
	// A marker-looking text in the template's output must not win over the
	// real one: WithMarker replaces from the last opening.
	text := strings.ReplaceAll(strings.TrimSpace(bb.String()), markerOpen, "<!-- latch-review(quoted) ")
	return title, WithMarker(text, m), nil
}
