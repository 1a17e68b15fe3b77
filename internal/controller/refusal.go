package controller

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/latch-gitops/latch/internal/backoff"
	"github.com/latch-gitops/latch/internal/gitrepo"
)

// DefaultRefusalBackoff is how latch run waits after a pass that retrying at
// once cannot fix (git refused the credentials, a hook declined the push,
// latch.yaml is broken): 5 s after the first, doubling to 5 min, each wait
// jittered into the upper half of its ceiling. A forge that locks an account
// out after a burst of bad logins sees about ten attempts an hour, not one
// per pass.
var DefaultRefusalBackoff = backoff.Policy{Initial: 5 * time.Second, Max: 5 * time.Minute}

// passFailure is what a failed pass means for the next one.
type passFailure struct {
	// Kind is the label of latch_git_refusals_total when git refused latch
	// ("auth", "declined", "other"); "" when git did not refuse.
	Kind string
	// BackOff: the same attempt would fail the same way, so the next one
	// waits (the batch stays queued).
	BackOff bool
}

// classifyFailure sorts a failed pass's error. Network failures and
// non-fast-forwards were already retried inside the pass (CommitAndPush
// backs off between its attempts) and may clear any moment: the next pass
// may start as usual. A refusal by git, or an error in what the pass read
// (latch.yaml, manifests, the state), repeats until someone changes
// something: back off.
func classifyFailure(err error) passFailure {
	var gerr *gitrepo.Error
	if !errors.As(err, &gerr) {
		return passFailure{BackOff: true}
	}
	switch gerr.Kind {
	case gitrepo.KindNetwork, gitrepo.KindConflict:
		return passFailure{}
	case gitrepo.KindAuth:
		return passFailure{Kind: "auth", BackOff: true}
	}
	if gerr.Op == "push" {
		// The server took the pack and refused the update: a pre-receive
		// hook, a protected branch, a size limit.
		return passFailure{Kind: "declined", BackOff: true}
	}
	return passFailure{Kind: "other", BackOff: true}
}

// passGate holds passes back after failures that retrying cannot fix. Its
// clock and jitter source are injected; the waits are backoff.Policy's.
type passGate struct {
	policy backoff.Policy
	now    func() time.Time
	jitter func() float64

	mu    sync.Mutex
	state backoff.State
	// refusal is the kind of git's refusal in force ("" none), detail the
	// failed pass's error text (redacted by gitrepo).
	refusal, detail string
}

func newPassGate(policy backoff.Policy, now func() time.Time, jitter func() float64) *passGate {
	if now == nil {
		now = time.Now
	}
	if jitter == nil {
		jitter = rand.Float64
	}
	return &passGate{policy: policy, now: now, jitter: jitter}
}

// remaining is how long until the next pass may run (0: now).
func (g *passGate) remaining() time.Duration {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.state.Remaining(g.now())
}

// failed records a failure f; it returns the wait before the next pass and
// whether git now refuses latch when it did not before.
func (g *passGate) failed(f passFailure, err error) (wait time.Duration, newRefusal bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.state = g.policy.Failed(g.state, g.now(), g.jitter())
	newRefusal = f.Kind != "" && g.refusal != f.Kind
	g.refusal, g.detail = f.Kind, err.Error()
	return g.state.Wait, newRefusal
}

// succeeded resets the gate; it returns the refusal that was in force ("")
// and how many passes failed in a row before this one.
func (g *passGate) succeeded() (refusal string, failures int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	refusal, failures = g.refusal, g.state.Failures
	g.state = g.policy.Succeeded(g.state)
	g.refusal, g.detail = "", ""
	return refusal, failures
}

// readyz is the "git" readiness check: failing while git refuses latch,
// so `kubectl get pods` and an alert on readiness show it.
func (g *passGate) readyz(*http.Request) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.refusal == "" {
		return nil
	}
	return fmt.Errorf("git refuses latch (%s) after %d failed passes; next attempt in %s: %s",
		g.refusal, g.state.Failures, g.state.Remaining(g.now()).Round(time.Second), g.detail)
}

// failed logs and counts a failed pass and, when retrying cannot fix it,
// closes the gate for one backoff wait.
func (b *batchLoop) failed(err error, attempts, batch int) {
	f := classifyFailure(err)
	if f.Kind != "" {
		b.metrics.GitRefusals.WithLabelValues(f.Kind).Inc()
	}
	if !f.BackOff {
		b.log.Error("latch pass failed; the next pass retries", "error", err, "attempts", attempts, "batch", batch)
		return
	}
	wait, newRefusal := b.gate.failed(f, err)
	b.metrics.GitBackoff.Set(wait.Seconds())
	if f.Kind == "" {
		b.log.Error("latch pass failed; retrying at once would fail the same way, so the next pass waits", "error", err, "retryIn", wait, "batch", batch)
		return
	}
	b.log.Error("git refuses latch; backing off before the next attempt (the batch is kept)", "refusal", f.Kind, "error", err, "retryIn", wait, "batch", batch)
	if newRefusal {
		b.selfEvent(corev1.EventTypeWarning, "GitRefused", fmt.Sprintf(
			"git refuses latch (%s): %s; latch retries in %s, backing off up to %s, and keeps the %d unrecorded change(s)",
			f.Kind, err, wait.Round(time.Second), b.gate.policy.Max, batch))
	}
}

// accepted reopens the gate after a pass that succeeded, and says so when
// git had been refusing latch.
func (b *batchLoop) accepted() {
	refusal, failures := b.gate.succeeded()
	b.metrics.GitBackoff.Set(0)
	if refusal == "" {
		return
	}
	b.log.Info("git accepts latch again", "refusal", refusal, "failedPasses", failures)
	b.selfEvent(corev1.EventTypeNormal, "GitAccepted",
		fmt.Sprintf("git accepts latch again after %d failed pass(es) (%s)", failures, refusal))
}

// selfEvent posts an Event about latch's own Pod, when it is known.
func (b *batchLoop) selfEvent(eventType, reason, note string) {
	if b.opts.Self == nil || b.events == nil {
		return
	}
	b.events.post(*b.opts.Self, eventType, reason, "Push", note)
}
