package gitrepo

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
)

// Auth holds the credentials latch uses for a remote. Its String, GoString,
// Format, LogValue and MarshalJSON methods redact the password, so an Auth
// printed with any fmt verb, logged or marshalled shows no secret.
type Auth struct {
	// Username and Password are HTTPS basic-auth credentials; Password may be
	// a forge token (with Username set to whatever the forge expects, e.g.
	// "x-access-token" for GitHub, "oauth2" for GitLab).
	Username string
	Password string
	// SSHKeyPath is an unencrypted private key file for SSH remotes; latch
	// copies it to a 0600 file of its own (a mounted Secret is often 0644,
	// which ssh refuses).
	SSHKeyPath string
	// KnownHostsPath is the known_hosts file SSH checks the server's host key
	// against. Required with SSHKeyPath: latch never accepts an unknown host.
	KnownHostsPath string
	// CAFile is a PEM bundle of extra certificate authorities for HTTPS
	// remotes (a self-hosted forge with a private CA).
	CAFile string
}

// DefaultTokenUsername is the username used with a token when none is given.
// Most forges ignore it when the password is a token; set Username for those
// that do not.
const DefaultTokenUsername = "git"

// Secret file names in a mounted Secret folder (the Flux convention) and
// the keys of a Secret's data.
const (
	SecretUsername   = "username"
	SecretPassword   = "password"
	SecretToken      = "token"
	SecretIdentity   = "identity"
	SecretKnownHosts = "known_hosts"
	SecretCAFile     = "ca.crt"
)

// AuthFromEnv reads credentials from prefix+USERNAME, prefix+PASSWORD,
// prefix+TOKEN (a token used as the password; with no USERNAME the username
// is DefaultTokenUsername), prefix+SSH_KEY_FILE, prefix+KNOWN_HOSTS_FILE and
// prefix+CA_FILE, e.g. with prefix "LATCH_GIT_". Unset variables leave the
// field empty; PASSWORD and TOKEN together are an error.
func AuthFromEnv(prefix string) (Auth, error) {
	get := func(name string) string { return os.Getenv(prefix + name) }
	a := Auth{
		Username:       get("USERNAME"),
		Password:       get("PASSWORD"),
		SSHKeyPath:     get("SSH_KEY_FILE"),
		KnownHostsPath: get("KNOWN_HOSTS_FILE"),
		CAFile:         get("CA_FILE"),
	}
	if token := get("TOKEN"); token != "" {
		if a.Password != "" {
			return Auth{}, fmt.Errorf("environment: both %sPASSWORD and %sTOKEN are set; set one", prefix, prefix)
		}
		a.Password = token
		if a.Username == "" {
			a.Username = DefaultTokenUsername
		}
	}
	if err := a.check(); err != nil {
		return Auth{}, fmt.Errorf("environment %s*: %w", prefix, err)
	}
	return a, nil
}

// AuthFromFile reads credentials from a folder holding one file per key, as
// a Kubernetes Secret mounted as a volume does: username, password, token,
// identity (SSH private key), known_hosts and ca.crt. Missing files leave the
// field empty. Values are trimmed of surrounding whitespace (a trailing
// newline is the usual accident); key files are referenced, not read.
func AuthFromFile(dir string) (Auth, error) {
	read := func(name string) (string, error) {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if errors.Is(err, fs.ErrNotExist) {
			return "", nil
		}
		if err != nil {
			// The path names the file, never its content.
			return "", fmt.Errorf("credentials folder %s: reading %s: %w", dir, name, errors.Unwrap(err))
		}
		return strings.TrimSpace(string(data)), nil
	}
	exists := func(name string) string {
		path := filepath.Join(dir, name)
		if _, err := os.Stat(path); err == nil {
			return path
		}
		return ""
	}
	if info, err := os.Stat(dir); err != nil {
		return Auth{}, fmt.Errorf("credentials folder: %w", err)
	} else if !info.IsDir() {
		return Auth{}, fmt.Errorf("credentials folder %s: not a folder", dir)
	}
	var a Auth
	var token string
	var err error
	if a.Username, err = read(SecretUsername); err != nil {
		return Auth{}, err
	}
	if a.Password, err = read(SecretPassword); err != nil {
		return Auth{}, err
	}
	if token, err = read(SecretToken); err != nil {
		return Auth{}, err
	}
	if token != "" {
		if a.Password != "" {
			return Auth{}, fmt.Errorf("credentials folder %s: both %s and %s are present; keep one", dir, SecretPassword, SecretToken)
		}
		a.Password = token
		if a.Username == "" {
			a.Username = DefaultTokenUsername
		}
	}
	a.SSHKeyPath = exists(SecretIdentity)
	a.KnownHostsPath = exists(SecretKnownHosts)
	a.CAFile = exists(SecretCAFile)
	if err := a.check(); err != nil {
		return Auth{}, fmt.Errorf("credentials folder %s: %w", dir, err)
	}
	return a, nil
}

// AuthFromSecretData builds Auth from a Kubernetes Secret's data (same keys
// as AuthFromFile), for a controller that reads the Secret through the API.
// Key material (identity, known_hosts, ca.crt) is written to 0600 files in
// keyDir, which the caller owns and removes.
func AuthFromSecretData(data map[string][]byte, keyDir string) (Auth, error) {
	str := func(key string) string { return strings.TrimSpace(string(data[key])) }
	a := Auth{Username: str(SecretUsername), Password: str(SecretPassword)}
	if token := str(SecretToken); token != "" {
		if a.Password != "" {
			return Auth{}, fmt.Errorf("secret data: both %s and %s are set; keep one", SecretPassword, SecretToken)
		}
		a.Password = token
		if a.Username == "" {
			a.Username = DefaultTokenUsername
		}
	}
	write := func(key string) (string, error) {
		content, ok := data[key]
		if !ok || len(content) == 0 {
			return "", nil
		}
		path := filepath.Join(keyDir, key)
		if err := os.WriteFile(path, content, 0o600); err != nil {
			return "", fmt.Errorf("secret data: writing %s: %w", key, errors.Unwrap(err))
		}
		return path, nil
	}
	var err error
	if a.SSHKeyPath, err = write(SecretIdentity); err != nil {
		return Auth{}, err
	}
	if a.KnownHostsPath, err = write(SecretKnownHosts); err != nil {
		return Auth{}, err
	}
	if a.CAFile, err = write(SecretCAFile); err != nil {
		return Auth{}, err
	}
	if err := a.check(); err != nil {
		return Auth{}, fmt.Errorf("secret data: %w", err)
	}
	return a, nil
}

// check rejects values that cannot be passed to git safely.
func (a Auth) check() error {
	if strings.ContainsAny(a.Username, "\r\n\x00") {
		return errors.New("username contains a line break or NUL")
	}
	if strings.ContainsAny(a.Password, "\r\n\x00") {
		return errors.New("password contains a line break or NUL")
	}
	if a.Password != "" && a.Username == "" {
		return errors.New("a password needs a username")
	}
	if a.SSHKeyPath != "" && a.KnownHostsPath == "" {
		return errors.New("an SSH key needs a known_hosts file: latch does not accept unknown host keys")
	}
	return nil
}

// String describes a without its password.
func (a Auth) String() string {
	var parts []string
	if a.Username != "" {
		parts = append(parts, "username="+a.Username)
	}
	if a.Password != "" {
		parts = append(parts, "password="+redacted)
	}
	if a.SSHKeyPath != "" {
		parts = append(parts, "ssh-key="+a.SSHKeyPath)
	}
	if a.KnownHostsPath != "" {
		parts = append(parts, "known-hosts="+a.KnownHostsPath)
	}
	if a.CAFile != "" {
		parts = append(parts, "ca-file="+a.CAFile)
	}
	if len(parts) == 0 {
		return "gitrepo.Auth{none}"
	}
	return "gitrepo.Auth{" + strings.Join(parts, " ") + "}"
}

// GoString is String, so %#v redacts too.
func (a Auth) GoString() string { return a.String() }

// Format prints String for every verb: without it %d or %x would print the
// struct's fields, password included.
func (a Auth) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(a.String())) }

// LogValue keeps the password out of slog output.
func (a Auth) LogValue() slog.Value { return slog.StringValue(a.String()) }

// MarshalJSON keeps the password out of JSON (status, debug dumps).
func (a Auth) MarshalJSON() ([]byte, error) {
	pw := ""
	if a.Password != "" {
		pw = redacted
	}
	return json.Marshal(struct {
		Username       string `json:"username,omitempty"`
		Password       string `json:"password,omitempty"`
		SSHKeyPath     string `json:"sshKeyPath,omitempty"`
		KnownHostsPath string `json:"knownHostsPath,omitempty"`
		CAFile         string `json:"caFile,omitempty"`
	}{a.Username, pw, a.SSHKeyPath, a.KnownHostsPath, a.CAFile})
}

// credentialScope is the scheme://host[:port] a credential helper is bound
// to, so credentials are never offered to another host (a redirect, a
// submodule).
func credentialScope(remoteURL string) string {
	i := strings.Index(remoteURL, "://")
	if i <= 0 {
		return ""
	}
	scheme, rest := strings.ToLower(remoteURL[:i]), remoteURL[i+3:]
	if scheme != "http" && scheme != "https" {
		return ""
	}
	// Split by hand like splitURLCredentials: a URL Go cannot parse (a raw
	// space in the path) still gets its credentials, and only on its host.
	host := rest
	if j := strings.IndexAny(host, "/?#"); j >= 0 {
		host = host[:j]
	}
	if host == "" || strings.Contains(host, "@") {
		return ""
	}
	return scheme + "://" + host
}

// isSSHURL reports whether git would reach remoteURL over SSH.
func isSSHURL(remoteURL string) bool {
	if strings.HasPrefix(remoteURL, "ssh://") || strings.HasPrefix(remoteURL, "git+ssh://") || strings.HasPrefix(remoteURL, "ssh+git://") {
		return true
	}
	if strings.Contains(remoteURL, "://") {
		return false
	}
	// scp-like: [user@]host:path, where host has no slash before the colon.
	colon := strings.Index(remoteURL, ":")
	slash := strings.Index(remoteURL, "/")
	return colon > 0 && (slash < 0 || colon < slash)
}

// sshCommand is the GIT_SSH_COMMAND for a key and known_hosts file: no
// ~/.ssh/config, only this key, strict host key checking against this file
// only, and never a prompt. Paths are single-quoted for the shell git runs
// the command through.
func sshCommand(keyPath, knownHosts string) string {
	args := []string{
		"ssh", "-F", "/dev/null",
		"-o", "BatchMode=yes",
		"-o", "IdentitiesOnly=yes",
		"-o", "IdentityAgent=none",
		"-i", shellQuote(keyPath),
		"-o", "UserKnownHostsFile=" + shellQuote(knownHosts),
		"-o", "GlobalKnownHostsFile=/dev/null",
		"-o", "StrictHostKeyChecking=yes",
		"-o", "UpdateHostKeys=no",
	}
	return strings.Join(args, " ")
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// credentialHelper answers git's "get" with the username and password from
// its environment (set only in the environment of the git process latch
// runs), and ignores "store" and "erase". The script holds no secret.
const credentialHelper = `!f() { test "$1" = get || exit 0; printf 'username=%s\npassword=%s\n' "$LATCH_GITREPO_USERNAME" "$LATCH_GITREPO_PASSWORD"; }; f`

const (
	envHelperUsername = "LATCH_GITREPO_USERNAME"
	envHelperPassword = "LATCH_GITREPO_PASSWORD"
)
