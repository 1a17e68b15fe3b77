package gitrepo

import (
	"encoding/base64"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/latch-gitops/latch/internal/testenv"
)

// TestSplitURLCredentials: the credentials leave every URL git accepts,
// including those Go's url.Parse rejects (issue 9 item 3), and an error
// never quotes them.
func TestSplitURLCredentials(t *testing.T) {
	cases := []struct {
		in, clean, user, pass, rawPass string
		err                            string // part of the error; "" for none
	}{
		{in: "https://bob:p%40ss@host/x.git", clean: "https://host/x.git", user: "bob", pass: "p@ss", rawPass: "p%40ss"},
		// url.Parse rejects these three; git takes them.
		{in: "https://bob:p%zzsecret@host:8443/x.git", clean: "https://host:8443/x.git", user: "bob", pass: "p%zzsecret", rawPass: "p%zzsecret"},
		{in: "http://bob:pa ss@127.0.0.1:9/git/x.git", clean: "http://127.0.0.1:9/git/x.git", user: "bob", pass: "pa ss", rawPass: "pa ss"},
		{in: "https://bob:se#cr?et@host/x.git", clean: "https://host/x.git", user: "bob", pass: "se#cr?et", rawPass: "se#cr?et"},
		{in: "HTTPS://bob:x@host", clean: "HTTPS://host", user: "bob", pass: "x", rawPass: "x"},
		{in: "https://token@host/x.git", clean: "https://host/x.git", user: "token"},
		{in: "https://b%6Fb:pw@host/x.git", clean: "https://host/x.git", user: "bob", pass: "pw", rawPass: "pw"},
		{in: "https://host/x.git", clean: "https://host/x.git"},
		{in: "https://host/org/x@v1.git", clean: "https://host/org/x@v1.git"},
		{in: "git@github.com:org/repo.git", clean: "git@github.com:org/repo.git"},
		{in: "ssh://git@host/x.git", clean: "ssh://git@host/x.git"},
		{in: "/srv/git/x.git", clean: "/srv/git/x.git"},
		{in: "ssh://bob:pw-secret@host/x.git", err: "a password in a ssh URL is not supported"},
		{in: "https://bob:pa/ss-secret@host/x.git", err: "cannot be told apart"},
		{in: "https://bob:pw-secret@/x.git", err: "no host"},
	}
	for _, tc := range cases {
		clean, cred, err := splitURLCredentials(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: err = %v, want one containing %q", tc.in, err, tc.err)
			} else if strings.Contains(err.Error(), "secret") || strings.Contains(err.Error(), "bob") {
				t.Errorf("%q: the error quotes the credentials: %v", tc.in, err)
			}
			continue
		}
		if err != nil || clean != tc.clean || cred.Username != tc.user || cred.Password != tc.pass || cred.RawPassword != tc.rawPass {
			t.Errorf("%q: got %q %+v %v, want %q user %q pass %q raw %q", tc.in, clean, cred, err, tc.clean, tc.user, tc.pass, tc.rawPass)
		}
	}
}

// FuzzSplitURLCredentials: whatever the input, a URL with user:password in
// front of a host never comes back holding the password, and an error never
// holds it either.
func FuzzSplitURLCredentials(f *testing.F) {
	for _, seed := range []string{"https://bob:p%zzsecret@host/x.git", "http://u:a b@h/", "https://u:#@h", "ssh://u:p@h/x", "git@h:x", "https://u:p/q@h/x"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		clean, _, err := splitURLCredentials(raw)
		i := strings.Index(raw, "://")
		if i <= 0 || strings.ContainsAny(raw[:i], "/@:") {
			if clean != raw || err != nil {
				t.Fatalf("%q: not a URL, yet changed to %q (%v)", raw, clean, err)
			}
			return
		}
		rest := raw[i+3:]
		authority := rest
		if slash := strings.IndexByte(rest, '/'); slash >= 0 {
			authority = rest[:slash]
		}
		at := strings.LastIndexByte(authority, '@')
		if at < 0 {
			return
		}
		userinfo := authority[:at]
		if len(userinfo) < 6 || strings.Contains(rest[at+1:], userinfo) || strings.Contains(raw[:i], userinfo) {
			return // too short to tell, or also spelled elsewhere in the URL
		}
		if err != nil {
			if strings.Contains(err.Error(), userinfo) {
				t.Fatalf("%q: the error holds the credentials: %v", raw, err)
			}
			return
		}
		if scheme := strings.ToLower(raw[:i]); (scheme == "http" || scheme == "https") && strings.Contains(clean, userinfo) {
			t.Fatalf("%q: clean URL %q holds the credentials", raw, clean)
		}
	})
}

// TestCloneURLPasswordGoCannotParse: a real HTTP remote whose password Go's
// url.Parse rejects in a URL. Before the split was done by hand, the raw
// URL went to git whole: into .git/config, the clone error and every log.
func TestCloneURLPasswordGoCannotParse(t *testing.T) {
	for i, pw := range []string{"p%zzsecret", "pa ss-secret", "se#cret-x"} {
		// Not named by the password: the test's temp folders carry its name.
		t.Run(fmt.Sprint("password", i), func(t *testing.T) {
			remote := testenv.NewGitRemote(t)
			human := remote.Human(t)
			human.WriteFile("README", "hi\n")
			human.Commit("seed")
			human.Push()
			remote.SetPassword(pw)
			u := strings.Replace(remote.URL, "://", "://"+remote.Username+":"+pw+"@", 1)
			if _, err := url.Parse(u); err == nil && pw == "p%zzsecret" {
				t.Fatalf("url.Parse accepts %q; the test no longer covers what Go rejects", u)
			}
			basic := base64.StdEncoding.EncodeToString([]byte(remote.Username + ":" + pw))
			forms := []string{pw, url.PathEscape(pw), url.QueryEscape(pw), basic}
			leaks := func(where, text string) {
				t.Helper()
				for _, f := range forms {
					if strings.Contains(text, f) {
						t.Errorf("%s holds the password (as %q):\n%s", where, f, text)
					}
				}
			}

			dir := filepath.Join(t.TempDir(), "clone")
			r, err := Clone(testContext(t), u, "main", dir, Auth{})
			if err != nil {
				leaks("clone error", err.Error())
				t.Fatalf("clone with the password in the URL: %v", err)
			}
			defer r.Close()
			leaks("RemoteURL", r.RemoteURL())
			cfg, err := os.ReadFile(filepath.Join(dir, ".git", "config"))
			if err != nil {
				t.Fatal(err)
			}
			leaks(".git/config", string(cfg))

			// A rotated password: the clone's next fetch fails; its error
			// must not show the old one in any form.
			remote.SetPassword("rotated-" + pw)
			_, err = r.Refresh(testContext(t))
			if err == nil {
				t.Fatal("fetch with a rotated-away password succeeded")
			}
			leaks("fetch error", err.Error())
			if KindOf(err) != KindAuth {
				t.Errorf("fetch error kind %v, want auth: %v", KindOf(err), err)
			}

			// A second clone with the wrong password fails without quoting it.
			_, err = Clone(testContext(t), u, "main", filepath.Join(t.TempDir(), "c2"), Auth{})
			if err == nil {
				t.Fatal("clone with a wrong password succeeded")
			}
			leaks("clone error", err.Error())
		})
	}
}
