package gitrepo

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestSignSSH signs latch's commit with a fresh ed25519 key and verifies it
// with git verify-commit against an allowed-signers file.
func TestSignSSH(t *testing.T) {
	needTool(t, "ssh-keygen")
	keyDir := t.TempDir()
	key := filepath.Join(keyDir, "latch_ed25519")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "latch@example.com", "-f", key).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v: %s", err, out)
	}
	// A Secret mounted 0644: latch must cope (ssh-keygen refuses such a key).
	if err := os.Chmod(key, 0o644); err != nil {
		t.Fatal(err)
	}
	pub := strings.TrimSpace(readFile(t, key+".pub"))
	allowed := filepath.Join(keyDir, "allowed_signers")
	writeFile(t, allowed, "latch@example.com namespaces=\"git\" "+pub+"\n")

	remote, _ := seedRemote(t)
	r := cloneRemote(t, remote, remoteAuth(remote))
	if err := r.UseSigner(testContext(t), Signer{Format: SignSSH, KeyPath: key}); err != nil {
		t.Fatal(err)
	}
	res, err := r.CommitAndPush(testContext(t), fastOptions(), edits(nil, setReplicas("apps/web.yaml", "shop/web", 40)))
	if err != nil || !res.Pushed {
		t.Fatalf("%+v %v", res, err)
	}
	out, err := testGitErr(remote.BareDir, nil, "-c", "gpg.ssh.allowedSignersFile="+allowed, "verify-commit", res.Commit)
	if err != nil {
		t.Fatalf("git verify-commit: %v %s", err, out)
	}
	// A different key is not accepted: the check can fail.
	other := filepath.Join(keyDir, "other")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", other).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v: %s", err, out)
	}
	wrong := filepath.Join(keyDir, "wrong_signers")
	writeFile(t, wrong, "latch@example.com namespaces=\"git\" "+readFile(t, other+".pub"))
	if _, err := testGitErr(remote.BareDir, nil, "-c", "gpg.ssh.allowedSignersFile="+wrong, "verify-commit", res.Commit); err == nil {
		t.Error("verify-commit accepted a signature against the wrong allowed signer")
	}
	if sig := testGit(t, remote.BareDir, "cat-file", "commit", res.Commit); !strings.Contains(sig, "-----BEGIN SSH SIGNATURE-----") {
		t.Errorf("commit has no SSH signature:\n%s", sig)
	}
}

// TestSignOpenPGP signs with a key generated in a throwaway GNUPGHOME and
// exported armored (as it would sit in a Secret), and verifies with git
// verify-commit against that keyring.
func TestSignOpenPGP(t *testing.T) {
	needTool(t, "gpg", "gpgconf")
	// Short path: gpg-agent's socket lives in GNUPGHOME when /run/user is absent.
	home, err := os.MkdirTemp("", "latch-gpg-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(home, 0o700); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		kill := exec.Command("gpgconf", "--homedir", home, "--kill", "all")
		kill.Env = append(baseEnv(), "GNUPGHOME="+home)
		if out, err := kill.CombinedOutput(); err != nil {
			t.Errorf("stopping the test's gpg-agent: %v %s", err, out)
		}
		os.RemoveAll(home)
	})
	gpgTest := func(args ...string) string {
		t.Helper()
		out, err := gpg(testContext(t), home, nil, append([]string{"--passphrase", ""}, args...)...)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	gpgTest("--pinentry-mode", "loopback", "--quick-gen-key", "latch <latch@example.com>", "ed25519", "sign", "never")
	armored := gpgTest("--pinentry-mode", "loopback", "--armor", "--export-secret-keys", "latch@example.com")
	keyFile := filepath.Join(t.TempDir(), "signing.asc")
	writeFile(t, keyFile, armored)

	remote, _ := seedRemote(t)
	r := cloneRemote(t, remote, remoteAuth(remote))
	if err := r.UseSigner(testContext(t), Signer{Format: SignOpenPGP, KeyPath: keyFile}); err != nil {
		t.Fatal(err)
	}
	res, err := r.CommitAndPush(testContext(t), fastOptions(), edits(nil, setReplicas("apps/web.yaml", "shop/web", 40)))
	if err != nil || !res.Pushed {
		t.Fatalf("%+v %v", res, err)
	}
	out, err := testGitErr(remote.BareDir, []string{"GNUPGHOME=" + home}, "verify-commit", "--raw", res.Commit)
	if err != nil {
		t.Fatalf("git verify-commit: %v %s", err, out)
	}
	// Against an empty keyring the signature is not verified: the check can fail.
	empty, err := os.MkdirTemp("", "latch-gpg-empty-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(empty, 0o700)
	t.Cleanup(func() {
		kill := exec.Command("gpgconf", "--homedir", empty, "--kill", "all")
		kill.Env = append(baseEnv(), "GNUPGHOME="+empty)
		_ = kill.Run()
		os.RemoveAll(empty)
	})
	if _, err := testGitErr(remote.BareDir, []string{"GNUPGHOME=" + empty}, "verify-commit", res.Commit); err == nil {
		t.Error("verify-commit accepted the signature without the public key")
	}
	// latch's own GNUPGHOME (and its agent) go away with Close.
	gnupg := r.signer.gnupgHome
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(gnupg); !os.IsNotExist(err) {
		t.Errorf("latch's GNUPGHOME %s still there: %v", gnupg, err)
	}
	if out, _ := exec.Command("pgrep", "-f", "gpg-agent --homedir "+gnupg).Output(); len(out) > 0 {
		t.Errorf("latch's gpg-agent still running: %s", out)
	}
}

func TestSignerErrors(t *testing.T) {
	remote, _ := seedRemote(t)
	r := cloneRemote(t, remote, remoteAuth(remote))
	ctx := testContext(t)
	if err := r.UseSigner(ctx, Signer{Format: "x509", KeyPath: "/dev/null"}); err == nil {
		t.Error("unknown format accepted")
	}
	if err := r.UseSigner(ctx, Signer{Format: SignSSH, KeyPath: filepath.Join(t.TempDir(), "missing")}); err == nil {
		t.Error("missing key accepted")
	}
	if _, err := exec.LookPath("gpg"); err == nil {
		notAKey := filepath.Join(t.TempDir(), "key.asc")
		writeFile(t, notAKey, "not a key\n")
		if err := r.UseSigner(ctx, Signer{Format: SignOpenPGP, KeyPath: notAKey}); err == nil {
			t.Error("a file without a key accepted")
		}
	}
}
