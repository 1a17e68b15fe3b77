package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/latch-gitops/latch/bench/internal/benchdoc"
	"github.com/latch-gitops/latch/bench/internal/latchproc"
	"github.com/latch-gitops/latch/internal/memlimit"
	"github.com/latch-gitops/latch/internal/testenv"
)

// config is one benchmark run.
type config struct {
	// sizes are the Deployment counts, ascending (N/2 HPAs each).
	sizes []int
	// settle is the wait after the first pass before sampling; samples
	// VmRSS readings one second apart follow it.
	settle  time.Duration
	samples int
	// workers create objects in parallel with a client at qps.
	workers int
	qps     float32
	log     func(format string, args ...any)
	// profiles, when set, is a folder that receives each run's heap
	// profile (allocations since start show where the start-up peak
	// comes from) and its log with the gctrace lines.
	profiles string
	// memLimit is the chart's container memory limit, bytes.
	memLimit int64
}

// variants of latch run measured at each size: the default (stripped
// caches) and the baseline without the strip transform.
var variants = []struct {
	name string
	args []string
}{
	{"stripped", nil},
	{"unstripped", []string{"--unstripped-cache-for-benchmark"}},
}

// sample is one (size, variant) measurement.
type sample struct {
	size    int
	variant string
	rss     benchdoc.Stats // VmRSS samples, bytes
	anon    benchdoc.Stats // RssAnon at the same times, bytes
	peak    float64        // VmHWM at the last sample: the startup peak, bytes
	// liveHeap is the heap marked live by the last GC before the last
	// sample (GODEBUG=gctrace=1), bytes; gcs counts the GCs by then.
	liveHeap         float64
	gcs              int
	readyAfter       time.Duration // start → readyz 200 and one ok pass
	commits, latches float64       // must be 0: git agrees with the cluster
}

type result struct {
	samples        []sample
	createTime     map[int]time.Duration // size → time to create the objects added for it
	annotationSize int                   // mean last-applied-configuration bytes
	repo           string
}

// measure starts an API server, grows it to each size, and at each size
// runs the real latch binary once per variant against a local bare repo
// declaring the Deployments and HPAs created so far.
func measure(ctx context.Context, t testenv.T, cfg config) (result, error) {
	res := result{createTime: map[int]time.Duration{}}
	cp := testenv.StartControlPlane(t)
	restCfg := rest.CopyConfig(cp.Config)
	restCfg.QPS, restCfg.Burst = cfg.qps, int(cfg.qps)*2
	client, err := kubernetes.NewForConfig(restCfg)
	if err != nil {
		return res, err
	}
	work := t.TempDir()
	cfg.log("building latch")
	bin, err := latchproc.Build(ctx, work)
	if err != nil {
		return res, err
	}
	bare := filepath.Join(work, "repo.git")
	seed := filepath.Join(work, "seed")
	if err := git(ctx, work, "init", "--quiet", "--bare", "--initial-branch=main", bare); err != nil {
		return res, err
	}
	if err := git(ctx, work, "init", "--quiet", "--initial-branch=main", seed); err != nil {
		return res, err
	}
	res.repo = "file://" + bare
	created := 0
	for _, n := range cfg.sizes {
		cfg.log("creating Deployments %d..%d (+%d HPAs)", created, n-1, (n-created+1)/2)
		start := time.Now()
		ann, err := createObjects(ctx, client, created, n, cfg.workers)
		if err != nil {
			return res, err
		}
		res.createTime[n] = time.Since(start)
		if ann > 0 {
			res.annotationSize = ann
		}
		cfg.log("created in %v", res.createTime[n].Round(time.Second))
		for ns := 0; ns*perNamespace < n; ns++ {
			path := filepath.Join(seed, "clusters", "bench", namespaceOf(ns*perNamespace)+".yaml")
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				return res, err
			}
			if err := os.WriteFile(path, []byte(manifests(ns, n)), 0o644); err != nil {
				return res, err
			}
		}
		if err := git(ctx, seed, "add", "--all"); err != nil {
			return res, err
		}
		if err := git(ctx, seed, "-c", "user.name=seed", "-c", "user.email=seed@example.com", "commit", "--quiet", "-m", fmt.Sprintf("declare %d Deployments", n)); err != nil {
			return res, err
		}
		if err := git(ctx, seed, "push", "--quiet", bare, "HEAD:refs/heads/main"); err != nil {
			return res, err
		}
		for _, v := range variants {
			s, err := runLatch(ctx, t, cfg, bin, cp.Kubeconfig, res.repo, work, n, v.name, v.args)
			if err != nil {
				return res, fmt.Errorf("%d Deployments, %s: %w", n, v.name, err)
			}
			cfg.log("%d Deployments, %s: RSS %.1f MiB (%.1f–%.1f), anonymous %.1f MiB, peak %.1f MiB, live heap %.1f MiB after GC %d, ready after %v",
				n, v.name, s.rss.Median/mib, s.rss.Min/mib, s.rss.Max/mib, s.anon.Median/mib, s.peak/mib, s.liveHeap/mib, s.gcs, s.readyAfter.Round(100*time.Millisecond))
			res.samples = append(res.samples, s)
		}
		created = n
	}
	return res, nil
}

const mib = 1 << 20

func runLatch(ctx context.Context, t testenv.T, cfg config, bin, kubeconfig, repo, work string, n int, variant string, extra []string) (sample, error) {
	s := sample{size: n, variant: variant}
	start := time.Now()
	logPath := filepath.Join(work, fmt.Sprintf("latch-%d-%s.log", n, variant))
	p, err := latchproc.Start(t, latchproc.Options{
		Bin: bin, Kubeconfig: kubeconfig, Repo: repo,
		// gctrace prints each GC's live heap to the log: the memory the
		// caches really retain, apart from garbage not yet collected.
		// GOMEMLIMIT: what latch sets itself inside the chart's container
		// (memlimit.Apply from the cgroup limit); outside one it has none.
		Env: latchEnv(cfg.memLimit),
		// No resync pass while sampling: the first pass is the only one.
		Args:    append([]string{"--cluster-name", "bench", "--resync", "1h", "--work-dir", filepath.Join(work, fmt.Sprintf("clone-%d-%s", n, variant))}, extra...),
		LogPath: logPath,
		Pprof:   cfg.profiles != "",
	})
	if err != nil {
		return s, err
	}
	defer p.Stop()
	if err := p.WaitReady(ctx); err != nil {
		return s, err
	}
	s.readyAfter = time.Since(start)
	select {
	case <-ctx.Done():
		return s, ctx.Err()
	case <-time.After(cfg.settle):
	}
	var rss, anon []float64
	for i := 0; i < cfg.samples; i++ {
		if i > 0 {
			time.Sleep(time.Second)
		}
		mem, err := p.Memory()
		if err != nil {
			return s, err
		}
		rss = append(rss, float64(mem.RSS))
		anon = append(anon, float64(mem.Anon))
		s.peak = float64(mem.Peak)
	}
	if cfg.profiles != "" {
		if err := keepProfile(ctx, p, logPath, cfg.profiles, fmt.Sprintf("%d-%s", n, variant)); err != nil {
			return s, err
		}
	}
	if s.liveHeap, s.gcs, err = lastGC(logPath); err != nil {
		return s, err
	}
	m, err := p.Metrics(ctx)
	if err != nil {
		return s, err
	}
	s.commits, s.latches = m["latch_commits_total"], m["latch_latches_total"]
	s.rss, s.anon = benchdoc.Summarise(rss), benchdoc.Summarise(anon)
	return s, nil
}

func git(ctx context.Context, dir string, args ...string) error {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null", "GIT_TERMINAL_PROMPT=0")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("git %s (in %s): %w: %s", strings.Join(args, " "), dir, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// gcLine is a gctrace line: "gc 12 @3.4s 2%: …, 40->42->21 MB, 44 MB goal, …";
// the third heap figure is what the GC marked live.
var gcLine = regexp.MustCompile(`(?m)^gc (\d+) @[0-9.]+s [0-9]+%: .* [0-9]+->[0-9]+->([0-9]+) MB`)

// lastGC reads the live heap (bytes) and number of the newest GC in a log
// written with GODEBUG=gctrace=1.
func lastGC(logPath string) (float64, int, error) {
	data, err := os.ReadFile(logPath)
	if err != nil {
		return 0, 0, err
	}
	all := gcLine.FindAllSubmatch(data, -1)
	if len(all) == 0 {
		return 0, 0, fmt.Errorf("%s: no gctrace line", logPath)
	}
	last := all[len(all)-1]
	n, _ := strconv.Atoi(string(last[1]))
	live, _ := strconv.ParseFloat(string(last[2]), 64)
	return live * mib, n, nil // gctrace's "MB" are MiB (bytes >> 20)
}

// keepProfile writes latch's heap profile and a copy of its log to dir as
// heap-NAME.pb.gz and latch-NAME.log.
func keepProfile(ctx context.Context, p *latchproc.Proc, logPath, dir, name string) error {
	heap, err := p.Profile(ctx, "heap")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "heap-"+name+".pb.gz"), heap, 0o644); err != nil {
		return err
	}
	logData, err := os.ReadFile(logPath)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "latch-"+name+".log"), logData, 0o644)
}

// latchEnv is latch's environment: gctrace, and the soft memory limit
// latch would set itself under a container limit of limit bytes (none: 0).
func latchEnv(limit int64) []string {
	env := []string{"GODEBUG=gctrace=1"}
	if limit > 0 {
		env = append(env, fmt.Sprintf("GOMEMLIMIT=%d", memlimit.Soft(limit)))
	}
	return env
}
