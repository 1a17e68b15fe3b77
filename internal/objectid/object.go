// Package objectid is the one identity of a Kubernetes object in latch: the
// cluster observes objects by it, latch.yaml selects them by it, the
// manifest index finds their declaring bytes by it, and the evidence record
// names them by it. It is a leaf: it imports nothing of latch's.
package objectid

import (
	"fmt"
	"strings"
)

// Ref names a Kubernetes object. Identity for matching is Key (group, kind,
// namespace, name); Version is carried for display and for talking to the
// API server, and ignored when matching, since one object is served under
// several versions.
type Ref struct {
	Group     string `json:"group"`
	Version   string `json:"version"`
	Kind      string `json:"kind"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
}

// Key is what objects are matched on: a Ref without its version. It is
// comparable, so it keys maps directly.
type Key struct {
	Group, Kind, Namespace, Name string
}

// Key drops the version.
func (r Ref) Key() Key {
	return Key{Group: r.Group, Kind: r.Kind, Namespace: r.Namespace, Name: r.Name}
}

// FromAPIVersion builds a Ref from an object's apiVersion field value
// ("apps/v1", or "v1" for the core group) and the rest of its identity.
func FromAPIVersion(apiVersion, kind, namespace, name string) Ref {
	group, version := SplitAPIVersion(apiVersion)
	return Ref{Group: group, Version: version, Kind: kind, Namespace: namespace, Name: name}
}

// SplitAPIVersion splits an apiVersion value into group and version.
func SplitAPIVersion(apiVersion string) (group, version string) {
	if i := strings.LastIndex(apiVersion, "/"); i >= 0 {
		return apiVersion[:i], apiVersion[i+1:]
	}
	return "", apiVersion
}

// APIVersion is the apiVersion field value for the ref's group and version.
func (r Ref) APIVersion() string {
	if r.Group == "" {
		return r.Version
	}
	return r.Group + "/" + r.Version
}

// String renders the ref as group/version/Kind/namespace/name, or
// version/Kind/namespace/name for the core group, e.g.
// "apps/v1/Deployment/shop/web" and "v1/ConfigMap/shop/settings". A
// cluster-scoped object has an empty namespace segment: "v1/Namespace//shop".
// Parse reads it back; latch markers in manifests use it.
func (r Ref) String() string {
	return r.APIVersion() + "/" + r.Kind + "/" + r.Namespace + "/" + r.Name
}

// NamespacedName is "namespace/name", or "name" for a cluster-scoped object.
func (r Ref) NamespacedName() string {
	if r.Namespace == "" {
		return r.Name
	}
	return r.Namespace + "/" + r.Name
}

// WithNamespacedName returns r with namespace and name read from the
// NamespacedName form: everything before the last "/" is the namespace.
func (r Ref) WithNamespacedName(s string) Ref {
	r.Namespace, r.Name = "", s
	if i := strings.LastIndex(s, "/"); i >= 0 {
		r.Namespace, r.Name = s[:i], s[i+1:]
	}
	return r
}

// KindGroup is "Kind.group" as kubectl and latch.yaml write it
// ("Deployment.apps", "Rollout.argoproj.io"), or "Kind" for the core group.
func (r Ref) KindGroup() string {
	if r.Group == "" {
		return r.Kind
	}
	return r.Kind + "." + r.Group
}

// Parse reads the String form: five slash-separated parts for a named
// group, four for the core group. Kind, version and name are required; the
// namespace may be empty (cluster-scoped object).
func Parse(s string) (Ref, error) {
	parts := strings.Split(s, "/")
	var ref Ref
	switch len(parts) {
	case 4:
		ref = Ref{Version: parts[0], Kind: parts[1], Namespace: parts[2], Name: parts[3]}
	case 5:
		ref = Ref{Group: parts[0], Version: parts[1], Kind: parts[2], Namespace: parts[3], Name: parts[4]}
		if ref.Group == "" {
			return Ref{}, fmt.Errorf("object ref %q: empty group (write the core group as version/Kind/namespace/name)", s)
		}
	default:
		return Ref{}, fmt.Errorf("object ref %q: want group/version/Kind/namespace/name or version/Kind/namespace/name (core group)", s)
	}
	for _, p := range []struct{ what, v string }{{"version", ref.Version}, {"kind", ref.Kind}, {"name", ref.Name}} {
		if p.v == "" {
			return Ref{}, fmt.Errorf("object ref %q: empty %s", s, p.what)
		}
		if strings.TrimSpace(p.v) != p.v {
			return Ref{}, fmt.Errorf("object ref %q: %s has surrounding spaces", s, p.what)
		}
	}
	if strings.TrimSpace(ref.Namespace) != ref.Namespace {
		return Ref{}, fmt.Errorf("object ref %q: namespace has surrounding spaces", s)
	}
	return ref, nil
}

// ReplicasField is the field path of an object's replica count: the field
// latch latches by default, and the one /scale maps. Every package names it
// through this constant.
const ReplicasField = "spec.replicas"
