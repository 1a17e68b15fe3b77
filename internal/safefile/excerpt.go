package safefile

import (
	"strconv"
	"unicode/utf8"
)

// ExcerptRunes is how much of a value from a file an error may quote.
const ExcerptRunes = 40

// Excerpt quotes a value read from a repository file for an error message
// that already says where it is (file:line:column): Go-quoted, and cut to
// ExcerptRunes runes with the full length noted, so an error can show what
// is wrong without replaying the file into a log.
func Excerpt(s string) string {
	if utf8.RuneCountInString(s) <= ExcerptRunes {
		return strconv.Quote(s)
	}
	cut, n := 0, 0
	for i := range s {
		if n == ExcerptRunes {
			cut = i
			break
		}
		n++
	}
	return strconv.Quote(s[:cut]) + "… (" + strconv.Itoa(len(s)) + " bytes)"
}
