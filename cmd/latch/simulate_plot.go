package main

import (
	"fmt"
	"time"

	"github.com/latch-gitops/latch/internal/safefile"
	"github.com/latch-gitops/latch/internal/simplot"
	"github.com/latch-gitops/latch/internal/simulate"
)

// writePlot draws the simulation to path (.svg or .png), atomically: on an
// error no file, and no partial one, is left there.
func writePlot(path, title string, tr simulate.Trace, step time.Duration, declared []int64, opt *simulate.Optimum) error {
	format, err := simplot.Format(path)
	if err != nil {
		return fmt.Errorf("flag --plot: %w", err)
	}
	in := simplot.Input{Title: title, Observed: tr.Replicas(), Declared: declared, Times: tr.Times, Step: step}
	if opt != nil {
		in.Optimum = opt.Declared
	}
	data, err := simplot.Render(in, format)
	if err != nil {
		return err
	}
	if err := safefile.WriteFile(path, data, 0o644); err != nil {
		return fmt.Errorf("flag --plot: %w", err)
	}
	return nil
}
