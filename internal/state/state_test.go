package state

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/latch-gitops/latch/internal/policy"
)

func TestFileKeepsStatesAcrossRuns(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nested", "state.json")
	f, err := OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := f.Load("a"); ok {
		t.Fatal("a missing file is not an empty store")
	}
	pending := policy.State{Valid: true, Declared: 40, Pending: policy.DirDown, Since: time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC), Extreme: 12}
	if err := f.Save(map[string]policy.State{"a": pending}); err != nil {
		t.Fatal(err)
	}
	if err := f.Save(map[string]policy.State{"b": policy.Resume(3)}); err != nil {
		t.Fatal(err)
	}
	again, err := OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := again.Load("a"); !ok || !got.Since.Equal(pending.Since) || got.Declared != 40 || got.Pending != policy.DirDown || got.Extreme != 12 {
		t.Errorf("a after reopening: %+v, %t", got, ok)
	}
	if got, ok := again.Load("b"); !ok || !reflect.DeepEqual(got, policy.Resume(3)) {
		t.Errorf("b after reopening (saves merge): %+v, %t", got, ok)
	}
}

func TestFileRefusesWhatIsNotItsFormat(t *testing.T) {
	for name, content := range map[string]string{
		"not JSON":      "states: {}\n",
		"other version": `{"version": 99, "states": {}}`,
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "state.json")
			if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := OpenFile(path)
			if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "delete it to start over from git") {
				t.Fatalf("OpenFile = %v, want an error naming the file and the way out", err)
			}
		})
	}
}
