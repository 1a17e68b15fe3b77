package testenv

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestGitRemoteRoundTrip pushes through the smart HTTP server with auth,
// clones back, and checks wrong credentials and force pushes are refused.
func TestGitRemoteRoundTrip(t *testing.T) {
	remote := NewGitRemote(t)

	alice := remote.Human(t)
	alice.WriteFile("apps/web.yaml", "replicas: 3\n")
	first := alice.Commit("add web")
	alice.Push()
	if got := remote.Head(t, "main"); got != first {
		t.Fatalf("remote main = %q, want %q", got, first)
	}

	bob := remote.Human(t)
	if got := bob.ReadFile("apps/web.yaml"); got != "replicas: 3\n" {
		t.Fatalf("clone read %q", got)
	}

	// Wrong password: refused, nothing cloned.
	bad := strings.Replace(remote.AuthURL(), remote.Password, "wrong", 1)
	cmd := exec.Command("git", "clone", "--quiet", bad, filepath.Join(t.TempDir(), "x"))
	cmd.Env = gitEnv()
	if out, err := cmd.CombinedOutput(); err == nil {
		t.Fatalf("clone with a wrong password succeeded: %s", out)
	} else if !strings.Contains(string(out), "401") && !strings.Contains(strings.ToLower(string(out)), "authentication") {
		t.Errorf("wrong password refused with an unexpected message: %s", out)
	}
	// No credentials at all: refused too.
	cmd = exec.Command("git", "ls-remote", remote.URL)
	cmd.Env = gitEnv()
	if out, err := cmd.CombinedOutput(); err == nil {
		t.Fatalf("ls-remote without credentials succeeded: %s", out)
	}

	// Bob pushes on top; Alice's stale push is refused, even forced.
	bob.WriteFile("apps/web.yaml", "replicas: 4\n")
	bob.Commit("scale web")
	bob.Push()
	alice.WriteFile("apps/api.yaml", "replicas: 1\n")
	alice.Commit("add api")
	if err := alice.TryPush(); err == nil {
		t.Fatal("a non-fast-forward push was accepted")
	}
	force := exec.Command("git", "push", "--force", "origin", "HEAD:refs/heads/main")
	force.Dir, force.Env = alice.Dir, gitEnv()
	if out, err := force.CombinedOutput(); err == nil {
		t.Fatalf("a force push was accepted: %s", out)
	}
	alice.Pull()
	alice.Push()
	log := remote.Log(t, "main", "%s|%an")
	want := []string{"add api|Human Operator", "scale web|Human Operator", "add web|Human Operator"}
	if strings.Join(log, "\n") != strings.Join(want, "\n") {
		t.Errorf("remote history:\n%s\nwant:\n%s", strings.Join(log, "\n"), strings.Join(want, "\n"))
	}
}

// TestGitRemoteUnavailable: while switched off, the remote refuses fetches
// and pushes with 503 and keeps its history; switched on, it serves again.
func TestGitRemoteUnavailable(t *testing.T) {
	remote := NewGitRemote(t)
	alice := remote.Human(t)
	alice.WriteFile("a.txt", "1\n")
	first := alice.Commit("one")
	alice.Push()

	remote.SetAvailable(false)
	alice.WriteFile("a.txt", "2\n")
	alice.Commit("two")
	err := alice.TryPush()
	if err == nil {
		t.Fatal("push to an unavailable remote succeeded")
	}
	if !strings.Contains(err.Error(), "503") {
		t.Errorf("unavailable remote refused with %v, want a 503", err)
	}
	if got := remote.Head(t, "main"); got != first {
		t.Errorf("remote moved to %s while unavailable, want %s", got, first)
	}
	if remote.Refused() == 0 {
		t.Error("Refused() = 0 after a refused push")
	}

	remote.SetAvailable(true)
	alice.Push()
	if got := remote.Log(t, "main", "%s"); strings.Join(got, ",") != "two,one" {
		t.Errorf("history after the remote came back: %v", got)
	}
}
