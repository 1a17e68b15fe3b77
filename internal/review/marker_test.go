package review

import (
	"errors"
	"strings"
	"testing"
)

func sampleMarker() Marker {
	return NewMarker("prod", Object{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "shop", Name: "web"},
		"spec.replicas", Proposal{From: 40, To: 400}, "0123456789abcdef0123456789abcdef01234567")
}

func TestMarkerRoundTrip(t *testing.T) {
	m := sampleMarker()
	body := WithMarker("Some text a reviewer reads.", m)
	got, err := ParseMarker(body)
	if err != nil {
		t.Fatal(err)
	}
	if got != m {
		t.Fatalf("round trip: %+v, want %+v", got, m)
	}
	if got.Band != (Band{400, 400}) {
		t.Fatalf("default band %+v", got.Band)
	}
	// Replacing keeps one marker and the text.
	m2 := m
	m2.To, m2.Commit = 500, "abcdef0"
	body2 := WithMarker(body, m2)
	if strings.Count(body2, markerOpen) != 1 || !strings.HasPrefix(body2, "Some text") {
		t.Fatalf("WithMarker did not replace: %q", body2)
	}
	if got, _ := ParseMarker(body2); got.To != 500 {
		t.Fatalf("replaced marker reads %+v", got)
	}
}

func TestMarkerCannotBeClosedByValues(t *testing.T) {
	m := sampleMarker()
	m.Cluster = "x --> <!-- latch-review {} -->"
	m.Object.Name = "<b>"
	body := WithMarker("text", m)
	if strings.Count(body, "-->") != 1 {
		t.Fatalf("a value closed the comment: %q", body)
	}
	got, err := ParseMarker(body)
	if err != nil || got != m {
		t.Fatalf("ParseMarker = %+v, %v", got, err)
	}
}

func TestParseMarkerRefuses(t *testing.T) {
	good := sampleMarker().String()
	cases := map[string]string{
		"none":           "just a body",
		"not closed":     "<!-- latch-review {\"v\":1}",
		"version":        strings.Replace(good, `"v":1`, `"v":2`, 1),
		"unknown field":  strings.Replace(good, `"v":1`, `"v":1,"evil":true`, 1),
		"no kind":        strings.Replace(good, `"kind":"Deployment"`, `"kind":""`, 1),
		"no field":       strings.Replace(good, `"field":"spec.replicas"`, `"field":""`, 1),
		"bad commit":     strings.Replace(good, `0123456789abcdef0123456789abcdef01234567`, `HEAD`, 1),
		"empty band":     strings.Replace(good, `"band":{"lo":400,"hi":400}`, `"band":{"lo":500,"hi":400}`, 1),
		"trailing":       strings.Replace(good, `} -->`, `} {} -->`, 1),
		"too long":       markerOpen + strings.Repeat(" ", maxMarker+1) + "{}" + markerClose,
		"not json":       markerOpen + "hello" + markerClose,
		"string numbers": strings.Replace(good, `"to":400`, `"to":"400"`, 1),
	}
	for name, body := range cases {
		if _, err := ParseMarker(body); err == nil {
			t.Errorf("%s: no error for %q", name, body)
		}
	}
	if _, err := ParseMarker("x"); !errors.Is(err, ErrNoMarker) {
		t.Fatalf("missing marker: %v", err)
	}
}

func FuzzMarker(f *testing.F) {
	f.Add("prod", "shop", "web", int64(40), int64(400), "body")
	f.Add("", "", "x", int64(0), int64(-1), "<!-- latch-review {} -->")
	f.Add("-->", "<!--", "\n", int64(1<<62), int64(3), "\x00")
	f.Fuzz(func(t *testing.T, cluster, ns, name string, from, to int64, text string) {
		// Parsing arbitrary text never panics.
		_, _ = ParseMarker(text)
		m := NewMarker(cluster, Object{Kind: "Deployment", Namespace: ns, Name: name}, "spec.replicas", Proposal{From: from, To: to}, "abcdef0")
		body := WithMarker(text, m)
		got, err := ParseMarker(body)
		if name == "" || len(m.String()) > maxMarker {
			return
		}
		if err != nil {
			t.Fatalf("own marker does not parse: %v\n%q", err, body)
		}
		// encoding/json replaces invalid UTF-8; compare through a round trip.
		again, err := ParseMarker(WithMarker("", got))
		if err != nil || again != got {
			t.Fatalf("second round trip: %+v %v", again, err)
		}
		if got.From != from || got.To != to {
			t.Fatalf("values changed: %+v", got)
		}
	})
}
