package gitrepo

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/latch-gitops/latch/internal/evidence"
)

// LatchCommit is one latch commit found in the branch's history.
type LatchCommit struct {
	Commit  string
	When    time.Time
	Cluster string
	Changes []evidence.Change
}

// History returns the newest max latch commits (default 1000) of the remote
// branch as last fetched (Refresh or CommitAndPush), newest first.
// Commits without Latch-Object trailers (people's) are skipped; a latch
// commit whose trailers do not parse is skipped too, since history is
// evidence to show, not input to act on.
func (r *Repo) History(ctx context.Context, max int) ([]LatchCommit, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if max <= 0 {
		max = 1000
	}
	// Records are separated by NUL; fields by the unit separator.
	out, err := r.git.run(ctx, r.gitDir(), nil, "log", "-z", "--max-count="+strconv.Itoa(max),
		"--format=%H%x1f%ct%x1f%B", "--grep=^"+evidence.TrailerObject+": ", r.trackingRef())
	if err != nil {
		return nil, fmt.Errorf("reading latch history of %s: %w", r.branch, err)
	}
	var commits []LatchCommit
	for _, record := range strings.Split(out, "\x00") {
		fields := strings.SplitN(record, "\x1f", 3)
		if len(fields) != 3 {
			continue
		}
		cluster, changes, err := evidence.ParseMessage(fields[2])
		if err != nil || len(changes) == 0 {
			continue
		}
		secs, err := strconv.ParseInt(fields[1], 10, 64)
		if err != nil {
			continue
		}
		commits = append(commits, LatchCommit{Commit: fields[0], When: time.Unix(secs, 0).UTC(), Cluster: cluster, Changes: changes})
	}
	return commits, nil
}

// ShortID abbreviates a commit id the way git shows it by default (7 hex
// digits) for messages, events and tables.
func ShortID(commit string) string {
	if len(commit) > 7 {
		return commit[:7]
	}
	return commit
}
