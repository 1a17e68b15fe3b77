package rollout

import (
	"fmt"
	"sort"
	"time"
)

// Health is how the new version is doing.
type Health string

const (
	// Progressing: the rollout runs and nothing says the new version is
	// good or bad yet (no pod of it available so far, none failing).
	Progressing Health = "progressing"
	// Healthy: pods of the new version are available and none is failing.
	Healthy Health = "healthy"
	// Failed: the progress deadline passed, or a pod of the new version
	// crash-loops or stays not Ready too long. Final for the revision.
	Failed Health = "failed"
)

// Valid reports whether h is one of the three healths.
func (h Health) Valid() bool { return h == Progressing || h == Healthy || h == Failed }

// Kinds a snapshot can describe.
const (
	KindDeployment  = "Deployment"
	KindStatefulSet = "StatefulSet"
	// KindRollout is an Argo Rollout (rollouts.argoproj.io), read by its
	// status (argo.go).
	KindRollout = "Rollout"
)

// Condition is the workload's Progressing condition as the API reports it.
type Condition struct {
	Status  string // "True", "False" or "Unknown"
	Reason  string // e.g. "NewReplicaSetAvailable", "ProgressDeadlineExceeded"
	Message string
}

// ReasonProgressDeadlineExceeded is the Deployment controller's reason on a
// False Progressing condition once spec.progressDeadlineSeconds passed.
const ReasonProgressDeadlineExceeded = "ProgressDeadlineExceeded"

// Pod is one pod of the new version.
type Pod struct {
	Name    string
	Created time.Time
	Ready   bool
	// Restarts is the highest restart count among its containers.
	Restarts int32
	// Waiting is a container's waiting reason, e.g. "CrashLoopBackOff",
	// "ImagePullBackOff" (empty when none waits).
	Waiting string
}

// Snapshot is what the caller observed about one workload at At.
type Snapshot struct {
	Kind string // KindDeployment, KindStatefulSet or KindRollout
	// Generation and ObservedGeneration: a controller that has not seen the
	// latest spec yet reports on the previous one.
	Generation, ObservedGeneration int64
	// Desired is spec.replicas.
	Desired int32
	// Paused is a Deployment's or an Argo Rollout's spec.paused.
	Paused bool
	// Revision names the new version: the pod-template-hash of the
	// Deployment's newest ReplicaSet, or a StatefulSet's updateRevision.
	// Empty when no ReplicaSet exists (a Deployment paused from creation).
	Revision string
	// CurrentRevision is a StatefulSet's currentRevision (what the pods
	// not yet updated run); unused for Deployments.
	CurrentRevision string
	// Partition is a StatefulSet's rollingUpdate partition (0 when unset).
	Partition int32
	// Argo is what an Argo Rollout's status adds (nil for other kinds).
	Argo *ArgoStatus
	// NewReplicas is how many pods the controller is scaling the new
	// version to: the new ReplicaSet's spec.replicas, or a StatefulSet's
	// status.updatedReplicas. NewReady and NewAvailable count its pods that
	// are Ready and available.
	NewReplicas, NewReady, NewAvailable int32
	// OldReplicas counts the pods of every older version (their
	// ReplicaSets' status.replicas).
	OldReplicas int32
	// Progressing is the Progressing condition (nil: none, as for
	// StatefulSets).
	Progressing *Condition
	// NewPods are the new version's pods, for crash loops and pods that
	// never become Ready.
	NewPods []Pod
	// At is when the snapshot was taken.
	At time.Time
}

// Options tune the assessment. The zero value means the defaults.
type Options struct {
	// Milestones are the percentages worth a record, ascending, within
	// 0..100; empty means DefaultMilestones. 0 and 100 are always added:
	// the start and the end of a rollout are always recorded.
	Milestones []int
	// NotReadyAfter is how long a new pod may stay not Ready before the
	// rollout counts as failed (0: DefaultNotReadyAfter).
	NotReadyAfter time.Duration
	// CrashLoopRestarts is the restart count from which a new pod counts as
	// crash-looping (0: DefaultCrashLoopRestarts).
	CrashLoopRestarts int32
}

// Defaults for Options.
var DefaultMilestones = []int{0, 25, 50, 75, 100}

const (
	DefaultNotReadyAfter     = 5 * time.Minute
	DefaultCrashLoopRestarts = 3
	// MinNotReadyAfter is the shortest NotReadyAfter latch.yaml may set:
	// below it an image pull alone would fail a healthy rollout.
	MinNotReadyAfter = 30 * time.Second
)

// ValidateMilestones reports what is wrong with a milestone list from
// latch.yaml: each within 0..100, strictly ascending.
func ValidateMilestones(ms []int) error {
	for i, m := range ms {
		if m < 0 || m > 100 {
			return fmt.Errorf("milestone %d is outside 0..100", m)
		}
		if i > 0 && m <= ms[i-1] {
			return fmt.Errorf("milestones must be strictly ascending (%d after %d)", m, ms[i-1])
		}
	}
	return nil
}

// WithDefaults is o with every zero setting replaced by its default: what
// Assess goes by.
func (o Options) WithDefaults() Options {
	if len(o.Milestones) == 0 {
		o.Milestones = DefaultMilestones
	}
	if o.NotReadyAfter <= 0 {
		o.NotReadyAfter = DefaultNotReadyAfter
	}
	if o.CrashLoopRestarts <= 0 {
		o.CrashLoopRestarts = DefaultCrashLoopRestarts
	}
	return o
}

func (o Options) milestones() []int {
	ms := o.WithDefaults().Milestones
	out := []int{0}
	for _, m := range ms {
		if m > 0 && m < 100 {
			out = append(out, m)
		}
	}
	out = append(out, 100)
	sort.Ints(out)
	return out
}

// Assessment is what a snapshot says about the rollout.
type Assessment struct {
	// InFlight: a new version is being rolled out (not all desired replicas
	// updated and available on it, or old pods remain).
	InFlight bool
	Revision string
	// Percent is the exact share of desired replicas updated and
	// available on the new version (0..100, rounded down).
	Percent int
	// Milestone is the highest milestone at or below Percent.
	Milestone int
	Health    Health
	// Reason explains Health (and why nothing is in flight when not).
	Reason string
}

// Assess reads a snapshot.
func Assess(s Snapshot, o Options) Assessment {
	a := Assessment{Revision: s.Revision}
	if s.Kind == KindRollout && s.Revision == "" {
		a.Health = Progressing
		a.Reason = "the Argo Rollouts controller has not reported on it yet (no status.currentPodHash)"
		return a
	}
	if s.Kind == KindDeployment && s.Revision == "" {
		// Kubernetes does not create a ReplicaSet for a Deployment that is
		// paused before its first rollout: nothing runs, so a pause is no
		// way to hold a version on a fresh cluster.
		a.Health = Progressing
		a.Reason = "no ReplicaSet exists yet"
		if s.Paused {
			a.Reason = "paused before its first ReplicaSet was created: no pod runs"
		}
		return a
	}
	a.Percent = percent(s.NewAvailable, s.Desired)
	a.Milestone = milestoneAt(a.Percent, o.milestones())
	switch s.Kind {
	case KindRollout:
		a.InFlight = argoInFlight(s)
		if a.InFlight && a.Percent >= 100 {
			// Every pod is up but the controller has not promoted the
			// new version to stable (a blue-green preview, a canary's
			// last pause or analysis): not complete yet.
			a.Percent = 99
			a.Milestone = milestoneAt(a.Percent, o.milestones())
		}
	case KindStatefulSet:
		// On a fresh cluster currentRevision starts equal to
		// updateRevision, so a partition keeps nothing on an older
		// version: there is no rollout to follow.
		a.InFlight = s.CurrentRevision != "" && s.CurrentRevision != s.Revision
	default:
		// Old pods still running, or a new ReplicaSet not yet scaled to
		// the desired count, is a rollout. A first rollout (no older
		// version) or an autoscaler's scale-up is neither: the new
		// ReplicaSet is sized to the desired count at once.
		a.InFlight = s.OldReplicas > 0 || s.NewReplicas < s.Desired
	}
	a.Health, a.Reason = health(s, o, a)
	return a
}

func percent(n, of int32) int {
	if of <= 0 {
		// Scaled to zero: nothing can be unavailable, the version is all there is.
		return 100
	}
	if n >= of {
		return 100
	}
	if n <= 0 {
		return 0
	}
	return int(int64(n) * 100 / int64(of))
}

func milestoneAt(p int, ms []int) int {
	best := 0
	for _, m := range ms {
		if m <= p {
			best = m
		}
	}
	return best
}

func health(s Snapshot, o Options, a Assessment) (Health, string) {
	if c := s.Progressing; c != nil && c.Status == "False" && c.Reason == ReasonProgressDeadlineExceeded {
		msg := "progress deadline exceeded"
		if c.Message != "" {
			msg += ": " + c.Message
		}
		return Failed, msg
	}
	if s.Kind == KindRollout && a.InFlight {
		if failed, why := argoFailed(s); failed {
			return Failed, why
		}
	}
	o = o.WithDefaults()
	restarts, notReadyAfter := o.CrashLoopRestarts, o.NotReadyAfter
	pods := append([]Pod(nil), s.NewPods...)
	sort.Slice(pods, func(i, j int) bool { return pods[i].Name < pods[j].Name })
	for _, p := range pods {
		if p.Waiting == "CrashLoopBackOff" || p.Restarts >= restarts {
			return Failed, fmt.Sprintf("pod %s of the new version is crash-looping (%d restarts)", p.Name, p.Restarts)
		}
	}
	for _, p := range pods {
		if p.Ready || p.Created.IsZero() || s.At.IsZero() {
			continue
		}
		if age := s.At.Sub(p.Created); age >= notReadyAfter {
			why := ""
			if p.Waiting != "" {
				why = " (" + p.Waiting + ")"
			}
			return Failed, fmt.Sprintf("pod %s of the new version has not been Ready for %s%s", p.Name, age.Round(time.Second), why)
		}
	}
	paused, note := s.Paused, ""
	if s.Kind == KindRollout {
		paused, note = argoPaused(s), argoNote(s, a)
	}
	switch {
	case a.Percent >= 100:
		return Healthy, fmt.Sprintf("all %d desired replicas available on the new version", s.Desired) + note
	case s.NewAvailable > 0:
		why := fmt.Sprintf("%d of %d desired replicas available on the new version, none failing", s.NewAvailable, s.Desired)
		if paused {
			why += "; paused"
		}
		return Healthy, why + note
	case paused:
		return Progressing, "paused before a pod of the new version became available" + note
	}
	return Progressing, "no pod of the new version available yet" + note
}
