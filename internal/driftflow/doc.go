// Package driftflow is the I/O around diff and enforce: it gathers what
// diff.Compare needs from a rendered repository and the cluster (one paged
// LIST per declared kind, each kind's schema), and for `latch run
// --enforce` acts on enforce's verdicts: a server-side apply per allowed
// revert as enforce.FieldManager, Events and metrics for reverts and fights.
// The decisions themselves (what drifted, what to revert, when a revert
// loop is a fight) are diff's and enforce's, pure.
package driftflow
