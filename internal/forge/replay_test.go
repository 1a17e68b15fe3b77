package forge

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// GitHub and GitLab cannot run here, so their adapters are tested against
// recorded exchanges in testdata/<forge>/*.json, written after each forge's
// REST documentation: the real paths (GitLab's path-escaped project), query
// parameters, status codes (GitHub's 422 and GitLab's 409 on a duplicate,
// 403/429 rate limits, 502), pagination headers (Link, X-Next-Page) and
// bodies trimmed to the fields latch reads. The replay server fails the
// test on any request the recording does not expect, in order.

type exchange struct {
	Request struct {
		Method string            `json:"method"`
		Path   string            `json:"path"` // escaped, as sent
		Query  map[string]string `json:"query,omitempty"`
		// Body lists JSON fields the request body must hold.
		Body map[string]any `json:"body,omitempty"`
	} `json:"request"`
	Response struct {
		Status  int               `json:"status"`
		Headers map[string]string `json:"headers,omitempty"`
		Body    json.RawMessage   `json:"body,omitempty"`
	} `json:"response"`
}

type recording struct {
	Note      string     `json:"note"`
	Exchanges []exchange `json:"exchanges"`
}

// replay serves testdata/<name>.json and reports unmet expectations at the
// end of the test. {{URL}} in a response header or body is the server's URL.
func replay(t *testing.T, name string) *httptest.Server {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var rec recording
	if err := json.Unmarshal(data, &rec); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	var mu sync.Mutex
	next := 0
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if next >= len(rec.Exchanges) {
			t.Errorf("%s: unexpected request %s %s (all %d exchanges used)", name, r.Method, r.URL.RequestURI(), len(rec.Exchanges))
			http.Error(w, "unexpected", http.StatusTeapot)
			return
		}
		ex := rec.Exchanges[next]
		next++
		if r.Method != ex.Request.Method || r.URL.EscapedPath() != ex.Request.Path {
			t.Errorf("%s exchange %d: got %s %s, want %s %s", name, next, r.Method, r.URL.EscapedPath(), ex.Request.Method, ex.Request.Path)
		}
		q := r.URL.Query()
		for k, v := range ex.Request.Query {
			if q.Get(k) != v {
				t.Errorf("%s exchange %d: query %s=%q, want %q (%s)", name, next, k, q.Get(k), v, r.URL.RawQuery)
			}
		}
		if auth := r.Header.Get("Authorization") + r.Header.Get("Private-Token"); !strings.Contains(auth, "test-token-123") {
			t.Errorf("%s exchange %d: no token sent", name, next)
		}
		if len(ex.Request.Body) > 0 {
			raw, _ := io.ReadAll(r.Body)
			var got map[string]any
			if err := json.Unmarshal(raw, &got); err != nil {
				t.Errorf("%s exchange %d: body %q: %v", name, next, raw, err)
			}
			for k, v := range ex.Request.Body {
				gv, _ := json.Marshal(got[k])
				wv, _ := json.Marshal(v)
				if string(gv) != string(wv) {
					t.Errorf("%s exchange %d: body %s = %s, want %s", name, next, k, gv, wv)
				}
			}
		}
		for k, v := range ex.Response.Headers {
			w.Header().Set(k, strings.ReplaceAll(v, "{{URL}}", srv.URL))
		}
		if w.Header().Get("Content-Type") == "" {
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
		}
		w.WriteHeader(ex.Response.Status)
		_, _ = w.Write([]byte(strings.ReplaceAll(string(ex.Response.Body), "{{URL}}", srv.URL)))
	}))
	t.Cleanup(func() {
		srv.Close()
		mu.Lock()
		defer mu.Unlock()
		if next != len(rec.Exchanges) {
			t.Errorf("%s: %d of %d exchanges used", name, next, len(rec.Exchanges))
		}
	})
	return srv
}

// remoteFor is a remote URL on srv's host for the repository path.
func remoteFor(srv *httptest.Server, path string) string {
	u, _ := url.Parse(srv.URL)
	return "http://" + u.Host + "/" + path + ".git"
}
