package safefile

import (
	"strings"
	"testing"
)

func TestExcerpt(t *testing.T) {
	long := strings.Repeat("ab", 30)
	tests := []struct{ in, want string }{
		{"", `""`},
		{"web", `"web"`},
		{"tab\there", `"tab\there"`},
		{strings.Repeat("x", ExcerptRunes), `"` + strings.Repeat("x", ExcerptRunes) + `"`},
		{long, `"` + long[:ExcerptRunes] + `"… (60 bytes)`},
		{strings.Repeat("ä", 50), `"` + strings.Repeat("ä", ExcerptRunes) + `"… (100 bytes)`},
	}
	for _, tc := range tests {
		if got := Excerpt(tc.in); got != tc.want {
			t.Errorf("Excerpt(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}
