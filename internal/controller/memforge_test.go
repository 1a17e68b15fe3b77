package controller

import (
	"context"
	"net/http"
	"slices"
	"sync"

	"github.com/latch-gitops/latch/internal/forge"
)

// memForge is an in-memory forge.API for the controller's wiring tests:
// PRs numbered from 1, opened by "latch-bot", 409 on a second open PR of a
// branch (as Gitea answers). It is a test double, not a forge: the real
// adapters are tested against Gitea and recorded exchanges in internal/forge.
type memForge struct {
	mu       sync.Mutex
	prs      []forge.PR
	comments []string
}

const memUser = "latch-bot"

// count is how many PRs were opened and comments written.
func (m *memForge) count() (prs, comments int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.prs), len(m.comments)
}

func (m *memForge) Me(context.Context) (string, error) { return memUser, nil }

func (m *memForge) FindByBranch(_ context.Context, base, branch string) (*forge.PR, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := len(m.prs) - 1; i >= 0; i-- {
		if pr := m.prs[i]; pr.Branch == branch && pr.Base == base {
			return &pr, nil
		}
	}
	return nil, nil
}

func (m *memForge) Create(_ context.Context, n forge.NewPR) (*forge.PR, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, pr := range m.prs {
		if pr.Branch == n.Branch && pr.State == forge.StateOpen {
			return nil, &forge.Error{Op: "create", Status: http.StatusConflict, Msg: "pull request already exists"}
		}
	}
	pr := forge.PR{Number: len(m.prs) + 1, State: forge.StateOpen, Author: memUser, Title: n.Title, Body: n.Body,
		Branch: n.Branch, Base: n.Base, Labels: slices.Clone(n.Labels)}
	m.prs = append(m.prs, pr)
	return &pr, nil
}

func (m *memForge) Update(_ context.Context, number int, e forge.Edit) (*forge.PR, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if number < 1 || number > len(m.prs) {
		return nil, &forge.Error{Op: "update", Status: http.StatusNotFound}
	}
	pr := &m.prs[number-1]
	if e.Title != nil {
		pr.Title = *e.Title
	}
	if e.Body != nil {
		pr.Body = *e.Body
	}
	if e.Labels != nil {
		pr.Labels = slices.Clone(e.Labels)
	}
	if e.Close {
		pr.State = forge.StateClosed
	}
	out := *pr
	return &out, nil
}

func (m *memForge) Comment(_ context.Context, number int, body string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if number < 1 || number > len(m.prs) {
		return &forge.Error{Op: "comment", Status: http.StatusNotFound}
	}
	m.comments = append(m.comments, body)
	return nil
}

func (m *memForge) Get(_ context.Context, number int) (*forge.PR, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if number < 1 || number > len(m.prs) {
		return nil, &forge.Error{Op: "get", Status: http.StatusNotFound}
	}
	pr := m.prs[number-1]
	return &pr, nil
}

func (m *memForge) ListOpen(_ context.Context, label string) ([]forge.PR, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []forge.PR
	for _, pr := range m.prs {
		if pr.State == forge.StateOpen && slices.Contains(pr.Labels, label) {
			out = append(out, pr)
		}
	}
	return out, nil
}
