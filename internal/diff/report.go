package diff

import (
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"

	"github.com/latch-gitops/latch/internal/manifest"
	"github.com/latch-gitops/latch/internal/policy"

	"github.com/latch-gitops/latch/internal/objectid"
)

// ObjectStatus is the verdict on one object.
type ObjectStatus string

const (
	StatusInSync ObjectStatus = "in sync"
	// StatusDrift: a compared field drifted (immutable, or converge past
	// its grace).
	StatusDrift ObjectStatus = "drift"
	// StatusMissing: declared but not in the cluster.
	StatusMissing ObjectStatus = "missing"
	// StatusUnmanaged: live, of a listed kind, in a declared namespace, but
	// not declared (only with Input.IncludeUnmanaged).
	StatusUnmanaged ObjectStatus = "unmanaged"
	// StatusPending: in sync except for latch commits due or converge fields
	// within their grace.
	StatusPending ObjectStatus = "pending"
	// StatusError: not compared; Error says why.
	StatusError ObjectStatus = "error"
)

// FieldStatus is the verdict on one differing field.
type FieldStatus string

const (
	FieldDrift        FieldStatus = "drift"
	FieldLatchPending FieldStatus = "latch pending"
	FieldLatched      FieldStatus = "latched" // differs, but latches to the declared value: in sync
	FieldConverging   FieldStatus = "converging"
)

// Report is the outcome of Compare.
type Report struct {
	Objects []ObjectResult `json:"objects"`
	// Problems are files of the repository that could not be read or
	// rendered; the objects they declare are not in Objects.
	Problems []manifest.Problem `json:"problems,omitempty"`
	Summary  Summary            `json:"summary"`
}

// Summary counts the objects by outcome.
type Summary struct {
	Declared  int `json:"declared"`
	Compared  int `json:"compared"`
	InSync    int `json:"inSync"`
	Drifted   int `json:"drifted"`
	Missing   int `json:"missing"`
	Pending   int `json:"pending"`
	Unmanaged int `json:"unmanaged"`
	Errors    int `json:"errors"`
	// Problems counts unreadable files of the repository.
	Problems int `json:"problems"`
	// IgnoredFields counts differing fields no rule compares (mode ignore).
	IgnoredFields int `json:"ignoredFields"`
}

// ObjectResult is the verdict on one object.
type ObjectResult struct {
	Ref        objectid.Ref      `json:"ref"`
	Status     ObjectStatus      `json:"status"`
	Source     manifest.Position `json:"source,omitzero"`
	RenderedBy string            `json:"renderedBy,omitempty"`
	Fields     []FieldResult     `json:"fields,omitempty"`
	Error      string            `json:"error,omitempty"`
	Note       string            `json:"note,omitempty"`
	// Unified is git's values against live ones as a unified diff, over
	// the reported fields only (the whole object when it is missing).
	Unified string `json:"unified,omitempty"`
	// Compared is true when the live object was compared field by field.
	Compared bool `json:"-"`
	// Ignored counts differing fields whose mode is ignore.
	Ignored int `json:"ignoredFields,omitempty"`
}

// FieldResult is one declared field whose live value differs.
type FieldResult struct {
	// Path is the structured-merge-diff path, list items by merge key:
	// .spec.template.spec.containers[name="web"].image
	Path string `json:"path"`
	// Policy is the dotted path latch.yaml governs it by.
	Policy string      `json:"policyPath"`
	Mode   policy.Mode `json:"mode"`
	Rule   string      `json:"rule,omitempty"`
	Status FieldStatus `json:"status"`
	// Declared and Live are the values; Live is absent when the field is
	// not set live.
	Declared  any               `json:"declared"`
	Live      any               `json:"live"`
	Source    manifest.Position `json:"source"`
	ChangedBy *Owner            `json:"changedBy,omitempty"`
	Note      string            `json:"note,omitempty"`

	path fieldpath.Path
}

// FieldPath is Path as a structured-merge-diff path (empty after a JSON
// round trip): what a revert body is built from.
func (f FieldResult) FieldPath() fieldpath.Path { return f.path }

// worst is the object status its fields add up to.
func (r *ObjectResult) worst() ObjectStatus {
	st := StatusInSync
	for _, f := range r.Fields {
		switch f.Status {
		case FieldDrift:
			return StatusDrift
		case FieldLatchPending, FieldConverging:
			st = StatusPending
		}
	}
	return st
}

func (r *Report) tally() {
	s := Summary{}
	for _, o := range r.Objects {
		if o.Status != StatusUnmanaged {
			s.Declared++
		}
		if o.Compared {
			s.Compared++
		}
		s.IgnoredFields += o.Ignored
		switch o.Status {
		case StatusInSync:
			s.InSync++
		case StatusDrift:
			s.Drifted++
		case StatusMissing:
			s.Missing++
			s.Compared++ // looking it up was the comparison
		case StatusPending:
			s.Pending++
		case StatusUnmanaged:
			s.Unmanaged++
		case StatusError:
			s.Errors++
		}
	}
	s.Problems = len(r.Problems)
	r.Summary = s
}

// ExitCode follows diff(1): 0 when in sync (latch pending and converging
// count as in sync), 1 when something drifted, is missing or unmanaged
// (when asked for), 2 when nothing could be compared at all (every object
// failed, or the repository could not be read).
func (r *Report) ExitCode() int {
	s := r.Summary
	switch {
	case s.Drifted+s.Missing+s.Unmanaged > 0:
		return 1
	case s.Compared == 0 && s.Errors+s.Problems > 0:
		return 2
	}
	return 0
}

// Drifted returns the objects that drifted or are missing (or unmanaged).
func (r *Report) Drifted() []ObjectResult {
	var out []ObjectResult
	for _, o := range r.Objects {
		switch o.Status {
		case StatusDrift, StatusMissing, StatusUnmanaged:
			out = append(out, o)
		}
	}
	return out
}
