// Package manifest finds where a GitOps checkout declares each Kubernetes
// object's latched fields (plain YAML, Kustomize overlays and patches, and
// "$latch" marker comments in Helm values or any other YAML), and edits
// exactly the bytes of those scalars: comments, key order, quoting,
// indentation, flow style, line endings and document separators are kept.
//
// BuildIndex walks the checkout once and parses each file once; Lookup and
// HPAFor are then map look-ups. ApplyEdits re-reads each file, refuses when
// the bytes no longer hold the value the index saw (a person changed them),
// verifies the edited file still parses with the new value in place, and
// replaces the file atomically. This package does no git operations.
package manifest
