package main

import (
	"testing"

	"github.com/latch-gitops/latch/internal/controller"
	"github.com/latch-gitops/latch/internal/rollout"
)

func TestRolloutCell(t *testing.T) {
	tests := []struct {
		name string
		in   *controller.RolloutStatus
		want string
	}{
		{"none", nil, "-"},
		{"in flight with its record", &controller.RolloutStatus{InFlight: true, Revision: "7d9f8c6b5a42", Percent: 80, Health: rollout.Healthy,
			Recorded: &controller.RecordedRollout{Revision: "7d9f8c6b5a42", Milestone: 75, Health: rollout.Healthy}},
			"7d9f8c6b5a 80% healthy; git: 75% healthy"},
		{"in flight, no record yet", &controller.RolloutStatus{InFlight: true, Revision: "n3w", Percent: 0, Health: rollout.Progressing},
			"n3w 0% progressing; git: no record"},
		{"held after a failed rollout", &controller.RolloutStatus{Revision: "old1", Percent: 100, Health: rollout.Healthy,
			Recorded: &controller.RecordedRollout{Revision: "bad1", Milestone: 0, Health: rollout.Failed, Held: true}},
			"not in flight; git: bad1 0% failed, held at last good"},
		{"record waiting in latch's rollout PR", &controller.RolloutStatus{InFlight: true, Revision: "7d9f8c6b5a42", Percent: 80, Health: rollout.Healthy,
			Recorded: &controller.RecordedRollout{Revision: "7d9f8c6b5a42", Milestone: 75, Health: rollout.Healthy, InPR: true}},
			"7d9f8c6b5a 80% healthy; git: 75% healthy (in latch's PR, not merged)"},
	}
	for _, tc := range tests {
		if got := rolloutCell(tc.in); got != tc.want {
			t.Errorf("%s: rolloutCell = %q, want %q", tc.name, got, tc.want)
		}
	}
}
