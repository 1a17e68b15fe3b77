package testenv

import (
	"fmt"
	"os"
	"sync"
)

// Session runs fixtures outside `go test` (the demo). Fatal and Skip panic
// with a *SessionError, which Run recovers; Close runs the cleanups in
// reverse order, as testing does, stopping every process started.
type Session struct {
	mu       sync.Mutex
	cleanups []func()
	tempDirs []string
	failed   bool
	// Log receives Logf output (nil: discarded).
	Log func(format string, args ...any)
}

// SessionError is why a session stopped.
type SessionError struct{ Msg string }

func (e *SessionError) Error() string { return e.Msg }

func (s *Session) Helper() {}

func (s *Session) Cleanup(f func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cleanups = append(s.cleanups, f)
}

func (s *Session) TempDir() string {
	dir, err := os.MkdirTemp("", "latch-demo-")
	if err != nil {
		s.Fatalf("temp dir: %v", err)
	}
	s.mu.Lock()
	s.tempDirs = append(s.tempDirs, dir)
	s.mu.Unlock()
	return dir
}

func (s *Session) Logf(format string, args ...any) {
	if s.Log != nil {
		s.Log(format, args...)
	}
}

func (s *Session) Errorf(format string, args ...any) {
	s.mu.Lock()
	s.failed = true
	s.mu.Unlock()
	s.Logf(format, args...)
}

func (s *Session) Fatal(args ...any) { s.stop(fmt.Sprint(args...)) }

func (s *Session) Fatalf(format string, args ...any) { s.stop(fmt.Sprintf(format, args...)) }

func (s *Session) Skip(args ...any) { s.stop(fmt.Sprint(args...)) }

func (s *Session) Skipf(format string, args ...any) { s.stop(fmt.Sprintf(format, args...)) }

func (s *Session) Failed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.failed
}

func (s *Session) stop(msg string) {
	s.mu.Lock()
	s.failed = true
	s.mu.Unlock()
	panic(&SessionError{Msg: msg})
}

// Run calls body, turning a fixture's Fatal or Skip into an error, and
// always runs the cleanups before returning.
func (s *Session) Run(body func() error) (err error) {
	defer s.Close()
	defer func() {
		if r := recover(); r != nil {
			serr, ok := r.(*SessionError)
			if !ok {
				panic(r)
			}
			err = serr
		}
	}()
	return body()
}

// Close runs every cleanup, newest first, and removes the temp dirs.
func (s *Session) Close() {
	s.mu.Lock()
	cleanups, dirs := s.cleanups, s.tempDirs
	s.cleanups, s.tempDirs = nil, nil
	s.mu.Unlock()
	for i := len(cleanups) - 1; i >= 0; i-- {
		cleanups[i]()
	}
	for _, dir := range dirs {
		_ = os.RemoveAll(dir)
	}
}
