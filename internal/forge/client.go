package forge

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"
)

// Client is an API with latch's rules on top: retries, create-or-update,
// redaction. It is safe for concurrent use if the API is.
type Client struct {
	api   API
	opts  Options
	token string
	calls *atomic.Int64
	me    atomic.Pointer[string]
	kind  Kind
	base  string
	// path is the repository's OWNER/REPO (GitLab: group/…/project).
	path string
	// hook is a retry callback set after construction (SetRetryHook).
	hook atomic.Pointer[func(op, reason string)]
}

// Kind is the forge this client talks to ("" when built by NewClient).
func (c *Client) Kind() Kind { return c.kind }

// BaseURL is the forge root requests go to ("" when built by NewClient).
func (c *Client) BaseURL() string { return c.base }

// FileURL is the web page of file (a slash path from the repository root)
// on branch, for a PR body to link to; "" when the client was not built by
// New or file is empty. No request is made: each forge's page has a fixed
// shape (Gitea src/branch, GitHub blob, GitLab -/blob).
func (c *Client) FileURL(branch, file string) string {
	if c.base == "" || c.path == "" || branch == "" || file == "" {
		return ""
	}
	root := strings.TrimSuffix(c.base, "/")
	var middle string
	switch c.kind {
	case Gitea:
		middle = "src/branch"
	case GitHub:
		// The API host is not where people read files.
		if root == "https://api.github.com" {
			root = "https://github.com"
		}
		middle = "blob"
	case GitLab:
		middle = "-/blob"
	default:
		return ""
	}
	return root + "/" + escapeSegments(c.path) + "/" + middle + "/" + escapeSegments(branch) + "/" + escapeSegments(strings.TrimPrefix(file, "/"))
}

// escapeSegments path-escapes each slash-separated segment of p.
func escapeSegments(p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/")
}

// SetRetryHook adds f to the retry callbacks (Options.OnRetry stays): the
// controller connects its metric once it has registered it.
func (c *Client) SetRetryHook(f func(op, reason string)) { c.hook.Store(&f) }

// Options configure a Client. The zero value works.
type Options struct {
	// MaxAttempts bounds tries per call on a retryable failure (default 6).
	MaxAttempts int
	// Backoff is the first wait (default 1 s), doubled per retry up to
	// MaxBackoff (default 30 s), jittered, or the forge's Retry-After when
	// longer. The caller's context bounds the whole.
	Backoff, MaxBackoff time.Duration
	// OnRetry is told of every retry (for the latch_forge_retries_total
	// metric); reason is "rate-limit" or "server-error".
	OnRetry func(op, reason string)
}

// NewClient wraps api. token is only used to redact errors.
func NewClient(api API, token string, opts Options) *Client {
	return &Client{api: api, opts: opts, token: token, calls: new(atomic.Int64)}
}

// Calls is the number of HTTP requests this client's adapter sent (when it
// was built by New; 0 otherwise).
func (c *Client) Calls() int64 { return c.calls.Load() }

// Me is latch's login, asked once.
func (c *Client) Me(ctx context.Context) (string, error) {
	if p := c.me.Load(); p != nil {
		return *p, nil
	}
	var me string
	err := c.retry(ctx, "user", func() (err error) { me, err = c.api.Me(ctx); return err })
	if err != nil {
		return "", err
	}
	c.me.Store(&me)
	return me, nil
}

// FindByBranch is API.FindByBranch with retries.
func (c *Client) FindByBranch(ctx context.Context, base, branch string) (*PR, error) {
	var pr *PR
	err := c.retry(ctx, "find "+branch, func() (err error) { pr, err = c.api.FindByBranch(ctx, base, branch); return err })
	return pr, err
}

// Get is API.Get with retries.
func (c *Client) Get(ctx context.Context, number int) (*PR, error) {
	var pr *PR
	err := c.retry(ctx, fmt.Sprintf("get #%d", number), func() (err error) { pr, err = c.api.Get(ctx, number); return err })
	return pr, err
}

// Update is API.Update with retries.
func (c *Client) Update(ctx context.Context, number int, e Edit) (*PR, error) {
	var pr *PR
	err := c.retry(ctx, fmt.Sprintf("update #%d", number), func() (err error) { pr, err = c.api.Update(ctx, number, e); return err })
	return pr, err
}

// Comment is API.Comment with retries.
func (c *Client) Comment(ctx context.Context, number int, body string) error {
	return c.retry(ctx, fmt.Sprintf("comment #%d", number), func() error { return c.api.Comment(ctx, number, body) })
}

// ListOpen is API.ListOpen with retries.
func (c *Client) ListOpen(ctx context.Context, label string) ([]PR, error) {
	var prs []PR
	err := c.retry(ctx, "list", func() (err error) { prs, err = c.api.ListOpen(ctx, label); return err })
	return prs, err
}

// CreateOrUpdate opens a PR; when the forge says one already exists for the
// branch (409/422: an earlier create whose answer was lost, or a restart),
// it finds that PR and updates its title and body instead, so there are
// never two. created reports which happened.
func (c *Client) CreateOrUpdate(ctx context.Context, n NewPR) (pr *PR, created bool, err error) {
	err = c.retry(ctx, "create "+n.Branch, func() (err error) { pr, err = c.api.Create(ctx, n); return err })
	if err == nil {
		return pr, true, nil
	}
	if !errors.Is(err, ErrExists) {
		return nil, false, err
	}
	found, ferr := c.FindByBranch(ctx, n.Base, n.Branch)
	if ferr != nil {
		return nil, false, fmt.Errorf("%w; finding the existing one: %w", err, ferr)
	}
	if found == nil || found.State != StateOpen {
		// 422 for another reason (no commits between base and branch, …).
		return nil, false, err
	}
	pr, err = c.Update(ctx, found.Number, Edit{Title: &n.Title, Body: &n.Body})
	return pr, false, err
}

func (c *Client) retry(ctx context.Context, op string, call func() error) error {
	attempts := c.opts.MaxAttempts
	if attempts <= 0 {
		attempts = 6
	}
	wait := c.opts.Backoff
	if wait <= 0 {
		wait = time.Second
	}
	limit := c.opts.MaxBackoff
	if limit <= 0 {
		limit = 30 * time.Second
	}
	var err error
	for i := 1; ; i++ {
		err = c.redact(call())
		var fe *Error
		if err == nil || !errors.As(err, &fe) || !fe.Retryable() || i >= attempts || ctx.Err() != nil {
			break
		}
		reason := "server-error"
		if fe.RateLimited || fe.Status == http.StatusTooManyRequests {
			reason = "rate-limit"
		}
		if c.opts.OnRetry != nil {
			c.opts.OnRetry(op, reason)
		}
		if h := c.hook.Load(); h != nil {
			(*h)(op, reason)
		}
		d := wait/2 + time.Duration(rand.Int64N(int64(wait/2)+1))
		d = max(d, fe.RetryAfter)
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (waiting to retry: %w)", err, ctx.Err())
		case <-t.C:
		}
		wait = min(wait*2, limit)
	}
	return err
}

// redact removes the token from an error's text; *Error values keep their
// type so callers can still inspect them.
func (c *Client) redact(err error) error {
	if err == nil || c.token == "" || !strings.Contains(err.Error(), c.token) {
		return err
	}
	var fe *Error
	if errors.As(err, &fe) {
		cp := *fe
		cp.Msg = strings.ReplaceAll(cp.Msg, c.token, "[redacted]")
		cp.Op = strings.ReplaceAll(cp.Op, c.token, "[redacted]")
		return &cp
	}
	return errors.New(strings.ReplaceAll(err.Error(), c.token, "[redacted]"))
}
