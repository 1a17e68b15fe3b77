package main

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"

	"github.com/latch-gitops/latch/internal/review"
	"github.com/latch-gitops/latch/internal/testenv"
)

// killRounds is how many times TestRunReviewKill9 kills latch on the way
// to its PR (the issue asks for at least 50).
const killRounds = 50

// TestRunReviewKill9: the real `latch run --review always` binary on the
// API server and Gitea, killed with SIGKILL at random points of its
// open/update path and restarted on the same work dir, killRounds times;
// each round moves the live value so that a new proposal is due. Then it
// runs to the end. Never two PRs for the workload, never a lost latch (the
// PR ends proposing the last value, its branch the base plus one latch
// commit holding it, its marker naming that commit), the base branch never
// moved, and no lock left in the clone.
//
// The kill delays are drawn (seeded: LATCH_KILL_SEED repeats a run) from
// zero to the time a warm restart took from start to its updated PR, so
// they spread over start-up, the find, the branch push and the forge write.
func TestRunReviewKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("kills latch 50 times: not in -short")
	}
	bin := buildLatch(t)
	cp := testenv.StartControlPlane(t)
	g := testenv.Gitea(t)
	repo := newForgeRepo(t, g, map[string]string{"latch.yaml": runPolicy, "apps/web.yaml": reviewManifest("web", 40)})
	client := kubernetes.NewForConfigOrDie(cp.Config)
	createWorkloads(t, client, []liveWorkload{{name: "web", replicas: 40, min: 1, max: 1000}})
	mainBefore := repo.head(g.Branch)
	workDir := filepath.Join(t.TempDir(), "clone")
	remote := &testenv.GitRemote{Username: g.Username, Password: g.Password}
	start := func() *latchProcess {
		return startLatch(t, bin, remote, "--kubeconfig", cp.Kubeconfig, "run",
			"--repo", g.CloneURL(), "--work-dir", workDir, "--cluster-name", "prod", "--batch-window", "200ms", "--resync", "1s",
			"--review", "always", "--forge", "gitea", "--forge-url", g.URL,
			"--metrics-bind-address", "0", "--health-probe-bind-address", "0", "--follow-rollouts=false")
	}
	kill := func(p *latchProcess) {
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
	proposes := func(v int32) func() bool {
		return func() bool {
			open := repo.open()
			if len(open) != 1 {
				return false
			}
			m, err := review.ParseMarker(open[0].Body)
			return err == nil && m.To == int64(v) && m.Commit == repo.head(webBranch)
		}
	}
	// Each round's value differs from the last and from git's 40, and
	// rounds to itself, so every round is a new proposal.
	values := []int32{400, 630}

	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("LATCH_KILL_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("LATCH_KILL_SEED=%q: %v", s, err)
		}
	}
	t.Logf("kill delays seeded with LATCH_KILL_SEED=%d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))

	// Round 0 runs through: the first start clones and opens the PR.
	scale(t, client, "web", values[0])
	began := time.Now()
	p := start()
	waitFor(t, "the first PR", p, proposes(values[0]))
	cold := time.Since(began)
	kill(p)
	// A warm restart (the clone kept) updating it is what every later round
	// does, so its length is the range the kills are drawn from: drawn from
	// the cold start's, most kills on a slow machine fell after the update
	// and each round waited that long, which on CI made the package outlive
	// its timeout.
	scale(t, client, "web", values[1])
	began = time.Now()
	p = start()
	waitFor(t, "the updated PR", p, proposes(values[1]))
	full := time.Since(began)
	kill(p)
	t.Logf("a cold start and open took %s, a warm start and update %s; killing %d times within the warm one",
		cold.Round(time.Millisecond), full.Round(time.Millisecond), killRounds)

	// What each kill left: nothing of the round's proposal yet, the branch
	// holding it but not the PR (killed during or after the push: Gitea
	// finishes a push whose client died), or the whole update.
	landed := map[string]int{}
	for round := 1; round <= killRounds; round++ {
		v := values[round%len(values)]
		scale(t, client, "web", v)
		p := start()
		delay := time.Duration(rng.Int64N(int64(full) + 1))
		select {
		case <-time.After(delay):
		case <-p.done:
			t.Fatalf("round %d: latch exited (%v) before the kill:\n%s", round, p.err, p.output.String())
		}
		kill(p)
		prs := repo.pulls()
		if len(prs) != 1 {
			t.Fatalf("round %d (killed after %s): %d PRs, want the one: %+v", round, delay.Round(time.Millisecond), len(prs), prs)
		}
		m, err := review.ParseMarker(prs[0].Body)
		if err != nil || prs[0].State != "open" {
			t.Fatalf("round %d: PR #%d %s, marker %v", round, prs[0].Number, prs[0].State, err)
		}
		switch onBranch := strings.Contains(repo.show(webBranch, "apps/web.yaml"), "replicas: "+strconv.Itoa(int(v))+" # latched"); {
		case m.To == int64(v):
			landed["after the update"]++
		case onBranch:
			landed["branch pushed, PR not yet"]++
		default:
			landed["nothing yet"]++
		}
	}
	t.Logf("where the %d kills landed: %v", killRounds, landed)

	// The last start runs to the end: as long as a warm start took, give
	// or take a busy machine; 30 of those means it never will.
	final := values[killRounds%len(values)]
	p = start()
	waitForWithin(t, "the PR proposing the last value", 30*full, p, proposes(final))
	prs := repo.pulls()
	if len(prs) != 1 || prs[0].State != "open" || prs[0].Head.Ref != webBranch {
		t.Fatalf("want exactly one PR, open, from %s; got %+v", webBranch, prs)
	}
	if n := repo.commitsAhead(webBranch); n != "1" {
		t.Errorf("the PR branch is %s commits ahead of main, want 1", n)
	}
	if web := repo.show(webBranch, "apps/web.yaml"); !strings.Contains(web, "replicas: "+strconv.Itoa(int(final))+" # latched") {
		t.Errorf("the PR branch does not declare %d:\n%s", final, web)
	}
	if head := repo.head(g.Branch); head != mainBefore {
		t.Errorf("main moved from %s to %s: review always pushes nothing to it", mainBefore, head)
	}
	if web := repo.show(g.Branch, "apps/web.yaml"); !strings.Contains(web, "replicas: 40 # latched") {
		t.Errorf("main's web.yaml changed:\n%s", web)
	}
	// Stopped as a pod is (SIGTERM), the last process leaves no lock; the
	// ones the kills left did not stop the starts after them.
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-p.done
	for _, lock := range []string{"index.lock", "HEAD.lock", "shallow.lock", "refs/heads/main.lock", "refs/remotes/origin/main.lock"} {
		if _, err := os.Stat(filepath.Join(workDir, ".git", lock)); err == nil {
			t.Errorf("%s left in latch's work dir", lock)
		}
	}
}
