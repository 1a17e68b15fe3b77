package reviewflow

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/latch-gitops/latch/internal/evidence"
	"github.com/latch-gitops/latch/internal/gitrepo"
	"github.com/latch-gitops/latch/internal/review"
)

// writeNote is a rollout change: .latch/rollouts/shop/deployment-web.md
// holding text.
func writeNote(text string) gitrepo.EditFunc {
	return func(ctx context.Context, ws gitrepo.Workspace) ([]evidence.Change, error) {
		dir := filepath.Join(ws.Dir, ".latch", "rollouts", "shop")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(dir, "deployment-web.md"), []byte(text+"\n"), 0o644); err != nil {
			return nil, err
		}
		return []evidence.Change{{Object: web, Field: review.RecordField, File: ".latch/rollouts/shop/deployment-web.md", To: 1, Rule: "rollout"}}, nil
	}
}

func (e *env) runRollout(kind review.RolloutKind, key, text string) RolloutOutcome {
	e.t.Helper()
	out, err := e.flow.RunRollout(e.ctx, RolloutItem{Object: web, Kind: kind, Key: key, Edit: writeNote(text),
		Evidence: review.RolloutEvidence{Cluster: "test", Object: web, Kind: kind, RecordFile: ".latch/rollouts/shop/deployment-web.md", Revision: "r1", Health: "healthy", Milestone: 25}})
	if err != nil {
		e.t.Fatalf("RunRollout: %v", err)
	}
	return out
}

// TestGiteaRolloutPRs: a record change opens one PR on the rollout branch,
// beside the workload's open value PR (no D/F conflict); the next
// milestone updates it in place, the same one changes nothing; a revert
// takes the PR over, and a record change then waits. main never moves.
func TestGiteaRolloutPRs(t *testing.T) {
	e := setup(t)
	mainHead := e.branchHead("main")
	if out := e.run(e.item(40, 400)); !out.Created {
		t.Fatalf("value PR: %+v", out)
	}
	out := e.runRollout(review.Record, "k25", "milestone 25")
	if out.Decision.Action != review.Open || !out.Created || out.Branch != "latch/test/_rollout/shop/deployment.apps/web" {
		t.Fatalf("record: %+v", out)
	}
	pr := out.PR
	if n := len(e.openPRs()); n != 2 {
		t.Fatalf("%d open PRs, want the value PR and the record PR", n)
	}
	if out := e.runRollout(review.Record, "k25", "milestone 25 again"); out.Decision.Action != review.Nothing || out.Updated {
		t.Fatalf("same record: %+v", out)
	}
	out = e.runRollout(review.Record, "k50", "milestone 50")
	if out.Decision.Action != review.Update || out.PR != pr || !out.Updated {
		t.Fatalf("next milestone: %+v", out)
	}
	check := t.TempDir()
	git(t, check, "clone", "--quiet", e.g.AuthCloneURL(), ".")
	git(t, check, "fetch", "--quiet", "origin", out.Branch)
	if n := git(t, check, "rev-list", "--count", "origin/main..FETCH_HEAD"); n != "1" {
		t.Fatalf("%s commits on the rollout branch, want 1", n)
	}
	if got := git(t, check, "show", "FETCH_HEAD:.latch/rollouts/shop/deployment-web.md"); got != "milestone 50" {
		t.Fatalf("record on the branch: %q", got)
	}
	out = e.runRollout(review.Revert, "rev1", "held")
	if out.Decision.Action != review.Update || out.PR != pr {
		t.Fatalf("revert over the record PR: %+v", out)
	}
	if got, _ := e.fc.Get(e.ctx, pr); !strings.Contains(got.Title, "revert") {
		t.Fatalf("title after the revert: %q", got.Title)
	}
	if out := e.runRollout(review.Revert, "rev1", "held"); out.Decision.Action != review.Nothing {
		t.Fatalf("second revert: %+v", out)
	}
	if out := e.runRollout(review.Record, "k75", "milestone 75"); out.Decision.Action != review.Nothing || !out.Decision.Blocked {
		t.Fatalf("record while the revert waits: %+v", out)
	}
	if n := len(e.openPRs()); n != 2 {
		t.Fatalf("%d open PRs, want 2", n)
	}
	if e.branchHead("main") != mainHead {
		t.Fatal("main moved")
	}
}
