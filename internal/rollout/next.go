package rollout

import "fmt"

// State is what latch keeps in git about a workload's newest rollout.
type State struct {
	Revision  string
	Milestone int
	Health    Health
	Reason    string
	// Complete: the new version reached 100 %; the record is kept as the
	// workload's last good version.
	Complete bool
	// Held: latch restore went back to LastGood for this revision and
	// wrote the revert to git.
	Held bool
	// DeclaredBy is the commit that declared the new template.
	DeclaredBy string
	// LastGood is the newest commit whose template completed healthy
	// (empty when unknown).
	LastGood string
}

// Commits are what git knows about the template the cluster rolls out,
// found by the caller in history.
type Commits struct {
	// DeclaredBy is the newest commit that changed the workload's
	// manifests at or before the head the pass read.
	DeclaredBy string
	// Before is DeclaredBy's parent: the template as it was before.
	Before string
}

// Step is what a pass does with the record.
type Step struct {
	// Write: the record must change; Next is its new content.
	Write bool
	Next  State
	// Why is one line for the commit message, e.g. "reached 50 %".
	Why string
}

// Next decides the record after an assessment. prev is the record in git
// (nil: none). A record is written when a rollout starts, passes a
// milestone, fails or completes — never for a change of health alone, and
// never again for a revision that failed or completed — so one rollout
// writes at most as many records as there are milestones.
func Next(prev *State, a Assessment, c Commits) Step {
	if prev == nil || prev.Revision != a.Revision {
		if a.Revision == "" {
			return Step{}
		}
		if !a.InFlight {
			// Nothing in flight. Only worth a record when git still says an
			// older rollout is unfinished: that rollout was superseded or
			// finished between passes, and the old record would mislead a
			// restore.
			if prev == nil || prev.Complete || a.Milestone < 100 {
				return Step{}
			}
		}
		next := State{
			Revision:   a.Revision,
			Milestone:  a.Milestone,
			Health:     a.Health,
			Reason:     a.Reason,
			Complete:   a.Milestone >= 100 && a.Health != Failed,
			DeclaredBy: c.DeclaredBy,
			LastGood:   lastGood(prev, c),
		}
		why := fmt.Sprintf("rollout of %s started at %d %%", shortRevision(a.Revision), a.Milestone)
		switch {
		case next.Health == Failed:
			why = fmt.Sprintf("rollout of %s failed at %d %%: %s", shortRevision(a.Revision), a.Milestone, a.Reason)
		case next.Complete:
			why = fmt.Sprintf("rollout of %s complete", shortRevision(a.Revision))
		}
		return Step{Write: true, Next: next, Why: why}
	}
	if prev.Complete || prev.Health == Failed {
		return Step{Next: *prev} // final for this revision: a scale, a restart, a flap
	}
	next := *prev
	if a.Milestone > next.Milestone {
		next.Milestone = a.Milestone
	}
	switch {
	case a.Health == Failed:
		next.Health, next.Reason = Failed, a.Reason
		return Step{Write: true, Next: next, Why: fmt.Sprintf("rollout of %s failed at %d %%: %s", shortRevision(a.Revision), next.Milestone, a.Reason)}
	case next.Milestone > prev.Milestone:
		next.Health, next.Reason = a.Health, a.Reason
		if next.Milestone >= 100 {
			next.Complete = true
			return Step{Write: true, Next: next, Why: fmt.Sprintf("rollout of %s complete", shortRevision(a.Revision))}
		}
		return Step{Write: true, Next: next, Why: fmt.Sprintf("rollout of %s reached %d %%, %s", shortRevision(a.Revision), next.Milestone, a.Health)}
	}
	return Step{Next: *prev}
}

// lastGood is the newest template known to have completed healthy: the
// previous rollout's own when it completed; what it recorded as last good
// when it failed or never finished; with no record, the template before
// the declaring commit (git's word, not the cluster's).
func lastGood(prev *State, c Commits) string {
	switch {
	case prev == nil:
		return c.Before
	case prev.Complete && prev.Health != Failed && prev.DeclaredBy != "":
		return prev.DeclaredBy
	case prev.LastGood != "":
		return prev.LastGood
	}
	return c.Before
}

func shortRevision(r string) string {
	if len(r) > 12 {
		return r[:12]
	}
	return r
}
