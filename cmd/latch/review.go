package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/spf13/cobra"

	"github.com/latch-gitops/latch/internal/controller"
	"github.com/latch-gitops/latch/internal/forge"
	"github.com/latch-gitops/latch/internal/review"
)

// reviewFlags say which latches go through a pull request and on which
// forge: sync, run and status have them.
type reviewFlags struct {
	mode, kind, url string
}

func (f *reviewFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.mode, "review", "never", "which latches become pull requests: never|always|suspicious (a latch.yaml rule's review: wins for the workloads it matches)")
	fl.StringVar(&f.kind, "forge", "", "forge of the repository: gitea|github|gitlab (default: inferred from the --repo URL's host)")
	fl.StringVar(&f.url, "forge-url", "", "forge root URL for a self-hosted forge (GitHub Enterprise, GitLab, Gitea; default: from the --repo URL)")
}

// check reports flags that are wrong on their own, before any connection.
func (f *reviewFlags) check() error {
	if _, err := review.ParseMode(f.mode); err != nil {
		return fmt.Errorf("flag --review: %w", err)
	}
	if _, err := forge.ParseKind(f.kind); err != nil {
		return fmt.Errorf("flag --forge: %w", err)
	}
	return nil
}

// explicit: the flags ask for review or name a forge, so a forge that
// cannot be set up is an error at start rather than a per-workload problem.
func (f *reviewFlags) explicit() bool {
	return (f.mode != "" && f.mode != string(review.Never)) || f.kind != "" || f.url != ""
}

// options builds the review options for the repository at remote. The
// forge token comes from LATCH_FORGE_TOKEN or credentialsDir/forge-token
// and never appears in an error or a log. Without explicit flags a forge
// that cannot be set up is not an error: latch.yaml may still ask for
// review, and those latches then report why they wait.
func (f *reviewFlags) options(remote, credentialsDir string, log *slog.Logger) (*controller.ReviewOptions, error) {
	if err := f.check(); err != nil {
		return nil, err
	}
	mode, _ := review.ParseMode(f.mode)
	kind, _ := forge.ParseKind(f.kind)
	opts := &controller.ReviewOptions{Mode: mode}
	templates, err := review.ParseTemplates("", "")
	if err != nil {
		return nil, err
	}
	opts.Templates = templates
	token, err := forge.LoadToken(credentialsDir)
	if err == nil {
		opts.Forge, err = forge.New(forge.Config{Kind: kind, URL: f.url, RemoteURL: remote, Token: token})
	}
	if err != nil {
		if f.explicit() {
			if errors.Is(err, forge.ErrNoToken) {
				return nil, fmt.Errorf("flag --review %s: %w (--git-credentials-dir)", f.mode, err)
			}
			return nil, forgeFlagError(err)
		}
		opts.ForgeProblem = forgeFlagError(err).Error()
		log.Debug("no forge: latches latch.yaml sends to review wait", "why", opts.ForgeProblem)
		return opts, nil
	}
	log.Info("review", "mode", mode, "forge", opts.Forge.Kind(), "forgeURL", opts.Forge.BaseURL())
	return opts, nil
}

// forgeFlagError names the flag behind a forge configuration error.
func forgeFlagError(err error) error {
	switch {
	case errors.Is(err, forge.ErrUnknownForge), errors.Is(err, forge.ErrBadKind):
		return fmt.Errorf("flag --forge: %w", err)
	case errors.Is(err, forge.ErrBadURL):
		return fmt.Errorf("flag --forge-url: %w", err)
	case errors.Is(err, forge.ErrBadRemote):
		return fmt.Errorf("flag --repo: %w", err)
	case errors.Is(err, forge.ErrNoToken):
		return fmt.Errorf("%w (--git-credentials-dir)", err)
	}
	return err
}

// attach turns the review flow on for latcher.
func (f *reviewFlags) attach(latcher *controller.Latcher, credentialsDir string, log *slog.Logger) error {
	opts, err := f.options(latcher.Repo.RemoteURL(), credentialsDir, log)
	if err != nil {
		return err
	}
	latcher.Review = opts
	return nil
}

// printReviews writes one line per workload the review flow acted on or
// left waiting.
func printReviews(w io.Writer, reviews []controller.ReviewOutcome) {
	for _, r := range reviews {
		what := fmt.Sprintf("%s %s", r.Kind, r.NamespacedName())
		change := ""
		if r.To != 0 || r.From != 0 {
			change = fmt.Sprintf(" %s %d → %d", r.ShortField(), r.From, r.To)
		}
		why := ""
		if len(r.Suspicious) > 0 {
			why = " (" + strings.Join(r.Suspicious, ", ") + ")"
		}
		link := ""
		if r.URL != "" {
			link = ": " + r.URL
		}
		switch {
		case r.Error != "":
			fmt.Fprintf(w, "  review failed for %s%s: %s\n", what, change, r.Error)
		case r.Created:
			fmt.Fprintf(w, "  opened PR #%d for %s%s%s%s\n", r.PR, what, change, why, link)
		case r.Closed:
			fmt.Fprintf(w, "  closed PR #%d for %s: %s\n", r.PR, what, r.Why)
		case r.Updated:
			fmt.Fprintf(w, "  updated PR #%d for %s%s%s%s\n", r.PR, what, change, why, link)
		case r.NeedsReview || r.Action == "":
			fmt.Fprintf(w, "  review: %s%s%s: %s\n", what, change, why, r.Why)
		}
	}
}
