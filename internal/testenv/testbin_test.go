package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestTestbinSecondRunBuildsNothing runs hack/testbin.sh against the real,
// complete cache, several times: every run must find every binary at its
// pinned version and build nothing (a flaky version check, as etcd's under
// `| head` and pipefail was one run in three, rebuilds a good binary). `go`
// on the script's PATH is a stand-in that fails at once, so a run that
// would build fails fast, naming the binary, instead of rebuilding it.
func TestTestbinSecondRunBuildsNothing(t *testing.T) {
	dir := requireBinaries(t, "etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok", "gitea", "prometheus", "promtool", "kubectl")
	if _, err := os.Stat(filepath.Join(dir, "gitea.root")); err != nil {
		requireBinaries(t, "gitea.root") // skips (or fails under CI) naming it
	}
	script, err := filepath.Abs(filepath.Join("..", "..", "hack", "testbin.sh"))
	if err != nil {
		t.Fatal(err)
	}
	fakeBin := t.TempDir()
	fakeGo := "#!/bin/sh\necho \"go $*: testbin.sh tried to build\" >&2\nexit 1\n"
	if err := os.WriteFile(filepath.Join(fakeBin, "go"), []byte(fakeGo), 0o755); err != nil {
		t.Fatal(err)
	}
	const runs = 5
	for i := 1; i <= runs; i++ {
		cmd := exec.CommandContext(Context(t), script)
		cmd.Env = append(os.Environ(), "LATCH_TESTBIN="+dir, "TESTBIN_ONLY=", "PATH="+fakeBin+string(os.PathListSeparator)+os.Getenv("PATH"))
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("run %d of hack/testbin.sh on the complete cache %s failed: %v\n%s", i, dir, err, out)
		}
		for _, line := range strings.Split(string(out), "\n") {
			if strings.Contains(line, "building") {
				t.Errorf("run %d built something: %s", i, line)
			}
		}
		if !strings.Contains(string(out), "all test binaries ready in "+dir) {
			t.Errorf("run %d did not say the binaries are ready:\n%s", i, out)
		}
	}
}
