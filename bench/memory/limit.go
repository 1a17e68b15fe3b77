package main

import (
	"fmt"
	"math"
	"os"

	"k8s.io/apimachinery/pkg/api/resource"
	"sigs.k8s.io/yaml"
)

// chartValues is the chart whose memory limit the benchmark holds latch to.
const chartValues = "deploy/chart/values.yaml"

// chartMemoryLimit reads resources.limits.memory from the chart's values.
func chartMemoryLimit(path string) (int64, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("reading the chart's memory limit: %w", err)
	}
	var values struct {
		Resources struct {
			Limits struct {
				Memory string `json:"memory"`
			} `json:"limits"`
		} `json:"resources"`
	}
	if err := yaml.Unmarshal(data, &values); err != nil {
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	q, err := resource.ParseQuantity(values.Resources.Limits.Memory)
	if err != nil {
		return 0, fmt.Errorf("%s: resources.limits.memory %q: %w", path, values.Resources.Limits.Memory, err)
	}
	return q.Value(), nil
}

// limitFor is the memory limit a cluster of n Deployments needs, from the
// measured peak slope: the peak extrapolated to n, over the share of the
// limit the Go runtime is held to, rounded up to a multiple of 128 MiB.
func limitFor(n int, peakAt float64, atSize int, peakPerWorkload, share float64) int64 {
	peak := peakAt + float64(n-atSize)*peakPerWorkload
	step := float64(128 * mib)
	return int64(math.Ceil(peak/share/step) * step)
}
