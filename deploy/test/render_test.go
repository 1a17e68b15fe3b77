package deploytest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"helm.sh/helm/v4/pkg/chart/common"
	chartutil "helm.sh/helm/v4/pkg/chart/common/util"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"helm.sh/helm/v4/pkg/engine"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	k8syaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

const (
	chartDir = "../chart"
	// Where kustomizeFS puts deploy/kustomize and its example overlay.
	kustomizeBase    = "/deploy/kustomize"
	kustomizeExample = "/deploy/examples/kustomize"

	// The release the chart is rendered as; the kustomize base uses the
	// same names and namespace, so the two renderings compare object by object.
	releaseName      = "latch"
	releaseNamespace = "latch-system"

	testSecret = "latch-git"
	testRepo   = "https://git.example.com/platform/fleet.git"
)

// object is one rendered Kubernetes object: where it came from and its typed
// form, decoded strictly (an unknown or misspelt field is an error).
type object struct {
	source    string // template file, or "kustomize"
	kind      string
	name      string
	namespace string
	typed     any // *appsv1.Deployment, *rbacv1.ClusterRole, ...
}

func (o object) String() string {
	if o.namespace == "" {
		return fmt.Sprintf("%s %s (%s)", o.kind, o.name, o.source)
	}
	return fmt.Sprintf("%s %s/%s (%s)", o.kind, o.namespace, o.name, o.source)
}

// knownKinds maps each kind the install may contain to its apiVersion and a
// constructor for its typed form. A kind not listed here fails the parse, so
// a new object in the chart needs a deliberate look at this test.
var knownKinds = map[string]struct {
	apiVersion string
	newTyped   func() any
}{
	"Namespace":          {"v1", func() any { return &corev1.Namespace{} }},
	"ServiceAccount":     {"v1", func() any { return &corev1.ServiceAccount{} }},
	"ConfigMap":          {"v1", func() any { return &corev1.ConfigMap{} }},
	"Service":            {"v1", func() any { return &corev1.Service{} }},
	"Deployment":         {"apps/v1", func() any { return &appsv1.Deployment{} }},
	"ClusterRole":        {"rbac.authorization.k8s.io/v1", func() any { return &rbacv1.ClusterRole{} }},
	"ClusterRoleBinding": {"rbac.authorization.k8s.io/v1", func() any { return &rbacv1.ClusterRoleBinding{} }},
	"Role":               {"rbac.authorization.k8s.io/v1", func() any { return &rbacv1.Role{} }},
	"RoleBinding":        {"rbac.authorization.k8s.io/v1", func() any { return &rbacv1.RoleBinding{} }},
}

// parseObjects splits a multi-document YAML stream and decodes each document
// strictly into its typed form.
func parseObjects(source string, stream []byte) ([]object, error) {
	reader := k8syaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(stream)))
	var objects []object
	for docIndex := 0; ; docIndex++ {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return objects, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", source, docIndex, err)
		}
		var head struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
			Metadata   struct {
				Name      string `json:"name"`
				Namespace string `json:"namespace"`
			} `json:"metadata"`
		}
		var generic map[string]any
		if err := yaml.Unmarshal(doc, &generic); err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", source, docIndex, err)
		}
		if generic == nil { // only comments or whitespace
			continue
		}
		if err := yaml.Unmarshal(doc, &head); err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", source, docIndex, err)
		}
		known, ok := knownKinds[head.Kind]
		if !ok {
			return nil, fmt.Errorf("%s: document %d: unexpected kind %q", source, docIndex, head.Kind)
		}
		if head.APIVersion != known.apiVersion {
			return nil, fmt.Errorf("%s: %s %s: apiVersion %q, want %q", source, head.Kind, head.Metadata.Name, head.APIVersion, known.apiVersion)
		}
		if head.Metadata.Name == "" {
			return nil, fmt.Errorf("%s: document %d: %s without metadata.name", source, docIndex, head.Kind)
		}
		typed := known.newTyped()
		if err := yaml.UnmarshalStrict(doc, typed); err != nil {
			return nil, fmt.Errorf("%s: %s %s: %w", source, head.Kind, head.Metadata.Name, err)
		}
		objects = append(objects, object{
			source: source, kind: head.Kind, name: head.Metadata.Name,
			namespace: head.Metadata.Namespace, typed: typed,
		})
	}
}

// rendering is everything one chart render or kustomize build produced.
type rendering []object

func (r rendering) ofKind(kind string) []object {
	var out []object
	for _, o := range r {
		if o.kind == kind {
			out = append(out, o)
		}
	}
	return out
}

// kinds counts the objects of each kind.
func (r rendering) kinds() map[string]int {
	counts := map[string]int{}
	for _, o := range r {
		counts[o.kind]++
	}
	return counts
}

// only returns the single object of a kind, failing the test otherwise.
func only[T any](t *testing.T, r rendering, kind string) T {
	t.Helper()
	objs := r.ofKind(kind)
	if len(objs) != 1 {
		t.Fatalf("want exactly one %s, got %d: %v", kind, len(objs), objs)
	}
	typed, ok := objs[0].typed.(T)
	if !ok {
		t.Fatalf("%v: typed as %T", objs[0], objs[0].typed)
	}
	return typed
}

// requiredValues are the values the chart cannot render without.
func requiredValues() map[string]any {
	return map[string]any{
		"git":    map[string]any{"secretName": testSecret},
		"config": map[string]any{"repo": testRepo},
	}
}

// with returns a deep copy of vals with the dotted path set to v.
func with(vals map[string]any, path string, v any) map[string]any {
	out := deepCopy(vals)
	keys := strings.Split(path, ".")
	node := out
	for _, k := range keys[:len(keys)-1] {
		child, ok := node[k].(map[string]any)
		if !ok {
			child = map[string]any{}
			node[k] = child
		}
		node = child
	}
	node[keys[len(keys)-1]] = v
	return out
}

// without returns a deep copy of vals with the dotted path removed.
func without(vals map[string]any, path string) map[string]any {
	out := deepCopy(vals)
	keys := strings.Split(path, ".")
	node := out
	for _, k := range keys[:len(keys)-1] {
		child, ok := node[k].(map[string]any)
		if !ok {
			return out
		}
		node = child
	}
	delete(node, keys[len(keys)-1])
	return out
}

func deepCopy(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		if child, ok := v.(map[string]any); ok {
			v = deepCopy(child)
		}
		out[k] = v
	}
	return out
}

// renderChart renders deploy/chart as `helm template latch -n latch-system`
// would, with the schema checked, and parses every object.
func renderChart(vals map[string]any) (rendering, error) {
	chart, err := loader.Load(chartDir)
	if err != nil {
		return nil, fmt.Errorf("loading chart %s: %w", chartDir, err)
	}
	options := common.ReleaseOptions{Name: releaseName, Namespace: releaseNamespace, Revision: 1, IsInstall: true}
	renderValues, err := chartutil.ToRenderValuesWithSchemaValidation(chart, vals, options, common.DefaultCapabilities, false)
	if err != nil {
		return nil, fmt.Errorf("chart values: %w", err)
	}
	files, err := engine.Render(chart, renderValues)
	if err != nil {
		return nil, fmt.Errorf("rendering chart: %w", err)
	}
	var out rendering
	for _, name := range slices.Sorted(maps.Keys(files)) {
		if !strings.HasSuffix(name, ".yaml") {
			continue // NOTES.txt, helpers
		}
		objects, err := parseObjects(name, []byte(files[name]))
		if err != nil {
			return nil, err
		}
		out = append(out, objects...)
	}
	return out, nil
}

// kustomizeFS copies deploy/kustomize and deploy/examples into an in-memory
// filesystem at /deploy, so a test can add overlays beside them without
// touching the work tree.
func kustomizeFS(t *testing.T) filesys.FileSystem {
	t.Helper()
	memFS := filesys.MakeFsInMemory()
	for _, dir := range []string{"kustomize", "examples"} {
		src := filepath.Join("..", dir)
		err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			rel, err := filepath.Rel("..", path)
			if err != nil {
				return err
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			return memFS.WriteFile(filepath.Join("/deploy", rel), data)
		})
		if err != nil {
			t.Fatalf("copying %s: %v", src, err)
		}
	}
	return memFS
}

// buildKustomize runs `kustomize build dir` on fsys and parses every object.
func buildKustomize(fsys filesys.FileSystem, dir string) (rendering, error) {
	resources, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("kustomize build %s: %w", dir, err)
	}
	stream, err := resources.AsYaml()
	if err != nil {
		return nil, fmt.Errorf("kustomize build %s: %w", dir, err)
	}
	return parseObjects("kustomize "+dir, stream)
}
