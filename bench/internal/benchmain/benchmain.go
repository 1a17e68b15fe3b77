// Package benchmain is the frame every benchmark program under bench/
// shares around its own measurement: the -quick and -doc flags, progress
// lines on stderr, one run inside a testenv.Session under a context that
// SIGINT and SIGTERM cancel, and printing the markdown section and
// rewriting it in the benchmarks file (through benchdoc).
package benchmain

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/latch-gitops/latch/bench/internal/benchdoc"
	"github.com/latch-gitops/latch/internal/testenv"
)

// Parse defines -quick (quickHelp says what the smoke run is) and -doc
// (the markdown file whose section called name is rewritten), parses the
// command line, calls quick when -quick was given, and returns -doc.
func Parse(name, quickHelp string, quick func()) (doc string) {
	q := flag.Bool("quick", false, quickHelp)
	d := flag.String("doc", "docs/benchmarks.md", "markdown file whose "+name+` section is rewritten ("" prints only)`)
	flag.Parse()
	if *q {
		quick()
	}
	return *d
}

// Logf writes one progress line to stderr.
func Logf(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }

// Exitf prints "bench/<name>: <message>" to stderr and exits with code
// (2: bad flags, 1: the run failed).
func Exitf(name string, code int, format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench/"+name+": "+format+"\n", args...)
	os.Exit(code)
}

// List splits the comma-separated value of -flagName and reads each item
// with parse; on an item parse rejects it exits with code 2, saying the
// item "is not <what>".
func List[T any](name, flagName, value, what string, parse func(string) (T, bool)) []T {
	var out []T
	for _, item := range strings.Split(value, ",") {
		v, ok := parse(strings.TrimSpace(item))
		if !ok {
			Exitf(name, 2, "-%s: %q is not %s", flagName, item, what)
		}
		out = append(out, v)
	}
	return out
}

// Measure runs one benchmark with session's fixtures and returns its
// markdown section; machine is the section's header line for this run
// (benchdoc.Machine).
type Measure func(ctx context.Context, session *testenv.Session, machine string) (section string, err error)

// Run runs measure inside a testenv.Session (every process and temp dir it
// starts is stopped and removed before Run goes on) under a context that
// SIGINT and SIGTERM cancel, prints the section and, unless doc is "",
// rewrites the section called name in doc. On an error it exits 1 (Exitf).
func Run(name, doc string, measure Measure) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	machine := benchdoc.Machine(name, os.Args, time.Now())
	session := &testenv.Session{Log: Logf}
	var text string
	err := session.Run(func() error {
		var err error
		text, err = measure(ctx, session, machine)
		return err
	})
	if err != nil {
		Exitf(name, 1, "%v", err)
	}
	fmt.Print(text)
	if doc != "" {
		if err := benchdoc.RewriteSection(doc, name, text); err != nil {
			Exitf(name, 1, "%v", err)
		}
	}
}
