package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/latch-gitops/latch/internal/evidence"
	"github.com/latch-gitops/latch/internal/forge"
	"github.com/latch-gitops/latch/internal/gitrepo"
	"github.com/latch-gitops/latch/internal/review"
	"github.com/latch-gitops/latch/internal/reviewflow"
	"github.com/latch-gitops/latch/internal/testenv"
)

type config struct {
	// steps are the open-PR counts at which updates are measured.
	steps   []int
	updates int
	log     func(format string, args ...any)
}

// step is what was measured with open PRs open.
type step struct {
	open int
	// updateCalls and updateTimes: per PR update, the forge calls and the
	// time from the decision (Flow.Run called) to the PR updated.
	updateCalls []float64
	updateTimes []time.Duration
	// find, push and write split each update: gather (find the PR by
	// branch, check the branch), push the PR branch, forge edit; gitPush is
	// the git push alone within push (the rest is latch's local git work).
	find, push, gitPush, write []time.Duration
	// baseline and baselinePR: a bare `git push` of one commit to the same
	// Gitea repository with the git CLI, interleaved with the updates, to a
	// branch of its own (baseline) and to the branch of an open PR
	// (baselinePR, the floor of latch's push: Gitea's post-receive hook
	// updates each open PR of a pushed branch before the push returns).
	baseline, baselinePR []time.Duration
	// idleCalls: forge calls of a pass that finds the PR already right.
	idleCalls []float64
	// createCalls: forge calls per PR opened to reach this step.
	createCalls []float64
}

type result struct{ steps []step }

// metGoal: no PR update cost more than two forge calls.
func (r result) metGoal() bool {
	for _, s := range r.steps {
		for _, c := range s.updateCalls {
			if c > 2 {
				return false
			}
		}
	}
	return len(r.steps) > 0
}

// declared is the replica count every workload's file starts at; the
// benchmark proposes 10× jumps from it, which the suspicious mode sends to
// review.
const declared = 40

func workload(i int) review.Object {
	return review.Object{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "bench", Name: fmt.Sprintf("w%03d", i)}
}

func measure(ctx context.Context, t testenv.T, cfg config) (result, error) {
	var res result
	total := cfg.steps[len(cfg.steps)-1]
	cfg.log("starting Gitea")
	g := testenv.Gitea(t)
	seed := t.TempDir()
	if err := git(ctx, seed, "clone", "--quiet", g.AuthCloneURL(), "."); err != nil {
		return res, err
	}
	if err := os.MkdirAll(filepath.Join(seed, "apps"), 0o755); err != nil {
		return res, err
	}
	for i := range total {
		name := workload(i).Name
		if err := os.WriteFile(filepath.Join(seed, "apps", name+".yaml"), fmt.Appendf(nil, "name: %s\nreplicas: %d\n", name, declared), 0o644); err != nil {
			return res, err
		}
	}
	for _, args := range [][]string{{"add", "apps"}, {"commit", "--quiet", "-m", "seed"}, {"push", "--quiet", "origin", "HEAD:refs/heads/" + g.Branch}} {
		if err := git(ctx, seed, args...); err != nil {
			return res, err
		}
	}
	repo, err := gitrepo.Clone(ctx, g.CloneURL(), g.Branch, filepath.Join(t.TempDir(), "latch"), gitrepo.Auth{Username: g.Username, Password: g.Password})
	if err != nil {
		return res, err
	}
	defer repo.Close()
	fc, err := forge.New(forge.Config{Kind: forge.Gitea, URL: g.URL, RemoteURL: g.CloneURL(), Token: g.Token})
	if err != nil {
		return res, err
	}
	// The flow's Step hook marks where each phase begins; gitrepo's log
	// record of the push says how long the git push alone took.
	marks := map[string]time.Time{}
	pushed := &pushTimer{}
	flow := &reviewflow.Flow{Repo: repo, Forge: fc, Cluster: "bench", Push: gitrepo.PushOptions{Cluster: "bench", Log: slog.New(pushed)},
		Step: func(name string) error { marks[name] = time.Now(); return nil }}
	run := func(i int, to int64) (reviewflow.Outcome, float64, time.Duration, error) {
		clear(marks)
		pushed.took = 0
		before, start := fc.Calls(), time.Now()
		marks["start"] = start
		out, err := flow.Run(ctx, item(i, to))
		marks["end"] = time.Now()
		return out, float64(fc.Calls() - before), time.Since(start), err
	}
	phase := func(from, to string) time.Duration {
		a, okA := marks[from]
		b, okB := marks[to]
		if !okA || !okB {
			return 0
		}
		return b.Sub(a)
	}
	// baselinePush commits one change in the seed clone and pushes it with
	// the git CLI to branch (a fast-forward: a leased rewrite costs Gitea
	// the same).
	baselines := 0
	baselinePush := func(branch string) (time.Duration, error) {
		baselines++
		if err := os.WriteFile(filepath.Join(seed, "baseline.txt"), fmt.Appendf(nil, "%d\n", baselines), 0o644); err != nil {
			return 0, err
		}
		if err := git(ctx, seed, "add", "baseline.txt"); err != nil {
			return 0, err
		}
		if err := git(ctx, seed, "commit", "--quiet", "-m", "baseline "+strconv.Itoa(baselines)); err != nil {
			return 0, err
		}
		start := time.Now()
		if err := git(ctx, seed, "push", "--quiet", "origin", "HEAD:refs/heads/"+branch); err != nil {
			return 0, err
		}
		return time.Since(start), nil
	}
	// The second floor's branch heads an open PR (no latch label: not one
	// of latch's).
	if _, err := baselinePush(baselinePRBranch); err != nil {
		return res, fmt.Errorf("baseline git push: %w", err)
	}
	if _, err := g.API(ctx, http.MethodPost, "/api/v1/repos/"+g.Owner+"/"+g.Repo+"/pulls",
		map[string]any{"head": baselinePRBranch, "base": g.Branch, "title": "bench baseline"}, nil); err != nil {
		return res, fmt.Errorf("opening the baseline PR: %w", err)
	}
	// quiet lets Gitea finish the background work the previous push started
	// (its check of the pushed PR) before the next timed step, so that no
	// timed push, latch's or a floor, runs beside another's aftermath.
	quiet := func() { time.Sleep(settle) }
	opened := 0
	for _, target := range cfg.steps {
		s := step{open: target}
		cfg.log("opening PRs %d..%d", opened, target-1)
		for ; opened < target; opened++ {
			out, calls, _, err := run(opened, 10*declared)
			if err != nil {
				return res, fmt.Errorf("opening the PR of %s: %w", workload(opened).Name, err)
			}
			if !out.Created {
				return res, fmt.Errorf("the PR of %s was not opened: %+v", workload(opened).Name, out.Decision)
			}
			s.createCalls = append(s.createCalls, calls)
		}
		if prs, err := fc.ListOpen(ctx, "latch"); err != nil || len(prs) != target {
			return res, fmt.Errorf("%d open latch PRs (%v), want %d", len(prs), err, target)
		}
		cfg.log("%d open: measuring %d updates", target, cfg.updates)
		for k := range cfg.updates {
			i := k * target / cfg.updates // spread over old and new PRs
			to := int64(10*declared + 10*(len(res.steps)*cfg.updates+k+1))
			quiet()
			out, calls, took, err := run(i, to)
			if err != nil {
				return res, fmt.Errorf("updating the PR of %s: %w", workload(i).Name, err)
			}
			if !out.Updated {
				return res, fmt.Errorf("the PR of %s was not updated: %+v", workload(i).Name, out.Decision)
			}
			s.updateCalls, s.updateTimes = append(s.updateCalls, calls), append(s.updateTimes, took)
			s.find = append(s.find, phase("start", "push-branch"))
			s.push = append(s.push, phase("push-branch", "forge-write"))
			s.gitPush = append(s.gitPush, pushed.took)
			s.write = append(s.write, phase("forge-write", "end"))
			quiet()
			floor, err := baselinePush("bench/baseline")
			if err != nil {
				return res, fmt.Errorf("baseline git push: %w", err)
			}
			quiet()
			floorPR, err := baselinePush(baselinePRBranch)
			if err != nil {
				return res, fmt.Errorf("baseline git push to a PR's branch: %w", err)
			}
			s.baseline, s.baselinePR = append(s.baseline, floor), append(s.baselinePR, floorPR)
			out, calls, _, err = run(i, to)
			if err != nil || out.Created || out.Updated || out.Closed {
				return res, fmt.Errorf("a second pass over %s acted (%+v) or failed: %v", workload(i).Name, out.Decision, err)
			}
			s.idleCalls = append(s.idleCalls, calls)
		}
		res.steps = append(res.steps, s)
	}
	return res, nil
}

const baselinePRBranch = "bench/baseline-pr"

// settle is the pause before each timed step (see quiet in measure).
const settle = time.Second

// pushTimer keeps the git push time of gitrepo's "latch review push done"
// log record (its pushSeconds).
type pushTimer struct{ took time.Duration }

func (p *pushTimer) Enabled(context.Context, slog.Level) bool { return true }
func (p *pushTimer) WithAttrs([]slog.Attr) slog.Handler       { return p }
func (p *pushTimer) WithGroup(string) slog.Handler            { return p }
func (p *pushTimer) Handle(_ context.Context, r slog.Record) error {
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "pushSeconds" {
			p.took = time.Duration(a.Value.Float64() * float64(time.Second))
		}
		return true
	})
	return nil
}

// item is workload i's latch from declared to to, assessed as `latch run`
// does with the default thresholds and the suspicious mode.
func item(i int, to int64) reviewflow.Item {
	obj := workload(i)
	a := review.Assess(review.DefaultThresholds(), []review.Candidate{{Object: obj, From: declared, To: to, Observed: to}})[0]
	return reviewflow.Item{
		Object: obj, Field: "spec.replicas", Proposal: &review.Proposal{From: declared, To: to},
		NeedsReview: review.Suspicious.NeedsReview(a),
		Evidence: review.Evidence{Cluster: "bench", Object: obj, Field: "spec.replicas", File: "apps/" + obj.Name + ".yaml",
			From: declared, To: to, Observed: to, Suspicious: a.Reasons},
		Edit: setReplicas(obj, to),
	}
}

var replicasLine = regexp.MustCompile(`(?m)^replicas: (\d+)$`)

func setReplicas(obj review.Object, to int64) gitrepo.EditFunc {
	return func(_ context.Context, ws gitrepo.Workspace) ([]evidence.Change, error) {
		file := "apps/" + obj.Name + ".yaml"
		path := filepath.Join(ws.Dir, file)
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		m := replicasLine.FindSubmatch(data)
		if m == nil {
			return nil, fmt.Errorf("%s: no replicas line", file)
		}
		from, _ := strconv.ParseInt(string(m[1]), 10, 64)
		if from == to {
			return nil, nil
		}
		if err := os.WriteFile(path, replicasLine.ReplaceAll(data, []byte("replicas: "+strconv.FormatInt(to, 10))), 0o644); err != nil {
			return nil, err
		}
		return []evidence.Change{{Object: obj, Field: "spec.replicas", File: file, From: from, To: to, Observed: to}}, nil
	}
}

func git(ctx context.Context, dir string, args ...string) error {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=Person", "GIT_AUTHOR_EMAIL=p@example.com",
		"GIT_COMMITTER_NAME=Person", "GIT_COMMITTER_EMAIL=p@example.com", "GIT_CONFIG_GLOBAL="+os.DevNull)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}
