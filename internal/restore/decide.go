package restore

import (
	"fmt"
	"maps"
	"sort"

	"github.com/latch-gitops/latch/internal/manifest"
	"github.com/latch-gitops/latch/internal/objectid"
	"github.com/latch-gitops/latch/internal/objtree"
	"github.com/latch-gitops/latch/internal/rollout"
	"github.com/latch-gitops/latch/internal/rolloutrecord"
)

// DefaultForwardThreshold is the milestone from which a healthy rollout is
// restored at its new version.
const DefaultForwardThreshold = 75

// Version says which template an object is restored at.
type Version string

const (
	// AsGit: the object as git declares it at the head (no record, or the
	// record does not change anything).
	AsGit Version = "git"
	// Forward: the new version of a healthy rollout far enough along
	// (what git declares at the head).
	Forward Version = "new"
	// Back: the last good version, from the record's last-good commit,
	// at git's latched scale.
	Back Version = "last-good"
)

// Phase orders the applies: every object of a phase is applied (and CRDs
// established) before the next phase starts.
type Phase int

const (
	PhaseNamespaces Phase = iota
	PhaseCRDs
	PhaseObjects
)

func (p Phase) String() string {
	return [...]string{"namespaces", "custom resource definitions", "objects"}[p]
}

// Live is what the cluster has of an object before the restore.
type Live struct {
	// ReplicasManager is the manager owning spec.replicas, e.g.
	// "kube-controller-manager" once an HPA scaled it ("" when none).
	ReplicasManager string
}

// Manager is the field manager latch restore applies as.
const Manager = "latch-restore"

// Input is everything Decide needs, gathered by the caller.
type Input struct {
	// Objects are git's objects at the head (manifest.Render), and
	// Problems what could not be rendered there.
	Objects  []*manifest.Declared
	Problems []manifest.Problem
	// Records are the rollout records at the head, and RecordErrors the
	// records that could not be read (each names its file and field).
	Records      *rolloutrecord.Set
	RecordErrors []error
	// LastGood holds, for each workload Choose sends back, the workload as
	// rendered at its record's last-good commit; a nil entry means that
	// commit does not declare it, a missing key that it was not rendered.
	LastGood map[objectid.Key]*manifest.Declared
	// LastGoodProblems are the rendering problems at those commits.
	LastGoodProblems map[string][]manifest.Problem
	// Live holds the objects the cluster already has (absent: it has not).
	Live map[objectid.Key]Live
	// ForwardThreshold is the milestone (percent) from which a healthy
	// rollout goes forward (0: DefaultForwardThreshold).
	ForwardThreshold int
}

// Action is one object to apply.
type Action struct {
	Ref    objectid.Ref
	Origin manifest.Position
	Phase  Phase
	// Body is the object to apply (its status dropped).
	Body    map[string]any
	Version Version
	// Replicas is the scale applied (-1: the object has none, or the
	// cluster's own scale stands because an autoscaler owns it).
	Replicas int64
	// Exists: the cluster already has the object.
	Exists bool
	Why    string
	// Record is the workload's record file ("" without one).
	Record string
}

// Failure is an object that is not applied because restoring it could run a
// version nobody vouched for.
type Failure struct {
	Ref    objectid.Ref
	Origin manifest.Position
	Why    string
}

// Skipped is an object git knows of that restore does not apply, and why.
type Skipped struct {
	Ref    objectid.Ref
	Origin manifest.Position
	Why    string
}

// Revert is a workload restored at its last good version: git still
// declares the new one, so a GitOps tool would roll it forward again until
// the revert is written to git.
type Revert struct {
	Ref      objectid.Ref
	Record   string
	LastGood string // commit
	Why      string
	// File is the workload's own manifest, whose last good content the
	// revert writes back; "" when a kustomization renders it (its base may
	// serve other clusters: the revert is left to a person).
	File string
	// Replicas is git's latched scale at the head, kept by the revert (-1: none).
	Replicas int64
	// Images are the last good version's (what the revert must render to).
	Images map[string]string
	// Revision, Health, Milestone and Percent are the record's rollout,
	// for the revert's PR.
	Revision  string
	Health    string
	Milestone int
	Percent   int
}

// Plan is what Decide returns.
type Plan struct {
	// Problems are bad input: when there is any, nothing is applied.
	Problems []string
	Actions  []Action
	Failures []Failure
	Skipped  []Skipped
	Reverts  []Revert
}

// Choice is the version Choose picks for a workload with a record.
type Choice struct {
	Version Version
	Why     string
}

// Choose picks the version a workload comes back at from its record and the
// images git declares for it at the head (nil: unknown).
func Choose(rec *rolloutrecord.Record, headImages map[string]string, threshold int) Choice {
	if threshold <= 0 {
		threshold = DefaultForwardThreshold
	}
	if rec == nil {
		return Choice{AsGit, "as git declares it"}
	}
	short := rec.Current.Revision
	switch {
	case rec.Held:
		return Choice{AsGit, fmt.Sprintf("rollout of %s held: git declares the last good version again", short)}
	case rec.Complete && rec.Health != rollout.Failed:
		return Choice{AsGit, fmt.Sprintf("rollout of %s completed", short)}
	case len(headImages) > 0 && len(rec.Current.Images) > 0 && !maps.Equal(headImages, rec.Current.Images):
		return Choice{AsGit, fmt.Sprintf("git declares a newer template (%s) than the recorded rollout of %s", rolloutrecord.ImageList(headImages), short)}
	case rec.Health == rollout.Failed:
		return Choice{Back, fmt.Sprintf("rollout of %s failed at %d %%: %s", short, rec.Milestone, rec.Reason)}
	case rec.Health == rollout.Healthy && rec.Milestone >= threshold:
		return Choice{Forward, fmt.Sprintf("rollout of %s was healthy at %d %% (milestone %d %% ≥ %d %%)", short, rec.Percent, rec.Milestone, threshold)}
	case rec.Health == rollout.Healthy:
		return Choice{Back, fmt.Sprintf("rollout of %s was healthy but only at %d %% (milestone %d %% < %d %%)", short, rec.Percent, rec.Milestone, threshold)}
	}
	return Choice{Back, fmt.Sprintf("rollout of %s had no pod of the new version available (%s)", short, rec.Health)}
}

// Decide plans the restore.
func Decide(in Input) Plan {
	var plan Plan
	for _, p := range in.Problems {
		plan.Problems = append(plan.Problems, p.String())
	}
	for _, err := range in.RecordErrors {
		plan.Problems = append(plan.Problems, err.Error())
	}
	heads := map[objectid.Key]*manifest.Declared{}
	for _, d := range in.Objects {
		if prev, dup := heads[d.Ref.Key()]; dup {
			plan.Problems = append(plan.Problems, fmt.Sprintf("%s: %s is declared twice (also at %s)", d.Origin, d.Ref, prev.Origin))
			continue
		}
		heads[d.Ref.Key()] = d
	}
	for _, rec := range in.Records.Sorted() {
		if _, ok := heads[rec.Object.Key()]; !ok {
			plan.Problems = append(plan.Problems, fmt.Sprintf("%s: field object: %s is not declared in git (remove the record, or restore its manifest)", in.Records.Files[rec.Object.Key()], rec.Object))
		}
	}
	if len(plan.Problems) > 0 {
		return plan
	}

	namespaces := map[string]bool{}
	declaredNS := map[string]bool{}
	for _, d := range in.Objects {
		if d.Ref.Group == "" && d.Ref.Kind == "Namespace" {
			declaredNS[d.Ref.Name] = true
		}
	}
	for _, d := range in.Objects {
		if d.Partial {
			plan.Skipped = append(plan.Skipped, Skipped{Ref: d.Ref, Origin: d.Origin,
				Why: "known only through a $latch marker in Helm values: latch does not render the chart; restore it with Helm (its latched scale is in the values)"})
			continue
		}
		if d.Ref.Namespace != "" {
			namespaces[d.Ref.Namespace] = true
		}
		a, fail, rev := decideObject(in, d)
		switch {
		case fail != nil:
			plan.Failures = append(plan.Failures, *fail)
		default:
			plan.Actions = append(plan.Actions, a)
			if rev != nil {
				plan.Reverts = append(plan.Reverts, *rev)
			}
		}
	}
	for ns := range namespaces {
		key := objectid.Key{Kind: "Namespace", Name: ns}
		if declaredNS[ns] {
			continue
		}
		if _, exists := in.Live[key]; exists {
			continue
		}
		plan.Actions = append(plan.Actions, Action{
			Ref:   objectid.Ref{Version: "v1", Kind: "Namespace", Name: ns},
			Phase: PhaseNamespaces, Version: AsGit, Replicas: -1,
			Body: map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": ns}},
			Why:  "namespace of declared objects, not declared itself",
		})
	}
	sort.SliceStable(plan.Actions, func(i, j int) bool {
		a, b := plan.Actions[i], plan.Actions[j]
		if a.Phase != b.Phase {
			return a.Phase < b.Phase
		}
		return a.Ref.String() < b.Ref.String()
	})
	return plan
}

func decideObject(in Input, d *manifest.Declared) (Action, *Failure, *Revert) {
	key := d.Ref.Key()
	live, exists := in.Live[key]
	a := Action{Ref: d.Ref, Origin: d.Origin, Phase: phaseOf(d.Ref), Version: AsGit, Exists: exists, Why: "as git declares it"}
	body := applyBody(d.Object)
	rec := in.Records.Get(d.Ref)
	var rev *Revert
	if rec != nil {
		a.Record = in.Records.Files[key]
		c := Choose(rec, Images(d.Object), in.ForwardThreshold)
		a.Version, a.Why = c.Version, c.Why
		if c.Version == Back {
			fail := func(why string) (Action, *Failure, *Revert) {
				return Action{}, &Failure{Ref: d.Ref, Origin: d.Origin, Why: c.Why + "; cannot go back: " + why + "; not applied, so that no pod of the new version runs"}, nil
			}
			if rec.LastGood.Commit == "" {
				return fail("the record names no last good commit")
			}
			old, rendered := in.LastGood[key]
			switch {
			case !rendered:
				return fail("the last good commit " + rec.LastGood.Commit + " was not rendered")
			case old == nil:
				return fail("the last good commit " + rec.LastGood.Commit + " does not declare it")
			case old.Partial:
				return fail("at the last good commit it is known only through a $latch marker")
			}
			back := applyBody(old.Object)
			if r, ok := objtree.Int(body, "spec", "replicas"); ok {
				objtree.Set(back, r, "spec", "replicas") // git's latched scale, not the old one
			}
			body = back
			a.Why += fmt.Sprintf("; restored at the last good version from %s (%s)", shortCommit(rec.LastGood.Commit), rolloutrecord.ImageList(Images(old.Object)))
			rev = &Revert{Ref: d.Ref, Record: a.Record, LastGood: rec.LastGood.Commit, Why: c.Why, Replicas: -1, Images: Images(old.Object),
				Revision: rec.Current.Revision, Health: string(rec.Health), Milestone: rec.Milestone, Percent: rec.Percent}
			if d.RenderedBy == "" && old.RenderedBy == "" && d.Origin.File == old.Origin.File {
				rev.File = d.Origin.File
			}
			if r, ok := objtree.Int(body, "spec", "replicas"); ok {
				rev.Replicas = r
			}
		}
	}
	a.Replicas = -1
	if r, ok := objtree.Int(body, "spec", "replicas"); ok {
		a.Replicas = r
		if exists && live.ReplicasManager != "" && live.ReplicasManager != Manager {
			// An autoscaler (or a person) owns the live scale: leave it.
			delete(body["spec"].(map[string]any), "replicas")
			a.Replicas = -1
			a.Why += "; live scale kept (owned by " + live.ReplicasManager + ")"
		}
	}
	a.Body = body
	return a, nil, rev
}

func phaseOf(ref objectid.Ref) Phase {
	switch {
	case ref.Group == "" && ref.Kind == "Namespace":
		return PhaseNamespaces
	case ref.Group == "apiextensions.k8s.io" && ref.Kind == "CustomResourceDefinition":
		return PhaseCRDs
	}
	return PhaseObjects
}

// applyBody is a deep copy of obj without what an apply must not carry.
func applyBody(obj map[string]any) map[string]any {
	out := objtree.Copy(obj)
	delete(out, "status")
	if meta, ok := out["metadata"].(map[string]any); ok {
		for _, k := range []string{"resourceVersion", "uid", "creationTimestamp", "managedFields", "generation", "selfLink"} {
			delete(meta, k)
		}
	}
	return out
}

// Images maps container name to image in a workload's pod template
// (spec.template.spec.containers); nil when it has none.
func Images(obj map[string]any) map[string]string {
	spec, _ := obj["spec"].(map[string]any)
	tmpl, _ := spec["template"].(map[string]any)
	pod, _ := tmpl["spec"].(map[string]any)
	list, _ := pod["containers"].([]any)
	var out map[string]string
	for _, c := range list {
		m, _ := c.(map[string]any)
		name, _ := m["name"].(string)
		image, _ := m["image"].(string)
		if name == "" {
			continue
		}
		if out == nil {
			out = map[string]string{}
		}
		out[name] = image
	}
	return out
}

func shortCommit(c string) string {
	if len(c) > 7 {
		return c[:7]
	}
	return c
}

// LastGoodCommits lists, per commit, the workloads Choose sends back to it:
// what the caller must render from history before Decide.
func LastGoodCommits(objects []*manifest.Declared, records *rolloutrecord.Set, threshold int) map[string][]objectid.Ref {
	out := map[string][]objectid.Ref{}
	for _, d := range objects {
		rec := records.Get(d.Ref)
		if rec == nil || d.Partial || rec.LastGood.Commit == "" {
			continue
		}
		if Choose(rec, Images(d.Object), threshold).Version == Back {
			out[rec.LastGood.Commit] = append(out[rec.LastGood.Commit], d.Ref)
		}
	}
	return out
}
