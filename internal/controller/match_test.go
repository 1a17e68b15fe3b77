package controller

import (
	"log/slog"
	"testing"

	"github.com/latch-gitops/latch/internal/cluster"
	"github.com/latch-gitops/latch/internal/objectid"
)

// Two kinds of one name in different API groups are different objects: a
// change or a problem of one must never be reported on the other.
func TestWorkloadForMatchesTheAPIGroup(t *testing.T) {
	apps := objectid.Ref{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "shop", Name: "web"}
	other := objectid.Ref{Group: "example.com", Version: "v1", Kind: "Deployment", Namespace: "shop", Name: "web"}
	workloads := []cluster.Workload{{Ref: other, UID: "other"}, {Ref: apps, UID: "apps"}}
	for _, tc := range []struct {
		ref     objectid.Ref
		wantUID string
	}{
		{apps, "apps"},
		{other, "other"},
		// The version does not name another object.
		{objectid.Ref{Group: "apps", Version: "v1beta2", Kind: "Deployment", Namespace: "shop", Name: "web"}, "apps"},
		{objectid.Ref{Group: "apps", Kind: "Deployment", Namespace: "shop", Name: "api"}, ""},
		{objectid.Ref{Kind: "Deployment", Namespace: "shop", Name: "web"}, ""},
	} {
		got := workloadFor(workloads, tc.ref)
		var uid string
		if got != nil {
			uid = string(got.UID)
		}
		if uid != tc.wantUID {
			t.Errorf("workloadFor(%s) = %q, want %q", tc.ref, uid, tc.wantUID)
		}
	}
}

func TestReportProblemsKeepsKindsOfOneNameApart(t *testing.T) {
	apps := objectid.Ref{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "shop", Name: "web"}
	other := objectid.Ref{Group: "example.com", Version: "v1", Kind: "Deployment", Namespace: "shop", Name: "web"}
	b := &batchLoop{log: slog.New(slog.DiscardHandler), problems: map[objectid.Key]string{}}
	b.reportProblems(nil, []WorkloadStatus{{Ref: apps, Error: "declared twice"}, {Ref: other, Error: "not found in git"}})
	if got := b.problems[apps.Key()]; got != "declared twice" {
		t.Errorf("problem of apps Deployment = %q", got)
	}
	if got := b.problems[other.Key()]; got != "not found in git" {
		t.Errorf("problem of example.com Deployment = %q", got)
	}
	// The apps one is solved: only its problem is forgotten.
	b.reportProblems(nil, []WorkloadStatus{{Ref: apps}, {Ref: other, Error: "not found in git"}})
	if _, ok := b.problems[apps.Key()]; ok || len(b.problems) != 1 {
		t.Errorf("problems after the apps one was solved: %v", b.problems)
	}
}
