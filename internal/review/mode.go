package review

import "fmt"

// Mode says which latches go through a pull request.
type Mode string

const (
	// Never pushes every latch to the branch (latch's behaviour without a
	// forge).
	Never Mode = "never"
	// Always turns every latch into a pull request.
	Always Mode = "always"
	// Suspicious opens a pull request only for latches out of the ordinary
	// (see Thresholds) and pushes the rest directly.
	Suspicious Mode = "suspicious"
)

// Modes lists the modes in the order help text shows them.
var Modes = []Mode{Never, Always, Suspicious}

// ParseMode reads a mode from a flag or latch.yaml; "" is Never.
func ParseMode(s string) (Mode, error) {
	switch Mode(s) {
	case "":
		return Never, nil
	case Never, Always, Suspicious:
		return Mode(s), nil
	}
	return "", fmt.Errorf("review mode %q: want never, always or suspicious", s)
}

// NeedsReview says whether a latch with this assessment goes through a PR.
func (m Mode) NeedsReview(a Assessment) bool {
	switch m {
	case Always:
		return true
	case Suspicious:
		return a.Suspicious()
	}
	return false
}
