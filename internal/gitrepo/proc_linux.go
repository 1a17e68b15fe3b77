//go:build linux

package gitrepo

import "syscall"

// groupAttr: a group of its own (see killGroup), and SIGKILL when latch
// dies. The own group keeps git out of a kill aimed at latch's group, so
// without Pdeathsig a latch killed with SIGKILL (OOM, kubectl delete
// --force on a VM, a crash test) left its git push or fetch running on,
// holding the work dir's locks while the next latch started on it.
// Pdeathsig follows the thread that started git; the Go runtime keeps its
// threads unless a goroutine exits locked to one, which latch never does.
func groupAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
