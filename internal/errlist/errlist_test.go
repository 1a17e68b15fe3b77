package errlist

import (
	"errors"
	"testing"
)

type problem struct{ msg string }

func (p *problem) Error() string { return p.msg }

func TestList(t *testing.T) {
	for _, tc := range []struct {
		name string
		list List[*problem]
		want string
	}{
		{"empty", nil, ""},
		{"one", List[*problem]{{"a: bad"}}, "a: bad"},
		{"two", List[*problem]{{"a: bad"}, {"b: worse"}}, "a: bad\nb: worse"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.list.Error(); got != tc.want {
				t.Errorf("Error() = %q, want %q", got, tc.want)
			}
			var err error = tc.list
			var first *problem
			if found := errors.As(err, &first); found != (len(tc.list) > 0) || (found && first != tc.list[0]) {
				t.Errorf("errors.As found %v (%v), want the first element", found, first)
			}
			for _, p := range tc.list {
				if !errors.Is(err, p) {
					t.Errorf("errors.Is(list, %q) = false", p.msg)
				}
			}
		})
	}
}
