package gitrepo

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const testPassword = "hunter2-Tok3n/with+chars"

// TestAuthNeverPrintsPassword prints an Auth every way a log line or an
// error might, alone and inside structs, and looks for the password.
func TestAuthNeverPrintsPassword(t *testing.T) {
	a := Auth{Username: "latch", Password: testPassword, SSHKeyPath: "/secrets/identity", KnownHostsPath: "/secrets/known_hosts"}
	type wrapper struct {
		Auth  Auth
		inner Auth
	}
	w := wrapper{Auth: a, inner: a}
	var outputs []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%10.3v"} {
		outputs = append(outputs, fmt.Sprintf(verb, a), fmt.Sprintf(verb, &a), fmt.Sprintf(verb, []Auth{a}), fmt.Sprintf(verb, map[string]Auth{"k": a}))
	}
	outputs = append(outputs, fmt.Sprintf("%+v", w.Auth), fmt.Sprint(a), fmt.Sprintln(a))
	data, err := json.Marshal(w)
	if err != nil {
		t.Fatal(err)
	}
	outputs = append(outputs, string(data))
	var logBuf bytes.Buffer
	slog.New(slog.NewJSONHandler(&logBuf, nil)).Info("auth", "auth", a)
	slog.New(slog.NewTextHandler(&logBuf, nil)).Info("auth", "auth", a)
	outputs = append(outputs, logBuf.String())
	for _, out := range outputs {
		if strings.Contains(out, testPassword) || strings.Contains(out, "hunter2") {
			t.Errorf("password printed: %s", out)
		}
	}
	if got := a.String(); got != "gitrepo.Auth{username=latch password=[REDACTED] ssh-key=/secrets/identity known-hosts=/secrets/known_hosts}" {
		t.Errorf("String() = %q", got)
	}
	if got := fmt.Sprintf("%#v", Auth{}); got != "gitrepo.Auth{none}" {
		t.Errorf("%%#v of empty = %q", got)
	}
}

// TestRepoNeverPrintsPassword: a Repo printed whole (%+v walks unexported
// fields without calling their methods) must not show the password either.
func TestRepoNeverPrintsPassword(t *testing.T) {
	r, err := newRepo("https://git.example.com/infra.git", Auth{Username: "latch", Password: testPassword}, "")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for _, verb := range []string{"%v", "%+v", "%#v"} {
		if out := fmt.Sprintf(verb, r); strings.Contains(out, "hunter2") {
			t.Errorf("%s of Repo shows the password: %s", verb, out)
		}
	}
}

func TestAuthFromEnv(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		want    Auth
		wantErr string
	}{
		{"none", nil, Auth{}, ""},
		{"basic", map[string]string{"USERNAME": "bob", "PASSWORD": "pw"}, Auth{Username: "bob", Password: "pw"}, ""},
		{"token defaults username", map[string]string{"TOKEN": "tok"}, Auth{Username: DefaultTokenUsername, Password: "tok"}, ""},
		{"token with username", map[string]string{"TOKEN": "tok", "USERNAME": "oauth2"}, Auth{Username: "oauth2", Password: "tok"}, ""},
		{"ssh", map[string]string{"SSH_KEY_FILE": "/k", "KNOWN_HOSTS_FILE": "/kh", "CA_FILE": "/ca"}, Auth{SSHKeyPath: "/k", KnownHostsPath: "/kh", CAFile: "/ca"}, ""},
		{"password and token", map[string]string{"PASSWORD": "pw", "TOKEN": "tok", "USERNAME": "u"}, Auth{}, "both"},
		{"ssh without known_hosts", map[string]string{"SSH_KEY_FILE": "/k"}, Auth{}, "known_hosts"},
		{"password without username", map[string]string{"PASSWORD": "pw"}, Auth{}, "needs a username"},
		{"newline in password", map[string]string{"USERNAME": "u", "PASSWORD": "a\nb"}, Auth{}, "line break"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, k := range []string{"USERNAME", "PASSWORD", "TOKEN", "SSH_KEY_FILE", "KNOWN_HOSTS_FILE", "CA_FILE"} {
				t.Setenv("TESTGIT_"+k, tt.env[k])
			}
			got, err := AuthFromEnv("TESTGIT_")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "pw") || strings.Contains(err.Error(), "tok") {
					t.Errorf("error shows a secret: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %#v, want %#v (passwords equal: %v)", got, tt.want, got.Password == tt.want.Password)
			}
		})
	}
}

func TestAuthFromFileAndSecretData(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "username"), "latch\n")
	writeFile(t, filepath.Join(dir, "token"), "tok-123\n")
	writeFile(t, filepath.Join(dir, "identity"), "-----BEGIN OPENSSH PRIVATE KEY-----\n")
	writeFile(t, filepath.Join(dir, "known_hosts"), "git.example.com ssh-ed25519 AAAA\n")
	got, err := AuthFromFile(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := Auth{Username: "latch", Password: "tok-123", SSHKeyPath: filepath.Join(dir, "identity"), KnownHostsPath: filepath.Join(dir, "known_hosts")}
	if got != want {
		t.Errorf("AuthFromFile = %#v, want %#v", got, want)
	}

	writeFile(t, filepath.Join(dir, "password"), "pw\n")
	if _, err := AuthFromFile(dir); err == nil || !strings.Contains(err.Error(), "both") {
		t.Errorf("password and token: err = %v", err)
	}
	if _, err := AuthFromFile(filepath.Join(dir, "missing")); err == nil {
		t.Error("missing folder accepted")
	}
	if _, err := AuthFromFile(filepath.Join(dir, "username")); err == nil {
		t.Error("a file accepted as the folder")
	}

	keyDir := t.TempDir()
	got, err = AuthFromSecretData(map[string][]byte{
		"username": []byte("latch"), "password": []byte("pw\n"),
		"identity": []byte("KEY"), "known_hosts": []byte("HOSTS"),
	}, keyDir)
	if err != nil {
		t.Fatal(err)
	}
	want = Auth{Username: "latch", Password: "pw", SSHKeyPath: filepath.Join(keyDir, "identity"), KnownHostsPath: filepath.Join(keyDir, "known_hosts")}
	if got != want {
		t.Errorf("AuthFromSecretData = %#v, want %#v", got, want)
	}
	info, err := os.Stat(got.SSHKeyPath)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", info.Mode().Perm())
	}
	if _, err := AuthFromSecretData(map[string][]byte{"identity": []byte("KEY")}, keyDir); err == nil {
		t.Error("identity without known_hosts accepted")
	}
}

// TestSSHCommand checks the SSH settings as a unit: no SSH server runs on
// these machines (no sshd), so the SSH transport cannot be tested end to end
// here. The command must use only the given key and known_hosts, check the
// host key strictly, ignore ~/.ssh/config and never prompt.
func TestSSHCommand(t *testing.T) {
	got := sshCommand("/tmp/latch git/identity", "/etc/latch/known_hosts")
	want := `ssh -F /dev/null -o BatchMode=yes -o IdentitiesOnly=yes -o IdentityAgent=none -i '/tmp/latch git/identity' ` +
		`-o UserKnownHostsFile='/etc/latch/known_hosts' -o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes -o UpdateHostKeys=no`
	if got != want {
		t.Errorf("sshCommand:\n got %s\nwant %s", got, want)
	}
	if q := shellQuote("it's"); q != `'it'\''s'` {
		t.Errorf("shellQuote = %s", q)
	}

	// A Repo with an SSH key gets GIT_SSH_COMMAND pointing at a 0600 copy.
	keyDir := t.TempDir()
	writeFile(t, filepath.Join(keyDir, "identity"), "KEY")
	writeFile(t, filepath.Join(keyDir, "known_hosts"), "HOSTS")
	r, err := newRepo("ssh://git@git.example.com/infra.git", Auth{SSHKeyPath: filepath.Join(keyDir, "identity"), KnownHostsPath: filepath.Join(keyDir, "known_hosts")}, "")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var sshEnv string
	for _, kv := range r.git.env {
		if strings.HasPrefix(kv, "GIT_SSH_COMMAND=") {
			sshEnv = strings.TrimPrefix(kv, "GIT_SSH_COMMAND=")
		}
	}
	keyCopy := filepath.Join(r.private, "identity")
	if sshEnv != sshCommand(keyCopy, filepath.Join(keyDir, "known_hosts")) {
		t.Errorf("GIT_SSH_COMMAND = %q", sshEnv)
	}
	info, err := os.Stat(keyCopy)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("key copy: %v %v", info, err)
	}
	// Running ssh for real against a port nothing listens on shows the
	// options are accepted by this ssh (a typo would fail differently).
	if _, err := r.git.run(testContext(t), "", nil, "ls-remote", "ssh://git@127.0.0.1:1/infra.git"); err == nil {
		t.Error("ls-remote to a closed port succeeded")
	} else if strings.Contains(err.Error(), "Bad configuration option") || strings.Contains(err.Error(), "command-line") {
		t.Errorf("ssh rejected latch's options: %v", err)
	}
}

func TestIsSSHURLAndScope(t *testing.T) {
	for url, want := range map[string]bool{
		"ssh://git@host/x.git": true, "git@github.com:org/repo.git": true, "host:repo": true,
		"https://host/x.git": false, "/srv/git/x.git": false, "./x:y": false, "file:///x": false,
	} {
		if got := isSSHURL(url); got != want {
			t.Errorf("isSSHURL(%q) = %v", url, got)
		}
	}
	if got := credentialScope("https://git.example.com:8443/org/x.git"); got != "https://git.example.com:8443" {
		t.Errorf("scope = %q", got)
	}
	if got := credentialScope("git@host:x"); got != "" {
		t.Errorf("scope of ssh = %q", got)
	}
}
