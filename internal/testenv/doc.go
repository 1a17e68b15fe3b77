// Package testenv starts the real parts latch is tested against — a
// Kubernetes API server (etcd + kube-apiserver), a whole cluster with a
// controller manager, scheduler and kwok fake nodes, a git remote over smart
// HTTP, and a Gitea forge — each on free loopback ports, each stopped when the
// test ends, also when it fails or panics.
//
// The binaries come from hack/testbin.sh, which builds them from the Go module
// proxy into a cache folder outside the repository (see TestBinDir). When one
// is missing a test skips with the reason; when CI is set it fails instead,
// because a skipped real test in CI is a broken promise.
package testenv
