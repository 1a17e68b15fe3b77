package forge

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// These tests run GitHub's and GitLab's adapters against recorded
// exchanges (see replay_test.go): no GitHub or GitLab server runs here.

const testToken = "test-token-123"

// toServer sends every request to srv whatever its host, so the adapter can
// keep github.com's real API host.
type toServer struct{ srv *httptest.Server }

func (t toServer) RoundTrip(r *http.Request) (*http.Response, error) {
	u, _ := url.Parse(t.srv.URL)
	r2 := r.Clone(r.Context())
	r2.URL.Scheme, r2.URL.Host, r2.Host = u.Scheme, u.Host, u.Host
	return http.DefaultTransport.RoundTrip(r2)
}

type retries struct {
	mu  sync.Mutex
	got []string
}

func (r *retries) add(op, reason string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, reason)
}

func fast(r *retries) Options {
	return Options{Backoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond, OnRetry: r.add}
}

const branch = "latch/prod/shop/deployment.apps/web"

func testLifecycle(t *testing.T, c *Client, wantNumber int) {
	ctx := context.Background()
	me, err := c.Me(ctx)
	if err != nil || me != "latch-bot" {
		t.Fatalf("Me = %q, %v", me, err)
	}
	if again, _ := c.Me(ctx); again != me {
		t.Fatal("Me not cached")
	}
	pr, err := c.FindByBranch(ctx, "main", branch)
	if err != nil || pr != nil {
		t.Fatalf("FindByBranch before any PR = %+v, %v", pr, err)
	}
	pr, created, err := c.CreateOrUpdate(ctx, NewPR{Branch: branch, Base: "main", Title: "t", Body: "b", Labels: []string{"latch"}})
	if err != nil || !created || pr.Number != wantNumber || pr.State != StateOpen || pr.Author != "latch-bot" {
		t.Fatalf("CreateOrUpdate = %+v, %v, %v", pr, created, err)
	}
	if !hasLabel(pr.Labels, "latch") {
		t.Fatalf("labels %v", pr.Labels)
	}
	pr, err = c.FindByBranch(ctx, "main", branch)
	if err != nil || pr == nil || pr.Number != wantNumber || pr.Branch != branch || pr.Base != "main" || pr.Head == "" {
		t.Fatalf("FindByBranch = %+v, %v", pr, err)
	}
	t2, b2 := "t2", "b2"
	if _, err := c.Update(ctx, wantNumber, Edit{Title: &t2, Body: &b2}); err != nil {
		t.Fatal(err)
	}
	if err := c.Comment(ctx, wantNumber, "closing"); err != nil {
		t.Fatal(err)
	}
	pr, err = c.Update(ctx, wantNumber, Edit{Close: true})
	if err != nil || pr.State != StateClosed {
		t.Fatalf("close = %+v, %v", pr, err)
	}
	pr, err = c.Get(ctx, wantNumber)
	if err != nil || pr.State != StateMerged {
		t.Fatalf("Get = %+v, %v", pr, err)
	}
}

func TestGitHubRecordedLifecycle(t *testing.T) {
	srv := replay(t, "github/lifecycle")
	var r retries
	c, err := New(Config{Kind: GitHub, RemoteURL: "git@github.com:acme/infra.git", Token: testToken,
		HTTPClient: &http.Client{Transport: toServer{srv}}, Options: fast(&r)})
	if err != nil {
		t.Fatal(err)
	}
	testLifecycle(t, c, 12)
	if c.Calls() != 9 {
		t.Fatalf("%d calls, want the recording's 9", c.Calls())
	}
}

func TestGitHubEnterpriseDuplicateMeansUpdate(t *testing.T) {
	srv := replay(t, "github/duplicate")
	var r retries
	// Inferred from the remote's host: "github" in ghe's name.
	c, err := New(Config{URL: srv.URL, RemoteURL: "https://github.acme.internal/acme/infra.git", Token: testToken, Options: fast(&r)})
	if err != nil {
		t.Fatal(err)
	}
	pr, created, err := c.CreateOrUpdate(context.Background(), NewPR{Branch: branch, Base: "main", Title: "t", Body: "b"})
	if err != nil || created || pr.Number != 12 {
		t.Fatalf("CreateOrUpdate after 422 = %+v, created %v, %v", pr, created, err)
	}
}

func TestGitHubRetriesAndRedacts(t *testing.T) {
	srv := replay(t, "github/retry")
	var r retries
	c, err := New(Config{Kind: GitHub, RemoteURL: "https://github.com/acme/infra", Token: testToken,
		HTTPClient: &http.Client{Transport: toServer{srv}}, Options: fast(&r)})
	if err != nil {
		t.Fatal(err)
	}
	pr, err := c.FindByBranch(context.Background(), "main", branch)
	if err != nil || pr == nil || pr.State != StateClosed || pr.Author != "alice" {
		t.Fatalf("FindByBranch after 502 and 403 = %+v, %v", pr, err)
	}
	if strings.Join(r.got, ",") != "server-error,rate-limit" {
		t.Fatalf("retries %v", r.got)
	}
	_, err = c.Get(context.Background(), 13)
	var fe *Error
	if !errors.As(err, &fe) || fe.Status != 401 || fe.Retryable() {
		t.Fatalf("401 = %v", err)
	}
	if strings.Contains(err.Error(), testToken) {
		t.Fatalf("token in error: %v", err)
	}
}

func TestGitHubListOpenFollowsLink(t *testing.T) {
	srv := replay(t, "github/list")
	c, err := New(Config{Kind: GitHub, RemoteURL: "https://github.com/acme/infra", Token: testToken, HTTPClient: &http.Client{Transport: toServer{srv}}})
	if err != nil {
		t.Fatal(err)
	}
	prs, err := c.ListOpen(context.Background(), "latch")
	if err != nil || len(prs) != 2 || prs[0].Number != 12 || prs[1].Number != 14 {
		t.Fatalf("ListOpen = %+v, %v", prs, err)
	}
}

func TestGitLabRecordedLifecycle(t *testing.T) {
	srv := replay(t, "gitlab/lifecycle")
	var r retries
	c, err := New(Config{Kind: GitLab, URL: srv.URL, RemoteURL: "git@gitlab.example.com:platform/infra/live.git", Token: testToken, Options: fast(&r)})
	if err != nil {
		t.Fatal(err)
	}
	testLifecycle(t, c, 7)
}

func TestGitLabDuplicateMeansUpdate(t *testing.T) {
	srv := replay(t, "gitlab/duplicate")
	c, err := New(Config{URL: srv.URL, RemoteURL: "https://gitlab.example.com/platform/infra/live.git", Token: testToken})
	if err != nil {
		t.Fatal(err)
	}
	pr, created, err := c.CreateOrUpdate(context.Background(), NewPR{Branch: branch, Base: "main", Title: "t", Body: "b"})
	if err != nil || created || pr.Number != 7 {
		t.Fatalf("CreateOrUpdate after 409 = %+v, created %v, %v", pr, created, err)
	}
}

func TestGitLabRetries(t *testing.T) {
	srv := replay(t, "gitlab/retry")
	var r retries
	c, err := New(Config{Kind: GitLab, URL: srv.URL, RemoteURL: "https://gitlab.example.com/platform/infra/live.git", Token: testToken, Options: fast(&r)})
	if err != nil {
		t.Fatal(err)
	}
	pr, err := c.FindByBranch(context.Background(), "main", branch)
	if err != nil || pr == nil || pr.Number != 7 || pr.State != StateClosed {
		t.Fatalf("FindByBranch = %+v, %v", pr, err)
	}
	if strings.Join(r.got, ",") != "rate-limit,server-error" {
		t.Fatalf("retries %v", r.got)
	}
}

func TestGitLabListOpenPages(t *testing.T) {
	srv := replay(t, "gitlab/list")
	c, err := New(Config{Kind: GitLab, URL: srv.URL, RemoteURL: "https://gitlab.example.com/platform/infra/live.git", Token: testToken})
	if err != nil {
		t.Fatal(err)
	}
	prs, err := c.ListOpen(context.Background(), "latch")
	if err != nil || len(prs) != 3 || prs[2].Number != 9 {
		t.Fatalf("ListOpen = %+v, %v", prs, err)
	}
}

// Retrying never outlives the caller's context: a forge that is down keeps
// failing, and the caller (the latch pass) gets the error to try again
// next pass instead of the latch being dropped.
func TestRetryStopsWithContext(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, `{"message":"down"}`, http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	var r retries
	c, err := New(Config{Kind: GitLab, URL: srv.URL, RemoteURL: "https://gitlab.example.com/a/b", Token: testToken,
		Options: Options{MaxAttempts: 4, Backoff: time.Millisecond, OnRetry: r.add}})
	if err != nil {
		t.Fatal(err)
	}
	var hooked retries
	c.SetRetryHook(hooked.add)
	_, err = c.FindByBranch(context.Background(), "main", branch)
	var fe *Error
	if !errors.As(err, &fe) || fe.Status != 503 || len(r.got) != 3 || len(hooked.got) != 3 || hooked.got[0] != "server-error" {
		t.Fatalf("err %v, retries %v, hook %v", err, r.got, hooked.got)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.FindByBranch(ctx, "main", branch); err == nil {
		t.Fatal("no error with a cancelled context")
	}
}
