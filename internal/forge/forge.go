package forge

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Kind names a forge implementation.
type Kind string

const (
	Gitea  Kind = "gitea"
	GitHub Kind = "github"
	GitLab Kind = "gitlab"
)

// State is a pull request's state.
type State string

const (
	StateOpen   State = "open"
	StateClosed State = "closed" // closed without merging
	StateMerged State = "merged"
)

// PR is a pull request (GitLab: merge request) as latch sees it.
type PR struct {
	Number int    `json:"number"`
	State  State  `json:"state"`
	Author string `json:"author"`
	Title  string `json:"title"`
	Body   string `json:"-"`
	// Branch is the head (source) branch, Base the target branch.
	Branch string   `json:"branch"`
	Base   string   `json:"base"`
	Head   string   `json:"head,omitempty"` // head commit
	URL    string   `json:"url,omitempty"`
	Labels []string `json:"labels,omitempty"`
}

// NewPR is what Create opens.
type NewPR struct {
	Branch, Base, Title, Body string
	Labels, Reviewers         []string
}

// Edit changes a PR; nil or false fields stay as they are.
type Edit struct {
	Title, Body *string
	// Labels replaces the labels when non-nil.
	Labels []string
	Close  bool
}

// API is the one interface latch needs from a forge. Each method is one
// HTTP call unless its comment says otherwise.
type API interface {
	// Me is the login of the token's user (latch's own).
	Me(ctx context.Context) (string, error)
	// FindByBranch returns the newest PR from branch into base in any state,
	// or nil when there is none.
	FindByBranch(ctx context.Context, base, branch string) (*PR, error)
	// Create opens a PR. An existing open PR for the branch is an *Error
	// with Status 409 or 422 (errors.Is(err, ErrExists)). Labels and
	// reviewers may cost a call each on forges that set them separately.
	Create(ctx context.Context, pr NewPR) (*PR, error)
	// Update edits title, body, labels and state.
	Update(ctx context.Context, number int, e Edit) (*PR, error)
	// Comment adds a comment.
	Comment(ctx context.Context, number int, body string) error
	// Get reads one PR.
	Get(ctx context.Context, number int) (*PR, error)
	// ListOpen lists open PRs carrying label, every page.
	ListOpen(ctx context.Context, label string) ([]PR, error)
}

// Error is an HTTP failure from a forge, without the token.
type Error struct {
	Op     string
	Status int
	// RetryAfter is the wait the forge asked for (0: none given).
	RetryAfter time.Duration
	// RateLimited: the forge said the rate limit is exhausted.
	RateLimited bool
	Msg         string
}

func (e *Error) Error() string {
	s := fmt.Sprintf("forge %s: HTTP %d", e.Op, e.Status)
	if e.Msg != "" {
		s += ": " + e.Msg
	}
	return s
}

// ErrExists matches an *Error for an already existing PR (409 or 422).
var ErrExists = errors.New("pull request already exists")

// ErrNotFound matches an *Error with status 404.
var ErrNotFound = errors.New("not found")

func (e *Error) Is(target error) bool {
	switch target {
	case ErrExists:
		return e.Status == http.StatusConflict || e.Status == http.StatusUnprocessableEntity
	case ErrNotFound:
		return e.Status == http.StatusNotFound
	}
	return false
}

// Retryable: rate limits and server errors are worth waiting for.
func (e *Error) Retryable() bool {
	return e.RateLimited || e.Status == http.StatusTooManyRequests || e.Status >= 500
}

// httpError builds an *Error from a response (nil resp: not an HTTP
// failure; the cause is returned wrapped).
func httpError(op string, resp *http.Response, cause error, msg string) error {
	if resp == nil {
		return fmt.Errorf("forge %s: %w", op, cause)
	}
	e := &Error{Op: op, Status: resp.StatusCode, Msg: strings.TrimSpace(msg)}
	if len(e.Msg) > 300 {
		e.Msg = e.Msg[:300] + "…"
	}
	if s := resp.Header.Get("Retry-After"); s != "" {
		if n, err := strconv.Atoi(s); err == nil && n >= 0 {
			e.RetryAfter = time.Duration(n) * time.Second
		}
	}
	// GitHub and GitLab say "rate limit exhausted" with 403 or 429 and a
	// zero remaining count.
	for _, h := range []string{"X-RateLimit-Remaining", "RateLimit-Remaining"} {
		if resp.Header.Get(h) == "0" && (resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusTooManyRequests) {
			e.RateLimited = true
			if reset, err := strconv.ParseInt(firstNonEmpty(resp.Header.Get("X-RateLimit-Reset"), resp.Header.Get("RateLimit-Reset")), 10, 64); err == nil && e.RetryAfter == 0 {
				if d := time.Until(time.Unix(reset, 0)); d > 0 {
					e.RetryAfter = d
				}
			}
		}
	}
	if resp.StatusCode == http.StatusForbidden && strings.Contains(strings.ToLower(msg), "secondary rate limit") {
		e.RateLimited = true
	}
	return e
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}
