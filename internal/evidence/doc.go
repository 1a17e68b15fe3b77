// Package evidence is the one format of latch's evidence record: a Change
// (which field of which object went from what to what, observed how, under
// which bounds and rule, set by whom), the commit message built from
// changes (a template for subject and body, then Latch-* trailers no
// template can alter), and parsing those trailers back. It is pure: the git
// adapter (internal/gitrepo) writes and reads commits, and pull-request
// bodies, rollout records and restore reuse the same record.
package evidence
