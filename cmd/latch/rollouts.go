package main

import (
	"context"
	"fmt"
	"time"

	"k8s.io/client-go/rest"
	ctrlclient "sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/latch-gitops/latch/internal/cluster"
	"github.com/latch-gitops/latch/internal/controller"
)

// followRollouts lets each pass of a one-shot command's latcher observe the
// Deployments' rollouts live, paged, and keep their records in git
// (docs/rollouts.md). latch run reads them from its stripped caches instead
// (controller.RunOptions.FollowRollouts).
func followRollouts(latcher *controller.Latcher, cfg *rest.Config, namespace string) error {
	reader, err := ctrlclient.New(cfg, ctrlclient.Options{})
	if err != nil {
		return fmt.Errorf("kubernetes client for rollouts: %w", err)
	}
	latcher.Rollouts = func(ctx context.Context, now time.Time) ([]cluster.Rollout, error) {
		return cluster.ListRollouts(ctx, cluster.LiveRollouts(reader), namespace, now)
	}
	return nil
}
