package gitrepo

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPrivateFolderInsideTheClone: latch's copy of the SSH key lives in its
// clone's .git, not in the system's temporary folder. A process killed
// outright (kill -9: no Close) leaves it there, and the next start on the
// same clone removes the leftovers before it writes its own.
func TestPrivateFolderInsideTheClone(t *testing.T) {
	remote, _ := seedRemote(t)
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp) // os.TempDir
	keys := t.TempDir()
	key, knownHosts := filepath.Join(keys, "identity"), filepath.Join(keys, "known_hosts")
	writeFile(t, key, "-----BEGIN OPENSSH PRIVATE KEY-----\nnot-a-real-key\n-----END OPENSSH PRIVATE KEY-----\n")
	writeFile(t, knownHosts, "git.example.com ssh-ed25519 AAAA\n")
	auth := remoteAuth(remote)
	auth.SSHKeyPath, auth.KnownHostsPath = key, knownHosts
	dir := filepath.Join(t.TempDir(), "latch")
	private := filepath.Join(dir, ".git", privateDirName)

	// The killed run: cloned, never closed.
	killed, err := Clone(testContext(t), remote.URL, remote.Branch, dir, auth)
	if err != nil {
		t.Fatal(err)
	}
	if killed.private != private {
		t.Errorf("private folder %s, want %s (inside the clone)", killed.private, private)
	}
	info, err := os.Stat(filepath.Join(private, "identity"))
	if err != nil {
		t.Fatalf("no key copy in the clone's private folder: %v", err)
	}
	if mode := info.Mode().Perm(); mode != 0o600 {
		t.Errorf("key copy mode %o, want 600", mode)
	}
	if got := readFile(t, filepath.Join(dir, "apps/web.yaml")); !strings.Contains(got, "replicas: 3") {
		t.Errorf("the clone's work tree is not at the remote head: %q", got)
	}
	writeFile(t, filepath.Join(private, "leftover"), "from the killed run\n")

	next, err := Clone(testContext(t), remote.URL, remote.Branch, dir, auth)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(private, "leftover")); !os.IsNotExist(err) {
		t.Errorf("the killed run's leftover survived the next start: %v", err)
	}
	if _, err := os.Stat(filepath.Join(private, "identity")); err != nil {
		t.Errorf("the next start has no key copy: %v", err)
	}
	if status := testGit(t, dir, "status", "--porcelain", "--ignored"); status != "" {
		t.Errorf("the private folder shows in the work tree:\n%s", status)
	}
	if err := next.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(private); !os.IsNotExist(err) {
		t.Errorf("Close left the private folder: %v", err)
	}
	entries, err := os.ReadDir(tmp)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		t.Errorf("created in the system's temporary folder: %s", e.Name())
	}
}

// TestCloneFailureLeavesNothing: a clone that fails (no such branch) leaves
// the folder as it found it, so the next start clones afresh.
func TestCloneFailureLeavesNothing(t *testing.T) {
	remote, _ := seedRemote(t)
	for _, existed := range []bool{false, true} {
		dir := filepath.Join(t.TempDir(), "latch")
		if existed {
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		_, err := Clone(testContext(t), remote.URL, "no-such-branch", dir, remoteAuth(remote))
		if err == nil || !strings.Contains(err.Error(), "no-such-branch") {
			t.Errorf("missing branch: %v", err)
		}
		entries, statErr := os.ReadDir(dir)
		switch {
		case !existed && !os.IsNotExist(statErr):
			t.Errorf("the folder a failed clone made is left: %v %v", entries, statErr)
		case existed && (statErr != nil || len(entries) != 0):
			t.Errorf("a failed clone left %v in the empty folder (%v)", entries, statErr)
		}
		if strings.Contains(err.Error(), remote.Password) {
			t.Errorf("error shows the password: %v", err)
		}
	}
}
