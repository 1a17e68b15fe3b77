package rolloutrecord

import (
	"reflect"
	"testing"
)

// FuzzParse: Parse never panics, and whatever it accepts builds back into
// a file that parses to the same record.
func FuzzParse(f *testing.F) {
	const file = ".latch/rollouts/shop/deployment-web.md"
	f.Add([]byte{})
	f.Add([]byte("---\n---\n"))
	f.Add([]byte("---\nrecord: latch.dev/rollout/v1\nobject: apps/v1/Deployment/shop/web\n"))
	if data, err := Build(sample()); err == nil {
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := Parse(file, data)
		if err != nil {
			if r != nil {
				t.Fatal("record returned with an error")
			}
			_ = err.Error()
			return
		}
		again, err := Build(*r)
		if err != nil {
			t.Fatalf("Build of a parsed record: %v", err)
		}
		r2, err := Parse(file, again)
		if err != nil {
			t.Fatalf("Parse(Build(Parse(x))): %v\n%s", err, again)
		}
		norm := func(r *Record) {
			if len(r.Current.Images) == 0 {
				r.Current.Images = nil
			}
			if len(r.LastGood.Images) == 0 {
				r.LastGood.Images = nil
			}
			r.Reason = oneLine(r.Reason)
		}
		norm(r)
		norm(r2)
		if !reflect.DeepEqual(r, r2) {
			t.Fatalf("round trip changed the record:\n%+v\n%+v", r, r2)
		}
	})
}
