// Package simulate replays a trace of observed replica counts (or of load,
// turned into replicas by the standard HPA rule) through the latch policy
// and measures what latching would have cost and bought: commits written
// against scale changes seen, coverage of a restore at any moment, and the
// over-provisioning a restore would start with. It reads traces but does no
// other I/O; the latch simulate command and bench/simulate drive it.
package simulate
