package forge

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	gitlab "gitlab.com/gitlab-org/api/client-go/v2"
)

// gitlabAPI is API over gitlab.com/gitlab-org/api/client-go (GitLab.com and
// self-hosted). PR numbers are merge request IIDs.
type gitlabAPI struct {
	c       *gitlab.Client
	project string // "group/sub/project"; the client path-escapes it
}

func newGitLab(base, path, token string, hc *http.Client) (API, error) {
	// The client's own retries would hide rate limits from Client's count
	// and backoff; Client retries instead.
	c, err := gitlab.NewClient(token, gitlab.WithBaseURL(strings.TrimSuffix(base, "/")+"/api/v4"),
		gitlab.WithHTTPClient(hc), gitlab.WithoutRetries())
	if err != nil {
		return nil, fmt.Errorf("gitlab client for %s: %w", base, err)
	}
	return &gitlabAPI{c: c, project: path}, nil
}

func gitlabErr(op string, resp *gitlab.Response, err error) error {
	if resp == nil || resp.Response == nil {
		return fmt.Errorf("forge %s: %w", op, err)
	}
	msg := err.Error()
	if er, ok := err.(*gitlab.ErrorResponse); ok {
		msg = er.Message
	}
	return httpError(op, resp.Response, err, msg)
}

func (g *gitlabAPI) Me(ctx context.Context) (string, error) {
	u, resp, err := g.c.Users.CurrentUser(gitlab.WithContext(ctx))
	if err != nil {
		return "", gitlabErr("user", resp, err)
	}
	return u.Username, nil
}

// FindByBranch lists MRs with source_branch, any state, newest first, one
// per page: one call.
func (g *gitlabAPI) FindByBranch(ctx context.Context, base, branch string) (*PR, error) {
	mrs, resp, err := g.c.MergeRequests.ListProjectMergeRequests(g.project, &gitlab.ListProjectMergeRequestsOptions{
		ListOptions:  gitlab.ListOptions{PerPage: 1},
		State:        gitlab.Ptr("all"),
		SourceBranch: gitlab.Ptr(branch),
		TargetBranch: gitlab.Ptr(base),
		OrderBy:      gitlab.Ptr("created_at"),
		Sort:         gitlab.Ptr("desc"),
	}, gitlab.WithContext(ctx))
	if err != nil {
		return nil, gitlabErr("find "+branch, resp, err)
	}
	if len(mrs) == 0 {
		return nil, nil
	}
	return fromGitLab(mrs[0]), nil
}

// Create opens the MR with its labels in one call. GitLab answers 409 when
// an open MR exists for the source branch. Reviewers are user ids on GitLab;
// names in n.Reviewers are not resolved (docs/review.md says so).
func (g *gitlabAPI) Create(ctx context.Context, n NewPR) (*PR, error) {
	opt := &gitlab.CreateMergeRequestOptions{
		Title: gitlab.Ptr(n.Title), Description: gitlab.Ptr(n.Body),
		SourceBranch: gitlab.Ptr(n.Branch), TargetBranch: gitlab.Ptr(n.Base),
	}
	if len(n.Labels) > 0 {
		l := gitlab.LabelOptions(n.Labels)
		opt.Labels = &l
	}
	mr, resp, err := g.c.MergeRequests.CreateMergeRequest(g.project, opt, gitlab.WithContext(ctx))
	if err != nil {
		return nil, gitlabErr("create "+n.Branch, resp, err)
	}
	return fromGitLab(&mr.BasicMergeRequest), nil
}

func (g *gitlabAPI) Update(ctx context.Context, number int, e Edit) (*PR, error) {
	opt := &gitlab.UpdateMergeRequestOptions{Title: e.Title, Description: e.Body}
	if e.Labels != nil {
		l := gitlab.LabelOptions(e.Labels)
		opt.Labels = &l
	}
	if e.Close {
		opt.StateEvent = gitlab.Ptr("close")
	}
	mr, resp, err := g.c.MergeRequests.UpdateMergeRequest(g.project, int64(number), opt, gitlab.WithContext(ctx))
	if err != nil {
		return nil, gitlabErr(fmt.Sprintf("update !%d", number), resp, err)
	}
	return fromGitLab(&mr.BasicMergeRequest), nil
}

func (g *gitlabAPI) Comment(ctx context.Context, number int, body string) error {
	_, resp, err := g.c.Notes.CreateMergeRequestNote(g.project, int64(number), &gitlab.CreateMergeRequestNoteOptions{Body: gitlab.Ptr(body)}, gitlab.WithContext(ctx))
	if err != nil {
		return gitlabErr(fmt.Sprintf("comment !%d", number), resp, err)
	}
	return nil
}

func (g *gitlabAPI) Get(ctx context.Context, number int) (*PR, error) {
	mr, resp, err := g.c.MergeRequests.GetMergeRequest(g.project, int64(number), nil, gitlab.WithContext(ctx))
	if err != nil {
		return nil, gitlabErr(fmt.Sprintf("get !%d", number), resp, err)
	}
	return fromGitLab(&mr.BasicMergeRequest), nil
}

// ListOpen filters by label on the server and follows X-Next-Page.
func (g *gitlabAPI) ListOpen(ctx context.Context, label string) ([]PR, error) {
	opt := &gitlab.ListProjectMergeRequestsOptions{ListOptions: gitlab.ListOptions{PerPage: 100}, State: gitlab.Ptr("opened")}
	if label != "" {
		l := gitlab.LabelOptions{label}
		opt.Labels = &l
	}
	var out []PR
	for {
		mrs, resp, err := g.c.MergeRequests.ListProjectMergeRequests(g.project, opt, gitlab.WithContext(ctx))
		if err != nil {
			return nil, gitlabErr("list", resp, err)
		}
		for _, m := range mrs {
			out = append(out, *fromGitLab(m))
		}
		if resp.NextPage == 0 {
			return out, nil
		}
		opt.Page = resp.NextPage
	}
}

func fromGitLab(m *gitlab.BasicMergeRequest) *PR {
	pr := &PR{Number: int(m.IID), Title: m.Title, Body: m.Description, URL: m.WebURL,
		Branch: m.SourceBranch, Base: m.TargetBranch, Head: m.SHA, Labels: append([]string(nil), m.Labels...)}
	if m.Author != nil {
		pr.Author = m.Author.Username
	}
	switch m.State {
	case "opened":
		pr.State = StateOpen
	case "merged":
		pr.State = StateMerged
	default: // closed, locked
		pr.State = StateClosed
	}
	return pr
}
