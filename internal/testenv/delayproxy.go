package testenv

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync/atomic"
	"time"
)

// DelayProxy sits between a client and a GitRemote and holds every request
// for the current delay, so a test can keep a pass in flight (to stop a
// process mid-push, say).
type DelayProxy struct {
	// URL is the remote's clone URL through the proxy.
	URL      string
	delay    atomic.Int64
	requests atomic.Int64
}

// SetDelay sets how long each later request is held.
func (p *DelayProxy) SetDelay(d time.Duration) { p.delay.Store(int64(d)) }

// Requests counts the requests the proxy has seen.
func (p *DelayProxy) Requests() int64 { return p.requests.Load() }

// NewDelayProxy starts a proxy to remote; it stops when the test ends.
func NewDelayProxy(t T, remote *GitRemote) *DelayProxy {
	t.Helper()
	target, err := url.Parse(remote.URL)
	if err != nil {
		t.Fatal(err)
	}
	path := target.Path
	target.Path = ""
	proxy := httputil.NewSingleHostReverseProxy(target)
	p := &DelayProxy{}
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.requests.Add(1)
		if d := time.Duration(p.delay.Load()); d > 0 {
			select {
			case <-time.After(d):
			case <-r.Context().Done():
				return
			}
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(server.Close)
	p.URL = server.URL + path
	return p
}
