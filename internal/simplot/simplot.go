// Package simplot draws one latch simulation as a picture (SVG or PNG):
// the observed replicas, the declared value as a step line, a marker at
// each commit and the coverage floor (half the observed, rounded up) the
// declared value must stay on or above. It renders to bytes and writes no
// file; callers write them with internal/safefile.
package simplot

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"path/filepath"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/latch-gitops/latch/internal/policy"
)

// Input is one simulation to draw.
type Input struct {
	Title string
	// Observed and Declared are the series, one value per sample.
	Observed, Declared []int64
	// Optimum, if not nil, is the offline optimum's schedule, drawn thin.
	Optimum []int64
	// Times places the samples; nil means sample i is at i·Step.
	Times []time.Time
	Step  time.Duration
}

// Format returns the picture format a file name asks for: "svg" or "png".
func Format(path string) (string, error) {
	switch ext := strings.ToLower(filepath.Ext(path)); ext {
	case ".svg", ".png":
		return ext[1:], nil
	default:
		return "", fmt.Errorf("%s: want a .svg or .png file name, got %q", path, ext)
	}
}

// buckets is how many columns the observed series is reduced to (the
// lowest and highest value of each), so a picture of half a million
// samples stays small and shows every peak.
const buckets = 1200

// maxMarkers is the most commits marked one by one; more would hide the
// picture (and take long to rasterise).
const maxMarkers = 2000

// decades is the range (highest ÷ lowest positive value) from which the
// y axis is logarithmic.
const decades = 100

// Colours: observed grey-blue, declared orange, floor red, optimum green.
var (
	observedColour = color.RGBA{R: 0x9d, G: 0xb9, B: 0xe0, A: 0xff}
	declaredColour = color.RGBA{R: 0xdd, G: 0x84, B: 0x52, A: 0xff}
	floorColour    = color.RGBA{R: 0xc4, G: 0x4e, B: 0x52, A: 0xff}
	optimumColour  = color.RGBA{R: 0x55, G: 0xa8, B: 0x68, A: 0xff}
)

// Render draws in as format ("svg" or "png") at 1200×500 points.
func Render(in Input, format string) ([]byte, error) {
	n := len(in.Observed)
	switch {
	case n == 0:
		return nil, fmt.Errorf("plot: no samples")
	case len(in.Declared) != n:
		return nil, fmt.Errorf("plot: %d observed samples but %d declared", n, len(in.Declared))
	case in.Optimum != nil && len(in.Optimum) != n:
		return nil, fmt.Errorf("plot: %d observed samples but %d optimum", n, len(in.Optimum))
	case in.Times != nil && len(in.Times) != n:
		return nil, fmt.Errorf("plot: %d observed samples but %d times", n, len(in.Times))
	case in.Times == nil && in.Step <= 0:
		return nil, fmt.Errorf("plot: step must be > 0 without times")
	}
	day := func(i int) float64 {
		if in.Times != nil {
			return in.Times[i].Sub(in.Times[0]).Hours() / 24
		}
		return float64(i) * in.Step.Hours() / 24
	}
	lo, hi := int64(math.MaxInt64), int64(0)
	for i, v := range in.Observed {
		for _, x := range []int64{v, in.Declared[i]} {
			if x > 0 {
				lo = min(lo, x)
			}
			hi = max(hi, x)
		}
	}
	logY := hi > 0 && hi >= decades*lo
	// y keeps a value drawable: a log axis cannot show 0.
	floorY := 0.0
	if logY {
		floorY = 0.5
	}
	y := func(v int64) float64 { return math.Max(float64(v), floorY) }

	p := plot.New()
	p.Title.Text = in.Title
	p.X.Label.Text = "days"
	if in.Times != nil {
		p.X.Label.Text = "days from " + in.Times[0].UTC().Format("2006-01-02 15:04 MST")
	}
	p.Y.Label.Text = "replicas"
	if logY {
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
		p.Y.Label.Text = "replicas (log)"
	}
	p.Add(plotter.NewGrid())
	p.Legend.Top, p.Legend.Left = true, true

	observed, floor := envelope(n, day, func(i int) float64 { return y(in.Observed[i]) },
		func(i int) float64 { return y(policy.MinSafe(in.Observed[i])) })
	band, err := plotter.NewPolygon(observed)
	if err != nil {
		return nil, fmt.Errorf("plot: observed: %w", err)
	}
	band.Color = observedColour
	band.LineStyle.Width = 0 // filled only: stroking its long outline is slow in PNG
	p.Add(band)
	p.Legend.Add("observed (lowest to highest per column)", band)
	// The band's upper edge stroked thin as well: a peak of a few samples
	// is one column wide, too thin for the fill alone to show.
	if err := addLine(p, "", observed[:len(observed)/2], observedColour, 0.6, nil, plotter.NoStep); err != nil {
		return nil, err
	}
	if err := addLine(p, "coverage floor (⌈observed/2⌉)", floor, floorColour, 0.6, []vg.Length{vg.Points(2), vg.Points(2)}, plotter.NoStep); err != nil {
		return nil, err
	}
	if in.Optimum != nil {
		if err := addLine(p, "offline optimum", steps(in.Optimum, day, y), optimumColour, 1, []vg.Length{vg.Points(5), vg.Points(3)}, plotter.PostStep); err != nil {
			return nil, err
		}
	}
	declared := steps(in.Declared, day, y)
	if err := addLine(p, "declared (latch)", declared, declaredColour, 1.5, nil, plotter.PostStep); err != nil {
		return nil, err
	}
	commits := make(plotter.XYs, 0, len(declared))
	for i := 1; i < len(declared)-1; i++ {
		commits = append(commits, declared[i])
	}
	if len(commits) > maxMarkers {
		p.Legend.Add(fmt.Sprintf("%d commits (too many to mark)", len(commits)))
	} else if len(commits) > 0 {
		s, err := plotter.NewScatter(commits)
		if err != nil {
			return nil, fmt.Errorf("plot: commits: %w", err)
		}
		s.GlyphStyle = draw.GlyphStyle{Color: declaredColour, Radius: vg.Points(2.5), Shape: draw.CircleGlyph{}}
		p.Add(s)
		p.Legend.Add(fmt.Sprintf("commit (%d)", len(commits)), s)
	}
	if logY {
		p.Y.Min = math.Max(floorY, float64(lo)/1.5)
	} else {
		p.Y.Min = 0
	}
	p.Y.Max = float64(hi) * 1.1
	p.X.Min, p.X.Max = 0, day(n-1)

	wt, err := p.WriterTo(vg.Points(1200), vg.Points(500), format)
	if err != nil {
		return nil, fmt.Errorf("plot: %w", err)
	}
	var buf bytes.Buffer
	if _, err := wt.WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("plot: rendering %s: %w", format, err)
	}
	return buf.Bytes(), nil
}

// envelope reduces n samples to at most buckets columns: the band of
// the observed value between the lowest and highest of each (it shows
// every peak) and, for the floor, the highest (what the declared value had
// to reach).
func envelope(n int, x func(int) float64, obs, floor func(int) float64) (band, top plotter.XYs) {
	per := max(1, (n+buckets-1)/buckets)
	var lows plotter.XYs
	for start := 0; start < n; start += per {
		end := min(n, start+per)
		lo, hi, f := math.Inf(1), math.Inf(-1), math.Inf(-1)
		for i := start; i < end; i++ {
			v := obs(i)
			lo, hi, f = math.Min(lo, v), math.Max(hi, v), math.Max(f, floor(i))
		}
		// Each column spans its samples' x range, so a flat series draws
		// as a line, not as dots.
		for _, at := range []float64{x(start), x(end - 1)} {
			band = append(band, plotter.XY{X: at, Y: hi})
			lows = append(lows, plotter.XY{X: at, Y: lo})
			top = append(top, plotter.XY{X: at, Y: f})
		}
	}
	for i := len(lows) - 1; i >= 0; i-- {
		band = append(band, lows[i])
	}
	return band, top
}

// steps returns the points where a series changes value, plus its first
// and last sample: a post-step line through them draws the series exactly.
func steps(v []int64, x func(int) float64, y func(int64) float64) plotter.XYs {
	out := plotter.XYs{{X: x(0), Y: y(v[0])}}
	for i := 1; i < len(v); i++ {
		if v[i] != v[i-1] {
			out = append(out, plotter.XY{X: x(i), Y: y(v[i])})
		}
	}
	return append(out, plotter.XY{X: x(len(v) - 1), Y: y(v[len(v)-1])})
}

// strokePoints is how many points one stroked path holds: the PNG
// rasteriser's time grows with the square of a path's length, so a long
// line is drawn as many short ones, each starting where the last ended.
const strokePoints = 64

func addLine(p *plot.Plot, name string, xys plotter.XYs, c color.Color, width float64, dashes []vg.Length, step plotter.StepKind) error {
	for from := 0; from == 0 || from < len(xys)-1; from += strokePoints - 1 {
		l, err := plotter.NewLine(xys[from:min(len(xys), from+strokePoints)])
		if err != nil {
			return fmt.Errorf("plot: %s: %w", name, err)
		}
		l.LineStyle.Color = c
		l.LineStyle.Width = vg.Points(width)
		l.LineStyle.Dashes = dashes
		l.StepStyle = step
		p.Add(l)
		if from == 0 && name != "" {
			p.Legend.Add(name, l)
		}
	}
	return nil
}
