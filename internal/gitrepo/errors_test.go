package gitrepo

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		op, output string
		want       Kind
	}{
		{"push", "fatal: Authentication failed for 'http://127.0.0.1:1/git/repo.git/'", KindAuth},
		{"fetch", "fatal: could not read Username for 'https://h': terminal prompts disabled", KindAuth},
		{"fetch", "git@host: Permission denied (publickey).", KindAuth},
		{"fetch", "Host key verification failed.\nfatal: Could not read from remote repository.", KindAuth},
		{"push", "error: The requested URL returned error: 403", KindAuth},
		{"push", "To http://h/x.git\n!\tHEAD:refs/heads/main\t[rejected] (fetch first)\nDone", KindConflict},
		{"push", "!\tHEAD:refs/heads/main\t[rejected] (non-fast-forward)", KindConflict},
		{"push", "!\tHEAD:refs/heads/main\t[remote rejected] (failed to update ref)", KindConflict},
		{"push", "error: cannot lock ref 'refs/heads/main': is at abc but expected def", KindConflict},
		{"push", "!\tHEAD:refs/heads/main\t[remote rejected] (pre-receive hook declined)", KindOther},
		{"fetch", "fatal: unable to access 'http://h/': Failed to connect to h port 80: Connection refused", KindNetwork},
		{"fetch", "fatal: unable to access 'https://x/': Could not resolve host: x", KindNetwork},
		{"push", "error: RPC failed; HTTP 502 curl 22 The requested URL returned error: 502", KindNetwork},
		{"fetch", "fatal: the remote end hung up unexpectedly", KindNetwork},
		{"fetch", "fatal: couldn't find remote ref refs/heads/nope", KindOther},
		// A fetch is never a conflict, even if the text says rejected.
		{"fetch", "! [rejected] main -> origin/main (non-fast-forward)", KindOther},
	}
	for _, tt := range tests {
		if got := classify(tt.op, tt.output); got != tt.want {
			t.Errorf("classify(%s, %q) = %v, want %v", tt.op, tt.output, got, tt.want)
		}
	}
}

func TestErrorIsAndKind(t *testing.T) {
	err := fmt.Errorf("push to x: %w", &Error{Op: "push", Kind: KindAuth, Detail: "denied"})
	if !errors.Is(err, ErrAuth) || errors.Is(err, ErrConflict) || errors.Is(err, ErrNetwork) {
		t.Errorf("Is: auth %v conflict %v network %v", errors.Is(err, ErrAuth), errors.Is(err, ErrConflict), errors.Is(err, ErrNetwork))
	}
	if KindOf(err) != KindAuth || KindOf(errors.New("x")) != KindOther {
		t.Error("KindOf")
	}
	if got := err.Error(); got != "push to x: git push (auth): denied" {
		t.Errorf("Error() = %q", got)
	}
}

// TestRedact feeds the redactor text holding the password in every form git,
// curl or a trace could show it.
func TestRedact(t *testing.T) {
	pw := "p@ss w/rd+1"
	r := newRedactor(Auth{Username: "bob", Password: pw}, Auth{Username: "carol", Password: "from-url-secret"})
	basic := base64.StdEncoding.EncodeToString([]byte("bob:" + pw))
	in := strings.Join([]string{
		"plain " + pw,
		"query " + url.QueryEscape(pw),
		"path " + url.PathEscape(pw),
		"userinfo https://bob:" + url.UserPassword("bob", pw).String()[4:] + "@h/x.git",
		"header Authorization: Basic " + basic,
		"extra from-url-secret",
		"unknown https://alice:other-secret@h/y.git and http://carol@h/ok",
	}, "\n")
	out := r.redact(in)
	for _, secret := range []string{pw, url.QueryEscape(pw), url.PathEscape(pw), basic, "from-url-secret", "other-secret"} {
		if strings.Contains(out, secret) {
			t.Errorf("redacted text still holds %q:\n%s", secret, out)
		}
	}
	if !strings.Contains(out, "https://alice:[REDACTED]@h/y.git") || !strings.Contains(out, "http://carol@h/ok") {
		t.Errorf("URL userinfo handling:\n%s", out)
	}
	if strings.Count(out, redacted) < 7 {
		t.Errorf("expected every secret replaced:\n%s", out)
	}
}

func TestCheckNoForce(t *testing.T) {
	r := &Repo{remote: "origin", branch: "main"}
	if err := checkNoForce(r.pushArgs()); err != nil {
		t.Fatalf("latch's own push args refused: %v", err)
	}
	for _, bad := range [][]string{
		{"push", "--force", "origin", "HEAD:refs/heads/main"},
		{"push", "-f", "origin", "HEAD:refs/heads/main"},
		{"push", "--force-with-lease", "origin", "HEAD:refs/heads/main"},
		{"push", "origin", "+HEAD:refs/heads/main"},
		{"push", "origin", ":refs/heads/main"},
		{"push", "--delete", "origin", "main"},
		{"push", "--mirror", "origin"},
	} {
		if err := checkNoForce(bad); err == nil {
			t.Errorf("checkNoForce accepted %v", bad)
		}
	}
}
