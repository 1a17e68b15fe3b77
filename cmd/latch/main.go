// Command latch keeps the environment-decided state of Kubernetes workloads
// (autoscaled replicas, rollout milestones) latched into a GitOps repository
// in round numbers, so a cluster rebuilt from git can cope.
//
// This package is deliberately thin: it parses flags and hands off to the
// internal packages, which hold every decision and every side effect.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	root := newRootCommand(os.Stdout, os.Stderr)
	if strings.HasPrefix(filepath.Base(os.Args[0]), "kubectl-") {
		root.Use = "kubectl latch" // run by kubectl as a plugin: kubectl latch diff
	}
	root.SetArgs(kubectlVerbosity(os.Args[1:]))
	err := root.ExecuteContext(ctx)
	stop()
	var exit *exitCodeError
	switch {
	case errors.As(err, &exit):
		if exit.err != nil {
			fmt.Fprintf(os.Stderr, "latch: %v\n", exit.err)
		}
		os.Exit(exit.code)
	case err != nil:
		fmt.Fprintf(os.Stderr, "latch: %v\n", err)
		os.Exit(1)
	}
}
