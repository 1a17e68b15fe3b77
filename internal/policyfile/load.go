package policyfile

import (
	"errors"
	"fmt"
	"io/fs"

	"github.com/latch-gitops/latch/internal/safefile"
)

// MaxFileBytes caps latch.yaml: a policy is a page or two; latch re-reads
// it every pass, so a huge one would cost memory and time each time.
const MaxFileBytes = safefile.DefaultMaxBytes

// Load reads the policy at name (normally DefaultFile, a slash path) from
// the repository checkout at dir, through the guard every repository file
// goes through: a name, or a symlink on its way, that leads outside the
// checkout, a file that is not a regular file, or one over MaxFileBytes is
// refused without reading it. A missing file means the built-in policy, and
// Source says so; a file that exists but cannot be read or parsed is an
// error, never a silent fallback to the defaults.
func Load(dir, name string) (*Policy, error) {
	data, err := safefile.ReadFile(dir, name, MaxFileBytes)
	var refused *safefile.Error
	if errors.As(err, &refused) {
		// Only the file missing means the built-in policy; a checkout
		// that cannot be opened is an error.
		if errors.Is(err, fs.ErrNotExist) {
			pol := Default()
			pol.Source = "built-in policy (no " + name + " in the repository)"
			return pol, nil
		}
		return nil, fmt.Errorf("reading policy file %w", err) // it starts with the name
	}
	if err != nil {
		return nil, fmt.Errorf("reading policy file %s: %w", name, err)
	}
	return Parse(name, data)
}
