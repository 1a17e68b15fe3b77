// Package errlist is a list of errors of one type that reads as one error,
// one line each, and unwraps to each element for errors.Is and errors.As:
// the form of "every problem found at once" reports (latch.yaml's, a
// policy's parameters').
package errlist

import "strings"

// List is every problem found, in the order found.
type List[E error] []E

// Error is each element's message, one a line.
func (l List[E]) Error() string {
	msgs := make([]string, len(l))
	for i, e := range l {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "\n")
}

// Unwrap exposes each element to errors.Is and errors.As.
func (l List[E]) Unwrap() []error {
	errs := make([]error, len(l))
	for i, e := range l {
		errs[i] = e
	}
	return errs
}
