// Package rolloutrecord is the one place that builds and parses latch's
// rollout records: one file per workload in the repository,
// .latch/rollouts/<namespace>/<kind>-<name>.md, YAML front matter that
// machines read (the workload, the version being rolled out and the last
// good one with their images, the milestone, the health, when it was
// written) and a short body that people read. The ".md" extension and the
// dot folder keep the repository a valid GitOps source: kubectl apply -R,
// Flux's generated kustomization and Argo CD directory apps read only
// .yaml, .yml and .json files (docs/rollouts.md).
//
// Reads go through internal/safefile (inside the checkout, regular files,
// a size cap); writes replace a file atomically. Errors name the file and
// the field. The package keeps no clock: the caller gives the time.
package rolloutrecord
