package restoreflow_test

import (
	"maps"
	"net/http"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"

	"github.com/latch-gitops/latch/internal/cluster"
	"github.com/latch-gitops/latch/internal/gitrepo"
	"github.com/latch-gitops/latch/internal/restore"
	"github.com/latch-gitops/latch/internal/restoreflow"
	"github.com/latch-gitops/latch/internal/testenv"
)

// writes counts the requests that are not reads.
type writes struct {
	next http.RoundTripper
	n    *atomic.Int64
}

func (w writes) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method != http.MethodGet {
		w.n.Add(1)
	}
	return w.next.RoundTrip(req)
}

var storyKinds = map[string]schema.GroupVersionResource{
	"Namespace":                {Version: "v1", Resource: "namespaces"},
	"CustomResourceDefinition": {Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"},
	"Deployment":               {Group: "apps", Version: "v1", Resource: "deployments"},
	"Service":                  {Version: "v1", Resource: "services"},
	"ConfigMap":                {Version: "v1", Resource: "configmaps"},
	"HorizontalPodAutoscaler":  {Group: "autoscaling", Version: "v2", Resource: "horizontalpodautoscalers"},
	"Pool":                     {Group: "demo.latch.dev", Version: "v1", Resource: "pools"},
}

// TestRestoreManyObjects is issue 13's story (c): a generated repository
// of 2,000 objects (namespaces, a CRD and its custom resources,
// Deployments, Services, ConfigMaps, HPAs) restores completely into an
// empty API server, and a second restore writes nothing: no request but
// reads, every resourceVersion unchanged, 0 changed in the report.
func TestRestoreManyObjects(t *testing.T) {
	remote := testenv.NewGitRemote(t)
	human := remote.Human(t)
	repoObjects, err := testenv.WriteObjectRepo(human.Dir, 2000, 10)
	if err != nil {
		t.Fatal(err)
	}
	human.Commit("2,000 objects")
	human.Push()

	cfg := rest.CopyConfig(testenv.APIServer(t))
	var nonReads atomic.Int64
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper { return writes{rt, &nonReads} })
	ctx := testenv.Context(t)
	repo, err := gitrepo.Clone(ctx, remote.URL, remote.Branch, filepath.Join(t.TempDir(), "clone"), gitrepo.Auth{Username: remote.Username, Password: remote.Password})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = repo.Close() })
	run := func() *restoreflow.Report {
		t.Helper()
		reader, err := cluster.NewReaderRate(cfg, restoreflow.ApplyQPS, restoreflow.ApplyBurst)
		if err != nil {
			t.Fatal(err)
		}
		g, err := restoreflow.Gather(ctx, restoreflow.Options{Repo: repo, Path: testenv.ObjectRepoDir, DefaultNamespace: "default"}, reader)
		if err != nil {
			t.Fatal(err)
		}
		rep, err := restoreflow.Apply(ctx, reader, g, restore.Decide(g.Input), restoreflow.ApplyOptions{DefaultNamespace: "default"})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rep.Results {
			if r.Outcome == restoreflow.Failed {
				t.Errorf("%s: %s", r.Ref, r.Error)
			}
		}
		if rep.Failed() {
			t.Fatalf("restore failed: problems %v, failures %v, counts %v", rep.Problems, rep.Failures, rep.Counts)
		}
		t.Logf("restore: %v, %d requests, %s", rep.Counts, rep.Requests, rep.Elapsed)
		return rep
	}

	first := run()
	if len(first.Results) != repoObjects.Total || first.Counts[restoreflow.Created] != repoObjects.Total {
		t.Fatalf("first restore: %d results, counts %v; want %d created", len(first.Results), first.Counts, repoObjects.Total)
	}
	dyn := dynamic.NewForConfigOrDie(cfg)
	live := map[string]map[string]*unstructured.Unstructured{}
	versions := func() map[string]string {
		out := map[string]string{}
		for kind, gvr := range storyKinds {
			list, err := dyn.Resource(gvr).List(ctx, metav1.ListOptions{})
			if err != nil {
				t.Fatalf("listing %s: %v", kind, err)
			}
			live[kind] = map[string]*unstructured.Unstructured{}
			for i := range list.Items {
				u := &list.Items[i]
				if kind == "Namespace" && !isRestoreNamespace(u.GetName(), repoObjects.Namespaces) || u.GetNamespace() != "" && !isRestoreNamespace(u.GetNamespace(), repoObjects.Namespaces) {
					continue // the API server's own
				}
				live[kind][u.GetNamespace()+"/"+u.GetName()] = u
				out[kind+"/"+u.GetNamespace()+"/"+u.GetName()] = u.GetResourceVersion()
			}
		}
		return out
	}
	before := versions()
	for kind, want := range repoObjects.Counts {
		if got := len(live[kind]); got != want {
			t.Errorf("%s: %d in the cluster, want the repository's %d", kind, got, want)
		}
	}
	checkSample(t, live, repoObjects)

	writesBefore := nonReads.Load()
	second := run()
	if n := nonReads.Load() - writesBefore; n != 0 {
		t.Errorf("second restore sent %d requests that are not reads, want 0", n)
	}
	if second.Changed != 0 || second.Counts[restoreflow.Unchanged] != repoObjects.Total {
		t.Errorf("second restore: changed %d, counts %v; want 0 changed, %d unchanged", second.Changed, second.Counts, repoObjects.Total)
	}
	if after := versions(); !maps.Equal(before, after) {
		for k, v := range after {
			if before[k] != v {
				t.Errorf("%s: resourceVersion %s → %s", k, before[k], v)
			}
		}
		t.Fatal("the second restore changed resourceVersions")
	}
}

func isRestoreNamespace(name string, declared []string) bool {
	for _, ns := range declared {
		if ns == name {
			return true
		}
	}
	return false
}

// checkSample compares a sample of fields of every kind with what the
// generator wrote (every 13th object of each kind).
func checkSample(t *testing.T, live map[string]map[string]*unstructured.Unstructured, repo testenv.ObjectRepo) {
	t.Helper()
	field := func(kind string, i int, path ...string) any {
		t.Helper()
		ns := testenv.ObjectRepoNamespace(i % len(repo.Namespaces))
		u := live[kind][ns+"/"+testenv.ObjectRepoName(kind, i)]
		if u == nil {
			t.Fatalf("%s %s/%s not restored", kind, ns, testenv.ObjectRepoName(kind, i))
		}
		v, _, _ := unstructured.NestedFieldNoCopy(u.Object, path...)
		return v
	}
	checks := 0
	for i := 0; i < repo.Counts["Pool"]; i += 13 {
		for _, c := range []struct {
			kind string
			path []string
			want any
		}{
			{"Deployment", []string{"spec", "replicas"}, int64(2 + i%5)},
			{"Deployment", []string{"spec", "template", "spec", "containers"}, nil},
			{"Service", []string{"spec", "clusterIP"}, "None"},
			{"ConfigMap", []string{"data", "index"}, strconv.Itoa(i)},
			{"HorizontalPodAutoscaler", []string{"spec", "maxReplicas"}, int64(20 + i%10)},
			{"Pool", []string{"spec", "replicas"}, int64(1 + i%4)},
		} {
			got := field(c.kind, i, c.path...)
			if c.want == nil { // the containers: the image
				containers, _ := got.([]any)
				if len(containers) != 1 || containers[0].(map[string]any)["image"] != testenv.ObjectRepoImage(i) {
					t.Errorf("Deployment %d: containers %v, want image %s", i, got, testenv.ObjectRepoImage(i))
				}
				continue
			}
			if got != c.want {
				t.Errorf("%s %d: %v is %v (%T), want %v", c.kind, i, c.path, got, got, c.want)
			}
			checks++
		}
	}
	if checks < 100 {
		t.Fatalf("only %d fields compared", checks)
	}
}
