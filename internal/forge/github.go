package forge

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/google/go-github/v93/github"
)

// githubAPI is API over github.com/google/go-github (GitHub and GitHub
// Enterprise).
type githubAPI struct {
	c           *github.Client
	owner, repo string
}

func newGitHub(base, path, token string, hc *http.Client) (API, error) {
	owner, repo, ok := strings.Cut(path, "/")
	if !ok || strings.Contains(repo, "/") {
		return nil, fmt.Errorf("github repository %q: want OWNER/REPO", path)
	}
	opts := []github.ClientOptionsFunc{github.WithHTTPClient(hc), github.WithAuthToken(token)}
	switch b := strings.TrimSuffix(base, "/"); b {
	case "https://github.com", "https://api.github.com":
		// github.com's API is api.github.com, the client's default.
	default:
		// Enterprise: the client appends api/v3/ (and api/uploads/).
		opts = append(opts, github.WithEnterpriseURLs(b+"/", b+"/"))
	}
	c, err := github.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("github client for %s: %w", base, err)
	}
	return &githubAPI{c: c, owner: owner, repo: repo}, nil
}

func githubErr(op string, resp *github.Response, err error) error {
	if resp == nil || resp.Response == nil {
		return fmt.Errorf("forge %s: %w", op, err)
	}
	msg := err.Error()
	var er *github.ErrorResponse
	if errors.As(err, &er) {
		// ErrorResponse.Error() repeats the URL; the message and the
		// per-field errors are what a person needs.
		msg = er.Message
		for _, e := range er.Errors {
			if e.Message != "" {
				msg += "; " + e.Message
			}
		}
	}
	fe := httpError(op, resp.Response, err, msg)
	var abuse *github.AbuseRateLimitError
	if e, ok := fe.(*Error); ok && errors.As(err, &abuse) {
		e.RateLimited = true
		if abuse.RetryAfter != nil {
			e.RetryAfter = max(e.RetryAfter, *abuse.RetryAfter)
		}
	}
	return fe
}

func (g *githubAPI) Me(ctx context.Context) (string, error) {
	u, resp, err := g.c.Users.Get(ctx, "")
	if err != nil {
		return "", githubErr("user", resp, err)
	}
	return u.GetLogin(), nil
}

// FindByBranch lists PRs with head=owner:branch, any state, newest first,
// one per page: one call whatever the number of PRs.
func (g *githubAPI) FindByBranch(ctx context.Context, base, branch string) (*PR, error) {
	prs, resp, err := g.c.PullRequests.List(ctx, g.owner, g.repo, &github.PullRequestListOptions{
		State: "all", Head: g.owner + ":" + branch, Base: base, Sort: "created", Direction: "desc",
		ListOptions: github.ListOptions{PerPage: 1},
	})
	if err != nil {
		return nil, githubErr("find "+branch, resp, err)
	}
	if len(prs) == 0 {
		return nil, nil
	}
	return fromGitHub(prs[0]), nil
}

// Create opens the PR, then sets labels and reviewers (GitHub takes them
// in separate calls; a failure there is returned with the PR).
func (g *githubAPI) Create(ctx context.Context, n NewPR) (*PR, error) {
	p, resp, err := g.c.PullRequests.Create(ctx, g.owner, g.repo, github.CreatePullRequest{
		Title: github.Ptr(n.Title), Head: n.Branch, Base: n.Base, Body: github.Ptr(n.Body),
	})
	if err != nil {
		return nil, githubErr("create "+n.Branch, resp, err)
	}
	pr := fromGitHub(p)
	if len(n.Labels) > 0 {
		if _, resp, err := g.c.Issues.AddLabelsToIssue(ctx, g.owner, g.repo, pr.Number, n.Labels); err != nil {
			return pr, githubErr(fmt.Sprintf("label #%d", pr.Number), resp, err)
		}
		pr.Labels = append(pr.Labels, n.Labels...)
	}
	if len(n.Reviewers) > 0 {
		if _, resp, err := g.c.PullRequests.RequestReviewers(ctx, g.owner, g.repo, pr.Number, github.ReviewersRequest{Reviewers: n.Reviewers}); err != nil {
			return pr, githubErr(fmt.Sprintf("request reviewers #%d", pr.Number), resp, err)
		}
	}
	return pr, nil
}

func (g *githubAPI) Update(ctx context.Context, number int, e Edit) (*PR, error) {
	edit := &github.PullRequest{Title: e.Title, Body: e.Body}
	if e.Close {
		edit.State = github.Ptr("closed")
	}
	p, resp, err := g.c.PullRequests.Edit(ctx, g.owner, g.repo, number, edit)
	if err != nil {
		return nil, githubErr(fmt.Sprintf("update #%d", number), resp, err)
	}
	pr := fromGitHub(p)
	if e.Labels != nil {
		if _, resp, err := g.c.Issues.ReplaceLabelsForIssue(ctx, g.owner, g.repo, number, e.Labels); err != nil {
			return pr, githubErr(fmt.Sprintf("label #%d", number), resp, err)
		}
		pr.Labels = e.Labels
	}
	return pr, nil
}

func (g *githubAPI) Comment(ctx context.Context, number int, body string) error {
	_, resp, err := g.c.Issues.CreateComment(ctx, g.owner, g.repo, number, github.IssueCommentRequest{Body: body})
	if err != nil {
		return githubErr(fmt.Sprintf("comment #%d", number), resp, err)
	}
	return nil
}

func (g *githubAPI) Get(ctx context.Context, number int) (*PR, error) {
	p, resp, err := g.c.PullRequests.Get(ctx, g.owner, g.repo, number)
	if err != nil {
		return nil, githubErr(fmt.Sprintf("get #%d", number), resp, err)
	}
	return fromGitHub(p), nil
}

// ListOpen follows the Link header's next page.
func (g *githubAPI) ListOpen(ctx context.Context, label string) ([]PR, error) {
	var out []PR
	opt := &github.PullRequestListOptions{State: "open", ListOptions: github.ListOptions{PerPage: 100}}
	for {
		prs, resp, err := g.c.PullRequests.List(ctx, g.owner, g.repo, opt)
		if err != nil {
			return nil, githubErr("list", resp, err)
		}
		for _, p := range prs {
			if pr := fromGitHub(p); label == "" || hasLabel(pr.Labels, label) {
				out = append(out, *pr)
			}
		}
		if resp.NextPage == 0 {
			return out, nil
		}
		opt.Page = resp.NextPage
	}
}

func fromGitHub(p *github.PullRequest) *PR {
	pr := &PR{Number: p.GetNumber(), Title: p.GetTitle(), Body: p.GetBody(), URL: p.GetHTMLURL(),
		Author: p.GetUser().GetLogin(), Branch: p.GetHead().GetRef(), Head: p.GetHead().GetSHA(), Base: p.GetBase().GetRef()}
	switch {
	case p.GetMerged() || p.MergedAt != nil:
		pr.State = StateMerged
	case p.GetState() == "open":
		pr.State = StateOpen
	default:
		pr.State = StateClosed
	}
	for _, l := range p.Labels {
		pr.Labels = append(pr.Labels, l.GetName())
	}
	return pr
}
