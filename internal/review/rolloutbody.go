package review

import (
	"fmt"
	"strings"

	"github.com/latch-gitops/latch/internal/rolloutrecord"
)

// RolloutEvidence is what a rollout PR's title and body say.
type RolloutEvidence struct {
	Cluster string
	Object  Object
	Kind    RolloutKind
	// File is the workload's manifest the revert rewrites ("" for a
	// record), RecordFile its rollout record.
	File, RecordFile string
	// The rollout as the record has it: the new version's revision, its
	// health, milestone and exact share, and why.
	Revision       string
	Health         string
	Milestone      int
	Percent        int
	Reason         string
	Complete       bool
	LastGood       string
	LastGoodImages map[string]string
	// Why is latch restore's decision, for a revert.
	Why string
}

// RolloutText is a rollout PR's title and body, with m as its marker.
func RolloutText(e RolloutEvidence, m Marker) (title, body string) {
	what := ref(e.Object)
	var b strings.Builder
	switch e.Kind {
	case Revert:
		title = fmt.Sprintf("latch: revert %s to its last good version %s (rollout of %s %s at %d %%)", what, short(e.LastGood), e.Revision, e.Health, e.Percent)
		fmt.Fprintf(&b, "latch restore went back to the last good version of **%s**%s and proposes the revert to git.\n\n", what, clusterText(e.Cluster))
		fmt.Fprintf(&b, "| | |\n| --- | --- |\n")
		fmt.Fprintf(&b, "| failed rollout | %s: %s at %d %% (milestone %d %%)%s |\n", e.Revision, e.Health, e.Percent, e.Milestone, reasonText(e.Reason))
		fmt.Fprintf(&b, "| last good commit | %s |\n", e.LastGood)
		if len(e.LastGoodImages) > 0 {
			fmt.Fprintf(&b, "| last good images | %s |\n", strings.ReplaceAll(rolloutrecord.ImageList(e.LastGoodImages), "|", "\\|"))
		}
		fmt.Fprintf(&b, "| file | %s (back at its last good content, git's latched scale kept) |\n", e.File)
		fmt.Fprintf(&b, "| record | %s (marked held) |\n", e.RecordFile)
		if e.Why != "" {
			fmt.Fprintf(&b, "\n%s\n", e.Why)
		}
		b.WriteString("\nThe cluster already runs the last good version. Until this is merged, git still declares the failing one: a GitOps tool applying the branch would roll it out again (suspend its sync meanwhile). Merge to write the revert; close without merging to keep the new version in git (latch does not propose this revert again).\n")
	default:
		title = fmt.Sprintf("latch: rollout record of %s: %s at %d %%", what, e.Health, e.Milestone)
		if e.Complete {
			title = fmt.Sprintf("latch: rollout record of %s: complete", what)
		}
		fmt.Fprintf(&b, "latch records the rollout of **%s**%s (review mode always: the base branch takes changes only through pull requests).\n\n", what, clusterText(e.Cluster))
		fmt.Fprintf(&b, "| | |\n| --- | --- |\n")
		fmt.Fprintf(&b, "| new version | %s: %s, %d %% available (milestone %d %%)%s |\n", e.Revision, e.Health, e.Percent, e.Milestone, reasonText(e.Reason))
		if e.LastGood != "" {
			fmt.Fprintf(&b, "| last good commit | %s |\n", e.LastGood)
		}
		fmt.Fprintf(&b, "| record | %s |\n", e.RecordFile)
		b.WriteString("\nThe record changes nothing that runs (appliers skip .latch/); latch restore reads it from the base branch, so merge it to let a restore go by it. latch keeps this PR current as the rollout moves.\n")
	}
	return title, WithMarker(strings.TrimSpace(b.String()), m)
}

func clusterText(c string) string {
	if c == "" {
		return ""
	}
	return " (cluster " + c + ")"
}

func reasonText(r string) string {
	if r == "" {
		return ""
	}
	return "; " + strings.ReplaceAll(r, "|", "\\|")
}

// NewRolloutMarker is the marker of a rollout PR proposing key, at latch's
// commit.
func NewRolloutMarker(cluster string, o Object, k RolloutKind, key, commit string) Marker {
	return Marker{V: MarkerVersion, Cluster: cluster, Object: o, Field: k.Field(), Key: key, Commit: commit}
}
