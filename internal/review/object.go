package review

import "strings"

// Object identifies a latched workload.
//
// It mirrors the one object identity of issue 8 (group, version, kind,
// namespace, name) until that package lands; only these five strings are
// used, so switching is a type change.
type Object struct {
	Group     string `json:"group,omitempty"`
	Version   string `json:"version,omitempty"`
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
}

// Ref is "Kind namespace/name" (or "Kind name" when cluster-scoped), for
// titles and messages.
func (o Object) Ref() string {
	if o.Namespace == "" {
		return o.Kind + " " + o.Name
	}
	return o.Kind + " " + o.Namespace + "/" + o.Name
}

// kindKey is the lower-case kind, with the group when there is one
// ("deployment.apps", "rollout.argoproj.io"), so two kinds of the same name
// in different API groups never share a branch.
func (o Object) kindKey() string {
	k := strings.ToLower(o.Kind)
	if o.Group != "" {
		k += "." + strings.ToLower(o.Group)
	}
	return k
}
