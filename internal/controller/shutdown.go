package controller

import (
	"context"
	"time"

	"github.com/latch-gitops/latch/internal/gitrepo"
)

// landedCheckTimeout bounds the ls-remote a pass stopped at shutdown runs:
// the manager gives its runnables ShutdownGrace plus 5 s.
const landedCheckTimeout = 4 * time.Second

// landedAtShutdown reports whether the commit of a pass stopped past
// ShutdownGrace is on the remote anyway (its push was cut short after the
// server took it); it then marks res pushed. A pass stopped before it
// committed, or a remote that cannot be asked, counts as abandoned: the
// next start latches from git either way.
func (b *batchLoop) landedAtShutdown(res *gitrepo.Result) bool {
	if res.Commit == "" || res.Pushed {
		return res.Pushed
	}
	ctx, cancel := context.WithTimeout(context.Background(), landedCheckTimeout)
	defer cancel()
	landed, err := b.opts.Latcher.Repo.Landed(ctx, res.Commit)
	if err != nil {
		b.log.Warn("could not ask the remote whether the push cut short at shutdown landed", "commit", res.Commit, "error", err)
		return false
	}
	if landed {
		res.Pushed = true
	}
	return landed
}
