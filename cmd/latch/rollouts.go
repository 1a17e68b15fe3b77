package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
	ctrlclient "sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/latch-gitops/latch/internal/cluster"
	"github.com/latch-gitops/latch/internal/controller"
)

// followRollouts lets each pass of a one-shot command's latcher observe the
// rollouts of Deployments, StatefulSets and, where installed, Argo
// Rollouts live, paged, and keep their records in git (docs/rollouts.md).
// latch run reads them from its stripped caches instead
// (controller.RunOptions.FollowRollouts).
func followRollouts(latcher *controller.Latcher, cfg *rest.Config, namespace string, log *slog.Logger) error {
	reader, err := ctrlclient.New(cfg, ctrlclient.Options{})
	if err != nil {
		return fmt.Errorf("kubernetes client for rollouts: %w", err)
	}
	disc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return fmt.Errorf("discovery client for rollouts: %w", err)
	}
	src := cluster.LiveRollouts(reader)
	src.ArgoRollouts = controller.ArgoRolloutsInstalled(disc, log)
	latcher.Rollouts = func(ctx context.Context, now time.Time) ([]cluster.Rollout, error) {
		return cluster.ListRollouts(ctx, src, namespace, now)
	}
	return nil
}
