// Package restoreflow runs latch restore: it gathers (git's rendering at the
// remote head, the rollout records, the last-good commits' renderings, one
// LIST per kind of what the cluster has), lets restore.Decide plan, and
// applies the plan with server-side apply under the field manager
// latch-restore, phase by phase (namespaces, CRDs until Established, the
// rest), each phase in parallel.
package restoreflow

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/latch-gitops/latch/internal/cluster"
	"github.com/latch-gitops/latch/internal/diff"
	"github.com/latch-gitops/latch/internal/driftflow"
	"github.com/latch-gitops/latch/internal/gitrepo"
	"github.com/latch-gitops/latch/internal/manifest"
	"github.com/latch-gitops/latch/internal/objectid"
	"github.com/latch-gitops/latch/internal/restore"
	"github.com/latch-gitops/latch/internal/rolloutrecord"
)

// Options say what to restore from.
type Options struct {
	Repo *gitrepo.Repo
	// Path limits rendering to a folder of the repository.
	Path string
	// ForwardThreshold: see restore.Input (0: the default).
	ForwardThreshold int
	// DefaultNamespace is where a namespaced object without a namespace in
	// git goes (the kubeconfig context's namespace, else "default").
	DefaultNamespace string
	// PRRecords are records waiting in latch's rollout PRs (review mode
	// always; reviewflow.Flow.RecordsInPRs): newer than the base branch's,
	// they stand in for them, for the workloads the head declares.
	PRRecords map[objectid.Key]*rolloutrecord.Record
}

// Gathered is the decision's input and what the act step needs besides.
type Gathered struct {
	Head  string
	Input restore.Input
	// versions are the live objects' resourceVersions, to tell an apply
	// that changed something from one that did not.
	versions map[objectid.Key]string
	// live and types are the LISTs and the kinds' schemas, to skip an
	// object the cluster already has as the plan would apply it.
	live  map[schema.GroupVersionKind]cluster.KindList
	types func(schema.GroupVersionKind) diff.TypeConverter
}

// Gather reads git and the cluster.
func Gather(ctx context.Context, opts Options, reader *cluster.Reader) (*Gathered, error) {
	head, err := opts.Repo.Refresh(ctx)
	if err != nil {
		return nil, err
	}
	g := &Gathered{Head: head, versions: map[objectid.Key]string{}}
	in := &g.Input
	in.ForwardThreshold = opts.ForwardThreshold
	rendering, err := manifest.Render(opts.Repo.Dir(), manifest.RenderOptions{Path: opts.Path})
	if err != nil {
		return nil, fmt.Errorf("rendering %s at %s: %w", opts.Repo.RemoteURL(), gitrepo.ShortID(head), err)
	}
	in.Objects, in.Problems = rendering.Objects, rendering.Problems
	in.Records, in.RecordErrors, err = rolloutrecord.Load(opts.Repo.Dir())
	if err != nil {
		return nil, fmt.Errorf("rollout records at %s: %w", gitrepo.ShortID(head), err)
	}
	overlayPRRecords(in, opts.PRRecords)
	if err := gatherLastGood(ctx, opts, in); err != nil {
		return nil, err
	}
	if err := g.gatherLive(ctx, opts, reader); err != nil {
		return nil, err
	}
	return g, nil
}

// overlayPRRecords puts the records waiting in PRs in place of the base
// branch's, for the workloads the head declares (a PR's record of anything
// else is not the restore's business).
func overlayPRRecords(in *restore.Input, prs map[objectid.Key]*rolloutrecord.Record) {
	if len(prs) == 0 || in.Records == nil {
		return
	}
	declared := map[objectid.Key]*rolloutrecord.Record{}
	for _, d := range in.Objects {
		if rec := prs[d.Ref.Key()]; rec != nil {
			declared[d.Ref.Key()] = rec
		}
	}
	in.Records = in.Records.With(declared)
}

// gatherLastGood renders each last-good commit a record sends a workload
// back to, through the same path as the head (plain, Kustomize, markers).
func gatherLastGood(ctx context.Context, opts Options, in *restore.Input) error {
	commits := restore.LastGoodCommits(in.Objects, in.Records, in.ForwardThreshold)
	if len(commits) == 0 {
		return nil
	}
	in.LastGood = map[objectid.Key]*manifest.Declared{}
	in.LastGoodProblems = map[string][]manifest.Problem{}
	tmp, err := os.MkdirTemp("", "latch-restore-")
	if err != nil {
		return fmt.Errorf("a folder for last-good versions: %w", err)
	}
	defer os.RemoveAll(tmp)
	for commit, refs := range commits {
		dir := filepath.Join(tmp, commit)
		if err := opts.Repo.ExportTree(ctx, commit, dir); err != nil {
			// The record names a commit git does not have (history
			// rewritten): those workloads cannot go back.
			continue
		}
		r, err := manifest.Render(dir, manifest.RenderOptions{Path: opts.Path})
		if err != nil {
			continue
		}
		in.LastGoodProblems[commit] = r.Problems
		byKey := map[objectid.Key]*manifest.Declared{}
		for _, d := range r.Objects {
			byKey[d.Ref.Key()] = d
		}
		for _, ref := range refs {
			in.LastGood[ref.Key()] = byKey[ref.Key()] // nil: not declared there
		}
	}
	return nil
}

var namespaceGVK = schema.GroupVersionKind{Version: "v1", Kind: "Namespace"}

// gatherLive lists each declared kind once. A kind the cluster does not
// serve yet (its CRD comes with the restore) has no live objects.
func (g *Gathered) gatherLive(ctx context.Context, opts Options, reader *cluster.Reader) error {
	in := &g.Input
	gvks := []schema.GroupVersionKind{namespaceGVK}
	nsSet := map[string]bool{}
	for _, d := range in.Objects {
		gvks = append(gvks, schema.FromAPIVersionAndKind(d.Ref.APIVersion(), d.Ref.Kind))
		if d.Ref.Namespace != "" {
			nsSet[d.Ref.Namespace] = true
		}
	}
	nsSet[opts.DefaultNamespace] = true
	var namespaces []string
	for ns := range nsSet {
		namespaces = append(namespaces, ns)
	}
	kinds := cluster.SortedKinds(gvks)
	lists, err := reader.ListKinds(ctx, kinds, namespaces)
	if err != nil {
		return err
	}
	if g.types, err = driftflow.Types(ctx, reader, kinds, lists); err != nil {
		return err
	}
	g.live = lists
	in.Live = map[objectid.Key]restore.Live{}
	namespaced := map[schema.GroupKind]bool{}
	for gvk, kl := range lists {
		if kl.Err != nil {
			if errors.Is(kl.Err, cluster.ErrKindNotServed) {
				continue
			}
			// Not knowing what the cluster has would make the report lie
			// and could take a scale from its autoscaler.
			return fmt.Errorf("reading the cluster: %w", kl.Err)
		}
		namespaced[gvk.GroupKind()] = kl.Namespaced
		for _, u := range kl.Objects {
			ref := objectid.Ref{Group: gvk.Group, Version: gvk.Version, Kind: gvk.Kind, Namespace: u.GetNamespace(), Name: u.GetName()}
			in.Live[ref.Key()] = restore.Live{ReplicasManager: cluster.ReplicasManager(u.GetManagedFields())}
			g.versions[ref.Key()] = u.GetResourceVersion()
		}
	}
	// A namespaced object git writes without a namespace lands in the
	// default namespace, as kubectl apply would put it.
	for _, d := range in.Objects {
		gk := schema.GroupKind{Group: d.Ref.Group, Kind: d.Ref.Kind}
		if d.Ref.Namespace == "" && namespaced[gk] && opts.DefaultNamespace != "" {
			d.Ref.Namespace = opts.DefaultNamespace
			if meta, ok := d.Object["metadata"].(map[string]any); ok {
				meta["namespace"] = opts.DefaultNamespace
			}
		}
	}
	return nil
}
