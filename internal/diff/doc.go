// Package diff compares the objects a repository declares with the live
// objects of the cluster, field by field and only the fields the manifest
// sets, and decides through the policy what each difference means: drift
// (immutable, or converge past its grace), "latch pending", converging, or
// nothing (ignore). It names who changed each drifted field from the live
// object's managedFields.
//
// It is pure: the caller gathers the declared objects (manifest.Render), the
// live objects (one LIST per kind), the policy, the type schemas and the
// time, and gets a Report back. No I/O, no clock. Values are compared typed
// with structured-merge-diff (lists matched by their merge keys) after
// small normalisers (see Normalizer) canonicalise what the API server would:
// quantities, int-or-string, the default protocol of ports, and zero values
// the server omits.
package diff
