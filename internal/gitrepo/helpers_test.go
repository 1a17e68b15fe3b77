package gitrepo

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/latch-gitops/latch/internal/testenv"
)

// needTool skips a test when a program is missing, loudly, and fails it
// under CI, where .ci/run installs openssh-client and gnupg.
func needTool(t testing.TB, names ...string) {
	t.Helper()
	for _, name := range names {
		if _, err := exec.LookPath(name); err != nil {
			msg := name + " not found in PATH (Debian: openssh-client for ssh-keygen, gnupg for gpg)"
			if os.Getenv("CI") != "" {
				t.Fatalf("CI is set, so this real test may not be skipped: %s", msg)
			}
			t.Skipf("SKIPPING REAL TEST: %s", msg)
		}
	}
}

// testGit runs git for assertions, isolated like the package's own runner.
func testGit(t testing.TB, dir string, args ...string) string {
	t.Helper()
	out, err := testGitErr(dir, nil, args...)
	if err != nil {
		t.Fatalf("git %s (in %s): %v", strings.Join(args, " "), dir, err)
	}
	return out
}

func testGitErr(dir string, extraEnv []string, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(append(baseEnv(), extraEnv...), "GIT_CONFIG_COUNT=0")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", &testGitError{err: err, stderr: stderr.String()}
	}
	return strings.TrimSpace(string(out)), nil
}

type testGitError struct {
	err    error
	stderr string
}

func (e *testGitError) Error() string { return e.err.Error() + ": " + strings.TrimSpace(e.stderr) }

// testContext ends when the test binary's deadline nears (go test -timeout),
// never after a fixed budget: 100 rounds of real git under -race on a loaded
// machine take what they take.
func testContext(t testing.TB) context.Context {
	return testenv.Context(t)
}

func writeFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readFile(t testing.TB, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
