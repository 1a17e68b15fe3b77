package review

import "strings"

// BranchPrefix starts every branch latch opens a pull request from. The
// push guard in internal/gitrepo allows its lease-only push for these
// branches alone.
const BranchPrefix = "latch/"

// clusterScoped stands for the namespace of a cluster-scoped object.
const clusterScoped = "_cluster"

// Branch is the one branch latch uses for a workload's pull requests:
// latch/<cluster>/<namespace>/<kind>/<name>, where kind is lower case with
// its API group ("deployment.apps"). It is a pure function of the identity,
// so latch finds its PR after a restart without local state. Characters git
// refuses in a ref become "-"; an empty cluster is "default".
func Branch(cluster string, o Object) string {
	ns := o.Namespace
	if ns == "" {
		ns = clusterScoped
	}
	if cluster == "" {
		cluster = "default"
	}
	return BranchPrefix + refSegment(cluster) + "/" + refSegment(ns) + "/" + refSegment(kindKey(o)) + "/" + refSegment(o.Name)
}

// refSegment makes s one valid path segment of a git ref (see
// git-check-ref-format): only [A-Za-z0-9._-], no leading "." or "-", no "..",
// no trailing "." or ".lock".
func refSegment(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	out := b.String()
	for strings.Contains(out, "..") {
		out = strings.ReplaceAll(out, "..", ".")
	}
	if strings.HasSuffix(out, ".lock") {
		out = strings.TrimSuffix(out, ".lock") + "_lock"
	}
	out = strings.TrimRight(out, ".")
	if out == "" || out[0] == '.' || out[0] == '-' {
		out = "_" + out
	}
	return out
}

// IsBranch reports whether name is a branch latch opens PRs from.
func IsBranch(name string) bool {
	return strings.HasPrefix(name, BranchPrefix) && len(name) > len(BranchPrefix)
}
