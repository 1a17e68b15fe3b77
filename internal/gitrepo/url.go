package gitrepo

import (
	"fmt"
	"strings"
)

// A remote URL may carry user:password. Git accepts URLs Go's url.Parse
// rejects (a password "p%zzsecret", a raw space or '#'), so the split is
// done by hand, the way git reads a URL: the userinfo is what precedes the
// last '@' of the authority. A URL whose credentials cannot be told apart
// from the rest is refused, and no error here quotes the URL: an error
// quoting it would print the secret it failed to split.

// urlCredentials is what splitURLCredentials found in a URL.
type urlCredentials struct {
	// Username and Password are percent-decoded as git decodes them (an
	// invalid escape stays as written).
	Username, Password string
	// RawPassword is the password as the URL spelled it (percent-escapes
	// and all), another form to redact.
	RawPassword string
}

// splitURLCredentials removes user:password from an HTTP(S) URL, returning
// the clean URL and the credentials it held, so that no URL latch hands git
// (and git may print or store in .git/config) carries a secret. scp-like
// SSH addresses (git@host:path) and local paths pass through; a password in
// any other scheme is refused (use an SSH key).
func splitURLCredentials(raw string) (clean string, cred urlCredentials, err error) {
	i := strings.Index(raw, "://")
	if i <= 0 || strings.ContainsAny(raw[:i], "/@:") {
		return raw, urlCredentials{}, nil
	}
	scheme, rest := strings.ToLower(raw[:i]), raw[i+3:]
	// The authority ends at the first '/' after its last '@'; '?' and '#'
	// may be in a raw password, so only '/' ends it. A password holding a
	// raw '/' leaves an '@' past the first '/', which is ambiguous.
	slash := strings.IndexByte(rest, '/')
	authority := rest
	if slash >= 0 {
		authority = rest[:slash]
	}
	at := strings.LastIndexByte(authority, '@')
	if at < 0 {
		if later := strings.IndexByte(rest, '@'); later > slash && slash >= 0 && strings.Contains(rest[:later], ":") {
			return "", urlCredentials{}, fmt.Errorf("remote URL (%s://…): credentials that cannot be told apart from the path (a raw '/' in the password?); "+
				"percent-encode them or pass them as LATCH_GIT_USERNAME/LATCH_GIT_PASSWORD", scheme)
		}
		return raw, urlCredentials{}, nil
	}
	userinfo, hostAndPath := authority[:at], rest[at+1:]
	host := hostAndPath
	if j := strings.IndexAny(host, "/?#"); j >= 0 {
		host = host[:j]
	}
	if host == "" {
		return "", urlCredentials{}, fmt.Errorf("remote URL (%s://…): credentials but no host", scheme)
	}
	user, rawPassword, hasPassword := strings.Cut(userinfo, ":")
	cred = urlCredentials{Username: gitURLDecode(user), Password: gitURLDecode(rawPassword), RawPassword: rawPassword}
	switch {
	case scheme == "http" || scheme == "https":
		return raw[:i+3] + hostAndPath, cred, nil
	case hasPassword && rawPassword != "":
		return "", urlCredentials{}, fmt.Errorf("remote URL (%s://%s): a password in a %s URL is not supported; use an SSH key", scheme, host, scheme)
	default:
		// ssh://git@host/path: the user is not a secret.
		return raw, urlCredentials{}, nil
	}
}

// gitURLDecode decodes %XX escapes as git does (url_decode): an invalid
// escape is kept as written, so "p%zzsecret" is the password git sends.
func gitURLDecode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			if hi, lo := unhex(s[i+1]), unhex(s[i+2]); hi >= 0 && lo >= 0 {
				b.WriteByte(byte(hi<<4 | lo))
				i += 2
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// secrets are the password's forms to redact, each with the username (the
// basic-auth header is base64 of user:password).
func (c urlCredentials) secrets() []Auth {
	if c.Password == "" && c.RawPassword == "" {
		return nil
	}
	return []Auth{{Username: c.Username, Password: c.Password}, {Username: c.Username, Password: c.RawPassword}}
}
