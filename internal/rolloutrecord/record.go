package rolloutrecord

import (
	"bytes"
	"errors"
	"fmt"
	"path"
	"regexp"
	"sort"
	"strings"
	"time"

	yaml "go.yaml.in/yaml/v3"

	"github.com/latch-gitops/latch/internal/objectid"
	"github.com/latch-gitops/latch/internal/rollout"
)

// Format names the record format in the front matter's "record" field.
const Format = "latch.dev/rollout/v1"

// Dir is the folder of rollout records, relative to the repository root.
const Dir = ".latch/rollouts"

// Ext is the records' extension: one that kubectl, Flux and Argo CD skip.
const Ext = ".md"

// MaxBytes caps a record read from the repository; latch writes well under 4 KiB.
const MaxBytes int64 = 64 << 10

// Version is one version of a workload's pod template.
type Version struct {
	// Revision is the pod-template-hash of its ReplicaSet (a StatefulSet's
	// revision name).
	Revision string
	// Commit is the git commit that declared it ("" when unknown).
	Commit string
	// Images maps container name to image, as the template has them
	// (digests where the template pins them).
	Images map[string]string
}

// Record is one workload's latest rollout as latch keeps it in git.
type Record struct {
	Object objectid.Ref
	// Current is the version being (or last) rolled out; LastGood the newest
	// version known to have run healthy before it.
	Current, LastGood Version
	// Milestone is the highest milestone reached (0..100); Percent the exact
	// share of desired replicas updated and available when last written.
	Milestone, Percent int
	Health             rollout.Health
	Reason             string
	// Complete: Current reached 100 % healthy. Held: latch restore went
	// back to LastGood and wrote the revert to git.
	Complete, Held bool
	// Updated is when the record was written (given by the caller).
	Updated time.Time
}

// State is the record as the rollout package's record step sees it.
func (r *Record) State() rollout.State {
	return rollout.State{
		Revision: r.Current.Revision, Milestone: r.Milestone, Health: r.Health, Reason: r.Reason,
		Complete: r.Complete, Held: r.Held, DeclaredBy: r.Current.Commit, LastGood: r.LastGood.Commit,
	}
}

// Error is a record that cannot be read: the file, the field ("" for the
// file as a whole) and what is wrong.
type Error struct {
	File, Field, Problem string
}

func (e *Error) Error() string {
	if e.Field == "" {
		return e.File + ": " + e.Problem
	}
	return e.File + ": field " + e.Field + ": " + e.Problem
}

var (
	dnsName = regexp.MustCompile(`^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$`)
	kindRe  = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]*$`)
)

// Path is where the record of ref lives, relative to the repository root:
// .latch/rollouts/<namespace>/<kind>-<name>.md, the kind lower-cased and,
// outside the core and apps groups, followed by its group
// (rollout.argoproj.io-web.md). A cluster-scoped workload uses "_cluster".
// It refuses a ref whose parts could leave the folder.
func Path(ref objectid.Ref) (string, error) {
	ns := ref.Namespace
	if ns == "" {
		ns = "_cluster"
	} else if !dnsName.MatchString(ns) || len(ns) > 253 {
		return "", fmt.Errorf("rollout record of %s: namespace %q is not a valid namespace name", ref, ns)
	}
	if !dnsName.MatchString(ref.Name) || len(ref.Name) > 253 {
		return "", fmt.Errorf("rollout record of %s: name %q is not a valid object name", ref, ref.Name)
	}
	if !kindRe.MatchString(ref.Kind) {
		return "", fmt.Errorf("rollout record of %s: kind %q is not a valid kind", ref, ref.Kind)
	}
	kind := strings.ToLower(ref.Kind)
	if ref.Group != "" && ref.Group != "apps" {
		if !dnsName.MatchString(ref.Group) {
			return "", fmt.Errorf("rollout record of %s: group %q is not a valid API group", ref, ref.Group)
		}
		kind += "." + ref.Group
	}
	return path.Join(Dir, ns, kind+"-"+ref.Name+Ext), nil
}

// frontMatter is the YAML between the "---" lines, field for field.
type frontMatter struct {
	Record    string      `yaml:"record"`
	Object    string      `yaml:"object"`
	Revision  string      `yaml:"revision"`
	Commit    string      `yaml:"commit,omitempty"`
	Images    yamlImages  `yaml:"images,omitempty"`
	Milestone int         `yaml:"milestone"`
	Percent   int         `yaml:"percent"`
	Health    string      `yaml:"health"`
	Reason    string      `yaml:"reason,omitempty"`
	Complete  bool        `yaml:"complete"`
	Held      bool        `yaml:"held"`
	LastGood  lastGoodDoc `yaml:"lastGood,omitempty"`
	Updated   string      `yaml:"updated"`
}

type lastGoodDoc struct {
	Revision string     `yaml:"revision,omitempty"`
	Commit   string     `yaml:"commit,omitempty"`
	Images   yamlImages `yaml:"images,omitempty"`
}

type yamlImages map[string]string

const header = "# Written by latch at rollout milestones; latch restore reads it (docs/rollouts.md).\n"

// Build renders r as a record file: front matter, then the body.
func Build(r Record) ([]byte, error) {
	if _, err := Path(r.Object); err != nil {
		return nil, err
	}
	if err := check(r, "record of "+r.Object.String()); err != nil {
		return nil, err
	}
	fm := frontMatter{
		Record: Format, Object: r.Object.String(),
		Revision: r.Current.Revision, Commit: r.Current.Commit, Images: r.Current.Images,
		Milestone: r.Milestone, Percent: r.Percent, Health: string(r.Health), Reason: oneLine(r.Reason),
		Complete: r.Complete, Held: r.Held,
		LastGood: lastGoodDoc{Revision: r.LastGood.Revision, Commit: r.LastGood.Commit, Images: r.LastGood.Images},
		Updated:  r.Updated.UTC().Format(time.RFC3339),
	}
	var b bytes.Buffer
	b.WriteString("---\n" + header)
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(fm); err != nil {
		return nil, fmt.Errorf("rollout record of %s: %w", r.Object, err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("rollout record of %s: %w", r.Object, err)
	}
	b.WriteString("---\n")
	b.WriteString(body(r))
	return b.Bytes(), nil
}

// body is the part people read; Parse ignores it.
func body(r Record) string {
	var b strings.Builder
	fmt.Fprintf(&b, "\n# Rollout of %s %s\n\n", r.Object.Kind, r.Object.NamespacedName())
	state := fmt.Sprintf("%d %% of the desired replicas updated and available (milestone %d %%), %s", r.Percent, r.Milestone, r.Health)
	switch {
	case r.Held:
		state += "; held: latch restore went back to the last good version and wrote the revert to git"
	case r.Complete:
		state += "; complete"
	}
	fmt.Fprintf(&b, "%s.\n", state)
	if r.Reason != "" {
		fmt.Fprintf(&b, "\n> %s\n", oneLine(r.Reason))
	}
	fmt.Fprintf(&b, "\n- new version: %s\n", describe(r.Current))
	fmt.Fprintf(&b, "- last good:   %s\n", describe(r.LastGood))
	b.WriteString("\nOn a rebuilt cluster, `latch restore` brings back the new version when this\n" +
		"record is healthy and at or past its forward threshold (75 % by default),\n" +
		"and the last good version otherwise.\n")
	return b.String()
}

func describe(v Version) string {
	var parts []string
	if v.Revision != "" {
		parts = append(parts, "revision "+v.Revision)
	}
	if v.Commit != "" {
		parts = append(parts, "declared in "+shortCommit(v.Commit))
	}
	if len(v.Images) > 0 {
		parts = append(parts, imageParts(v.Images, "`", ", "))
	}
	if len(parts) == 0 {
		return "unknown"
	}
	return strings.Join(parts, ", ")
}

func shortCommit(c string) string {
	if len(c) > 12 {
		return c[:12]
	}
	return c
}

// ImageList is a container → image map as one line, sorted by container:
// "api=example.com/api:2, web=example.com/web:1" (for reasons, PR bodies
// and logs; each image on one line whatever the template held).
func ImageList(images map[string]string) string { return imageParts(images, "", ", ") }

func imageParts(images map[string]string, quote, sep string) string {
	names := make([]string, 0, len(images))
	for c := range images {
		names = append(names, c)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, c := range names {
		parts[i] = quote + c + "=" + oneLine(images[c]) + quote
	}
	return strings.Join(parts, sep)
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

var commitRe = regexp.MustCompile(`^[0-9a-f]{7,64}$`)

// check validates the fields of r; where names the record in errors.
func check(r Record, where string) error {
	bad := func(field, format string, args ...any) error {
		return &Error{File: where, Field: field, Problem: fmt.Sprintf(format, args...)}
	}
	if r.Current.Revision == "" {
		return bad("revision", "empty; the record must name the revision it follows")
	}
	if strings.ContainsAny(r.Current.Revision, " \t\n/") || strings.ContainsAny(r.LastGood.Revision, " \t\n/") {
		return bad("revision", "holds spaces or slashes")
	}
	if r.Milestone < 0 || r.Milestone > 100 {
		return bad("milestone", "%d is outside 0..100", r.Milestone)
	}
	if r.Percent < 0 || r.Percent > 100 {
		return bad("percent", "%d is outside 0..100", r.Percent)
	}
	if !r.Health.Valid() {
		return bad("health", "%q is not one of progressing, healthy, failed", r.Health)
	}
	for _, c := range []struct{ field, v string }{{"commit", r.Current.Commit}, {"lastGood.commit", r.LastGood.Commit}} {
		if c.v != "" && !commitRe.MatchString(c.v) {
			return bad(c.field, "%q is not a commit id (7 to 64 lower-case hex digits)", c.v)
		}
	}
	for _, im := range []struct {
		field  string
		images map[string]string
	}{{"images", r.Current.Images}, {"lastGood.images", r.LastGood.Images}} {
		for c, image := range im.images {
			if c == "" || oneLine(c) != c || strings.ContainsAny(c, " ") {
				return bad(im.field, "container name %q is empty or holds spaces", c)
			}
			if image == "" || strings.ContainsAny(image, " \t\n") {
				return bad(im.field+"."+c, "image %q is empty or holds spaces", image)
			}
		}
	}
	if r.Updated.IsZero() {
		return bad("updated", "missing: the time the record was written")
	}
	return nil
}

// Parse reads a record file; file names it in errors (the slash path in
// the repository). The file must be where Path puts its object.
func Parse(file string, data []byte) (*Record, error) {
	fail := func(field, format string, args ...any) (*Record, error) {
		return nil, &Error{File: file, Field: field, Problem: fmt.Sprintf(format, args...)}
	}
	text := strings.ReplaceAll(string(data), "\r\n", "\n")
	if !strings.HasPrefix(text, "---\n") {
		return fail("", `does not start with a "---" line opening the YAML front matter`)
	}
	rest := text[len("---\n"):]
	end := strings.Index(rest, "\n---\n")
	if end < 0 {
		if strings.HasSuffix(rest, "\n---") {
			end = len(rest) - len("\n---")
		} else {
			return fail("", `no "---" line closes the YAML front matter`)
		}
	}
	fm, field, err := decodeFrontMatter(rest[:end+1])
	if err != nil {
		return fail(field, "%s", err)
	}
	if fm.Record != Format {
		return fail("record", "%q, want %q", fm.Record, Format)
	}
	ref, err := objectid.Parse(fm.Object)
	if err != nil {
		return fail("object", "%v", err)
	}
	updated, err := time.Parse(time.RFC3339, fm.Updated)
	if err != nil {
		return fail("updated", "%q is not an RFC 3339 time", fm.Updated)
	}
	r := &Record{
		Object:  ref,
		Current: Version{Revision: fm.Revision, Commit: fm.Commit, Images: map[string]string(fm.Images)},
		LastGood: Version{Revision: fm.LastGood.Revision, Commit: fm.LastGood.Commit,
			Images: map[string]string(fm.LastGood.Images)},
		Milestone: fm.Milestone, Percent: fm.Percent, Health: rollout.Health(fm.Health), Reason: fm.Reason,
		Complete: fm.Complete, Held: fm.Held, Updated: updated.UTC(),
	}
	if err := check(*r, file); err != nil {
		return nil, err
	}
	want, err := Path(ref)
	if err != nil {
		return fail("object", "%v", err)
	}
	if want != file {
		return fail("object", "names %s, whose record belongs at %s", ref, want)
	}
	return r, nil
}

// decodeFrontMatter decodes the front matter strictly. On an error it
// names the top-level field at fault, decoding field by field to find it.
func decodeFrontMatter(text string) (frontMatter, string, error) {
	var fm frontMatter
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(text), &doc); err != nil {
		return fm, "", fmt.Errorf("front matter: %s", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return fm, "", errors.New("front matter: want a YAML mapping of fields")
	}
	m := doc.Content[0]
	seen := map[string]bool{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		key := m.Content[i].Value
		if seen[key] {
			return fm, key, errors.New("given twice")
		}
		seen[key] = true
		one := &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{m.Content[i], m.Content[i+1]}}
		var b bytes.Buffer
		enc := yaml.NewEncoder(&b)
		if err := enc.Encode(one); err != nil {
			return fm, key, err
		}
		dec := yaml.NewDecoder(&b)
		dec.KnownFields(true)
		if err := dec.Decode(&fm); err != nil {
			msg := strings.TrimPrefix(err.Error(), "yaml: ")
			if strings.Contains(msg, "not found in type") {
				return fm, key, errors.New("not a field of a rollout record")
			}
			return fm, key, fmt.Errorf("wrong type (%s)", lastLine(msg))
		}
	}
	return fm, "", nil
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndex(s, "\n"); i >= 0 {
		s = s[i+1:]
	}
	if i := strings.Index(s, ": "); i >= 0 && strings.HasPrefix(s, "line ") {
		s = s[i+2:]
	}
	return strings.TrimSpace(s)
}
