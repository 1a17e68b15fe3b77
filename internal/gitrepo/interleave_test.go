package gitrepo

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/latch-gitops/latch/internal/evidence"
)

// Where a human action happens relative to latch's CommitAndPush.
const (
	posBefore = iota // before CommitAndPush: the human's value is latch's base
	posCall1         // during latch's first edit call (after latch's fetch)
	posCall2         // during the second edit call, if there is one
	posAfter         // after CommitAndPush returned
)

// What the human changes.
const (
	humanOtherFile  = iota // notes/human.txt
	humanOtherField        // the image line of apps/web.yaml
	humanSameField         // the replicas line of apps/web.yaml: latch's field
)

type humanAction struct{ pos, kind int }

var imageLine = regexp.MustCompile(`(?m)^image: (.*)$`)

// TestInterleavedHumanAndLatch runs 100 rounds in which a human pushes to
// the same branch at random points around latch's CommitAndPush — other
// files, the same file, the same field — and checks the promises: every
// human commit survives, latch's value lands unless the human changed that
// field during the round (the human wins), history stays linear, and the
// remote branch only ever moved forward.
func TestInterleavedHumanAndLatch(t *testing.T) {
	const rounds = 100
	seed := uint64(20240611)
	if s := os.Getenv("LATCH_INTERLEAVE_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	t.Logf("seed %d (set LATCH_INTERLEAVE_SEED to replay another)", seed)
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))

	remote, human := seedRemote(t)
	// Record every update of the branch on the remote, to check none was forced.
	testGit(t, remote.BareDir, "config", "core.logAllRefUpdates", "always")
	r := cloneRemote(t, remote, remoteAuth(remote))
	var badPushes []string
	r.git.observe = func(a []string) {
		if a[0] == "push" && (checkNoForce(a) != nil || strings.Join(a, " ") != "push --porcelain --no-verify origin HEAD:refs/heads/main") {
			badPushes = append(badPushes, strings.Join(a, " "))
		}
	}
	ctx := testContext(t)
	opts := fastOptions()
	opts.Backoff, opts.MaxBackoff = 100*time.Microsecond, time.Millisecond

	var humanCommits []string
	var stats struct {
		conflicts, humanWon, humanActions, attempts int
		humanTime, latchTime                        time.Duration
	}
	act := func(round int, a humanAction, seq int) (sameFieldValue int64) {
		defer func(t0 time.Time) { stats.humanTime += time.Since(t0) }(time.Now())
		human.Pull()
		web := human.ReadFile("apps/web.yaml")
		switch a.kind {
		case humanOtherFile:
			human.WriteFile("notes/human.txt", fmt.Sprintf("round %d action %d\n", round, seq))
		case humanOtherField:
			web = imageLine.ReplaceAllString(web, fmt.Sprintf("image: web:%d.%d", round, seq))
			human.WriteFile("apps/web.yaml", web)
		case humanSameField:
			sameFieldValue = int64(100000 + round*10 + seq)
			web = replicasLine.ReplaceAllString(web, "replicas: "+strconv.FormatInt(sameFieldValue, 10))
			human.WriteFile("apps/web.yaml", web)
		}
		humanCommits = append(humanCommits, human.Commit(fmt.Sprintf("human: round %d action %d kind %d", round, seq, a.kind)))
		human.Push()
		stats.humanActions++
		return sameFieldValue
	}

	start := time.Now()
	for round := 0; round < rounds; round++ {
		target := int64(1000 + round) // never a value the human writes
		var actions []humanAction
		// 0–2 human actions a round (one on average): enough for conflicts
		// and human wins, while keeping the test's git processes few.
		for n := rng.IntN(3); n > 0; n-- {
			actions = append(actions, humanAction{pos: rng.IntN(4), kind: rng.IntN(3)})
		}
		done := make([]bool, len(actions))
		run := func(pos int) (sameField bool, value int64) {
			for i, a := range actions {
				if a.pos == pos && !done[i] {
					done[i] = true
					if v := act(round, a, i); a.kind == humanSameField {
						sameField, value = true, v
					}
				}
			}
			return sameField, value
		}
		run(posBefore)
		calls := 0
		humanSetField, humanValue := false, int64(0)
		edit := func(ctx context.Context, ws Workspace) ([]evidence.Change, error) {
			calls++
			if calls <= 2 {
				if same, v := run(posBefore + calls); same {
					humanSetField, humanValue = true, v
				}
			}
			c, err := setReplicas("apps/web.yaml", "shop/web", target)(ws)
			if err != nil || c == nil {
				return nil, err
			}
			return []evidence.Change{*c}, nil
		}
		t0 := time.Now()
		res, err := r.CommitAndPush(ctx, opts, edit)
		stats.latchTime += time.Since(t0)
		if err != nil {
			t.Fatalf("round %d (actions %+v): %v", round, actions, err)
		}
		stats.attempts += res.Attempts
		stats.conflicts += res.Attempts - 1
		stats.humanWon += len(res.HumanWon)

		// Right after latch: its value, or the human's if the human changed
		// the field during the round.
		web := remoteFile(t, remote, "apps/web.yaml")
		got, _ := strconv.ParseInt(replicasLine.FindStringSubmatch(web)[1], 10, 64)
		switch {
		case humanSetField && got != humanValue:
			t.Errorf("round %d (actions %+v): replicas %d, want the human's %d (human wins)", round, actions, got, humanValue)
		case humanSetField && (len(res.HumanWon) != 1 || res.Pushed):
			t.Errorf("round %d (actions %+v): human won but result says %+v", round, actions, res)
		case !humanSetField && got != target:
			t.Errorf("round %d (actions %+v): replicas %d, want latch's %d", round, actions, got, target)
		case !humanSetField && (!res.Pushed || res.Commit != remote.Head(t, "main")):
			t.Errorf("round %d (actions %+v): latch's commit is not the head: %+v", round, actions, res)
		}
		// Leftovers (a second edit call that never came) and the after actions.
		run(posCall2)
		run(posAfter)
	}
	elapsed := time.Since(start)

	head := remote.Head(t, "main")
	history := strings.Fields(testGit(t, remote.BareDir, "rev-list", "--first-parent", head))
	index := map[string]int{}
	for i, c := range history {
		index[c] = len(history) - i // oldest is 1
	}
	for _, c := range humanCommits {
		if index[c] == 0 {
			t.Errorf("human commit %s is not in the final history", c)
		}
	}
	if merges := testGit(t, remote.BareDir, "rev-list", "--min-parents=2", head); merges != "" {
		t.Errorf("merge commits on main:\n%s", merges)
	}
	if all := testGit(t, remote.BareDir, "rev-list", head); len(strings.Fields(all)) != len(history) {
		t.Errorf("history is not linear: %d commits, %d on the first-parent chain", len(strings.Fields(all)), len(history))
	}
	// The remote's reflog: every update went from a commit to a descendant.
	reflog := strings.Split(strings.TrimSpace(readFile(t, filepath.Join(remote.BareDir, "logs", "refs", "heads", "main"))), "\n")
	zero := strings.Repeat("0", 40)
	for _, line := range reflog {
		f := strings.Fields(line)
		oldC, newC := f[0], f[1]
		if oldC == zero {
			continue
		}
		if index[oldC] == 0 || index[newC] == 0 || index[oldC] >= index[newC] {
			t.Errorf("remote branch moved from %s to %s, not forward: %s", oldC, newC, line)
		}
	}
	if len(reflog) < rounds {
		t.Errorf("reflog has %d updates, want at least %d (core.logAllRefUpdates did not record?)", len(reflog), rounds)
	}
	if len(badPushes) > 0 {
		t.Errorf("pushes other than a plain fast-forward: %v", badPushes)
	}
	latchCommits := len(remote.Log(t, "main", "%an")) - len(humanCommits) - 1
	t.Logf("%d rounds in %v: %d human commits, %d latch commits, %d attempts, %d conflicts retried, %d rounds the human won, %d remote updates",
		rounds, elapsed.Round(time.Millisecond), len(humanCommits), latchCommits, stats.attempts, stats.conflicts, stats.humanWon, len(reflog))
	t.Logf("time in CommitAndPush (human actions during edit included): %v; in all human actions: %v",
		stats.latchTime.Round(time.Millisecond), stats.humanTime.Round(time.Millisecond))
	if stats.conflicts == 0 || stats.humanWon == 0 {
		t.Errorf("the schedule never exercised a conflict (%d) or a human win (%d): the test proves little", stats.conflicts, stats.humanWon)
	}
}
