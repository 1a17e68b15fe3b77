//go:build unix

package gitrepo

import (
	"os/exec"
	"syscall"
)

// killGroup runs cmd in its own process group and makes context
// cancellation kill the whole group: git's helpers (git-remote-https, ssh,
// gpg) die with it instead of outliving latch's deadline.
func killGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = groupAttr()
	cmd.Cancel = func() error {
		if cmd.Process == nil {
			return nil
		}
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}
