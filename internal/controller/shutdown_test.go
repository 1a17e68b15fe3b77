package controller

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/latch-gitops/latch/internal/backoff"
	"github.com/latch-gitops/latch/internal/testenv"
)

// TestShutdownAfterThePushLanded: a stop signal while latch waits for the
// reply to a push the remote has already taken. Past ShutdownGrace the
// push is cut short, but latch asks the remote before saying what
// happened: the pass counts as ok (not abandoned), the commit as pushed,
// and the Latched Event goes out. A push that did not land (the remote
// held back before taking it) still counts as abandoned.
func TestShutdownAfterThePushLanded(t *testing.T) {
	for _, tc := range []struct {
		name   string
		landed bool
	}{
		{"push landed, reply lost", true},
		{"push held before the remote", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			remote := testenv.NewGitRemote(t)
			seed(t, remote, map[string]string{"apps/web.yaml": webManifest})
			proxy := testenv.NewDelayProxy(t, remote)
			gate := newPassGate(backoff.Policy{Initial: time.Second, Max: time.Second}, nil, nil)
			l := newGitOnlyLoop(t, proxy.URL, remote, gate, 200*time.Millisecond)
			before := remote.Head(t, "main")

			t.Cleanup(proxy.HoldPushes(tc.landed))
			ctx, stop := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() {
				defer close(done)
				l.loop.requeue(time.Now(), 1)
				l.loop.pass(ctx)
			}()
			testenv.WaitUntil(t, "the push held", func() bool { return proxy.Pushes() > 0 })
			if moved := remote.Head(t, "main") != before; moved != tc.landed {
				t.Fatalf("the remote's branch moved: %v, want %v", moved, tc.landed)
			}
			stop()
			testenv.WaitUntil(t, "the pass to end once its grace is over", func() bool {
				select {
				case <-done:
					return true
				default:
					return false
				}
			})

			ok, abandoned := l.in.metric(t, "latch_passes_total", "result", "ok"), l.in.metric(t, "latch_passes_total", "result", "abandoned")
			commits := l.in.metric(t, "latch_commits_total")
			reasons := strings.Join(l.eventReasons(t, "shop"), ",")
			if tc.landed {
				if ok != 1 || abandoned != 0 || commits != 1 {
					t.Errorf("passes ok %.0f, abandoned %.0f, commits %.0f; want 1, 0, 1 (the push landed)", ok, abandoned, commits)
				}
				if reasons != "Latched" {
					t.Errorf("events about shop/web: %q, want Latched", reasons)
				}
				if got := gitShow(t, remote, "apps/web.yaml"); !strings.Contains(got, "  replicas: 40 # latched by latch\n") {
					t.Errorf("the remote does not hold the latch:\n%s", got)
				}
				return
			}
			if ok != 0 || abandoned != 1 || commits != 0 {
				t.Errorf("passes ok %.0f, abandoned %.0f, commits %.0f; want 0, 1, 0 (nothing landed)", ok, abandoned, commits)
			}
			if reasons != "" {
				t.Errorf("events about shop/web: %q, want none", reasons)
			}
			if got := remote.Head(t, "main"); got != before {
				t.Errorf("the remote moved to %s", got)
			}
		})
	}
}
