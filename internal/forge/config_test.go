package forge

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseRemoteAndInfer(t *testing.T) {
	cases := []struct {
		remote, host, path, web string
		kind                    Kind
	}{
		{"https://github.com/acme/infra.git", "github.com", "acme/infra", "https://github.com/", GitHub},
		{"git@github.com:acme/infra.git", "github.com", "acme/infra", "https://github.com/", GitHub},
		{"ssh://git@gitlab.example.com:2222/platform/infra/live.git", "gitlab.example.com", "platform/infra/live", "https://gitlab.example.com/", GitLab},
		{"https://user:secret@gitea.example.com/o/r", "gitea.example.com", "o/r", "https://gitea.example.com/", Gitea},
		{"http://127.0.0.1:3000/o/r.git", "127.0.0.1:3000", "o/r", "http://127.0.0.1:3000/", ""},
	}
	for _, tc := range cases {
		r, err := ParseRemote(tc.remote)
		if err != nil || r.Host != tc.host || r.Path != tc.path || r.Web != tc.web {
			t.Errorf("ParseRemote(%q) = %+v, %v", tc.remote, r, err)
		}
		if strings.Contains(r.Web, "secret") {
			t.Errorf("credentials kept: %+v", r)
		}
		k, err := Infer(r.Host)
		if k != tc.kind || (tc.kind == "") != (err != nil) {
			t.Errorf("Infer(%q) = %q, %v", r.Host, k, err)
		}
	}
	for _, bad := range []string{"/srv/git/repo", "https://github.com/", "file:///x/y"} {
		if _, err := ParseRemote(bad); err == nil {
			t.Errorf("ParseRemote(%q): no error", bad)
		}
	}
	if _, err := ParseKind("bitbucket"); err == nil {
		t.Fatal("ParseKind accepts bitbucket")
	}
	if _, err := New(Config{RemoteURL: "http://127.0.0.1:3000/o/r.git", Token: "x"}); !errors.Is(err, ErrUnknownForge) || strings.Contains(err.Error(), "--") {
		t.Fatalf("New without a kind for an unknown host: %v", err)
	}
	if _, err := New(Config{Kind: Gitea, RemoteURL: "http://127.0.0.1:3000/o/r.git"}); err == nil || !strings.Contains(err.Error(), TokenEnv) {
		t.Fatalf("New without a token: %v", err)
	}
}

func TestLoadToken(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(TokenEnv, "")
	if _, err := LoadToken(dir); err == nil {
		t.Fatal("no token, no error")
	}
	if err := os.WriteFile(filepath.Join(dir, TokenFile), []byte("s3cret-value\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if tok, err := LoadToken(dir); err != nil || tok != "s3cret-value" {
		t.Fatalf("LoadToken = %q, %v", tok, err)
	}
	t.Setenv(TokenEnv, "from-env")
	if tok, _ := LoadToken(dir); tok != "from-env" {
		t.Fatalf("env must win: %q", tok)
	}
	t.Setenv(TokenEnv, "")
	if err := os.WriteFile(filepath.Join(dir, TokenFile), []byte("two\nlines-secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadToken(dir); err == nil || strings.Contains(err.Error(), "secret") {
		t.Fatalf("two-line token: %v", err)
	}
}

func TestConfigErrorsAreTypedAndWithoutSecrets(t *testing.T) {
	cases := []struct {
		cfg  Config
		want error
	}{
		{Config{RemoteURL: "https://user:s3cret@example.com/o", Token: "x"}, ErrBadRemote},
		{Config{RemoteURL: "/srv/git/repo", Token: "x"}, ErrBadRemote},
		{Config{RemoteURL: "https://example.com/o/r.git", Token: "x"}, ErrUnknownForge},
		{Config{Kind: "bitbucket", RemoteURL: "https://example.com/o/r.git", Token: "x"}, ErrBadKind},
		{Config{Kind: Gitea, URL: "ftp://example.com/", RemoteURL: "https://example.com/o/r.git", Token: "x"}, ErrBadURL},
		{Config{Kind: Gitea, RemoteURL: "https://example.com/o/r.git"}, ErrNoToken},
	}
	for _, tc := range cases {
		_, err := New(tc.cfg)
		if !errors.Is(err, tc.want) {
			t.Errorf("New(%+v) = %v, want %v", tc.cfg, err, tc.want)
			continue
		}
		if strings.Contains(err.Error(), "s3cret") || strings.Contains(err.Error(), "--") {
			t.Errorf("error names a secret or a flag: %v", err)
		}
	}
}

func TestFileURL(t *testing.T) {
	const branch = "latch/prod/shop/deployment.apps/web"
	for _, tc := range []struct {
		kind        Kind
		remote, url string
		file, want  string
	}{
		{Gitea, "http://127.0.0.1:3000/latch/fleet.git", "http://127.0.0.1:3000/", "apps/web.yaml",
			"http://127.0.0.1:3000/latch/fleet/src/branch/latch/prod/shop/deployment.apps/web/apps/web.yaml"},
		{GitHub, "git@github.com:acme/fleet.git", "", "apps/web app.yaml",
			"https://github.com/acme/fleet/blob/latch/prod/shop/deployment.apps/web/apps/web%20app.yaml"},
		{GitHub, "https://github.com/acme/fleet.git", "https://api.github.com", "apps/web.yaml",
			"https://github.com/acme/fleet/blob/latch/prod/shop/deployment.apps/web/apps/web.yaml"},
		{GitHub, "https://ghe.example.com/acme/fleet.git", "https://ghe.example.com/", "/apps/web.yaml",
			"https://ghe.example.com/acme/fleet/blob/latch/prod/shop/deployment.apps/web/apps/web.yaml"},
		{GitLab, "https://gitlab.example.com/group/sub/fleet.git", "", "apps/web.yaml",
			"https://gitlab.example.com/group/sub/fleet/-/blob/latch/prod/shop/deployment.apps/web/apps/web.yaml"},
		{Gitea, "http://127.0.0.1:3000/latch/fleet.git", "http://127.0.0.1:3000/", "", ""},
	} {
		c, err := New(Config{Kind: tc.kind, RemoteURL: tc.remote, URL: tc.url, Token: "t"})
		if err != nil {
			t.Fatalf("%s %s: %v", tc.kind, tc.remote, err)
		}
		if got := c.FileURL(branch, tc.file); got != tc.want {
			t.Errorf("%s %s FileURL(%q) = %q, want %q", tc.kind, tc.remote, tc.file, got, tc.want)
		}
	}
	if got := NewClient(nil, "", Options{}).FileURL(branch, "apps/web.yaml"); got != "" {
		t.Errorf("a client not built by New links to %q", got)
	}
}
