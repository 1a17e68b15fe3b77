package forge

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"

	"code.gitea.io/sdk/gitea"
)

// giteaAPI is API over code.gitea.io/sdk/gitea. The SDK takes its context
// per client, not per call, so calls are serialised under mu with the
// caller's context set first.
type giteaAPI struct {
	mu          sync.Mutex
	c           *gitea.Client
	owner, repo string
	labels      map[string]int64 // name → id, filled on first use
}

func newGitea(base, path, token string, hc *http.Client) (API, error) {
	owner, repo, ok := strings.Cut(path, "/")
	if !ok || strings.Contains(repo, "/") {
		return nil, fmt.Errorf("gitea repository %q: want OWNER/REPO", path)
	}
	// No version probe at construction (SetGiteaVersion("")): latch starts
	// while the forge is down, and its first real call says so, retried.
	c, err := gitea.NewClient(strings.TrimSuffix(base, "/"), gitea.SetToken(token), gitea.SetHTTPClient(hc), gitea.SetGiteaVersion(""))
	if err != nil {
		return nil, fmt.Errorf("gitea client for %s: %w", base, err)
	}
	return &giteaAPI{c: c, owner: owner, repo: repo}, nil
}

func giteaErr(op string, resp *gitea.Response, err error) error {
	if resp == nil || resp.Response == nil {
		return fmt.Errorf("forge %s: %w", op, err)
	}
	return httpError(op, resp.Response, err, err.Error())
}

func (g *giteaAPI) lock(ctx context.Context) func() {
	g.mu.Lock()
	g.c.SetContext(ctx)
	return g.mu.Unlock
}

func (g *giteaAPI) Me(ctx context.Context) (string, error) {
	defer g.lock(ctx)()
	u, resp, err := g.c.GetMyUserInfo()
	if err != nil {
		return "", giteaErr("user", resp, err)
	}
	return u.UserName, nil
}

// FindByBranch uses Gitea's pulls/{base}/{head}: one call when the answer
// is open. That endpoint returns one PR of those the branch ever had, in no
// stated order, so when it is not open (closed or merged) a newer one may
// exist: FindByBranch then pages through the pull list, newest first, to
// the newest PR from branch (at most maxScanPages pages).
func (g *giteaAPI) FindByBranch(ctx context.Context, base, branch string) (*PR, error) {
	defer g.lock(ctx)()
	pr, resp, err := g.c.GetPullRequestByBaseHead(g.owner, g.repo, base, branch)
	if resp != nil && resp.StatusCode == http.StatusNotFound {
		return nil, nil
	}
	if err != nil {
		return nil, giteaErr("find "+branch, resp, err)
	}
	found := fromGitea(pr)
	if found.State == StateOpen {
		return found, nil
	}
	for page := 1; page > 0 && page <= maxScanPages; {
		prs, resp, err := g.c.ListRepoPullRequests(g.owner, g.repo, gitea.ListPullRequestsOptions{
			ListOptions: gitea.ListOptions{Page: page, PageSize: 50}, State: gitea.StateAll,
		})
		if err != nil {
			return nil, giteaErr("find "+branch, resp, err)
		}
		for _, p := range prs {
			if c := fromGitea(p); c.Branch == branch && c.Base == base {
				// Newest first: the first match is the newest.
				return c, nil
			}
		}
		page = resp.NextPage
	}
	return found, nil
}

// maxScanPages bounds FindByBranch's scan for a newer PR (50 per page).
const maxScanPages = 20

func (g *giteaAPI) Create(ctx context.Context, n NewPR) (*PR, error) {
	defer g.lock(ctx)()
	ids, err := g.labelIDs(n.Labels)
	if err != nil {
		return nil, err
	}
	pr, resp, err := g.c.CreatePullRequest(g.owner, g.repo, gitea.CreatePullRequestOption{
		Head: n.Branch, Base: n.Base, Title: n.Title, Body: n.Body, Labels: ids, Reviewers: n.Reviewers,
	})
	if err != nil {
		return nil, giteaErr("create "+n.Branch, resp, err)
	}
	return fromGitea(pr), nil
}

func (g *giteaAPI) Update(ctx context.Context, number int, e Edit) (*PR, error) {
	defer g.lock(ctx)()
	opt := gitea.EditPullRequestOption{Body: e.Body}
	if e.Title != nil {
		opt.Title = *e.Title
	}
	if e.Labels != nil {
		ids, err := g.labelIDs(e.Labels)
		if err != nil {
			return nil, err
		}
		opt.Labels = ids
	}
	if e.Close {
		closed := gitea.StateClosed
		opt.State = &closed
	}
	pr, resp, err := g.c.EditPullRequest(g.owner, g.repo, int64(number), opt)
	if err != nil {
		return nil, giteaErr(fmt.Sprintf("update #%d", number), resp, err)
	}
	return fromGitea(pr), nil
}

func (g *giteaAPI) Comment(ctx context.Context, number int, body string) error {
	defer g.lock(ctx)()
	_, resp, err := g.c.CreateIssueComment(g.owner, g.repo, int64(number), gitea.CreateIssueCommentOption{Body: body})
	if err != nil {
		return giteaErr(fmt.Sprintf("comment #%d", number), resp, err)
	}
	return nil
}

func (g *giteaAPI) Get(ctx context.Context, number int) (*PR, error) {
	defer g.lock(ctx)()
	pr, resp, err := g.c.GetPullRequest(g.owner, g.repo, int64(number))
	if err != nil {
		return nil, giteaErr(fmt.Sprintf("get #%d", number), resp, err)
	}
	return fromGitea(pr), nil
}

// ListOpen pages through open PRs (Gitea's pull list cannot filter by
// label name) and keeps those with label.
func (g *giteaAPI) ListOpen(ctx context.Context, label string) ([]PR, error) {
	defer g.lock(ctx)()
	var out []PR
	for page := 1; page > 0; {
		prs, resp, err := g.c.ListRepoPullRequests(g.owner, g.repo, gitea.ListPullRequestsOptions{
			ListOptions: gitea.ListOptions{Page: page, PageSize: 50}, State: gitea.StateOpen,
		})
		if err != nil {
			return nil, giteaErr("list", resp, err)
		}
		for _, p := range prs {
			if pr := fromGitea(p); label == "" || hasLabel(pr.Labels, label) {
				out = append(out, *pr)
			}
		}
		page = resp.NextPage
	}
	return out, nil
}

// labelIDs maps names to Gitea's label ids, creating missing labels once.
func (g *giteaAPI) labelIDs(names []string) ([]int64, error) {
	if len(names) == 0 {
		return nil, nil
	}
	if g.labels == nil {
		g.labels = map[string]int64{}
		for page := 1; page > 0; {
			ls, resp, err := g.c.ListRepoLabels(g.owner, g.repo, gitea.ListLabelsOptions{ListOptions: gitea.ListOptions{Page: page, PageSize: 50}})
			if err != nil {
				g.labels = nil
				return nil, giteaErr("labels", resp, err)
			}
			for _, l := range ls {
				g.labels[l.Name] = l.ID
			}
			page = resp.NextPage
		}
	}
	ids := make([]int64, 0, len(names))
	for _, n := range names {
		id, ok := g.labels[n]
		if !ok {
			l, resp, err := g.c.CreateLabel(g.owner, g.repo, gitea.CreateLabelOption{Name: n, Color: "#5319e7", Description: "opened by latch"})
			if err != nil {
				return nil, giteaErr("create label "+n, resp, err)
			}
			id = l.ID
			g.labels[n] = id
		}
		ids = append(ids, id)
	}
	return ids, nil
}

func fromGitea(p *gitea.PullRequest) *PR {
	pr := &PR{Number: int(p.Index), Title: p.Title, Body: p.Body, URL: p.HTMLURL}
	switch {
	case p.HasMerged:
		pr.State = StateMerged
	case p.State == gitea.StateOpen:
		pr.State = StateOpen
	default:
		pr.State = StateClosed
	}
	if p.Poster != nil {
		pr.Author = p.Poster.UserName
	}
	if p.Head != nil {
		pr.Branch, pr.Head = p.Head.Ref, p.Head.Sha
	}
	if p.Base != nil {
		pr.Base = p.Base.Ref
	}
	for _, l := range p.Labels {
		pr.Labels = append(pr.Labels, l.Name)
	}
	return pr
}

func hasLabel(labels []string, want string) bool { return slices.Contains(labels, want) }
