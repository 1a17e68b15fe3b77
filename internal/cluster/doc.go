// Package cluster observes the live cluster for latch: which workloads
// exist, the scale they run at, who set it (the managedFields manager of
// spec.replicas), and the min/max of the HorizontalPodAutoscaler that drives
// them. It only reads; every decision is made elsewhere.
package cluster
