// Package gitrepo is latch's side of git: it clones or opens a checkout,
// lets a caller edit files at the remote head, commits the result with
// evidence (the message internal/evidence builds), reads latch commits back
// from the branch's history, signs commits with an SSH or OpenPGP key, and
// pushes beside human committers without ever forcing.
//
// Every operation runs the git CLI (git ≥ 2.34), isolated from the machine's
// and the user's git configuration: GIT_CONFIG_NOSYSTEM=1, GIT_CONFIG_GLOBAL
// pointing to the null device, GIT_TERMINAL_PROMPT=0, every inherited GIT_*
// variable dropped, and latch's own settings passed per command through
// GIT_CONFIG_COUNT/GIT_CONFIG_KEY_n/GIT_CONFIG_VALUE_n. The CLI is used rather
// than go-git because go-git's per-file Add runs a full status per call
// (18 s for 100 files in a 5,000-file repository, against 0.5 s for the CLI),
// and its file:// transport runs the git binary anyway.
//
// Credentials never appear on a command line, in a URL git could print, in a
// commit, or in an error: HTTPS credentials reach git through a credential
// helper that reads them from its environment, SSH keys are copied to a 0600
// file in a private folder, and every error text passes through a redactor
// that removes the password (also base64- and URL-encoded).
//
// The safe-push loop (CommitAndPush) keeps recomputation outside this
// package: on a non-fast-forward rejection it fetches, resets latch's work
// tree to the new remote head and calls the caller's edit function again,
// which re-reads the files a human may have changed. docs/git.md describes
// the rules, including "a human who changed the same field wins the round".
package gitrepo
