// Package decide is the pure middle of a latch pass: from what the pass
// gathered (each object's resolved policy, where git declares each latched
// field and its value there, the live value, the bounds git and the cluster
// give, the stored state machine, whether a person changed the field during
// this round) it decides, per field, what git should declare and why. It
// does no I/O and reads no clock: the pass's time is part of the input.
// internal/controller gathers the input and acts on the decisions; other
// decisions (diff, rollout records) sit beside this one on the same input.
package decide

import (
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/latch-gitops/latch/internal/evidence"
	"github.com/latch-gitops/latch/internal/manifest"
	"github.com/latch-gitops/latch/internal/objectid"
	"github.com/latch-gitops/latch/internal/policy"
	"github.com/latch-gitops/latch/internal/policyfile"
	"github.com/latch-gitops/latch/internal/review"
)

// Input is everything a pass decides from, gathered before deciding.
type Input struct {
	// Now is the pass's time (dwell clocks are measured against it).
	Now     time.Time
	Objects []Object
	// Review is the pass's review setting (nil: review is off and no
	// decision has a Review).
	Review *ReviewInput
}

// Object is one live object as gathered.
type Object struct {
	Ref objectid.Ref
	// Policy is latch.yaml resolved for the object.
	Policy policyfile.Resolved
	// Live maps a field path to the value the cluster runs at; a latched
	// field without a live value is not decided.
	Live map[string]int64
	// ChangedBy is the managedFields manager that set the live value.
	ChangedBy string
	// GitBounds is the HorizontalPodAutoscaler declared in git for the
	// object, LiveBounds the one in the cluster (nil: none).
	GitBounds, LiveBounds *Bounds
	// Fields holds, for each latched field, what git declares.
	Fields map[string]Declared
	// Latched: the branch's history holds a latch commit for the object
	// (gathered only with review on; the first-latch rule reads its absence).
	Latched bool
	// HPAMetrics is what the live HPA reports about load, where readable.
	HPAMetrics *review.HPAMetrics
}

// Bounds are an autoscaler's min and max.
type Bounds struct{ Min, Max int64 }

// Declared is where and what git declares for one field, as gathered.
type Declared struct {
	Loc manifest.Location
	// Problem says why the field cannot be latched (not found, declared
	// twice…); Loc is then empty.
	Problem string
	// Stored is the field's state machine from the last pass (nil: none).
	Stored *policy.State
	// PersonChanged is set when a person changed the field in git during
	// this round (gitrepo.Workspace.Allowed refused it): their value stands.
	PersonChanged bool
}

// Decision is what the pass decided for one field of one object.
type Decision struct {
	Ref   objectid.Ref
	Field string
	// Mode is the field's mode in the resolved policy.
	Mode policy.Mode
	// Observed is the live value.
	Observed int64
	// Declared is the value in git (0 with a Problem).
	Declared int64
	// Target is what git declares after this pass.
	Target int64
	Reason string
	// Min, Max and BoundsFrom are the bounds applied (Max 0: none).
	Min, Max   int64
	BoundsFrom string
	Loc        manifest.Location
	// Problem says why the field could not be latched.
	Problem string
	// Next is the state machine to keep once git holds Target (nil with a
	// Problem).
	Next *policy.State
	// Evidence is set when Target differs from Declared: the edit to make
	// and the record of why.
	Evidence *evidence.Change
	// Review is set when the input has review on.
	Review *Review
}

// Bounds renders the bounds as the evidence does ("HPA 2..500"), or "".
func (d Decision) Bounds() string {
	if d.Max <= 0 {
		return ""
	}
	return fmt.Sprintf("%s %d..%d", d.BoundsFrom, d.Min, d.Max)
}

// PersonWinsReason explains a field left as a person changed it.
const PersonWinsReason = "a person changed this field in git during this round; their value stands until the next pass"

// Decide returns one decision per latched field of every object, in the
// objects' order and each object's fields sorted by path.
func Decide(in Input) []Decision {
	var out []Decision
	var objs []int // objs[i] is the index in in.Objects of out[i]
	for oi, o := range in.Objects {
		paths := o.Policy.Paths()
		sort.Strings(paths)
		for _, field := range paths {
			fp := o.Policy.Field(field)
			observed, live := o.Live[field]
			if fp.Mode != policy.ModeLatch || fp.Latch == nil || !live {
				continue
			}
			out = append(out, decideField(in.Now, o, field, fp, observed))
			objs = append(objs, oi)
		}
	}
	decideReview(in, out, objs)
	return out
}

func decideField(now time.Time, o Object, field string, fp policyfile.FieldPolicy, observed int64) Decision {
	d := Decision{Ref: o.Ref, Field: field, Mode: fp.Mode, Observed: observed}
	decl, ok := o.Fields[field]
	switch {
	case !ok:
		d.Problem = fmt.Sprintf("%s %s: not gathered", o.Ref, field)
		return d
	case decl.Problem != "":
		d.Problem = decl.Problem
		return d
	}
	d.Loc = decl.Loc
	declared, err := strconv.ParseInt(decl.Loc.Value, 10, 64)
	if err != nil {
		d.Problem = fmt.Sprintf("%s: value %q is not an integer", decl.Loc, decl.Loc.Value)
		return d
	}
	d.Declared = declared

	// Bounds: the HPA declared in git is the truth; a live HPA git does
	// not declare (yet) still binds rather than being ignored.
	d.BoundsFrom = "HPA"
	switch {
	case o.GitBounds != nil:
		d.Min, d.Max = o.GitBounds.Min, o.GitBounds.Max
	case o.LiveBounds != nil:
		d.Min, d.Max, d.BoundsFrom = o.LiveBounds.Min, o.LiveBounds.Max, "live HPA"
	}

	state := policy.Resume(declared)
	if s := decl.Stored; s != nil && s.Valid && s.Declared == declared {
		// Otherwise first sight, or git moved under us (a human edit, a
		// lost push): git is the truth to start from.
		state = *s
	}
	next, decision := policy.Step(*fp.Latch, state, now, observed, d.Min, d.Max)
	d.Target, d.Reason, d.Next = decision.Declared, decision.Reason, &next
	if d.Target == declared {
		return d
	}
	if decl.PersonChanged {
		resumed := policy.Resume(declared)
		d.Target, d.Reason, d.Next = declared, PersonWinsReason, &resumed
		return d
	}
	d.Evidence = &evidence.Change{
		Object: o.Ref, Field: field, File: decl.Loc.File,
		From: declared, To: d.Target, Observed: observed,
		Rule: fp.Latch.Ladder.String(), Min: d.Min, Max: d.Max, BoundsFrom: d.BoundsFrom,
		ChangedBy: o.ChangedBy, Reason: d.Reason,
	}
	return d
}
