package forge

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/latch-gitops/latch/internal/httpcount"
)

// TokenEnv is the environment variable holding the forge token.
const TokenEnv = "LATCH_FORGE_TOKEN"

// TokenFile is the token's file name in the credentials folder (a mounted
// Kubernetes Secret, key forge-token).
const TokenFile = "forge-token"

// maxTokenFile bounds what LoadToken reads from the credentials folder.
const maxTokenFile = 16 << 10

// LoadToken reads the forge token: from LATCH_FORGE_TOKEN when set, else
// from credentialsDir/forge-token. The token never appears in an error.
func LoadToken(credentialsDir string) (string, error) {
	if t := strings.TrimSpace(os.Getenv(TokenEnv)); t != "" {
		return t, nil
	}
	if credentialsDir == "" {
		return "", fmt.Errorf("%w: set %s or put %s in the credentials folder", ErrNoToken, TokenEnv, TokenFile)
	}
	path := filepath.Join(credentialsDir, TokenFile)
	info, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("%w: set %s or put %s in the credentials folder: %w", ErrNoToken, TokenEnv, TokenFile, errors.Unwrap(err))
	}
	if !info.Mode().IsRegular() && info.Mode()&os.ModeSymlink == 0 {
		// Kubernetes mounts Secret keys as symlinks to regular files.
		return "", fmt.Errorf("forge token %s: not a regular file", path)
	}
	if info.Size() > maxTokenFile {
		return "", fmt.Errorf("forge token %s: %d bytes, more than %d", path, info.Size(), maxTokenFile)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("forge token %s: %w", path, errors.Unwrap(err))
	}
	t := strings.TrimSpace(string(data))
	if t == "" || strings.ContainsAny(t, "\r\n") {
		return "", fmt.Errorf("forge token %s: want one line of text", path)
	}
	return t, nil
}

// Config says which forge to talk to.
type Config struct {
	// Kind is the forge ("" : inferred from RemoteURL's host).
	Kind Kind
	// URL is the forge's root for self-hosted ones (GitHub Enterprise:
	// https://ghe.example.com/, GitLab: https://gitlab.example.com/, Gitea:
	// its root URL). "" : derived from RemoteURL (github.com → api.github.com).
	URL string
	// RemoteURL is the git remote (https, ssh or scp-like); the repository
	// path (owner/repo, GitLab group/subgroup/project) is read from it.
	RemoteURL string
	Token     string
	// HTTPClient carries requests (nil: http.DefaultTransport); New wraps
	// its transport to count calls.
	HTTPClient *http.Client
	Options    Options
}

// Repo is where a forge's PRs live: its web root and repository path.
type Repo struct {
	Host string // "github.com"
	// Path is "owner/repo" (GitLab: "group/sub/project"), without ".git".
	Path string
	// Web is the https root derived from the remote ("https://host/").
	Web string
}

// ParseRemote reads host and repository path from a git remote URL:
// https://host/owner/repo.git, ssh://git@host:22/owner/repo.git or
// git@host:owner/repo.git. Credentials in it are dropped.
func ParseRemote(remote string) (Repo, error) {
	s := strings.TrimSpace(remote)
	var host, path, scheme string
	switch {
	case strings.Contains(s, "://"):
		u, err := url.Parse(s)
		if err != nil {
			return Repo{}, fmt.Errorf("remote URL: %w: %w", ErrBadRemote, errors.Unwrap(err))
		}
		host, path, scheme = u.Host, u.Path, u.Scheme
		if scheme == "ssh" || scheme == "git" {
			host, scheme = u.Hostname(), "https"
		}
	case strings.Contains(s, ":") && !strings.HasPrefix(s, "/"):
		at := strings.LastIndex(s[:strings.Index(s, ":")], "@")
		hostPart, p, _ := strings.Cut(s[at+1:], ":")
		host, path, scheme = hostPart, p, "https"
	default:
		return Repo{}, fmt.Errorf("remote URL %q: %w", s, ErrBadRemote)
	}
	path = strings.TrimSuffix(strings.Trim(path, "/"), ".git")
	if host == "" || !strings.Contains(path, "/") {
		return Repo{}, fmt.Errorf("remote URL %q: %w", withoutUserinfo(s), ErrBadRemote)
	}
	return Repo{Host: host, Path: path, Web: scheme + "://" + host + "/"}, nil
}

// Typed causes of configuration errors, for the caller to name its own
// setting (the CLI maps them to flags; this package names none).
var (
	// ErrUnknownForge: the kind is not given and the host does not tell.
	ErrUnknownForge = errors.New("cannot tell which forge this is; name it: gitea, github or gitlab")
	// ErrBadKind: a kind that is not gitea, github or gitlab.
	ErrBadKind = errors.New("want gitea, github or gitlab")
	// ErrBadURL: the forge URL is not an http(s) root.
	ErrBadURL = errors.New("want http(s)://host/")
	// ErrBadRemote: the git remote names no forge repository.
	ErrBadRemote = errors.New("not the https or ssh URL of a forge repository (HOST/OWNER/REPO)")
	// ErrNoToken: no forge token was found.
	ErrNoToken = errors.New("no forge token")
)

// withoutUserinfo drops credentials from a URL for an error message.
func withoutUserinfo(s string) string {
	if u, err := url.Parse(s); err == nil && u.User != nil {
		u.User = nil
		return u.String()
	}
	return s
}

// Infer guesses the forge from a host name: github.com and hosts with
// "github" in them are GitHub, "gitlab" GitLab, "gitea", "forgejo" and
// codeberg.org Gitea. Anything else is ErrUnknownForge.
func Infer(host string) (Kind, error) {
	h := strings.ToLower(host)
	switch {
	case strings.Contains(h, "github"):
		return GitHub, nil
	case strings.Contains(h, "gitlab"):
		return GitLab, nil
	case strings.Contains(h, "gitea"), strings.Contains(h, "forgejo"), strings.Contains(h, "codeberg"):
		return Gitea, nil
	}
	return "", fmt.Errorf("%s: %w", host, ErrUnknownForge)
}

// ParseKind reads a --forge value ("" is inferred later).
func ParseKind(s string) (Kind, error) {
	switch Kind(s) {
	case "", Gitea, GitHub, GitLab:
		return Kind(s), nil
	}
	return "", fmt.Errorf("forge %q: %w", s, ErrBadKind)
}

// New builds the Client for cfg.
func New(cfg Config) (*Client, error) {
	repo, err := ParseRemote(cfg.RemoteURL)
	if err != nil {
		return nil, err
	}
	kind := cfg.Kind
	if kind == "" {
		if kind, err = Infer(repo.Host); err != nil {
			return nil, err
		}
	}
	if cfg.Token == "" {
		return nil, fmt.Errorf("forge %s: %w (set %s)", kind, ErrNoToken, TokenEnv)
	}
	base := cfg.URL
	if base == "" {
		base = repo.Web
	}
	if _, err := url.ParseRequestURI(base); err != nil || !(strings.HasPrefix(base, "http://") || strings.HasPrefix(base, "https://")) {
		return nil, fmt.Errorf("forge URL %q: %w", base, ErrBadURL)
	}
	hc := &http.Client{}
	if cfg.HTTPClient != nil {
		*hc = *cfg.HTTPClient
	}
	next := hc.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	c := NewClient(nil, cfg.Token, cfg.Options)
	c.kind, c.base, c.path = kind, base, repo.Path
	hc.Transport = httpcount.Transport{Next: next, N: c.calls}
	switch kind {
	case Gitea:
		c.api, err = newGitea(base, repo.Path, cfg.Token, hc)
	case GitHub:
		c.api, err = newGitHub(base, repo.Path, cfg.Token, hc)
	case GitLab:
		c.api, err = newGitLab(base, repo.Path, cfg.Token, hc)
	default:
		err = fmt.Errorf("forge %q: %w", kind, ErrBadKind)
	}
	if err != nil {
		return nil, c.redact(err)
	}
	return c, nil
}
