package rollout

import "fmt"

// ArgoStatus is what an Argo Rollout's status says beyond the counts. The
// Argo Rollouts controller names each version by the hash of its pod
// template (the rollouts-pod-template-hash label of its ReplicaSet and
// pods): status.currentPodHash is the version the spec asks for (Snapshot.
// Revision), status.stableRS the one that last finished. The controller
// sets stableRS to currentPodHash once it promotes the new version fully,
// so a Rollout is in flight while the two differ; a fresh Rollout starts
// with them equal (its first version is stable at once).
type ArgoStatus struct {
	// StableRevision is status.stableRS.
	StableRevision string
	// Phase and Message are status.phase (Healthy, Progressing, Degraded,
	// Paused) and status.message, as the controller computed them.
	Phase, Message string
	// Aborted is status.abort: a person or a failed analysis aborted the
	// update and the controller scales the new version away.
	Aborted bool
	// Step is a canary's status.currentStepIndex (nil: none).
	Step *int32
}

// Phases of an Argo Rollout the assessment reads.
const (
	ArgoPhaseDegraded = "Degraded"
	ArgoPhasePaused   = "Paused"
)

func argoInFlight(s Snapshot) bool {
	return s.Argo != nil && s.Argo.StableRevision != "" && s.Argo.StableRevision != s.Revision
}

// argoFailed: an update in flight that the controller aborted or reports
// Degraded (progress deadline exceeded, an aborted update, an invalid
// spec) has failed.
func argoFailed(s Snapshot) (bool, string) {
	st := s.Argo
	switch {
	case st == nil:
		return false, ""
	case st.Aborted:
		return true, withMessage("aborted", st.Message)
	case st.Phase == ArgoPhaseDegraded:
		return true, withMessage("degraded", st.Message)
	}
	return false, ""
}

func argoPaused(s Snapshot) bool {
	return s.Paused || (s.Argo != nil && s.Argo.Phase == ArgoPhasePaused)
}

// argoNote adds to a Rollout's reason what its status adds to the counts:
// the canary step, and why a rollout in flight with every pod up is not
// complete.
func argoNote(s Snapshot, a Assessment) string {
	note := ""
	if s.Argo != nil && s.Argo.Step != nil && a.InFlight {
		note += fmt.Sprintf("; canary step %d", *s.Argo.Step)
	}
	if a.InFlight && s.NewAvailable >= s.Desired {
		note += "; not promoted to stable yet"
	}
	if s.ObservedGeneration < s.Generation {
		note += fmt.Sprintf("; the Argo Rollouts controller has not observed generation %d yet", s.Generation)
	}
	return note
}

func withMessage(what, msg string) string {
	if msg == "" {
		return what
	}
	return what + ": " + msg
}
