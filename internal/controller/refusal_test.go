package controller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kubefake "k8s.io/client-go/kubernetes/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/latch-gitops/latch/internal/backoff"
	"github.com/latch-gitops/latch/internal/gitrepo"
	"github.com/latch-gitops/latch/internal/state"
	"github.com/latch-gitops/latch/internal/testenv"
)

func TestClassifyFailure(t *testing.T) {
	wrap := func(e *gitrepo.Error) error { return fmt.Errorf("push to x branch main: %w", e) }
	for _, tc := range []struct {
		name string
		err  error
		want passFailure
	}{
		{"bad credentials on fetch", wrap(&gitrepo.Error{Op: "fetch", Kind: gitrepo.KindAuth}), passFailure{Kind: "auth", BackOff: true}},
		{"bad credentials on push", wrap(&gitrepo.Error{Op: "push", Kind: gitrepo.KindAuth}), passFailure{Kind: "auth", BackOff: true}},
		{"hook declined", wrap(&gitrepo.Error{Op: "push", Kind: gitrepo.KindOther, Detail: "[remote rejected] (pre-receive hook declined)"}), passFailure{Kind: "declined", BackOff: true}},
		{"repository not found", wrap(&gitrepo.Error{Op: "fetch", Kind: gitrepo.KindOther}), passFailure{Kind: "other", BackOff: true}},
		// Retried inside the pass already, and may clear any moment.
		{"remote down", wrap(&gitrepo.Error{Op: "fetch", Kind: gitrepo.KindNetwork}), passFailure{}},
		{"others kept pushing", wrap(&gitrepo.Error{Op: "push", Kind: gitrepo.KindConflict}), passFailure{}},
		// Not git's doing, but it fails the same way until someone commits.
		{"broken latch.yaml", errors.New("policy at abc1234: latch.yaml:3:1: unknown field"), passFailure{BackOff: true}},
	} {
		if got := classifyFailure(tc.err); got != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

// fakeClock is the time the gate reads; the test moves it.
type fakeClock struct{ now time.Time }

func (c *fakeClock) Now() time.Time { return c.now }

// TestRefusalBackoff runs the batch loop's passes against a real git remote
// on loopback that refuses latch — wrong credentials, or a pre-receive hook
// that declines every push — with the clock in the test's hands. Passes
// due while the backoff lasts send nothing; the batch stays queued; the
// metrics, /readyz and one Event say git refuses latch; the waits double;
// once git accepts latch again the change is latched, the gate reopens and
// an Event says so.
func TestRefusalBackoff(t *testing.T) {
	for _, tc := range []struct {
		name string
		kind string
		// refuse makes the remote refuse latch; accept undoes it.
		refuse, accept func(remote *testenv.GitRemote)
		// requests counts what latch sent that the remote refused.
		requests func(remote *testenv.GitRemote) int64
	}{
		{
			name: "bad credentials", kind: "auth",
			refuse:   func(r *testenv.GitRemote) { r.SetPassword("rotated-" + r.Password) },
			accept:   func(r *testenv.GitRemote) { r.SetPassword(strings.TrimPrefix(r.Password, "rotated-")) },
			requests: func(r *testenv.GitRemote) int64 { return r.AuthFailures() },
		},
		{
			name: "push declined by a hook", kind: "declined",
			refuse: func(r *testenv.GitRemote) {
				hook := filepath.Join(r.BareDir, "hooks", "pre-receive")
				script := "#!/bin/sh\necho \"declined $(date +%s%N)\" >> \"$GIT_DIR/declined.log\"\necho 'branch is frozen' >&2\nexit 1\n"
				if err := os.WriteFile(hook, []byte(script), 0o755); err != nil {
					t.Fatal(err)
				}
			},
			accept: func(r *testenv.GitRemote) {
				if err := os.Remove(filepath.Join(r.BareDir, "hooks", "pre-receive")); err != nil {
					t.Fatal(err)
				}
			},
			requests: func(r *testenv.GitRemote) int64 {
				data, _ := os.ReadFile(filepath.Join(r.BareDir, "declined.log"))
				return int64(strings.Count(string(data), "declined"))
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testenv.Context(t)
			remote := testenv.NewGitRemote(t)
			seed(t, remote, map[string]string{"apps/web.yaml": webManifest})
			clock := &fakeClock{now: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}
			policy := backoff.Policy{Initial: 10 * time.Second, Max: 40 * time.Second}
			// Jitter 0: each wait is half its ceiling, 5s, 10s, 20s, 20s…
			gate := newPassGate(policy, clock.Now, func() float64 { return 0 })
			l := newGitOnlyLoop(t, remote.URL, remote, gate, time.Minute)
			loop, in, events, writer := l.loop, l.in, l.events, l.writer

			tc.refuse(remote)
			loop.requeue(clock.now, 1)
			loop.pass(ctx)
			first := tc.requests(remote)
			if first == 0 {
				t.Fatal("the remote refused nothing: latch sent no request, or the remote did not refuse it")
			}
			wantWait := 5 * time.Second
			for round := 1; round <= 3; round++ {
				// Ten passes fall due (resync ticks, new changes) before the
				// wait is over: none reaches the remote.
				before := tc.requests(remote)
				for range 10 {
					clock.now = clock.now.Add(wantWait / 20)
					loop.requeue(clock.now, 1)
					loop.pass(ctx)
				}
				if got := tc.requests(remote); got != before {
					t.Fatalf("round %d: %d request(s) refused during the backoff, want none", round, got-before)
				}
				if got := in.metric(t, "latch_git_refusals_total", "kind", tc.kind); got != float64(round) {
					t.Errorf("round %d: latch_git_refusals_total{kind=%s} = %.0f, want %d", round, tc.kind, got, round)
				}
				if got := in.metric(t, "latch_git_backoff_seconds"); got != wantWait.Seconds() {
					t.Errorf("round %d: latch_git_backoff_seconds = %v, want %v", round, got, wantWait.Seconds())
				}
				if err := gate.readyz(&http.Request{}); err == nil || !strings.Contains(err.Error(), "git refuses latch ("+tc.kind+")") {
					t.Errorf("round %d: /readyz git check = %v, want a refusal", round, err)
				}
				loop.mu.Lock()
				pending := loop.pending
				loop.mu.Unlock()
				if pending == 0 {
					t.Errorf("round %d: the batch was dropped during the backoff", round)
				}
				// The wait is over: one attempt, refused again.
				clock.now = clock.now.Add(wantWait / 2)
				loop.pass(ctx)
				if got := tc.requests(remote); got <= before {
					t.Fatalf("round %d: no attempt once the backoff was over", round)
				}
				wantWait = min(2*wantWait, policy.Max/2)
			}

			tc.accept(remote)
			clock.now = clock.now.Add(wantWait)
			loop.pass(ctx)
			if err := gate.readyz(&http.Request{}); err != nil {
				t.Errorf("/readyz git check after git accepted latch: %v", err)
			}
			if got := in.metric(t, "latch_git_backoff_seconds"); got != 0 {
				t.Errorf("latch_git_backoff_seconds = %v after a pushed pass, want 0", got)
			}
			if got := gitShow(t, remote, "apps/web.yaml"); !strings.Contains(got, "  replicas: 40 # latched by latch\n") {
				t.Errorf("the kept batch was not latched once git accepted latch:\n%s", got)
			}
			writer.close(time.Until(testenv.Deadline(t)))
			list, err := events.EventsV1().Events("latch-system").List(context.Background(), metav1.ListOptions{})
			if err != nil {
				t.Fatal(err)
			}
			var reasons []string
			for _, ev := range list.Items {
				reasons = append(reasons, ev.Reason)
				if ev.Regarding.Name != "latch-0" || strings.Contains(ev.Note, remote.Password) {
					t.Errorf("event %s about %s: %q", ev.Reason, ev.Regarding.Name, ev.Note)
				}
			}
			if got := strings.Join(reasons, ","); got != "GitRefused,GitAccepted" {
				t.Errorf("events about latch's pod: %s, want GitRefused,GitAccepted (one each, not one per refusal)", got)
			}
		})
	}
}

// gitOnlyLoop is the batch loop of `latch run` against a real git remote,
// with the cluster side a client-go fake holding one Deployment (shop/web,
// scaled from git's 3 to 37): for tests of what the loop does with git,
// without an API server.
type gitOnlyLoop struct {
	loop   *batchLoop
	in     *instance // reads the loop's metrics
	events *kubefake.Clientset
	writer *eventWriter
}

func newGitOnlyLoop(t *testing.T, repoURL string, remote *testenv.GitRemote, gate *passGate, grace time.Duration) gitOnlyLoop {
	t.Helper()
	repo, err := gitrepo.Clone(testenv.Context(t), repoURL, "main", filepath.Join(t.TempDir(), "clone"),
		gitrepo.Auth{Username: remote.Username, Password: remote.Password})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = repo.Close() })
	replicas := int32(37)
	web := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop"}, Spec: appsv1.DeploymentSpec{Replicas: &replicas}}
	reader := fake.NewClientBuilder().WithObjects(web).Build()
	events := kubefake.NewClientset()
	writer := newEventWriter(events.EventsV1(), "latch", slog.New(slog.DiscardHandler))
	go writer.run()
	reg := prometheus.NewRegistry()
	metrics, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(testWriter{t}, nil))
	self := &corev1.ObjectReference{APIVersion: "v1", Kind: "Pod", Namespace: "latch-system", Name: "latch-0"}
	loop := newBatchLoop(RunOptions{
		Latcher:     &Latcher{Repo: repo, Cluster: "test", States: state.NewMemory(), Log: log},
		BatchWindow: time.Second, ShutdownGrace: grace, Log: log, Self: self,
	}, log, metrics, reader, writer, gate)
	loop.leading.Store(true)
	return gitOnlyLoop{loop: loop, in: &instance{registry: reg}, events: events, writer: writer}
}

// eventReasons closes the writer (flushing it) and lists the reasons of
// the Events written in namespace, oldest first.
func (l gitOnlyLoop) eventReasons(t *testing.T, namespace string) []string {
	t.Helper()
	l.writer.close(time.Until(testenv.Deadline(t)))
	list, err := l.events.EventsV1().Events(namespace).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var reasons []string
	for _, ev := range list.Items {
		reasons = append(reasons, ev.Reason)
	}
	return reasons
}
