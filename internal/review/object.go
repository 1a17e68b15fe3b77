package review

import (
	"strings"

	"github.com/latch-gitops/latch/internal/objectid"
)

// Object identifies a latched workload: latch's one object identity.
type Object = objectid.Ref

// ref is "Kind namespace/name" (or "Kind name" when cluster-scoped), for
// titles and messages.
func ref(o Object) string { return o.Kind + " " + o.NamespacedName() }

// kindKey is the lower-case kind, with the group when there is one
// ("deployment.apps", "rollout.argoproj.io"), so two kinds of the same name
// in different API groups never share a branch.
func kindKey(o Object) string {
	k := strings.ToLower(o.Kind)
	if o.Group != "" {
		k += "." + strings.ToLower(o.Group)
	}
	return k
}
