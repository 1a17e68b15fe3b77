package cluster

import (
	"encoding/json"
	"fmt"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/managedfields"
	"k8s.io/kube-openapi/pkg/spec3"
)

// TypeConverter fetches the OpenAPI v3 document the API server publishes
// for one group-version (a CRD's structural schema, with its list types and
// merge keys) and builds a structured-merge-diff converter from it: the
// schema the server itself uses for server-side apply. Built-in kinds need
// no request: client-go embeds theirs.
func (r *Reader) TypeConverter(gv schema.GroupVersion) (managedfields.TypeConverter, error) {
	paths, err := r.disco.OpenAPIV3().Paths()
	if err != nil {
		return nil, fmt.Errorf("OpenAPI v3 index: %w", err)
	}
	key := "apis/" + gv.Group + "/" + gv.Version
	if gv.Group == "" {
		key = "api/" + gv.Version
	}
	gvPath, ok := paths[key]
	if !ok {
		return nil, fmt.Errorf("%s: the server publishes no OpenAPI v3 schema for it", gv)
	}
	raw, err := gvPath.Schema("application/json")
	if err != nil {
		return nil, fmt.Errorf("%s OpenAPI v3 schema: %w", gv, err)
	}
	var doc spec3.OpenAPI
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("%s OpenAPI v3 schema: %w", gv, err)
	}
	if doc.Components == nil {
		return nil, fmt.Errorf("%s OpenAPI v3 schema has no components", gv)
	}
	tc, err := managedfields.NewTypeConverter(doc.Components.Schemas, false)
	if err != nil {
		return nil, fmt.Errorf("%s schema: %w", gv, err)
	}
	return tc, nil
}
