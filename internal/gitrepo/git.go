package gitrepo

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// configPair is one git setting passed to a command through the environment
// (GIT_CONFIG_KEY_n/GIT_CONFIG_VALUE_n), never through the user's config
// files and never on the command line.
type configPair struct{ key, value string }

// runner runs the git CLI isolated from the machine's configuration. It is
// immutable once built; Repo rebuilds it when the signer changes.
type runner struct {
	env []string // environment without secrets
	// secretEnv adds the credential helper's variables at exec time; a
	// closure so that printing the runner cannot show them.
	secretEnv func() []string
	redact    redactor
	// observe, when set (tests), sees every argument list before it runs.
	observe func(args []string)
}

// baseEnv is the parent environment minus everything that could change what
// git does behind latch's back: every GIT_* variable (GIT_DIR, GIT_INDEX_FILE,
// GIT_CONFIG_*, GIT_SSH_COMMAND, GIT_TRACE…) and askpass programs.
func baseEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(name, "GIT_"), name == "SSH_ASKPASS", name == "LC_ALL", name == "LANG", name == "LANGUAGE",
			name == envHelperUsername, name == envHelperPassword, name == "GNUPGHOME":
			continue
		}
		env = append(env, kv)
	}
	return append(env,
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_CONFIG_GLOBAL="+os.DevNull,
		"GIT_TERMINAL_PROMPT=0",
		// Messages in English so classify can read them.
		"LC_ALL=C",
		"LANG=C",
		"LANGUAGE=",
	)
}

// baseConfig applies to every command: predictable output, no hooks from a
// user's repository, no background processes outliving the command.
var baseConfig = []configPair{
	{"core.hooksPath", os.DevNull},
	{"core.fsmonitor", "false"},
	{"core.pager", "cat"},
	{"color.ui", "false"},
	{"advice.detachedHead", "false"},
	{"gc.autoDetach", "false"},
	{"maintenance.auto", "false"},
	{"commit.gpgSign", "false"},
	{"tag.gpgSign", "false"},
	{"push.gpgSign", "false"},
	{"fetch.recurseSubmodules", "false"},
	{"submodule.recurse", "false"},
	{"pull.rebase", "false"},
	// A stalled transfer fails after a minute instead of hanging a window.
	{"http.lowSpeedLimit", "1000"},
	{"http.lowSpeedTime", "60"},
}

func newRunner(env []string, secretEnv func() []string, config []configPair, redact redactor) runner {
	env = append([]string(nil), env...)
	env = append(env, "GIT_CONFIG_COUNT="+strconv.Itoa(len(config)))
	for i, c := range config {
		n := strconv.Itoa(i)
		env = append(env, "GIT_CONFIG_KEY_"+n+"="+c.key, "GIT_CONFIG_VALUE_"+n+"="+c.value)
	}
	return runner{env: env, secretEnv: secretEnv, redact: redact}
}

// run runs git with args in dir and returns its stdout. A failure is an
// *Error with git's stderr, redacted and classified.
func (r runner) run(ctx context.Context, dir string, stdin io.Reader, args ...string) (string, error) {
	out, stderr, err := r.exec(ctx, dir, stdin, args...)
	if err != nil {
		return out, r.failure(ctx, args[0], stderr+"\n"+out, err)
	}
	return out, nil
}

// exec runs git and returns stdout, stderr and the exit error, unclassified.
func (r runner) exec(ctx context.Context, dir string, stdin io.Reader, args ...string) (stdout, stderr string, err error) {
	if r.observe != nil {
		r.observe(append([]string(nil), args...))
	}
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	cmd.Env = r.env
	if r.secretEnv != nil {
		cmd.Env = append(append([]string(nil), r.env...), r.secretEnv()...)
	}
	cmd.Stdin = stdin
	var outBuf, errBuf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &outBuf, &errBuf
	killGroup(cmd)
	// git's helpers (git-remote-http, ssh) may hold the pipes after git is
	// killed; do not wait on them for ever.
	cmd.WaitDelay = 5 * time.Second
	err = cmd.Run()
	return outBuf.String(), errBuf.String(), err
}

func (r runner) failure(ctx context.Context, op, output string, err error) error {
	detail := strings.TrimSpace(r.redact.redact(output))
	if ctxErr := ctx.Err(); ctxErr != nil {
		return &Error{Op: op, Kind: KindOther, Detail: detail, Err: ctxErr}
	}
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		err = errors.New(exitErr.String())
	} else {
		err = r.redact.redactErr(err)
	}
	return &Error{Op: op, Kind: classify(op, output), Detail: detail, Err: err}
}
