package review

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// The marker is an HTML comment at the end of a PR body: invisible when the
// forge renders the body, and the only part of it latch reads back.
const (
	markerOpen  = "<!-- latch-review "
	markerClose = " -->"
	// MarkerVersion is written in every marker; Parse refuses others.
	MarkerVersion = 1
	// maxMarker bounds what Parse decodes (a body can be megabytes).
	maxMarker = 4096
)

// Band is the range of declared values one proposal stands for. A person
// closing a PR unmerged rejects its band: latch proposes nothing in it until
// the value leaves it. {To, To} when the policy gives no wider band.
type Band struct {
	Lo int64 `json:"lo"`
	Hi int64 `json:"hi"`
}

// Contains reports whether v is in the band.
func (b Band) Contains(v int64) bool { return b.Lo <= v && v <= b.Hi }

// Marker is the machine-readable state of one latch PR, kept in its body so
// that latch needs no local state to resume after a restart.
type Marker struct {
	V       int    `json:"v"`
	Cluster string `json:"cluster"`
	Object  Object `json:"object"`
	Field   string `json:"field"`
	// From is the value git declared when latch proposed To.
	From int64 `json:"from"`
	To   int64 `json:"to"`
	Band Band  `json:"band"`
	// Commit is latch's newest commit on the PR branch.
	Commit string `json:"commit"`
	// ClosedByLatch is set when latch itself closed the PR (the value came
	// back), so the close is not read as a person's rejection.
	ClosedByLatch bool `json:"closedByLatch,omitempty"`
	// Released is set on a PR a person closed unmerged once the value has
	// left its band: the rejection no longer holds.
	Released bool `json:"released,omitempty"`
	// Key, on a rollout PR (Field RecordField or RevertField), names what
	// the branch proposes (RecordKey, RevertKey), so a pass that wants the
	// same finds it there; value PRs leave it empty.
	Key string `json:"key,omitempty"`
}

// String is the marker as it ends a PR body: one line, an HTML comment.
// encoding/json escapes '<' and '>', so no value can end the comment early.
func (m Marker) String() string {
	m.V = MarkerVersion
	data, err := json.Marshal(m)
	if err != nil {
		// Only strings and integers: cannot fail.
		panic(err)
	}
	return markerOpen + string(data) + markerClose
}

// WithMarker replaces body's marker with m (or appends it).
func WithMarker(body string, m Marker) string {
	if i := strings.LastIndex(body, markerOpen); i >= 0 {
		body = strings.TrimRight(body[:i], "\n")
	}
	if body == "" {
		return m.String()
	}
	return body + "\n\n" + m.String()
}

// ErrNoMarker means the body holds no latch marker.
var ErrNoMarker = errors.New("no latch-review marker in the pull request body")

// ParseMarker reads the last marker in body. It refuses a marker of another
// version, with unknown fields, or missing the workload, field or target,
// so a hand-edited body is not mistaken for latch's state.
func ParseMarker(body string) (Marker, error) {
	i := strings.LastIndex(body, markerOpen)
	if i < 0 {
		return Marker{}, ErrNoMarker
	}
	rest := body[i+len(markerOpen):]
	j := strings.Index(rest, markerClose)
	if j < 0 {
		return Marker{}, errors.New("latch-review marker: not closed")
	}
	if j > maxMarker {
		return Marker{}, fmt.Errorf("latch-review marker: %d bytes, more than %d", j, maxMarker)
	}
	dec := json.NewDecoder(bytes.NewReader([]byte(rest[:j])))
	dec.DisallowUnknownFields()
	var m Marker
	if err := dec.Decode(&m); err != nil {
		return Marker{}, fmt.Errorf("latch-review marker: %w", err)
	}
	if dec.More() {
		return Marker{}, errors.New("latch-review marker: text after the JSON object")
	}
	switch {
	case m.V != MarkerVersion:
		return Marker{}, fmt.Errorf("latch-review marker: version %d, want %d", m.V, MarkerVersion)
	case m.Object.Kind == "" || m.Object.Name == "":
		return Marker{}, errors.New("latch-review marker: object.kind and object.name must be set")
	case m.Field == "":
		return Marker{}, errors.New("latch-review marker: field must be set")
	case m.Band.Lo > m.Band.Hi:
		return Marker{}, fmt.Errorf("latch-review marker: band %d..%d is empty", m.Band.Lo, m.Band.Hi)
	case !validCommit(m.Commit):
		return Marker{}, fmt.Errorf("latch-review marker: commit %q is not a commit id", m.Commit)
	}
	return m, nil
}

func validCommit(s string) bool {
	if len(s) < 7 || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f') {
			return false
		}
	}
	return true
}
