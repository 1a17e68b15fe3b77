// Package httpcount counts the HTTP requests a client sends: a
// RoundTripper that adds one to a counter per request, for the request
// figures latch reports (the cluster reader's, the forge client's).
package httpcount

import (
	"net/http"
	"sync/atomic"
)

// Transport sends each request through Next, counting it in N first.
type Transport struct {
	Next http.RoundTripper
	N    *atomic.Int64
}

// RoundTrip counts r and sends it through Next.
func (t Transport) RoundTrip(r *http.Request) (*http.Response, error) {
	t.N.Add(1)
	return t.Next.RoundTrip(r)
}
