package rolloutrecord

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/latch-gitops/latch/internal/objectid"
	"github.com/latch-gitops/latch/internal/rollout"
	"github.com/latch-gitops/latch/internal/safefile"
)

var update = flag.Bool("update", false, "rewrite the golden files")

var web = objectid.Ref{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "shop", Name: "web"}

func sample() Record {
	return Record{
		Object: web,
		Current: Version{Revision: "6d5f8c7b9", Commit: "1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d",
			Images: map[string]string{"web": "example.com/web:2", "sidecar": "example.com/proxy@sha256:0f1e"}},
		LastGood:  Version{Revision: "5c4b3a291", Commit: "0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d", Images: map[string]string{"web": "example.com/web:1"}},
		Milestone: 75, Percent: 90, Health: rollout.Healthy,
		Reason:  "9 of 10 desired replicas available on the new version, none failing; paused",
		Updated: time.Date(2026, 12, 1, 12, 30, 0, 0, time.UTC),
	}
}

func TestBuildGolden(t *testing.T) {
	data, err := Build(sample())
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "deployment-web.md")
	if *update {
		if err := os.WriteFile(golden, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to write it)", err)
	}
	if string(data) != string(want) {
		t.Fatalf("Build differs from %s:\n%s", golden, data)
	}
}

func TestRoundTrip(t *testing.T) {
	for _, r := range []Record{
		sample(),
		func() Record {
			r := sample()
			r.Health, r.Reason, r.Milestone, r.Percent = rollout.Failed, "pod web-x: ImagePullBackOff: \"quoted\" # not a comment", 0, 10
			return r
		}(),
		func() Record { r := sample(); r.Complete, r.Milestone, r.Percent = true, 100, 100; return r }(),
		func() Record { r := sample(); r.Held, r.LastGood = true, Version{}; return r }(),
		func() Record {
			r := sample()
			r.Object = objectid.Ref{Group: "argoproj.io", Version: "v1alpha1", Kind: "Rollout", Namespace: "shop", Name: "web.v2"}
			r.Current.Images = nil
			return r
		}(),
	} {
		data, err := Build(r)
		if err != nil {
			t.Fatal(err)
		}
		file, _ := Path(r.Object)
		got, err := Parse(file, data)
		if err != nil {
			t.Fatalf("Parse(Build(%+v)): %v\n%s", r, err, data)
		}
		if len(r.Current.Images) == 0 {
			r.Current.Images = nil
		}
		if len(r.LastGood.Images) == 0 {
			r.LastGood.Images = nil
		}
		if !reflect.DeepEqual(*got, r) {
			t.Fatalf("round trip:\n got %+v\nwant %+v", *got, r)
		}
	}
}

func TestPath(t *testing.T) {
	tests := []struct {
		ref     objectid.Ref
		want    string
		wantErr string
	}{
		{ref: web, want: ".latch/rollouts/shop/deployment-web.md"},
		{ref: objectid.Ref{Group: "apps", Version: "v1", Kind: "StatefulSet", Namespace: "db", Name: "pg"}, want: ".latch/rollouts/db/statefulset-pg.md"},
		{ref: objectid.Ref{Group: "argoproj.io", Version: "v1alpha1", Kind: "Rollout", Namespace: "shop", Name: "web"}, want: ".latch/rollouts/shop/rollout.argoproj.io-web.md"},
		{ref: objectid.Ref{Group: "apps", Kind: "Deployment", Namespace: "..", Name: "web"}, wantErr: "namespace"},
		{ref: objectid.Ref{Group: "apps", Kind: "Deployment", Namespace: "shop", Name: "../../etc"}, wantErr: "name"},
		{ref: objectid.Ref{Group: "apps", Kind: "Deploy/ment", Namespace: "shop", Name: "web"}, wantErr: "kind"},
		{ref: objectid.Ref{Group: "x/..", Kind: "Rollout", Namespace: "shop", Name: "web"}, wantErr: "group"},
	}
	for _, tc := range tests {
		got, err := Path(tc.ref)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("Path(%v) = %q, %v; want an error about %s", tc.ref, got, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("Path(%v) = %q, %v; want %q", tc.ref, got, err, tc.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	good, err := Build(sample())
	if err != nil {
		t.Fatal(err)
	}
	const file = ".latch/rollouts/shop/deployment-web.md"
	swap := func(old, new string) string {
		if !strings.Contains(string(good), old) {
			t.Fatalf("sample has no %q", old)
		}
		return strings.Replace(string(good), old, new, 1)
	}
	tests := []struct {
		name, data, file, field, part string
	}{
		{name: "no front matter", data: "# notes\n", part: `does not start with a "---"`},
		{name: "unclosed", data: "---\nrecord: x\n", part: `no "---" line closes`},
		{name: "bad YAML", data: "---\nrecord: [\n---\n", part: "front matter"},
		{name: "unknown field", data: swap("held: false", "held: false\nheld2: true"), field: "held2", part: "not a field"},
		{name: "other format", data: swap(Format, "latch.dev/rollout/v9"), field: "record"},
		{name: "bad object", data: swap("apps/v1/Deployment/shop/web", "Deployment/web"), field: "object"},
		{name: "wrong file", data: string(good), file: ".latch/rollouts/shop/deployment-api.md", field: "object", part: "belongs at .latch/rollouts/shop/deployment-web.md"},
		{name: "health", data: swap("health: healthy", "health: fine"), field: "health"},
		{name: "milestone", data: swap("milestone: 75", "milestone: 175"), field: "milestone"},
		{name: "milestone type", data: swap("milestone: 75", "milestone: lots"), field: "milestone", part: "cannot unmarshal !!str `lots` into int"},
		{name: "twice", data: swap("held: false", "held: false\nheld: true"), field: "held", part: "twice"},
		{name: "percent", data: swap("percent: 90", "percent: -1"), field: "percent"},
		{name: "no revision", data: swap("revision: 6d5f8c7b9", "revision: \"\""), field: "revision"},
		{name: "commit", data: swap("commit: 1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d", "commit: HEAD~1"), field: "commit"},
		{name: "image", data: swap("web: example.com/web:2", "web: \"\""), field: "images.web"},
		{name: "updated", data: swap("updated: \"2026-12-01T12:30:00Z\"", "updated: yesterday"), field: "updated"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := file
			if tc.file != "" {
				f = tc.file
			}
			rec, err := Parse(f, []byte(tc.data))
			if err == nil {
				t.Fatalf("Parse accepted it: %+v", rec)
			}
			var re *Error
			if !errors.As(err, &re) || re.File != f || re.Field != tc.field {
				t.Fatalf("error %q (%#v), want file %s field %q", err, re, f, tc.field)
			}
			if !strings.Contains(err.Error(), tc.part) {
				t.Fatalf("error %q, want it to contain %q", err, tc.part)
			}
		})
	}
}

func TestWriteAndLoad(t *testing.T) {
	dir := t.TempDir()
	r := sample()
	rel, err := Write(dir, r)
	if err != nil {
		t.Fatal(err)
	}
	api := sample()
	api.Object.Name = "api"
	if _, err := Write(dir, api); err != nil {
		t.Fatal(err)
	}
	// A broken record and a note beside them: the broken one is reported
	// by file, the note is not a record.
	os.WriteFile(filepath.Join(dir, ".latch/rollouts/shop/deployment-bad.md"), []byte("---\nrecord: nope\n---\n"), 0o644)
	os.WriteFile(filepath.Join(dir, ".latch/rollouts/README.txt"), []byte("notes"), 0o644)
	set, errs, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "deployment-bad.md: field record") {
		t.Fatalf("errors %v, want one naming deployment-bad.md's record field", errs)
	}
	if got := set.Get(web); got == nil || got.Current.Revision != r.Current.Revision || set.Files[web.Key()] != rel {
		t.Fatalf("Get(web) = %+v in %s", got, set.Files[web.Key()])
	}
	if n := len(set.Sorted()); n != 2 {
		t.Fatalf("%d records, want 2", n)
	}
	// Rewriting replaces the file whole.
	r.Milestone, r.Percent = 100, 100
	r.Complete = true
	if _, err := Write(dir, r); err != nil {
		t.Fatal(err)
	}
	set, _, _ = Load(dir)
	if !set.Get(web).Complete {
		t.Fatal("rewritten record not complete")
	}
}

func TestLoadMissingFolderIsEmpty(t *testing.T) {
	set, errs, err := Load(t.TempDir())
	if err != nil || len(errs) != 0 || len(set.Records) != 0 {
		t.Fatalf("Load(empty) = %v, %v, %v", set, errs, err)
	}
}

func TestGuards(t *testing.T) {
	outside := t.TempDir()
	os.WriteFile(filepath.Join(outside, "deployment-web.md"), mustBuild(t, sample()), 0o644)

	t.Run("a symlinked record folder is refused", func(t *testing.T) {
		dir := t.TempDir()
		os.MkdirAll(filepath.Join(dir, ".latch"), 0o755)
		os.Symlink(outside, filepath.Join(dir, ".latch/rollouts"))
		if _, _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "symlink") {
			t.Fatalf("Load = %v, want a refusal naming the symlink", err)
		}
		if _, err := Write(dir, sample()); err == nil {
			t.Fatal("Write went through a symlinked folder")
		}
	})
	t.Run("a record symlinked outside is refused, by file", func(t *testing.T) {
		dir := t.TempDir()
		os.MkdirAll(filepath.Join(dir, ".latch/rollouts/shop"), 0o755)
		os.Symlink(filepath.Join(outside, "deployment-web.md"), filepath.Join(dir, ".latch/rollouts/shop/deployment-web.md"))
		set, errs, err := Load(dir)
		if err != nil || len(set.Records) != 0 || len(errs) != 1 || !errors.Is(errs[0], safefile.ErrOutside) {
			t.Fatalf("Load = %v, %v, %v; want one outside refusal", set, errs, err)
		}
	})
	t.Run("an oversized record is refused before reading", func(t *testing.T) {
		dir := t.TempDir()
		os.MkdirAll(filepath.Join(dir, ".latch/rollouts/shop"), 0o755)
		big := append(mustBuild(t, sample()), []byte(strings.Repeat("x", int(MaxBytes)))...)
		os.WriteFile(filepath.Join(dir, ".latch/rollouts/shop/deployment-web.md"), big, 0o644)
		_, errs, _ := Load(dir)
		if len(errs) != 1 || !errors.Is(errs[0], safefile.ErrTooLarge) {
			t.Fatalf("errors %v, want one size refusal", errs)
		}
	})
}

func mustBuild(t *testing.T, r Record) []byte {
	t.Helper()
	data, err := Build(r)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestStateCarriesTheRecordStep(t *testing.T) {
	rec := sample()
	s := rec.State()
	want := rollout.State{Revision: "6d5f8c7b9", Milestone: 75, Health: rollout.Healthy, Reason: sample().Reason,
		DeclaredBy: sample().Current.Commit, LastGood: sample().LastGood.Commit}
	if s != want {
		t.Fatalf("State = %+v, want %+v", s, want)
	}
}

func TestImageList(t *testing.T) {
	cases := []struct {
		name   string
		images map[string]string
		want   string
	}{
		{name: "none", images: nil, want: ""},
		{name: "one", images: map[string]string{"web": "example.com/web:1"}, want: "web=example.com/web:1"},
		{name: "sorted by container", images: map[string]string{"web": "w:2", "api": "a@sha256:ab"}, want: "api=a@sha256:ab, web=w:2"},
		{name: "kept on one line", images: map[string]string{"web": "w:1\n  | evil"}, want: "web=w:1 | evil"},
	}
	for _, tc := range cases {
		if got := ImageList(tc.images); got != tc.want {
			t.Errorf("%s: ImageList = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestSetWith(t *testing.T) {
	api := objectid.Ref{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "shop", Name: "api"}
	onMain, inPR, other := sample(), sample(), sample()
	inPR.Milestone = 75
	other.Object = api
	base := &Set{Records: map[objectid.Key]*Record{web.Key(): &onMain}, Files: map[objectid.Key]string{web.Key(): "moved/by/hand.md"}}
	bad := sample()
	bad.Object.Name = "Not_A_Name"

	got := base.With(map[objectid.Key]*Record{web.Key(): &inPR, api.Key(): &other, bad.Object.Key(): &bad})
	webFile, _ := Path(web)
	apiFile, _ := Path(api)
	if got.Get(web) != &inPR || got.Files[web.Key()] != webFile {
		t.Errorf("web: %+v in %q, want the PR's record in %s", got.Get(web), got.Files[web.Key()], webFile)
	}
	if got.Get(api) != &other || got.Files[api.Key()] != apiFile {
		t.Errorf("api: %+v in %q, want the PR's record in %s", got.Get(api), got.Files[api.Key()], apiFile)
	}
	if got.Get(bad.Object) != nil || len(got.Records) != 2 {
		t.Errorf("a record without a valid file was kept: %d records", len(got.Records))
	}
	if base.Get(web) != &onMain || base.Files[web.Key()] != "moved/by/hand.md" || len(base.Records) != 1 {
		t.Error("With changed the set it was called on")
	}
	if empty := (*Set)(nil).With(nil); empty == nil || len(empty.Records) != 0 {
		t.Errorf("nil.With(nil) = %+v, want an empty set", empty)
	}
}
