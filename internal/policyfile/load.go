package policyfile

import (
	"errors"
	"fmt"
	"io/fs"
)

// Load reads the policy at name (normally DefaultFile) from a repository
// checkout. A missing file means the built-in policy, and Source says so; a
// file that exists but cannot be read or parsed is an error, never a
// silent fallback to the defaults.
func Load(fsys fs.FS, name string) (*Policy, error) {
	data, err := fs.ReadFile(fsys, name)
	if errors.Is(err, fs.ErrNotExist) {
		pol := Default()
		pol.Source = "built-in policy (no " + name + " in the repository)"
		return pol, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading policy file %s: %w", name, err)
	}
	return Parse(name, data)
}
