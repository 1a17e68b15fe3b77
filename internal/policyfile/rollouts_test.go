package policyfile

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseRolloutsErrors(t *testing.T) {
	tests := []struct{ name, yaml, want string }{
		{"milestones not ascending",
			header + "  defaults:\n    rollouts: {milestones: [50, 25]}\n",
			`latch.yaml:5:28: spec.defaults.rollouts.milestones: milestones must be strictly ascending (25 after 50)`},
		{"milestone over 100",
			header + "  defaults:\n    rollouts: {milestones: [25, 150]}\n",
			`latch.yaml:5:33: spec.defaults.rollouts.milestones[1]: want a percentage within 0..100, got 150`},
		{"milestone not a number",
			header + "  defaults:\n    rollouts: {milestones: [25, half]}\n",
			`latch.yaml:5:33: spec.defaults.rollouts.milestones[1]: must be an integer, got string "half"`},
		{"milestones not a list",
			header + "  defaults:\n    rollouts: {milestones: 25}\n",
			`latch.yaml:5:28: spec.defaults.rollouts.milestones: must be a list of percentages such as [25, 50, 75], got number 25`},
		{"notReadyAfter too short",
			header + "  defaults:\n    rollouts: {notReadyAfter: 5s}\n",
			`latch.yaml:5:31: spec.defaults.rollouts.notReadyAfter: want at least 30s (a pod needs time to start), got 5s`},
		{"no restarts",
			header + "  defaults:\n    rollouts: {crashLoopRestarts: 0}\n",
			`latch.yaml:5:35: spec.defaults.rollouts.crashLoopRestarts: want 1 to 1000 restarts, got 0`},
		{"unknown key",
			header + "  defaults:\n    rollouts: {milestone: [50]}\n",
			`latch.yaml:5:16: spec.defaults.rollouts.milestone: unknown key "milestone"; did you mean "milestones"? (want one of milestones, notReadyAfter, crashLoopRestarts)`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("latch.yaml", []byte(tc.yaml))
			if err == nil {
				t.Fatal("no error")
			}
			if first := strings.Split(err.Error(), "\n")[0]; first != tc.want {
				t.Fatalf("got  %s\nwant %s", first, tc.want)
			}
		})
	}
}

func TestParseRollouts(t *testing.T) {
	pol, err := Parse("latch.yaml", []byte(header+"  defaults:\n    rollouts:\n      milestones: [10, 50, 90]\n      notReadyAfter: 10m\n      crashLoopRestarts: 5\n"))
	if err != nil {
		t.Fatal(err)
	}
	o := pol.Defaults.Rollouts
	if !slices.Equal(o.Milestones, []int{10, 50, 90}) || o.NotReadyAfter != 10*time.Minute || o.CrashLoopRestarts != 5 {
		t.Fatalf("rollouts %+v", o)
	}
	var text strings.Builder
	if err := pol.Summary().WriteText(&text); err != nil {
		t.Fatal(err)
	}
	if want := "  rollouts: milestones 10, 50, 90 % (0 and 100 always), notReadyAfter 10m, crashLoopRestarts 5\n"; !strings.Contains(text.String(), want) {
		t.Fatalf("latch policy check does not show the rollout settings:\n%s", text.String())
	}
	// Left out: the zero value, which the follower reads as its defaults.
	pol, err = Parse("latch.yaml", []byte(header+"  defaults:\n    rollouts: {milestones: [50]}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if o := pol.Defaults.Rollouts; !slices.Equal(o.Milestones, []int{50}) || o.NotReadyAfter != 0 || o.CrashLoopRestarts != 0 {
		t.Fatalf("partial rollouts %+v", o)
	}
	if got := pol.Summary().Defaults.Rollouts; got == nil || got.NotReadyAfter != "5m" || got.CrashLoopRestarts != 3 {
		t.Fatalf("summary of a partial rollouts block: %+v (want the defaults filled in)", got)
	}
	// A file silent about rollouts shows nothing about them.
	pol, err = Parse("latch.yaml", []byte(header))
	if err != nil {
		t.Fatal(err)
	}
	if got := pol.Summary().Defaults.Rollouts; got != nil {
		t.Fatalf("summary without spec.defaults.rollouts: %+v", got)
	}
}
