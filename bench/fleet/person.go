package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// person is someone working on the fleet's repository beside the latches:
// every interval they write a new notes file outside every cluster's
// folder, commit and push; a push the remote refuses (someone pushed
// first) is followed by `git pull --rebase` and another push, as a careful
// person would.
type person struct {
	dir, url, branch string
	every            time.Duration
	// maxAttempts bounds the pushes of one commit.
	maxAttempts int

	// pushed are the commits that reached the remote; retries the pushes
	// repeated after a refusal; gaveUp the commits never pushed.
	pushed  []string
	retries int
	gaveUp  int
	// lastErr is the last failure, for the report.
	lastErr error
}

// clonePerson clones the remote (authURL carries the credentials) as
// "Human Operator".
func clonePerson(ctx context.Context, dir, authURL, branch string, every time.Duration) (*person, error) {
	p, err := cloneAs(ctx, filepath.Join(dir, "person"), authURL, branch, "Human Operator", "human@example.com")
	if err != nil {
		return nil, err
	}
	p.every = every
	return p, nil
}

// cloneAs clones the remote into dir as a git CLI user named name.
func cloneAs(ctx context.Context, dir, authURL, branch, name, email string) (*person, error) {
	p := &person{dir: dir, url: authURL, branch: branch, maxAttempts: 30}
	if _, err := p.git(ctx, "", "clone", "--quiet", "--branch", branch, authURL, p.dir); err != nil {
		return nil, err
	}
	for _, kv := range [][2]string{{"user.name", name}, {"user.email", email}, {"commit.gpgsign", "false"}, {"pull.rebase", "true"}} {
		if _, err := p.git(ctx, p.dir, "config", kv[0], kv[1]); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// run commits and pushes every p.every until ctx ends.
func (p *person) run(ctx context.Context) {
	ticker := time.NewTicker(p.every)
	defer ticker.Stop()
	for k := 1; ; k++ {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		if err := p.commitAndPush(ctx, k); err != nil && ctx.Err() == nil {
			p.lastErr = err
		}
	}
}

func (p *person) commitAndPush(ctx context.Context, k int) error {
	rel := fmt.Sprintf("people/notes-%04d.md", k)
	if err := os.MkdirAll(filepath.Join(p.dir, "people"), 0o755); err != nil {
		return err
	}
	text := fmt.Sprintf("# Note %d\n\nWritten at %s by a person, beside the latches.\n", k, time.Now().UTC().Format(time.RFC3339Nano))
	if err := os.WriteFile(filepath.Join(p.dir, rel), []byte(text), 0o644); err != nil {
		return err
	}
	if _, err := p.git(ctx, p.dir, "add", rel); err != nil {
		return err
	}
	if _, err := p.git(ctx, p.dir, "commit", "--quiet", "--message", fmt.Sprintf("people: note %d", k)); err != nil {
		return err
	}
	if err := p.push(ctx); err != nil {
		return fmt.Errorf("note %d never pushed: %w", k, err)
	}
	return nil
}

// push pushes the commit at HEAD; when the remote refuses it, it pulls
// with rebase and pushes again, up to maxAttempts pushes. A commit never
// pushed is left behind (the next one starts from the remote).
func (p *person) push(ctx context.Context) error {
	var lastErr error
	for attempt := 1; attempt <= p.maxAttempts; attempt++ {
		if attempt > 1 {
			p.retries++
			if _, err := p.git(ctx, p.dir, "pull", "--quiet", "--rebase", "origin", p.branch); err != nil {
				lastErr = err
				continue
			}
		}
		if _, err := p.git(ctx, p.dir, "push", "--quiet", "origin", "HEAD:refs/heads/"+p.branch); err != nil {
			lastErr = err
			if ctx.Err() != nil {
				break
			}
			continue
		}
		head, err := p.git(ctx, p.dir, "rev-parse", "HEAD")
		if err != nil {
			return err
		}
		p.pushed = append(p.pushed, strings.TrimSpace(head))
		return nil
	}
	p.gaveUp++
	if _, err := p.git(context.Background(), p.dir, "reset", "--quiet", "--hard", "origin/"+p.branch); err != nil {
		return err
	}
	return lastErr
}

func (p *person) git(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null", "GIT_TERMINAL_PROMPT=0")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("git %s: %w: %s", args[0], err, strings.TrimSpace(stderr.String()))
	}
	return string(out), nil
}
