// Command latch keeps the environment-decided state of Kubernetes workloads
// (autoscaled replicas, rollout milestones) latched into a GitOps repository
// in round numbers, so a cluster rebuilt from git can cope.
//
// This package is deliberately thin: it parses flags and hands off to the
// internal packages, which hold every decision and every side effect.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRootCommand(os.Stdout, os.Stderr).ExecuteContext(ctx)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "latch: %v\n", err)
		os.Exit(1)
	}
}
