package diff

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/pmezard/go-difflib/difflib"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"
	"sigs.k8s.io/structured-merge-diff/v6/typed"
	"sigs.k8s.io/yaml"
)

// unified renders the reported fields of one object as a unified diff of
// git's values against live ones, like kubectl diff but only over the
// fields the manifest sets and that differ.
func unified(name string, declTV, liveTV *typed.TypedValue, paths []fieldpath.Path) string {
	set := fieldpath.NewSet(paths...)
	decl := declTV.ExtractItems(set, typed.WithAppendKeyFields()).AsValue().Unstructured()
	live := liveTV.ExtractItems(set, typed.WithAppendKeyFields()).AsValue().Unstructured()
	return unifiedText(name, decl, live)
}

func unifiedText(name string, decl, live any) string {
	a, b := toYAML(decl), toYAML(live)
	out, err := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
		A: difflib.SplitLines(a), B: difflib.SplitLines(b),
		FromFile: "git/" + name, ToFile: "live/" + name, Context: 3,
	})
	if err != nil {
		return ""
	}
	return out
}

func toYAML(v any) string {
	if v == nil {
		return ""
	}
	if m, ok := v.(map[string]any); ok && len(m) == 0 {
		return ""
	}
	b, err := yaml.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%v\n", v)
	}
	return string(b)
}

// WriteJSON writes the report as one JSON document.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// TextOptions tune WriteText.
type TextOptions struct {
	// Color marks removed lines red and added ones green (a terminal).
	Color bool
}

const (
	red   = "\x1b[31m"
	green = "\x1b[32m"
	bold  = "\x1b[1m"
	reset = "\x1b[0m"
)

// WriteText writes what is not in sync: a unified diff per object (git on
// the minus side, live on the plus side, as kubectl diff puts live first
// and the change second), each differing field with its mode, verdict,
// where git declares it and who changed it; then the objects that could
// not be compared; then a summary line.
func (r *Report) WriteText(w io.Writer, opts TextOptions) error {
	var b strings.Builder
	for _, o := range r.Objects {
		switch o.Status {
		case StatusInSync, StatusError:
			continue
		}
		fmt.Fprintf(&b, "%s %s", o.Ref, o.Status)
		if o.Source.File != "" {
			fmt.Fprintf(&b, " (%s)", o.Source)
		}
		b.WriteString("\n")
		if o.Note != "" {
			fmt.Fprintf(&b, "  %s\n", o.Note)
		}
		for _, line := range difflib.SplitLines(o.Unified) {
			if line == "\n" || line == "" {
				continue
			}
			switch {
			case opts.Color && strings.HasPrefix(line, "---"), opts.Color && strings.HasPrefix(line, "+++"):
				line = bold + strings.TrimSuffix(line, "\n") + reset + "\n"
			case opts.Color && strings.HasPrefix(line, "-"):
				line = red + strings.TrimSuffix(line, "\n") + reset + "\n"
			case opts.Color && strings.HasPrefix(line, "+"):
				line = green + strings.TrimSuffix(line, "\n") + reset + "\n"
			}
			b.WriteString(line)
		}
		for _, f := range o.Fields {
			if f.Status == FieldLatched {
				continue
			}
			fmt.Fprintf(&b, "  %s: %s (%s", f.Path, f.Status, f.Mode)
			if f.Rule != "" {
				fmt.Fprintf(&b, ", rule %s", f.Rule)
			}
			b.WriteString(")\n")
			fmt.Fprintf(&b, "    git %s at %s; live %s", short(f.Declared), f.Source, short(f.Live))
			if f.ChangedBy != nil {
				fmt.Fprintf(&b, ", changed by %s", f.ChangedBy)
			}
			b.WriteString("\n")
			if f.Note != "" {
				fmt.Fprintf(&b, "    %s\n", f.Note)
			}
		}
		b.WriteString("\n")
	}
	for _, o := range r.Objects {
		if o.Status == StatusError {
			fmt.Fprintf(&b, "%s not compared: %s\n", o.Ref, o.Error)
		}
	}
	for _, p := range r.Problems {
		fmt.Fprintf(&b, "%s\n", p)
	}
	s := r.Summary
	fmt.Fprintf(&b, "%d declared, %d compared: %d in sync, %d drifted, %d missing, %d pending",
		s.Declared, s.Compared, s.InSync, s.Drifted, s.Missing, s.Pending)
	if s.Unmanaged > 0 {
		fmt.Fprintf(&b, ", %d unmanaged", s.Unmanaged)
	}
	if s.Errors > 0 {
		fmt.Fprintf(&b, ", %d not compared", s.Errors)
	}
	if s.Problems > 0 {
		fmt.Fprintf(&b, ", %d files not read", s.Problems)
	}
	if s.IgnoredFields > 0 {
		fmt.Fprintf(&b, " (%d differing fields not compared: no rule in the policy names them)", s.IgnoredFields)
	}
	b.WriteString("\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// short renders a value on one line for the field notes.
func short(v any) string {
	if v == nil {
		return "(absent)"
	}
	if s, ok := v.(string); ok {
		return s
	}
	return JSONLine(v)
}

// JSONLine renders v as JSON on one line, cut to 120 characters (with
// "..."), for notes and messages about a field's value.
func JSONLine(v any) string {
	bs, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	if len(bs) > 120 {
		return string(bs[:117]) + "..."
	}
	return string(bs)
}
