package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/pflag"

	"github.com/latch-gitops/latch/internal/policy"
	"github.com/latch-gitops/latch/internal/promsource"
	"github.com/latch-gitops/latch/internal/simulate"
)

// Environment variables holding Prometheus credentials.
const (
	envPromToken    = "LATCH_PROMETHEUS_TOKEN"
	envPromPassword = "LATCH_PROMETHEUS_PASSWORD"
)

// promOptions are latch simulate's --prometheus flags.
type promOptions struct {
	url          string
	workload     string
	all          bool
	since        sinceValue
	until        string
	tokenFile    string
	user         string
	passwordFile string
	// now is the default --until; tests leave it zero (time.Now).
	now func() time.Time
}

func (p *promOptions) addFlags(f *pflag.FlagSet) {
	p.since = sinceValue(30 * 24 * time.Hour)
	f.StringVar(&p.url, "prometheus", "", "read the trace from this Prometheus server (kube-state-metrics series) instead of --trace")
	f.StringVar(&p.workload, "workload", "", "with --prometheus: the workload NAMESPACE/NAME (its HPA's name, or its Deployment's)")
	f.BoolVar(&p.all, "all", false, "with --prometheus: replay every workload an HPA scales, one row each")
	f.Var(&p.since, "since", "with --prometheus: how far back to read (e.g. 30d, 2w, 36h)")
	f.StringVar(&p.until, "until", "", "with --prometheus: the end of the range, RFC 3339 (default now)")
	f.StringVar(&p.tokenFile, "prometheus-token-file", "", "file holding a bearer token for --prometheus (default $"+envPromToken+")")
	f.StringVar(&p.user, "prometheus-user", "", "basic-auth user for --prometheus; the password comes from --prometheus-password-file or $"+envPromPassword)
	f.StringVar(&p.passwordFile, "prometheus-password-file", "", "file holding the basic-auth password for --prometheus-user")
}

func (p *promOptions) validate() error {
	switch {
	case p.all && p.workload != "":
		return fmt.Errorf("flag --all: give --workload or --all, not both")
	case !p.all && p.workload == "":
		return fmt.Errorf("flag --prometheus: needs --workload NAMESPACE/NAME or --all")
	}
	if p.workload != "" {
		if _, err := promsource.ParseWorkload(p.workload); err != nil {
			return fmt.Errorf("flag --workload: %w", err)
		}
	}
	return nil
}

// sinceValue is a duration flag that also takes days and weeks (30d, 2w).
type sinceValue time.Duration

func (s *sinceValue) String() string {
	d := time.Duration(*s)
	if d > 0 && d%(24*time.Hour) == 0 {
		return strconv.FormatInt(int64(d/(24*time.Hour)), 10) + "d"
	}
	return d.String()
}

func (s *sinceValue) Set(v string) error {
	var d time.Duration
	if n, unit := strings.TrimRight(v, "dw"), strings.TrimLeft(v, "0123456789"); unit == "d" || unit == "w" {
		days, err := strconv.Atoi(n)
		if err != nil {
			return fmt.Errorf("%q: want a duration like 30d, 2w or 36h", v)
		}
		d = time.Duration(days) * 24 * time.Hour
		if unit == "w" {
			d *= 7
		}
	} else {
		var err error
		if d, err = time.ParseDuration(v); err != nil {
			return fmt.Errorf("%q: want a duration like 30d, 2w or 36h", v)
		}
	}
	if d <= 0 {
		return fmt.Errorf("%q: must be > 0", v)
	}
	*s = sinceValue(d)
	return nil
}

func (s *sinceValue) Type() string { return "duration" }

// client builds the Prometheus client with credentials from the flags or
// the environment.
func (p *promOptions) client() (*promsource.Client, error) {
	var auth promsource.Auth
	token := os.Getenv(envPromToken)
	if p.tokenFile != "" {
		data, err := os.ReadFile(p.tokenFile)
		if err != nil {
			return nil, fmt.Errorf("flag --prometheus-token-file: %w", err)
		}
		token = strings.TrimSpace(string(data))
		if token == "" {
			return nil, fmt.Errorf("flag --prometheus-token-file: %s is empty", p.tokenFile)
		}
	}
	if p.user != "" {
		auth.Username, auth.Password = p.user, os.Getenv(envPromPassword)
		if p.passwordFile != "" {
			data, err := os.ReadFile(p.passwordFile)
			if err != nil {
				return nil, fmt.Errorf("flag --prometheus-password-file: %w", err)
			}
			auth.Password = strings.TrimRight(string(data), "\r\n")
		}
		if p.tokenFile != "" {
			return nil, fmt.Errorf("flag --prometheus-user: give a user or a token file, not both")
		}
	} else {
		if p.passwordFile != "" {
			return nil, fmt.Errorf("flag --prometheus-password-file: needs --prometheus-user")
		}
		auth.BearerToken = token
	}
	c, err := promsource.New(p.url, auth)
	if err != nil {
		return nil, fmt.Errorf("flag --prometheus: %w", err)
	}
	return c, nil
}

// window is the range to read: --since before --until, both on the step's
// grid so each evaluation lands on the same phase of the scrape.
func (p *promOptions) window(step time.Duration) (time.Time, time.Time, error) {
	end := time.Now()
	if p.now != nil {
		end = p.now()
	}
	if p.until != "" {
		t, err := time.Parse(time.RFC3339, p.until)
		if err != nil {
			return time.Time{}, time.Time{}, fmt.Errorf("flag --until: %q is not RFC 3339 (2026-01-31T00:00:00Z)", p.until)
		}
		end = t
	}
	if step%time.Second != 0 {
		return time.Time{}, time.Time{}, fmt.Errorf("flag --step: %v: with --prometheus it must be whole seconds", step)
	}
	end = end.UTC().Truncate(step)
	return end.Add(-time.Duration(p.since)).Truncate(step), end, nil
}

// gather reads one workload's history and checks it as a trace; name says
// where it came from.
func (p *promOptions) gather(opts *globalOptions, step time.Duration) (simulate.Trace, string, error) {
	c, err := p.client()
	if err != nil {
		return simulate.Trace{}, "", err
	}
	start, end, err := p.window(step)
	if err != nil {
		return simulate.Trace{}, "", err
	}
	w, _ := promsource.ParseWorkload(p.workload)
	h, st, err := c.Replicas(context.Background(), w, start, end, step)
	if err != nil {
		return simulate.Trace{}, "", err
	}
	name := fmt.Sprintf("workload %s (series %s)", w, h.Series)
	tr, err := simulate.ReplicaTrace(name, h.Times, h.Values)
	if err != nil {
		return simulate.Trace{}, "", err
	}
	if opts.stderr != nil {
		fmt.Fprintf(opts.stderr, "read %s: %d samples in %d requests\n", name, tr.Len(), st.Requests)
	}
	return tr, name, nil
}

// allRow is one workload of --all's output.
type allRow struct {
	Workload       string  `json:"workload"`
	Series         string  `json:"series"`
	Samples        int     `json:"samples"`
	Days           float64 `json:"days"`
	Commits        int     `json:"commits"`
	CommitsPerWeek float64 `json:"commits_per_week"`
	Coverage       float64 `json:"coverage"`
	Overprovision  float64 `json:"overprovision"`
	DeclaredNow    int64   `json:"declared_now"`
}

// runSimulateAll replays every HPA's history, one row each.
func runSimulateAll(opts *globalOptions, o *simulateOptions, params policy.Params, source string) error {
	c, err := o.prom.client()
	if err != nil {
		return err
	}
	start, end, err := o.prom.window(o.step)
	if err != nil {
		return err
	}
	hs, _, err := c.AllHPAs(context.Background(), start, end, o.step)
	if err != nil {
		return err
	}
	rows := make([]allRow, 0, len(hs))
	for _, h := range hs {
		name := fmt.Sprintf("workload %s (series %s)", h.Workload, h.Series)
		tr, err := simulate.ReplicaTrace(name, h.Times, h.Values)
		if err != nil {
			return err
		}
		declared, err := simulate.Run(tr, o.runOptions(params))
		if err != nil {
			return fmt.Errorf("%s: %w", source, err)
		}
		s, err := simulate.Summarise(tr.Replicas(), declared)
		if err != nil {
			return err
		}
		days := (tr.Times[len(tr.Times)-1].Sub(tr.Times[0]) + o.step).Hours() / 24
		rows = append(rows, allRow{Workload: h.Workload.String(), Series: h.Series, Samples: s.Samples, Days: days,
			Commits: s.Commits, CommitsPerWeek: float64(s.Commits) / days * 7, Coverage: s.Coverage,
			Overprovision: s.Overprovision, DeclaredNow: declared[len(declared)-1]})
	}
	if done, err := opts.printStructured(rows); done {
		return err
	}
	fmt.Fprintf(opts.stdout, "policy %s: %s, hysteresis %g, dwell down %v, dwell up %v\n\n",
		source, params.Ladder, params.Hysteresis, params.DwellDown, params.DwellUp)
	tw := tabwriter.NewWriter(opts.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "WORKLOAD\tSAMPLES\tDAYS\tCOMMITS/WEEK\tCOVERAGE\tOVERPROVISION\tDECLARED NOW")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%d\t%.1f\t%.2f\t%.4f\t%.3f\t%d\n", r.Workload, r.Samples, r.Days, r.CommitsPerWeek, r.Coverage, r.Overprovision, r.DeclaredNow)
	}
	return tw.Flush()
}
