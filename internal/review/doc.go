// Package review decides, without any I/O, whether a latch goes to git
// directly or through a pull request, and what to do with the pull request
// latch already has for a workload: the review mode (never, always,
// suspicious), the suspicious rules and their thresholds, the deterministic
// branch name, the hidden machine-readable marker in a PR body, the PR
// lifecycle (open, update in place, add a commit on top of a person's,
// close, respect a merge or a rejection) and the title and body a reviewer
// reads. The forge adapters (internal/forge) and git (internal/gitrepo) act
// on these decisions; nothing here reads a clock, a file or a network.
package review
