package simplot

import (
	"bytes"
	"encoding/xml"
	"image/png"
	"io"
	"strings"
	"testing"
	"time"
)

// svgText parses an SVG and returns its text elements and the number of
// path elements; a document that does not parse fails the test.
func svgText(t *testing.T, data []byte) ([]string, int) {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(data))
	var texts []string
	paths, inText := 0, false
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return texts, paths
		}
		if err != nil {
			t.Fatalf("SVG does not parse: %v", err)
		}
		switch el := tok.(type) {
		case xml.StartElement:
			inText = el.Name.Local == "text"
			if el.Name.Local == "path" {
				paths++
			}
		case xml.CharData:
			if inText {
				texts = append(texts, strings.TrimSpace(string(el)))
			}
		case xml.EndElement:
			inText = false
		}
	}
}

func TestRenderSVG(t *testing.T) {
	// Two decades (2 … 400): a log axis; three commits.
	obs := []int64{2, 3, 2, 400, 380, 20, 2, 2}
	decl := []int64{2, 2, 2, 250, 250, 250, 10, 10}
	for _, c := range []struct {
		name      string
		in        Input
		wantTexts []string
		noTexts   []string
	}{
		{"log", Input{Title: "spiky", Observed: obs, Declared: decl, Step: 15 * time.Second},
			[]string{"spiky", "observed (lowest to highest per column)", "declared (latch)", "coverage floor (⌈observed/2⌉)", "commit (2)", "replicas (log)", "100"}, []string{"offline optimum"}},
		{"linear with optimum", Input{Title: "flat", Observed: []int64{5, 6, 7, 6}, Declared: []int64{5, 5, 10, 10}, Optimum: []int64{10, 10, 10, 10},
			Times: []time.Time{time.Unix(0, 0), time.Unix(15, 0), time.Unix(30, 0), time.Unix(45, 0)}},
			[]string{"flat", "replicas", "offline optimum", "commit (1)", "days from 1970-01-01 00:00 UTC"}, []string{"replicas (log)"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			data, err := Render(c.in, "svg")
			if err != nil {
				t.Fatal(err)
			}
			texts, paths := svgText(t, data)
			joined := strings.Join(texts, "\n")
			for _, w := range c.wantTexts {
				if !strings.Contains(joined, w) {
					t.Errorf("SVG lacks text %q; texts:\n%s", w, joined)
				}
			}
			for _, w := range c.noTexts {
				if strings.Contains(joined, w) {
					t.Errorf("SVG has text %q", w)
				}
			}
			if paths < 4 {
				t.Errorf("%d paths: the series are not drawn", paths)
			}
		})
	}
}

func TestRenderPNGAndBuckets(t *testing.T) {
	obs := make([]int64, 100000)
	for i := range obs {
		obs[i] = int64(1 + i%500)
	}
	data, err := Render(Input{Observed: obs, Declared: obs, Step: time.Second}, "png")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := png.Decode(bytes.NewReader(data)); err != nil {
		t.Fatalf("not a PNG: %v", err)
	}
	o, f := envelope(len(obs), func(i int) float64 { return float64(i) }, func(i int) float64 { return float64(obs[i]) }, func(i int) float64 { return float64(obs[i]) })
	if len(o) > 4*buckets+4 || len(f) > 2*buckets+2 {
		t.Errorf("envelope of %d samples has %d and %d points", len(obs), len(o), len(f))
	}
}

func TestRenderErrors(t *testing.T) {
	if _, err := Format("x.pdf"); err == nil || !strings.Contains(err.Error(), `x.pdf: want a .svg or .png file name, got ".pdf"`) {
		t.Errorf("Format(x.pdf): %v", err)
	}
	if _, err := Render(Input{Observed: []int64{1}, Declared: []int64{1, 2}, Step: time.Second}, "svg"); err == nil {
		t.Error("length mismatch accepted")
	}
	if _, err := Render(Input{}, "svg"); err == nil {
		t.Error("no samples accepted")
	}
}
