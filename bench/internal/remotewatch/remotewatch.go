// Package remotewatch follows a git remote's branch from outside, as the
// end-to-end benchmarks (latency, fleet) see latch's work: it reads the
// bare repository's branch every poll, parses the Latch-Object and
// Latch-Value trailers of each new commit and records when each
// object's value was first seen there. Commits without trailers (a
// person's) are counted apart. A head that is not a descendant of the head
// seen before it (a force push, a rewind) is counted as a rewrite.
package remotewatch

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/latch-gitops/latch/internal/evidence"
)

// Sighting is one latched value of an object in a commit, and when the
// watcher first saw that commit on the remote.
type Sighting struct {
	To     int64
	At     time.Time
	Commit string
}

// Watcher polls one branch of a bare repository.
type Watcher struct {
	bare, branch string
	poll         time.Duration
	stop         context.CancelFunc
	done         chan error

	mu sync.Mutex
	// last is the head seen last; heads counts distinct heads seen.
	last  string
	heads int
	// seen: namespace/name → its sightings, oldest first.
	seen                       map[string][]Sighting
	latchCommits, otherCommits int
	rewrites                   []string
	// failures counts reads that failed (a git command racing a push or
	// the auto gc receive-pack runs); lastFailure is the newest; fatal is
	// set when reads kept failing and polling stopped.
	failures    int
	lastFailure error
	fatal       error
}

// maxConsecutiveFailures is how many reads in a row may fail before the
// watcher gives up: one failing read is a git command racing a push, a
// hundred (10 s at 100 ms) a broken repository.
const maxConsecutiveFailures = 100

// Start begins polling the branch of the bare repository at bare every
// poll, from base (the head before the measurement; its history is not
// read). Stop ends it.
func Start(ctx context.Context, bare, branch, base string, poll time.Duration) *Watcher {
	ctx, stop := context.WithCancel(ctx)
	w := &Watcher{bare: bare, branch: branch, poll: poll, stop: stop, done: make(chan error, 1), last: base, seen: map[string][]Sighting{}}
	go func() { w.done <- w.loop(ctx) }()
	return w
}

// Stop ends polling, reads the branch a last time and returns why polling
// stopped early or the last read's error (nil if neither).
func (w *Watcher) Stop() error {
	w.stop()
	err := <-w.done
	if err2 := w.read(context.Background()); err == nil {
		err = err2
	}
	return err
}

func (w *Watcher) loop(ctx context.Context) error {
	ticker := time.NewTicker(w.poll)
	defer ticker.Stop()
	consecutive := 0
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
		err := w.read(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err == nil {
			consecutive = 0
			continue
		}
		consecutive++
		w.mu.Lock()
		w.failures++
		w.lastFailure = err
		if consecutive >= maxConsecutiveFailures {
			w.fatal = fmt.Errorf("reading the remote failed %d times in a row: %w", consecutive, err)
			w.mu.Unlock()
			return w.fatal
		}
		w.mu.Unlock()
	}
}

// Failures is how many reads failed and were retried at the next poll, and
// the last failure.
func (w *Watcher) Failures() (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.failures, w.lastFailure
}

// Err is non-nil once polling stopped because reads kept failing.
func (w *Watcher) Err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.fatal
}

// read looks at the branch once and records its new commits.
func (w *Watcher) read(ctx context.Context) error {
	now := time.Now()
	head, err := Git(ctx, w.bare, "rev-parse", "--verify", "--quiet", "refs/heads/"+w.branch)
	if err != nil {
		return err
	}
	head = strings.TrimSpace(head)
	w.mu.Lock()
	last := w.last
	w.mu.Unlock()
	if head == last {
		return nil
	}
	rng, ok := head, true
	if last != "" {
		var err error
		if ok, err = IsAncestor(ctx, w.bare, last, head); err != nil {
			return err
		}
		if ok {
			rng = last + ".." + head
		} else {
			rng = head + " ^" + last
		}
	}
	log, err := Git(ctx, w.bare, append([]string{"log", "--reverse", "--format=%H%x01%B%x00"}, strings.Fields(rng)...)...)
	if err != nil {
		return err
	}
	// Parse everything first: a failed read records nothing, and the next
	// poll reads the same commits again.
	type commit struct {
		id      string
		changes []evidence.Change
	}
	var commits []commit
	for _, entry := range strings.Split(log, "\x00") {
		id, msg, ok := strings.Cut(strings.TrimLeft(entry, "\n"), "\x01")
		if !ok {
			continue
		}
		if !strings.Contains(msg, "\n"+evidence.TrailerObject+": ") {
			// A person's commit (or any without latch's evidence).
			commits = append(commits, commit{id: id})
			continue
		}
		_, changes, err := evidence.ParseMessage(msg)
		if err != nil {
			return fmt.Errorf("commit %s: %w", id, err)
		}
		commits = append(commits, commit{id: id, changes: changes})
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if !ok {
		w.rewrites = append(w.rewrites, last+" → "+head)
	}
	for _, c := range commits {
		if len(c.changes) == 0 {
			w.otherCommits++
			continue
		}
		w.latchCommits++
		for _, ch := range c.changes {
			key := ch.Object.NamespacedName()
			w.seen[key] = append(w.seen[key], Sighting{To: ch.To, At: now, Commit: c.id})
		}
	}
	w.last = head
	w.heads++
	return nil
}

// FirstSeen is when the object was first seen in a commit.
func (w *Watcher) FirstSeen(object string) (time.Time, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := w.seen[object]
	if len(s) == 0 {
		return time.Time{}, false
	}
	return s[0].At, true
}

// Sightings are the object's latched values seen so far, oldest first.
func (w *Watcher) Sightings(object string) []Sighting {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]Sighting(nil), w.seen[object]...)
}

// Seen is how many objects have been seen in at least one commit.
func (w *Watcher) Seen() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.seen)
}

// Counts are the commits seen since base: those with Latch-Object trailers
// and the others (a person's).
func (w *Watcher) Counts() (latch, other int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.latchCommits, w.otherCommits
}

// Rewrites are the head changes where the old head was not an ancestor of
// the new one ("old → new"): a force push or a rewind.
func (w *Watcher) Rewrites() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.rewrites...)
}

// Heads is how many distinct branch heads the watcher saw after base.
func (w *Watcher) Heads() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.heads
}

// IsAncestor reports whether commit a is an ancestor of (or equal to) b in
// the repository at dir (git merge-base --is-ancestor).
func IsAncestor(ctx context.Context, dir, a, b string) (bool, error) {
	cmd := exec.CommandContext(ctx, "git", "-C", dir, "merge-base", "--is-ancestor", a, b)
	cmd.Env = gitEnv()
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return true, nil
	case errors.As(err, &exit) && exit.ExitCode() == 1:
		return false, nil
	default:
		return false, fmt.Errorf("git merge-base --is-ancestor %s %s (in %s): %w", a, b, dir, err)
	}
}

// Git runs git in dir, isolated from the machine's configuration, and
// returns its stdout.
func Git(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", dir}, args...)...)
	cmd.Env = gitEnv()
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("git %s (in %s): %w: %s", strings.Join(args, " "), dir, err, strings.TrimSpace(stderr.String()))
	}
	return string(out), nil
}

func gitEnv() []string {
	return append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null", "GIT_TERMINAL_PROMPT=0")
}
