// Package reviewflow acts on the review decisions for one workload: it
// gathers the situation (the newest PR of latch's branch from the forge,
// the branch's state from git), asks review.Decide, and acts — pushes
// latch's PR branch (gitrepo.PushReview), then creates, updates or closes
// the PR (internal/forge). Git first, the forge second, the marker last, so
// an interrupted step is redone on the next pass and never duplicated.
// Direct pushes stay with the caller's usual CommitAndPush.
package reviewflow

import (
	"context"
	"errors"
	"fmt"

	"github.com/latch-gitops/latch/internal/forge"
	"github.com/latch-gitops/latch/internal/gitrepo"
	"github.com/latch-gitops/latch/internal/review"
)

// Flow holds what every workload's review shares.
type Flow struct {
	Repo    *gitrepo.Repo
	Forge   *forge.Client
	Cluster string
	// Labels go on every PR (default: "latch").
	Labels    []string
	Reviewers []string
	Templates review.Templates
	Push      gitrepo.PushOptions
	// Step, when set (tests), is called before each acting step with its
	// name; an error aborts the flow there, as a crash would.
	Step func(name string) error
}

// Item is one workload's latch as the flow sees it.
type Item struct {
	Object   review.Object
	Field    string
	Proposal *review.Proposal
	// NeedsReview is the mode's answer (review.Mode.NeedsReview).
	NeedsReview bool
	Evidence    review.Evidence
	// Edit writes the proposal into the work tree (as for CommitAndPush).
	Edit gitrepo.EditFunc
}

// Outcome is what Run did for one item.
type Outcome struct {
	Decision review.Decision
	// PR is the PR acted on (0 when none); URL its web page.
	PR  int
	URL string
	// State is the state the PR was found in (gathered; "" : no PR).
	State forge.State
	// Created, Updated, Closed report forge writes (for metrics, Events).
	Created, Updated, Closed bool
}

// writePR is the forge write of an open or an update: create the PR of
// branch (an existing one found by the forge is updated instead), or edit
// PR number's title and body; out records which.
func (f *Flow) writePR(ctx context.Context, out *Outcome, open bool, number int, branch, title, body string) error {
	if open {
		pr, created, err := f.Forge.CreateOrUpdate(ctx, forge.NewPR{Branch: branch, Base: f.Repo.Branch(), Title: title, Body: body, Labels: f.labels(), Reviewers: f.Reviewers})
		if err != nil {
			return err
		}
		out.PR, out.URL, out.Created, out.Updated = pr.Number, pr.URL, created, !created
		return nil
	}
	pr, err := f.Forge.Update(ctx, number, forge.Edit{Title: &title, Body: &body})
	if err != nil {
		return err
	}
	out.URL, out.Updated = pr.URL, true
	return nil
}

// closePR closes latch's PR number with a comment saying why (marked as
// latch's own close), then its marker set ClosedByLatch, so that the next
// pass reads the close as latch's and not as a person's rejection.
func (f *Flow) closePR(ctx context.Context, number int, body string, m review.Marker, note string) error {
	m.ClosedByLatch = true
	if err := f.step("comment"); err != nil {
		return err
	}
	if err := f.Forge.Comment(ctx, number, note+"\n\n<!-- latch-review-close -->"); err != nil {
		return err
	}
	if err := f.step("close"); err != nil {
		return err
	}
	newBody := review.WithMarker(body, m)
	_, err := f.Forge.Update(ctx, number, forge.Edit{Body: &newBody, Close: true})
	return err
}

func (f *Flow) step(name string) error {
	if f.Step == nil {
		return nil
	}
	return f.Step(name)
}

func (f *Flow) labels() []string {
	if len(f.Labels) == 0 {
		return []string{"latch"}
	}
	return f.Labels
}

// gather reads the situation for it: the newest PR of its branch (one forge
// call), whether latch wrote it and its marker, and whether a person pushed
// to the branch (git). It also returns what git read of the branch (nil
// when it did not look), for Run's push to build on without a second fetch.
//
// Git is read only when this pass may push the branch (a proposal that
// needs review: Decide reads the branch only then), and while the forge is
// asked, since neither read depends on the other. The read is only used if
// the PR is open (Decide's input) or as PushReview's starting point, which
// never trusts it: the push is leased or a fast-forward.
func (f *Flow) gather(ctx context.Context, it Item) (review.Situation, *forge.PR, *gitrepo.ReviewHeads, error) {
	s := review.Situation{Proposal: it.Proposal, NeedsReview: it.NeedsReview}
	branch := review.Branch(f.Cluster, it.Object)
	var heads chan branchRead
	if it.Proposal != nil && it.NeedsReview {
		heads = make(chan branchRead, 1)
		go func() {
			h, err := f.Repo.ReviewHeads(ctx, branch)
			heads <- branchRead{h, err}
		}()
	}
	// read waits for the git read (the zero read when none started); every
	// return below waits, so no git runs after gather returns.
	read := func() branchRead {
		if heads == nil {
			return branchRead{err: errNotRead}
		}
		r := <-heads
		heads = nil
		return r
	}
	defer read()
	me, fp, err := f.findPR(ctx, branch)
	if err != nil {
		return s, nil, nil, err
	}
	if fp == nil {
		return s, nil, read().seen(), nil
	}
	pr := &review.PR{Number: fp.Number, State: review.State(fp.State), ByLatch: fp.Author == me, URL: fp.URL}
	if m, err := review.ParseMarker(fp.Body); err == nil && sameObject(m.Object, it.Object) && m.Cluster == f.Cluster {
		pr.Marker = &m
	}
	s.PR = pr
	r := read()
	if fp.State == forge.StateOpen && !errors.Is(r.err, errNotRead) {
		if r.err != nil {
			return s, fp, nil, r.err
		}
		s.BranchForeign, s.BranchHead = r.heads.Foreign, r.heads.Head
	}
	return s, fp, r.seen(), nil
}

// findPR asks the forge for latch's login (once per process) and the newest
// PR of branch.
func (f *Flow) findPR(ctx context.Context, branch string) (me string, pr *forge.PR, err error) {
	if me, err = f.Forge.Me(ctx); err != nil {
		return "", nil, err
	}
	pr, err = f.Forge.FindByBranch(ctx, f.Repo.Branch(), branch)
	return me, pr, err
}

// branchRead is gather's git read of latch's PR branch.
type branchRead struct {
	heads gitrepo.ReviewHeads
	err   error
}

var errNotRead = errors.New("reviewflow: the branch was not read")

// seen is the read for PushReview to build on (nil: it fetches itself,
// and reports a failure there).
func (r branchRead) seen() *gitrepo.ReviewHeads {
	if r.err != nil {
		return nil
	}
	return &r.heads
}

// Run gathers, decides and acts for one item. Push decisions are returned
// for the caller to commit with the window's direct latches; PushAndClose
// closes the PR here and leaves the push to the caller as well.
func (f *Flow) Run(ctx context.Context, it Item) (Outcome, error) {
	s, fp, seen, err := f.gather(ctx, it)
	if err != nil {
		return Outcome{}, err
	}
	d := review.Decide(s)
	out := Outcome{Decision: d, PR: d.PR}
	if fp != nil {
		out.URL, out.State = fp.URL, fp.State
	}
	branch := review.Branch(f.Cluster, it.Object)
	switch d.Action {
	case review.Nothing, review.Push:
		return out, nil
	case review.Open, review.Update, review.UpdateOnTop:
		if err := f.step("push-branch"); err != nil {
			return out, err
		}
		onTop := d.Action == review.UpdateOnTop
		res, err := f.Repo.PushReview(ctx, f.Push, gitrepo.ReviewPush{Branch: branch, OnTop: onTop, Seen: seen}, it.Edit)
		if err != nil {
			return out, fmt.Errorf("%s: %w", branch, err)
		}
		commit := res.Commit
		if commit == "" {
			// The branch already declared it (an earlier push whose forge
			// step did not happen): the marker names the branch's head,
			// which PushReview just fetched (no second fetch for it).
			commit = res.Previous
		}
		ev := it.Evidence
		ev.OnTop = onTop
		if ev.FileURL == "" {
			ev.FileURL = f.Forge.FileURL(branch, ev.File)
		}
		m := review.NewMarker(f.Cluster, it.Object, it.Field, *it.Proposal, commit)
		title, body, err := f.Templates.Render(ev, m)
		if err != nil {
			return out, err
		}
		if err := f.step("forge-write"); err != nil {
			return out, err
		}
		err = f.writePR(ctx, &out, d.Action == review.Open, d.PR, branch, title, body)
		return out, err
	case review.Close, review.PushAndClose:
		note := "latch closes this pull request: the live value is back at what git declares."
		if d.Action == review.PushAndClose {
			note = "latch closes this pull request: the value is now ordinary and latch pushed it directly."
		}
		if err := f.closePR(ctx, d.PR, fp.Body, *s.PR.Marker, note); err != nil {
			return out, err
		}
		out.Closed = true
		return out, nil
	case review.Release:
		m := *s.PR.Marker
		m.Released = true
		body := review.WithMarker(fp.Body, m)
		if err := f.step("release"); err != nil {
			return out, err
		}
		if _, err := f.Forge.Update(ctx, d.PR, forge.Edit{Body: &body}); err != nil {
			return out, err
		}
		out.Updated = true
		return out, nil
	}
	return out, errors.New("reviewflow: unknown action " + string(d.Action))
}

// sameObject compares identities without the API version, which may move
// (apps/v1beta2 → apps/v1) while the object stays the same.
func sameObject(a, b review.Object) bool {
	a.Version, b.Version = "", ""
	return a == b
}
