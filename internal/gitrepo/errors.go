package gitrepo

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"
)

// Kind sorts git failures by what latch should do about them.
type Kind int

const (
	// KindOther is any failure retrying will not fix (bad ref, hook
	// declined, corrupt repository…). Not retried.
	KindOther Kind = iota
	// KindAuth: the remote refused the credentials, or SSH could not verify
	// the host key. Not retried: the same credentials fail the same way.
	KindAuth
	// KindConflict: the push was not a fast-forward (someone pushed first).
	// CommitAndPush fetches, recomputes and retries.
	KindConflict
	// KindNetwork: the remote could not be reached or broke off (DNS,
	// connection refused, timeouts, HTTP 5xx). Retried within the bound.
	KindNetwork
)

func (k Kind) String() string {
	switch k {
	case KindAuth:
		return "auth"
	case KindConflict:
		return "conflict"
	case KindNetwork:
		return "network"
	default:
		return "other"
	}
}

// Sentinels for errors.Is: errors.Is(err, ErrAuth) is true for any *Error of
// kind KindAuth, and so on.
var (
	ErrAuth     = errors.New("git authentication failed")
	ErrConflict = errors.New("git push rejected: not a fast-forward")
	ErrNetwork  = errors.New("git remote unreachable")
)

// Error is a failed git command. Its text has passed through the redactor:
// it names the operation and carries git's own message, never a credential.
type Error struct {
	// Op is the git subcommand ("fetch", "push", …) or a step of this
	// package ("clone", "import signing key").
	Op string
	// Kind says whether retrying can help.
	Kind Kind
	// Detail is git's stderr (or the push status), redacted and trimmed.
	Detail string
	// Err is the underlying error (exit status, context…), already redacted.
	Err error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("git ")
	b.WriteString(e.Op)
	if e.Kind != KindOther {
		fmt.Fprintf(&b, " (%s)", e.Kind)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	if e.Detail != "" {
		b.WriteString(": ")
		b.WriteString(e.Detail)
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Is matches the kind sentinels.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrAuth:
		return e.Kind == KindAuth
	case ErrConflict:
		return e.Kind == KindConflict
	case ErrNetwork:
		return e.Kind == KindNetwork
	}
	return false
}

// KindOf returns the kind of the first *Error in err's chain (KindOther if
// there is none).
func KindOf(err error) Kind {
	var gerr *Error
	if errors.As(err, &gerr) {
		return gerr.Kind
	}
	return KindOther
}

// Messages git (2.3x, LC_ALL=C), curl and ssh print for each kind. Matched
// case-insensitively against stderr.
var (
	authMarkers = []string{
		"authentication failed",
		"could not read username",
		"could not read password",
		"terminal prompts disabled",
		"the requested url returned error: 401",
		"the requested url returned error: 403",
		"permission denied (publickey",
		"host key verification failed",
		"no matching host key",
		"remote host identification has changed",
		"invalid username or password",
	}
	networkMarkers = []string{
		"could not resolve host",
		"could not resolve hostname",
		"connection refused",
		"connection timed out",
		"connection reset",
		"failed to connect",
		"operation timed out",
		"network is unreachable",
		"no route to host",
		"the remote end hung up unexpectedly",
		"rpc failed",
		"early eof",
		"unexpected disconnect",
		"the requested url returned error: 500",
		"the requested url returned error: 502",
		"the requested url returned error: 503",
		"the requested url returned error: 504",
		"gnutls recv error",
		"ssl_read",
		"empty reply from server",
		"transfer closed",
	}
	// Push status reasons (porcelain or human output) that mean "the branch
	// moved under you": the client saw it (fetch first, non-fast-forward,
	// stale info) or the server did (failed/lock/incorrect old value).
	conflictMarkers = []string{
		"[rejected]",
		"(fetch first)",
		"(non-fast-forward)",
		"non-fast-forward",
		"(stale info)",
		"failed to update ref",
		"cannot lock ref",
		"incorrect old value",
		"failed to lock",
		"updates were rejected",
	}
)

// classify decides the kind of a failed command from its output. Auth wins
// over the others: a 401 in the middle of a push is not a conflict.
func classify(op, output string) Kind {
	low := strings.ToLower(output)
	for _, m := range authMarkers {
		if strings.Contains(low, m) {
			return KindAuth
		}
	}
	if op == "push" {
		for _, m := range conflictMarkers {
			if strings.Contains(low, m) {
				return KindConflict
			}
		}
	}
	for _, m := range networkMarkers {
		if strings.Contains(low, m) {
			return KindNetwork
		}
	}
	return KindOther
}

// redactor removes secrets from text. It knows each secret in the forms git,
// curl and HTTP put it in: plain, URL-escaped, and inside a basic-auth
// header (base64 of user:password).
//
// The list sits behind a closure so that printing a Repo (or a runner) with
// %+v, which walks unexported fields, cannot show it.
type redactor struct {
	secrets func() []string // longest first, so a secret containing another goes first
}

const redacted = "[REDACTED]"

// newRedactor knows the passwords of creds, each with its username for the
// basic-auth header form.
func newRedactor(creds ...Auth) redactor {
	var list []string
	add := func(s string) {
		if s != "" {
			list = append(list, s)
		}
	}
	for _, c := range creds {
		pw := c.Password
		if pw == "" {
			continue
		}
		add(pw)
		add(url.QueryEscape(pw))
		add(url.PathEscape(pw))
		add(url.UserPassword("x", pw).String()[2:])
		add(base64.StdEncoding.EncodeToString([]byte(c.Username + ":" + pw)))
		add(base64.URLEncoding.EncodeToString([]byte(c.Username + ":" + pw)))
		add(base64.StdEncoding.EncodeToString([]byte(pw)))
	}
	sort.Slice(list, func(i, j int) bool { return len(list[i]) > len(list[j]) })
	return redactor{secrets: func() []string { return list }}
}

func (r redactor) redact(s string) string {
	if r.secrets == nil {
		return stripURLPasswords(s)
	}
	for _, secret := range r.secrets() {
		s = strings.ReplaceAll(s, secret, redacted)
	}
	return stripURLPasswords(s)
}

// stripURLPasswords replaces the password of any scheme://user:pass@host in
// s, whatever the password is (a URL from the user's own git config may hold
// one the redactor was never told about).
func stripURLPasswords(s string) string {
	var b strings.Builder
	for {
		i := strings.Index(s, "://")
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i+3])
		rest := s[i+3:]
		end := strings.IndexAny(rest, " \t\r\n'\"/<>")
		if end < 0 {
			end = len(rest)
		}
		authority := rest[:end]
		if at := strings.LastIndex(authority, "@"); at >= 0 {
			userinfo := authority[:at]
			if colon := strings.Index(userinfo, ":"); colon >= 0 {
				authority = userinfo[:colon] + ":" + redacted + authority[at:]
			}
		}
		b.WriteString(authority)
		s = rest[end:]
	}
}

// redactErr returns an error with err's text redacted, keeping the kind
// sentinels reachable through *Error rather than through err.
func (r redactor) redactErr(err error) error {
	if err == nil {
		return nil
	}
	return errors.New(r.redact(err.Error()))
}
