// Package state keeps each latched field's state machine (internal/policy's
// State) between passes: in memory for `latch run`, in one JSON file for
// `latch sync --once` run from cron. Losing it is safe: git is the truth a
// field resumes from.
package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"sync"

	"github.com/latch-gitops/latch/internal/policy"
	"github.com/latch-gitops/latch/internal/safefile"
)

// Store keeps each workload's latch state machine between passes, so a
// pending move down keeps its dwell clock. Losing it is safe: a workload
// without state resumes from the value declared in git, and only a pending
// dwell restarts.
type Store interface {
	Load(key string) (policy.State, bool)
	// Save replaces the states of the given keys.
	Save(states map[string]policy.State) error
}

// Memory is a Store for one process (latch run).
type Memory struct {
	mu     sync.Mutex
	states map[string]policy.State
}

// NewMemory returns an empty in-memory store.
func NewMemory() *Memory { return &Memory{states: map[string]policy.State{}} }

func (m *Memory) Load(key string) (policy.State, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.states[key]
	return s, ok
}

func (m *Memory) Save(states map[string]policy.State) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k, s := range states {
		m.states[k] = s
	}
	return nil
}

// File is a Store in one JSON file, for `latch sync --once` run
// from cron: each run loads the file and writes it back atomically.
type File struct {
	path string
	mem  *Memory
}

// stateFileVersion guards the file format.
const stateFileVersion = 1

type stateFile struct {
	Version int                     `json:"version"`
	States  map[string]policy.State `json:"states"`
}

// OpenFile loads path (a missing file is an empty store).
func OpenFile(path string) (*File, error) {
	f := &File{path: path, mem: NewMemory()}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return f, nil
	}
	if err != nil {
		return nil, fmt.Errorf("state file %s: %w", path, err)
	}
	var decoded stateFile
	if err := json.Unmarshal(data, &decoded); err != nil {
		return nil, fmt.Errorf("state file %s: not latch state (%v); delete it to start over from git", path, err)
	}
	if decoded.Version != stateFileVersion {
		return nil, fmt.Errorf("state file %s: version %d, this latch reads version %d; delete it to start over from git", path, decoded.Version, stateFileVersion)
	}
	for k, s := range decoded.States {
		f.mem.states[k] = s
	}
	return f, nil
}

func (f *File) Load(key string) (policy.State, bool) { return f.mem.Load(key) }

// Save merges states and rewrites the file atomically.
func (f *File) Save(states map[string]policy.State) error {
	if err := f.mem.Save(states); err != nil {
		return err
	}
	f.mem.mu.Lock()
	keys := make([]string, 0, len(f.mem.states))
	for k := range f.mem.states {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := stateFile{Version: stateFileVersion, States: make(map[string]policy.State, len(keys))}
	for _, k := range keys {
		out.States[k] = f.mem.states[k]
	}
	f.mem.mu.Unlock()
	data, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return fmt.Errorf("state file %s: %w", f.path, err)
	}
	if err := os.MkdirAll(filepath.Dir(f.path), 0o755); err != nil {
		return fmt.Errorf("state file %s: %w", f.path, err)
	}
	if err := safefile.WriteFile(f.path, append(data, '\n'), 0o600); err != nil {
		return fmt.Errorf("state file %s: %w", f.path, err)
	}
	return nil
}
