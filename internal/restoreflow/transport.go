package restoreflow

import (
	"net/http"
	"sync/atomic"
)

type httpRoundTripper = http.RoundTripper

// counting counts the requests a restore makes (for the report and the
// benchmark).
type counting struct {
	next httpRoundTripper
	n    *atomic.Int64
}

func (c counting) RoundTrip(req *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.next.RoundTrip(req)
}
