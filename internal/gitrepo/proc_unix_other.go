//go:build unix && !linux

package gitrepo

import "syscall"

// groupAttr: a group of its own (see killGroup). These systems have no
// parent-death signal; a git outliving a killed latch ends with its pipes.
func groupAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
