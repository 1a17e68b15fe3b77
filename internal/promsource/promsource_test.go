package promsource

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/latch-gitops/latch/internal/testenv"
)

var t0 = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)

// fakeAPI answers query_range with one series whose value at each step is
// its unix time mod 1000, and records each request's range.
type fakeAPI struct {
	ranges [][2]int64
	auth   []string
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	f.auth = append(f.auth, r.Header.Get("Authorization"))
	start, _ := strconv.ParseInt(r.Form.Get("start"), 10, 64)
	end, _ := strconv.ParseInt(r.Form.Get("end"), 10, 64)
	step, _ := strconv.ParseInt(r.Form.Get("step"), 10, 64)
	f.ranges = append(f.ranges, [2]int64{start, end})
	if (end-start)/step > PrometheusMaxPoints {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"status":"error","errorType":"bad_data","error":"exceeded maximum resolution of 11,000 points per timeseries"}`)
		return
	}
	var vals []string
	for ts := start; ts <= end; ts += step {
		vals = append(vals, fmt.Sprintf(`[%d,"%d"]`, ts, ts%1000))
	}
	fmt.Fprintf(w, `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"__name__":"m","namespace":"shop"},"values":[%s]}]}}`, strings.Join(vals, ","))
}

func TestQueryRangeChunks(t *testing.T) {
	f := &fakeAPI{}
	srv := httptest.NewServer(f)
	defer srv.Close()
	c, err := New(srv.URL, Auth{BearerToken: "s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	end := t0.Add(30 * 24 * time.Hour)
	series, st, err := c.QueryRange(context.Background(), "m", t0, end, 15*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	wantPoints := 30*24*3600/15 + 1
	if want := Requests(t0, end, 15*time.Second, 0); st.Requests != want || want != 18 {
		t.Errorf("%d requests, Requests() says %d, want 18 for 30 days at 15 s", st.Requests, want)
	}
	if len(series) != 1 || len(series[0].Values) != wantPoints {
		t.Fatalf("%d series, want 1 with %d points", len(series), wantPoints)
	}
	for i, at := range series[0].Times {
		if want := t0.Add(time.Duration(i) * 15 * time.Second); !at.Equal(want) || series[0].Values[i] != float64(want.Unix()%1000) {
			t.Fatalf("point %d at %v = %v, want %v", i, at, series[0].Values[i], want)
		}
	}
	for i, r := range f.ranges {
		if (r[1]-r[0])/15+1 > DefaultChunkPoints {
			t.Errorf("request %d spans %d points", i, (r[1]-r[0])/15+1)
		}
		if i > 0 && r[0] != f.ranges[i-1][1]+15 {
			t.Errorf("request %d starts at %d, previous ended at %d", i, r[0], f.ranges[i-1][1])
		}
		if f.auth[i] != "Bearer s3cret" {
			t.Errorf("request %d Authorization %q", i, f.auth[i])
		}
	}
}

func TestAuth(t *testing.T) {
	for _, c := range []struct {
		url  string
		auth Auth
		want string
	}{
		{"", Auth{Username: "ann", Password: "pw"}, "Basic YW5uOnB3"},
		{"ann:pw@", Auth{}, "Basic YW5uOnB3"},
		{"", Auth{}, ""},
	} {
		f := &fakeAPI{}
		srv := httptest.NewServer(f)
		c2, err := New(strings.Replace(srv.URL, "://", "://"+c.url, 1), c.auth)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := c2.QueryRange(context.Background(), "m", t0, t0, time.Minute); err != nil {
			t.Fatal(err)
		}
		if f.auth[0] != c.want {
			t.Errorf("url %q auth %+v: Authorization %q, want %q", c.url, c.auth, f.auth[0], c.want)
		}
		srv.Close()
	}
	if _, err := New("http://a:b@host", Auth{BearerToken: "x"}); err == nil {
		t.Error("user info and a token accepted together")
	}
}

// TestErrorsHideCredentials checks a refused request names the server and
// query but never the token or password.
func TestErrorsHideCredentials(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, "Unauthorized")
	}))
	defer srv.Close()
	for _, auth := range []Auth{{BearerToken: "tok-3141"}, {Username: "ann", Password: "pw-2718"}} {
		c, err := New(srv.URL, auth)
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = c.QueryRange(context.Background(), "up", t0, t0, time.Minute)
		if err == nil || !strings.Contains(err.Error(), "HTTP 401: Unauthorized") || !strings.Contains(err.Error(), "query up") {
			t.Errorf("error %v, want HTTP 401 naming the query", err)
		}
		if err != nil && (strings.Contains(err.Error(), "3141") || strings.Contains(err.Error(), "2718")) {
			t.Errorf("error leaks a credential: %v", err)
		}
	}
	c, _ := New(strings.Replace(srv.URL, "://", "://ann:pw-2718@", 1), Auth{})
	c.Base.Host = "127.0.0.1:1" // nothing listens: the transport's error
	if _, _, err := c.QueryRange(context.Background(), "up", t0, t0, time.Minute); err == nil || strings.Contains(err.Error(), "2718") {
		t.Errorf("error %v: want one, without the password", err)
	}
}

func TestBadResponses(t *testing.T) {
	for _, c := range []struct{ body, want string }{
		{`not json`, "not a Prometheus API response"},
		{`{"status":"success","data":{"resultType":"vector","result":[]}}`, `result type "vector"`},
		{`{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"a":"1"},"values":[[1,"x"]]}]}}`, `series {a="1"}: point 1: value "x" is not a number`},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, c.body) }))
		cl, _ := New(srv.URL, Auth{})
		_, _, err := cl.QueryRange(context.Background(), "q", t0, t0, time.Minute)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "query q") {
			t.Errorf("body %s: error %v, want %q naming the query", c.body, err, c.want)
		}
		srv.Close()
	}
}

func TestParseWorkload(t *testing.T) {
	for in, ok := range map[string]bool{"shop/web": true, "shop": false, "/web": false, "shop/": false, "a/b/c": false} {
		if _, err := ParseWorkload(in); (err == nil) != ok {
			t.Errorf("ParseWorkload(%q): %v", in, err)
		}
	}
}

// TestRealPrometheusRefusesBadQuery checks the 4xx path against the real
// server: a query that does not parse is answered 400 bad_data.
func TestRealPrometheusRefusesBadQuery(t *testing.T) {
	prom := testenv.Prometheus(t, []byte("# TYPE m gauge\nm 1 1780272000\n# EOF\n"))
	c, err := New(prom.URL, Auth{})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = c.QueryRange(context.Background(), "m{", t0, t0.Add(time.Hour), 15*time.Second)
	if err == nil || !strings.Contains(err.Error(), "HTTP 400: bad_data") || !strings.Contains(err.Error(), "query m{") {
		t.Errorf("error %v, want HTTP 400 bad_data naming the query", err)
	}
	series, st, err := c.QueryRange(context.Background(), "m", t0, t0.Add(time.Hour), 15*time.Second)
	if err != nil || len(series) != 1 || st.Requests != 1 {
		t.Errorf("query m: %v, %d series in %d requests", err, len(series), st.Requests)
	}
}
