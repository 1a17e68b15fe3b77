package policy

import (
	"fmt"

	"github.com/latch-gitops/latch/internal/errlist"
)

// FieldError is one parameter out of range. Field is the parameter's path in
// latch.yaml's spelling ("hysteresis", "rule.series"), so a caller that knows
// where each parameter came from (internal/policyfile: a file position) can
// place the problem without parsing the message; Msg says what is wrong and
// does not repeat the field.
type FieldError struct {
	Field string
	Msg   string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

// FieldErrors is every problem Params.Validate found, in field order. It
// unwraps to its elements, so errors.As(err, &fe) with fe a *FieldError finds
// the first.
type FieldErrors = errlist.List[*FieldError]

// fieldErrorf is a FieldError for field with a formatted message.
func fieldErrorf(field, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)}
}
