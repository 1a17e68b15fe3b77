package policyfile

import (
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/latch-gitops/latch/internal/policy"
)

// FuzzParse: Parse never panics, and whatever it accepts resolves, prints
// and marshals without panicking into fields with valid modes and, for
// latched fields, parameters the engine accepts.
func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/valid/*.yaml")
	seeds = append(seeds, "../../examples/latch.yaml")
	for _, s := range seeds {
		data, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range []string{
		"", "---\n---\n", header + "\trules: []\n", header + "  rules: [{name: a, fields: {spec: *x}}]\n",
		header + "  defaults: {latch: {rule: {kind: step, step: 0}}}\n",
		header + "  rules:\n    - name: a\n      match: {labels: \"a in (b\", names: [\"[\"]}\n      fields: {s: latch}\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		pol, err := Parse("fuzz.yaml", data)
		if err != nil {
			if pol != nil {
				t.Fatal("policy returned with an error")
			}
			_ = err.Error()
			return
		}
		if err := pol.Summary().WriteText(io.Discard); err != nil {
			t.Fatal(err)
		}
		for _, obj := range sampleObjects {
			r := pol.Resolve(obj)
			for path, fp := range r.Fields {
				valid := false
				for _, m := range policy.Modes {
					valid = valid || fp.Mode == m
				}
				if !valid {
					t.Fatalf("%s: invalid mode %q", path, fp.Mode)
				}
				if (fp.Mode == policy.ModeLatch) != (fp.Latch != nil) {
					t.Fatalf("%s: mode %s with latch params %v", path, fp.Mode, fp.Latch)
				}
				if fp.Latch != nil {
					if err := fp.Latch.Validate(); err != nil {
						t.Fatalf("%s: accepted params the engine rejects: %v", path, err)
					}
				}
			}
			if _, err := json.Marshal(r); err != nil {
				t.Fatal(err)
			}
			if err := r.WriteText(io.Discard); err != nil {
				t.Fatal(err)
			}
		}
	})
}
