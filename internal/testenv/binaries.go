package testenv

import (
	"os"
	"path/filepath"
)

// KubeVersion keys the cache folder; hack/testbin.sh uses the same key.
const KubeVersion = "v1.37.2"

// TestBinDir is the folder holding the test binaries: $LATCH_TESTBIN, else
// ${XDG_CACHE_HOME:-$HOME/.cache}/latch/testbin/<KubeVersion>.
func TestBinDir() string {
	if dir := os.Getenv("LATCH_TESTBIN"); dir != "" {
		return dir
	}
	cache := os.Getenv("XDG_CACHE_HOME")
	if cache == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			home = os.TempDir()
		}
		cache = filepath.Join(home, ".cache")
	}
	return filepath.Join(cache, "latch", "testbin", KubeVersion)
}

// requireBinaries returns the test binary folder once every named binary is
// there. Otherwise it skips the test with a loud reason — or fails it under
// CI, where every real test must run.
func requireBinaries(t T, names ...string) string {
	t.Helper()
	dir := TestBinDir()
	var missing []string
	for _, name := range names {
		info, err := os.Stat(filepath.Join(dir, name))
		if err != nil || info.IsDir() || info.Mode()&0o111 == 0 {
			missing = append(missing, name)
		}
	}
	if len(missing) == 0 {
		return dir
	}
	msg := "test binaries missing from " + dir + ": " + joinComma(missing) +
		" — run `hack/testbin.sh` (or `make testbin`; a cold build takes 30-45 min) or set LATCH_TESTBIN"
	if os.Getenv("CI") != "" {
		t.Fatalf("CI is set, so this real test may not be skipped: %s", msg)
	}
	t.Skipf("SKIPPING REAL TEST: %s", msg)
	return ""
}

func joinComma(items []string) string {
	out := ""
	for i, s := range items {
		if i > 0 {
			out += ", "
		}
		out += s
	}
	return out
}
