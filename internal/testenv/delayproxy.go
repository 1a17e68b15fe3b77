package testenv

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
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
	// holdPushes, when set, is closed to release the held push replies;
	// pushes counts the pushes the remote has completed.
	holdPushes atomic.Pointer[chan struct{}]
	landFirst  atomic.Bool
	pushes     atomic.Int64
}

// HoldPushes holds every later push until release is called. With
// landFirst the push reaches the remote at once — the remote takes it and
// moves the branch — and only its reply is held: a client stopped
// meanwhile never hears that its push landed. Without, the push is held
// before it reaches the remote, and a client stopped meanwhile leaves the
// remote as it was.
func (p *DelayProxy) HoldPushes(landFirst bool) (release func()) {
	ch := make(chan struct{})
	p.landFirst.Store(landFirst)
	p.holdPushes.Store(&ch)
	var once sync.Once
	return func() {
		once.Do(func() {
			p.holdPushes.Store(nil)
			close(ch)
		})
	}
}

// Pushes counts the pushes held so far (with landFirst, once the remote
// has taken them).
func (p *DelayProxy) Pushes() int64 { return p.pushes.Load() }

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
		if hold := p.holdPushes.Load(); hold != nil && r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/git-receive-pack") {
			if !p.landFirst.Load() {
				p.pushes.Add(1)
				select {
				case <-*hold:
				case <-r.Context().Done():
					return // never reaches the remote
				}
				proxy.ServeHTTP(w, r)
				return
			}
			// Served to the end whatever the client does, then held.
			reply := httptest.NewRecorder()
			proxy.ServeHTTP(reply, r.WithContext(context.WithoutCancel(r.Context())))
			p.pushes.Add(1)
			select {
			case <-*hold:
			case <-r.Context().Done():
				return
			}
			for k, v := range reply.Header() {
				w.Header()[k] = v
			}
			w.WriteHeader(reply.Code)
			_, _ = w.Write(reply.Body.Bytes())
			return
		}
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
