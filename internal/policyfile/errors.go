package policyfile

import (
	"fmt"
	"strings"

	"github.com/latch-gitops/latch/internal/errlist"
)

// Error is one problem in a policy file.
type Error struct {
	File string
	// Line and Column are 1-based; 0 when unknown (YAML syntax errors carry
	// a line but no column).
	Line, Column int
	// Field is the path of the offending field, such as
	// spec.rules[1].fields["spec.replicas"].hysteresis; empty when the
	// problem is with the file as a whole.
	Field string
	Msg   string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
		if e.Column > 0 {
			fmt.Fprintf(&b, ":%d", e.Column)
		}
	}
	b.WriteString(": ")
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// ErrorList is every problem found in one file, in file order. Parse
// reports them all at once so one `latch policy check` run shows every fix
// to make. errors.As(err, &*Error) finds the first.
type ErrorList = errlist.List[*Error]
