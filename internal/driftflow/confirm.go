package driftflow

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/latch-gitops/latch/internal/cluster"
	"github.com/latch-gitops/latch/internal/diff"
)

// ConfirmManager is the field manager of latch diff --server-confirm's
// dry-run applies (nothing is persisted under it).
const ConfirmManager = "latch-diff"

// Confirm asks the API server about each drifted object of rep: a forced
// server-side apply of git's object with dryRun=All returns what live would
// become, and rep.Confirm drops the drifted fields that would not change (a
// default or mutation the comparison did not know). One request per
// drifted object; a refused dry-run (RBAC: it needs patch, admission) keeps
// the object's drift and says why in its note. Only ctx ending is an error.
func Confirm(ctx context.Context, reader *cluster.Reader, in diff.Input, rep *diff.Report) error {
	idx := indexInput(in)
	for i := range rep.Objects {
		o := &rep.Objects[i]
		if o.Status != diff.StatusDrift {
			continue
		}
		d := idx.declared[o.Ref.Key()]
		if d == nil {
			continue
		}
		gvk := schema.FromAPIVersionAndKind(o.Ref.APIVersion(), o.Ref.Kind)
		res, err := reader.Resource(gvk, o.Ref.Namespace)
		if err == nil {
			obj := &unstructured.Unstructured{Object: d.Object}
			obj = obj.DeepCopy()
			if o.Ref.Namespace != "" {
				obj.SetNamespace(o.Ref.Namespace)
			}
			var merged *unstructured.Unstructured
			merged, err = res.Apply(ctx, o.Ref.Name, obj, metav1.ApplyOptions{FieldManager: ConfirmManager, Force: true, DryRun: []string{metav1.DryRunAll}})
			if err == nil {
				rep.Confirm(i, merged.Object)
				continue
			}
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		o.Note = fmt.Sprintf("not confirmed: the server's dry-run apply failed: %v", err)
	}
	return nil
}
