// Package deploytest checks latch's install artefacts without a cluster or a
// container engine: it lints and renders the Helm chart in deploy/chart with
// the Helm SDK, builds deploy/kustomize with the kustomize API, and holds both
// to the same invariants — read-only RBAC by default, leader election confined
// to a namespaced Role, a non-root pod with a read-only root filesystem, flags
// that agree with ports, mounts and probes — and to each other. It also reads
// the repository's Dockerfile for pinned images, a non-root user and a Go
// version that matches go.mod.
//
// It is a module of its own so the Helm SDK's dependencies stay out of latch's
// go.mod. Run it with deploy/test/run.sh.
package deploytest
