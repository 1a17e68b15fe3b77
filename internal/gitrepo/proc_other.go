//go:build !unix

package gitrepo

import "os/exec"

// killGroup: without process groups, cancellation kills git itself only.
func killGroup(*exec.Cmd) {}
