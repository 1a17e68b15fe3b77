package httpcount

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
)

func TestTransportCounts(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/missing" {
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	for _, tc := range []struct {
		paths []string
		want  int64
	}{
		{nil, 0},
		{[]string{"/"}, 1},
		{[]string{"/", "/missing", "/a"}, 3},
	} {
		n := new(atomic.Int64)
		client := &http.Client{Transport: Transport{Next: http.DefaultTransport, N: n}}
		for _, p := range tc.paths {
			resp, err := client.Get(srv.URL + p)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
		}
		if got := n.Load(); got != tc.want {
			t.Errorf("%v: counted %d requests, want %d", tc.paths, got, tc.want)
		}
	}
}
