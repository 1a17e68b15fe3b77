package cluster

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/latch-gitops/latch/internal/objectid"
	"github.com/latch-gitops/latch/internal/rollout"
)

// Rollout is what the rollout follower observed of one Deployment,
// StatefulSet or Argo Rollout.
type Rollout struct {
	objectid.Ref
	Snapshot rollout.Snapshot
	// Skip says why the follower does not follow this workload ("": it
	// does); its Snapshot is then empty.
	Skip string
	// NewImages and OldImages map container name to image in the new
	// ReplicaSet's template and in the newest older one that still has
	// pods (nil when there is none).
	NewImages, OldImages map[string]string
	// OldRevision is that older ReplicaSet's pod-template-hash (a
	// StatefulSet's currentRevision, an Argo Rollout's stableRS, while in
	// flight; for a Rollout, OldImages are the stable ReplicaSet's).
	OldRevision string
}

// listPage is how many objects one live LIST request returns. Paging
// keeps a one-shot command's peak memory to one page of whole objects (plus
// the trimmed copies it keeps) instead of every Deployment and ReplicaSet of
// the cluster decoded at once.
const listPage = 500

// RolloutSource is where ListRollouts reads: Deployments, ReplicaSets and
// StatefulSets from Objects; the pods of rollouts in flight, and a
// StatefulSet's current ControllerRevision, from Pods (always live: a cache
// of every pod or revision would cost more than the rest of latch).
type RolloutSource struct {
	Objects, Pods client.Reader
	// Page is the LIST page size for Objects; 0 for an informer cache
	// (which does not page and holds the objects already trimmed by Strip).
	Page int64
	// ArgoRollouts: the API server serves Argo Rollouts
	// (ArgoRolloutsServed), whose Rollouts are listed too. Off, nothing
	// of argoproj.io is requested.
	ArgoRollouts bool
}

// LiveRollouts reads everything from the API server, paged: for one-shot
// commands (sync --once, status).
func LiveRollouts(reader client.Reader) RolloutSource {
	return RolloutSource{Objects: reader, Pods: reader, Page: listPage}
}

// CachedRollouts reads Deployments and ReplicaSets from cache (whose
// informers strip them as they arrive: Strip) and pods live from api: for
// latch run, whose every pass would otherwise LIST every Deployment and
// ReplicaSet in full (at 10,000 Deployments that pushed the start-up peak
// from 262 to 494 MiB, docs/benchmarks.md).
func CachedRollouts(cache, api client.Reader) RolloutSource {
	return RolloutSource{Objects: cache, Pods: api}
}

// ListRollouts reads every Deployment in namespace ("" = all) with its
// ReplicaSets, every StatefulSet, every Argo Rollout when src.ArgoRollouts
// (with its ReplicaSets, from the same LIST), and the pods of the new version of those
// in flight. It costs the LISTs of Deployments, ReplicaSets and StatefulSets
// (from the cache, or paged) plus one live pod LIST per workload whose
// status shows a rollout under way (and, for a StatefulSet, one GET of its
// current revision). When only the Argo Rollouts fail to list, the others
// are returned with that error.
func ListRollouts(ctx context.Context, src RolloutSource, namespace string, at time.Time) ([]Rollout, error) {
	var deps []appsv1.Deployment
	err := listPaged(ctx, src.Objects, namespace, src.Page, &appsv1.DeploymentList{}, func(l *appsv1.DeploymentList) {
		for i := range l.Items {
			deps = append(deps, trimDeployment(&l.Items[i]))
		}
	})
	if err != nil {
		return nil, fmt.Errorf("listing Deployments: %w", err)
	}
	owned := map[string][]appsv1.ReplicaSet{}
	err = listPaged(ctx, src.Objects, namespace, src.Page, &appsv1.ReplicaSetList{}, func(l *appsv1.ReplicaSetList) {
		for i := range l.Items {
			rs := &l.Items[i]
			if c := metav1.GetControllerOf(rs); c != nil && (c.Kind == "Deployment" || (src.ArgoRollouts && c.Kind == ArgoRolloutGVK.Kind)) {
				owned[string(c.UID)] = append(owned[string(c.UID)], trimReplicaSet(rs))
			}
		}
	})
	if err != nil {
		return nil, fmt.Errorf("listing ReplicaSets: %w", err)
	}
	out := make([]Rollout, 0, len(deps))
	for i := range deps {
		d := &deps[i]
		rss := owned[string(d.UID)]
		var pods []corev1.Pod
		if newRS := NewReplicaSet(rss); newRS != nil && newRS.Spec.Selector != nil && unsettled(d) {
			var err error
			if pods, err = listPods(ctx, src.Pods, "Deployment", d.Namespace, d.Name, labels.SelectorFromSet(newRS.Spec.Selector.MatchLabels)); err != nil {
				return nil, err
			}
		}
		out = append(out, DeploymentRollout(d, rss, pods, at))
	}
	sets, err := listStatefulSetRollouts(ctx, src, namespace, at)
	if err != nil {
		return nil, err
	}
	out = append(out, sets...)
	var argoErr error
	if src.ArgoRollouts {
		// Argo Rollouts failing to list (a role without rollouts.argoproj.io)
		// does not keep the other kinds from being followed: they are
		// returned with the error.
		ros, err := listArgoRollouts(ctx, src, namespace, owned, at)
		if err != nil {
			argoErr = fmt.Errorf("%w (Deployments and StatefulSets followed without them)", err)
		}
		out = append(out, ros...)
	}
	sort.Slice(out, func(i, j int) bool {
		if a, b := out[i].NamespacedName(), out[j].NamespacedName(); a != b {
			return a < b
		}
		return out[i].Kind < out[j].Kind
	})
	return out, argoErr
}

// listPods is the live pod LIST of one workload's rollout in flight.
func listPods(ctx context.Context, reader client.Reader, kind, namespace, name string, sel labels.Selector) ([]corev1.Pod, error) {
	var list corev1.PodList
	if err := reader.List(ctx, &list, client.InNamespace(namespace), client.MatchingLabelsSelector{Selector: sel}); err != nil {
		return nil, fmt.Errorf("listing pods of %s %s/%s: %w", kind, namespace, name, err)
	}
	return list.Items, nil
}

// pagedList is a typed list whose continue token listPaged follows.
type pagedList interface {
	client.ObjectList
	*appsv1.DeploymentList | *appsv1.ReplicaSetList | *appsv1.StatefulSetList | *unstructured.UnstructuredList
}

// listPaged lists namespace page objects at a time (page 0: at once) into list, handing each page to
// keep before reading the next, so only one page is decoded at a time.
func listPaged[L pagedList](ctx context.Context, reader client.Reader, namespace string, page int64, list L, keep func(L)) error {
	token := ""
	for {
		opts := []client.ListOption{client.InNamespace(namespace)}
		if page > 0 {
			opts = append(opts, client.Limit(page), client.Continue(token))
		}
		if err := reader.List(ctx, list, opts...); err != nil {
			return err
		}
		keep(list)
		if page == 0 {
			return nil
		}
		token = list.GetContinue()
		if token == "" {
			return nil
		}
	}
}

// trimDeployment copies what DeploymentRollout and unsettled read: the
// status as Strip keeps it, so the live and the cached paths see the same.
func trimDeployment(d *appsv1.Deployment) appsv1.Deployment {
	return appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: d.Name, Namespace: d.Namespace, UID: d.UID, Generation: d.Generation},
		Spec:       appsv1.DeploymentSpec{Replicas: d.Spec.Replicas, Paused: d.Spec.Paused},
		Status:     stripDeploymentStatus(d.Status),
	}
}

// trimReplicaSet copies what NewReplicaSet and DeploymentRollout read: the
// revision annotation alone of the annotations, and the containers' names
// and images alone of the pod template.
func trimReplicaSet(rs *appsv1.ReplicaSet) appsv1.ReplicaSet {
	out := appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: rs.Name, Namespace: rs.Namespace, UID: rs.UID, Labels: rs.Labels, OwnerReferences: controllerOnly(rs.OwnerReferences)},
		Spec:       appsv1.ReplicaSetSpec{Replicas: rs.Spec.Replicas, Selector: rs.Spec.Selector},
		Status:     rs.Status,
	}
	if rev, ok := rs.Annotations[revisionAnnotation]; ok {
		out.Annotations = map[string]string{revisionAnnotation: rev}
	}
	for _, c := range rs.Spec.Template.Spec.Containers {
		out.Spec.Template.Spec.Containers = append(out.Spec.Template.Spec.Containers, corev1.Container{Name: c.Name, Image: c.Image})
	}
	return out
}

// controllerOnly keeps the controller's owner reference alone.
func controllerOnly(refs []metav1.OwnerReference) []metav1.OwnerReference {
	for _, r := range refs {
		if r.Controller != nil && *r.Controller {
			return []metav1.OwnerReference{r}
		}
	}
	return nil
}

// revisionAnnotation is where the Deployment controller numbers its
// ReplicaSets.
const revisionAnnotation = "deployment.kubernetes.io/revision"

// unsettled: the Deployment's status does not show every desired replica
// updated and available with no old pod left.
func unsettled(d *appsv1.Deployment) bool {
	desired := int32(1)
	if d.Spec.Replicas != nil {
		desired = *d.Spec.Replicas
	}
	s := d.Status
	return s.ObservedGeneration < d.Generation || s.UpdatedReplicas < desired || s.Replicas > s.UpdatedReplicas || s.AvailableReplicas < desired
}

// NewReplicaSet is the Deployment's newest ReplicaSet (highest revision
// annotation), or nil.
func NewReplicaSet(rss []appsv1.ReplicaSet) *appsv1.ReplicaSet {
	var best *appsv1.ReplicaSet
	bestRev := int64(-1)
	for i := range rss {
		rev, _ := strconv.ParseInt(rss[i].Annotations[revisionAnnotation], 10, 64)
		if rev > bestRev || (rev == bestRev && best != nil && rss[i].Name < best.Name) {
			best, bestRev = &rss[i], rev
		}
	}
	return best
}

// DeploymentRollout builds the snapshot of one Deployment from its
// ReplicaSets and the new version's pods (pure: the caller listed them).
func DeploymentRollout(d *appsv1.Deployment, rss []appsv1.ReplicaSet, pods []corev1.Pod, at time.Time) Rollout {
	r := Rollout{Ref: objectid.Ref{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: d.Namespace, Name: d.Name}}
	s := rollout.Snapshot{Kind: rollout.KindDeployment, Generation: d.Generation, ObservedGeneration: d.Status.ObservedGeneration,
		Desired: 1, Paused: d.Spec.Paused, At: at}
	if d.Spec.Replicas != nil {
		s.Desired = *d.Spec.Replicas
	}
	for _, c := range d.Status.Conditions {
		if c.Type == appsv1.DeploymentProgressing {
			s.Progressing = &rollout.Condition{Status: string(c.Status), Reason: c.Reason, Message: c.Message}
		}
	}
	newRS := NewReplicaSet(rss)
	if newRS == nil {
		r.Snapshot = s
		return r
	}
	s.Revision = newRS.Labels[appsv1.DefaultDeploymentUniqueLabelKey]
	if s.Revision == "" {
		s.Revision = newRS.Name
	}
	if newRS.Spec.Replicas != nil {
		s.NewReplicas = *newRS.Spec.Replicas
	}
	s.NewReady, s.NewAvailable = newRS.Status.ReadyReplicas, newRS.Status.AvailableReplicas
	r.NewImages = images(newRS.Spec.Template.Spec.Containers)
	var old *appsv1.ReplicaSet
	oldRev := int64(-1)
	for i := range rss {
		rs := &rss[i]
		if rs.UID == newRS.UID {
			continue
		}
		s.OldReplicas += rs.Status.Replicas
		rev, _ := strconv.ParseInt(rs.Annotations[revisionAnnotation], 10, 64)
		if rs.Status.Replicas > 0 && rev > oldRev {
			old, oldRev = rs, rev
		}
	}
	if old != nil {
		r.OldImages = images(old.Spec.Template.Spec.Containers)
		r.OldRevision = old.Labels[appsv1.DefaultDeploymentUniqueLabelKey]
	}
	s.NewPods = newVersionPods(pods, appsv1.DefaultDeploymentUniqueLabelKey, s.Revision)
	r.Snapshot = s
	return r
}

// newVersionPods are the pods whose label key says revision, not being
// deleted, as the assessment reads them.
func newVersionPods(pods []corev1.Pod, key, revision string) []rollout.Pod {
	var out []rollout.Pod
	for _, p := range pods {
		if p.Labels[key] != revision || p.DeletionTimestamp != nil {
			continue
		}
		pod := rollout.Pod{Name: p.Name, Created: p.CreationTimestamp.Time}
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
				pod.Ready = true
			}
		}
		for _, cs := range p.Status.ContainerStatuses {
			if cs.RestartCount > pod.Restarts {
				pod.Restarts = cs.RestartCount
			}
			if cs.State.Waiting != nil && pod.Waiting == "" {
				pod.Waiting = cs.State.Waiting.Reason
			}
		}
		out = append(out, pod)
	}
	return out
}

func images(cs []corev1.Container) map[string]string {
	if len(cs) == 0 {
		return nil
	}
	out := make(map[string]string, len(cs))
	for _, c := range cs {
		out[c.Name] = c.Image
	}
	return out
}
