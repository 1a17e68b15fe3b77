package manifest

import (
	"fmt"
	"strings"
)

// ObjectRef names a Kubernetes object. Identity for look-ups is (Group, Kind,
// Namespace, Name); Version is carried for display and ignored when matching,
// since one object is served under several versions.
type ObjectRef struct {
	Group     string `json:"group"`
	Version   string `json:"version"`
	Kind      string `json:"kind"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
}

// String renders the ref as group/version/Kind/namespace/name, or
// version/Kind/namespace/name for the core group, e.g.
// "apps/v1/Deployment/shop/web" and "v1/ConfigMap/shop/settings". A
// cluster-scoped object has an empty namespace segment: "v1/Namespace//shop".
func (r ObjectRef) String() string {
	if r.Group == "" {
		return r.Version + "/" + r.Kind + "/" + r.Namespace + "/" + r.Name
	}
	return r.Group + "/" + r.Version + "/" + r.Kind + "/" + r.Namespace + "/" + r.Name
}

// APIVersion is the apiVersion field value for the ref's group and version.
func (r ObjectRef) APIVersion() string {
	if r.Group == "" {
		return r.Version
	}
	return r.Group + "/" + r.Version
}

// ParseObjectRef parses the String form: five slash-separated parts for a
// named group, four for the core group. Kind, version and name are required;
// the namespace may be empty (cluster-scoped object).
func ParseObjectRef(s string) (ObjectRef, error) {
	parts := strings.Split(s, "/")
	var ref ObjectRef
	switch len(parts) {
	case 4:
		ref = ObjectRef{Version: parts[0], Kind: parts[1], Namespace: parts[2], Name: parts[3]}
	case 5:
		ref = ObjectRef{Group: parts[0], Version: parts[1], Kind: parts[2], Namespace: parts[3], Name: parts[4]}
		if ref.Group == "" {
			return ObjectRef{}, fmt.Errorf("object ref %q: empty group (write the core group as version/Kind/namespace/name)", s)
		}
	default:
		return ObjectRef{}, fmt.Errorf("object ref %q: want group/version/Kind/namespace/name or version/Kind/namespace/name (core group)", s)
	}
	for _, p := range []struct{ what, v string }{{"version", ref.Version}, {"kind", ref.Kind}, {"name", ref.Name}} {
		if p.v == "" {
			return ObjectRef{}, fmt.Errorf("object ref %q: empty %s", s, p.what)
		}
		if strings.TrimSpace(p.v) != p.v {
			return ObjectRef{}, fmt.Errorf("object ref %q: %s has surrounding spaces", s, p.what)
		}
	}
	if strings.TrimSpace(ref.Namespace) != ref.Namespace {
		return ObjectRef{}, fmt.Errorf("object ref %q: namespace has surrounding spaces", s)
	}
	return ref, nil
}

// refFromAPIVersion splits an apiVersion value into group and version.
func splitAPIVersion(apiVersion string) (group, version string) {
	if i := strings.LastIndex(apiVersion, "/"); i >= 0 {
		return apiVersion[:i], apiVersion[i+1:]
	}
	return "", apiVersion
}

// identity is the key objects are matched on: version is left out.
type identity struct {
	Group, Kind, Namespace, Name string
}

func (r ObjectRef) identity() identity {
	return identity{Group: r.Group, Kind: r.Kind, Namespace: r.Namespace, Name: r.Name}
}
