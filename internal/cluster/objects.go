package cluster

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"

	"github.com/latch-gitops/latch/internal/httpcount"
)

// KindList is what listing one kind returned.
type KindList struct {
	// Objects are the live objects of the kind.
	Objects []*unstructured.Unstructured
	// Namespaced is whether the kind's objects live in namespaces.
	Namespaced bool
	// Err says why the kind could not be listed: not served (a CRD that is
	// not installed), forbidden, or a server error.
	Err error
}

// ErrKindNotServed: the API server does not serve the kind.
var ErrKindNotServed = errors.New("the cluster does not serve this kind (is its CRD installed?)")

// Reader lists whole kinds for latch diff: one paged LIST per kind, all
// kinds in parallel, never a request per object.
type Reader struct {
	dyn    dynamic.Interface
	mapper meta.ResettableRESTMapper
	disco  discovery.CachedDiscoveryInterface
	// requests counts every HTTP request made through the Reader's config.
	requests *atomic.Int64
}

// ListQPS is the client rate the Reader raises client-go's default of 5 to:
// the LISTs go in parallel, one per kind, and waiting on a client-side
// limiter would serialise them again.
const (
	ListQPS   = 100
	ListBurst = 200
	// PageSize is the LIST page: large enough that a kind of a few thousand
	// objects is a handful of requests, small enough for the server to
	// stream without a memory spike.
	PageSize = 1000
)

// NewReader builds a Reader over cfg (which it copies: the rate limits and
// the request counter are its own).
func NewReader(cfg *rest.Config) (*Reader, error) {
	return NewReaderRate(cfg, ListQPS, ListBurst)
}

// NewReaderRate is NewReader with another client rate, for a caller that
// also writes through the Reader in parallel (latch restore's applies).
func NewReaderRate(cfg *rest.Config, qps float32, burst int) (*Reader, error) {
	c := rest.CopyConfig(cfg)
	c.QPS, c.Burst = qps, burst
	counter := &atomic.Int64{}
	c.Wrap(func(rt http.RoundTripper) http.RoundTripper { return httpcount.Transport{Next: rt, N: counter} })
	dyn, err := dynamic.NewForConfig(c)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	dc, err := discovery.NewDiscoveryClientForConfig(c)
	if err != nil {
		return nil, fmt.Errorf("kubernetes discovery: %w", err)
	}
	cached := memory.NewMemCacheClient(dc)
	return &Reader{dyn: dyn, mapper: restmapper.NewDeferredDiscoveryRESTMapper(cached), disco: cached, requests: counter}, nil
}

// Requests is how many HTTP requests the Reader has made so far.
func (r *Reader) Requests() int64 { return r.requests.Load() }

// Discovery is the Reader's cached discovery client (for OpenAPI schemas).
func (r *Reader) Discovery() discovery.CachedDiscoveryInterface { return r.disco }

// ListKinds lists every object of each kind, all kinds at once. A kind is
// listed across all namespaces; when that is forbidden, namespace by
// namespace over namespaces (the ones the repository declares objects in).
// Failures are per kind, in KindList.Err; ctx ending is the only overall
// error.
func (r *Reader) ListKinds(ctx context.Context, kinds []schema.GroupVersionKind, namespaces []string) (map[schema.GroupVersionKind]KindList, error) {
	out := make(map[schema.GroupVersionKind]KindList, len(kinds))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, gvk := range kinds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			kl := r.listKind(ctx, gvk, namespaces)
			mu.Lock()
			out[gvk] = kl
			mu.Unlock()
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

func (r *Reader) listKind(ctx context.Context, gvk schema.GroupVersionKind, namespaces []string) KindList {
	mapping, err := r.mapping(gvk)
	if err != nil {
		return KindList{Err: err}
	}
	kl := KindList{Namespaced: mapping.Scope.Name() == meta.RESTScopeNameNamespace}
	res := r.dyn.Resource(mapping.Resource)
	objs, err := listAll(ctx, res)
	if err == nil {
		kl.Objects = objs
		return kl
	}
	if !apierrors.IsForbidden(err) || !kl.Namespaced || len(namespaces) == 0 {
		kl.Err = listError(gvk, "", err)
		return kl
	}
	// Forbidden cluster-wide: a namespaced Role may still allow it.
	for _, ns := range namespaces {
		objs, err := listAll(ctx, res.Namespace(ns))
		if err != nil {
			kl.Err = listError(gvk, ns, err)
			kl.Objects = nil
			return kl
		}
		kl.Objects = append(kl.Objects, objs...)
	}
	return kl
}

func listError(gvk schema.GroupVersionKind, ns string, err error) error {
	where := "in all namespaces"
	if ns != "" {
		where = "in namespace " + ns
	}
	if apierrors.IsForbidden(err) {
		return fmt.Errorf("%s: no RBAC permission to list %s: %w", gvkString(gvk), where, err)
	}
	if apierrors.IsNotFound(err) {
		return fmt.Errorf("%s: %w", gvkString(gvk), ErrKindNotServed)
	}
	return fmt.Errorf("%s: listing %s: %w", gvkString(gvk), where, err)
}

// listAll follows continue tokens until the kind is read.
func listAll(ctx context.Context, res dynamic.ResourceInterface) ([]*unstructured.Unstructured, error) {
	var out []*unstructured.Unstructured
	opts := metav1.ListOptions{Limit: PageSize}
	for {
		page, err := res.List(ctx, opts)
		if err != nil {
			return nil, err
		}
		for i := range page.Items {
			out = append(out, &page.Items[i])
		}
		if page.GetContinue() == "" {
			return out, nil
		}
		opts.Continue = page.GetContinue()
	}
}

func gvkString(gvk schema.GroupVersionKind) string {
	if gvk.Group == "" {
		return gvk.Version + "/" + gvk.Kind
	}
	return gvk.Group + "/" + gvk.Version + "/" + gvk.Kind
}

// SortedKinds returns the distinct kinds of refs, sorted, for ListKinds.
func SortedKinds(gvks []schema.GroupVersionKind) []schema.GroupVersionKind {
	seen := map[schema.GroupVersionKind]bool{}
	var out []schema.GroupVersionKind
	for _, g := range gvks {
		if !seen[g] {
			seen[g] = true
			out = append(out, g)
		}
	}
	sort.Slice(out, func(i, j int) bool { return gvkString(out[i]) < gvkString(out[j]) })
	return out
}

// Resource is the dynamic client of one kind, in namespace ns ("" for a
// cluster-scoped kind), for writes about objects ListKinds read (latch run
// --enforce's applies, latch restore). Its requests count in Requests.
func (r *Reader) Resource(gvk schema.GroupVersionKind, ns string) (dynamic.ResourceInterface, error) {
	mapping, err := r.mapping(gvk)
	if err != nil {
		return nil, err
	}
	res := r.dyn.Resource(mapping.Resource)
	if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
		return res.Namespace(ns), nil
	}
	return res, nil
}

// Namespaced reports whether the kind's objects live in namespaces.
func (r *Reader) Namespaced(gvk schema.GroupVersionKind) (bool, error) {
	mapping, err := r.mapping(gvk)
	if err != nil {
		return false, err
	}
	return mapping.Scope.Name() == meta.RESTScopeNameNamespace, nil
}

func (r *Reader) mapping(gvk schema.GroupVersionKind) (*meta.RESTMapping, error) {
	mapping, err := r.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		if meta.IsNoMatchError(err) {
			return nil, fmt.Errorf("%s: %w", gvkString(gvk), ErrKindNotServed)
		}
		return nil, fmt.Errorf("%s: resolving the kind: %w", gvkString(gvk), err)
	}
	return mapping, nil
}

// Serves reports whether the API server serves the kind now, rediscovering
// the kinds first: a CRD just applied is served some time after it is
// Established.
func (r *Reader) Serves(gvk schema.GroupVersionKind) (bool, error) {
	r.mapper.Reset()
	_, err := r.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if meta.IsNoMatchError(err) {
		return false, nil
	}
	return err == nil, err
}
