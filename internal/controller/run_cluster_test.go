package controller

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/latch-gitops/latch/internal/policy"
	"github.com/latch-gitops/latch/internal/testenv"
)

// TestRunOnCluster runs latch against a whole cluster (controller manager,
// scheduler, kwok nodes): ReplicaSets and pods follow every scale, the
// HPA controller enforces its bounds, and Deployment statuses churn. latch
// latches up at once, clamps to the HPA max declared in git, moves down
// after the dwell, and tells each move in an Event on the Deployment.
func TestRunOnCluster(t *testing.T) {
	env := testenv.Cluster(t, testenv.ClusterOptions{Nodes: 2})
	client := env.Client
	remote := testenv.NewGitRemote(t)
	const hpaMax = 30
	// dwellDown 12s: from 30 to an observed 4 the dwell shrinks in
	// proportion to the unused capacity, but never below a quarter: 3s.
	const dwellDown, minDwell = 12 * time.Second, 3 * time.Second
	seedWithPolicy(t, remote, strings.Replace(fastPolicy, "dwellDown: 3s", "dwellDown: 12s", 1),
		map[string]string{"apps/web.yaml": manifestFor("shop", "web", 3, hpaMax)})
	createWorkload(t, client, "shop", "web", 3, hpaMax)
	in := startInstance(t, env.Config, remote, "kind")

	cases := []struct {
		name    string
		observe int32
		// want is the declared value.
		want int64
		// subject is part of the commit's subject.
		subject string
	}{
		// Up: at once, one batch window plus a pass.
		{name: "up", observe: 9, want: upLevel(t, 9), subject: fmt.Sprintf("3 → %d", upLevel(t, 9))},
		// Past the max: git holds the HPA max, not the observed scale (the
		// HPA controller also scales the Deployment back to 30).
		{name: "clamp", observe: 45, want: hpaMax, subject: fmt.Sprintf("%d → %d", upLevel(t, 9), hpaMax)},
		// Down: only after the dwell, to a level no lower than the
		// coverage floor.
		{name: "down", observe: 4, want: -1, subject: fmt.Sprintf("%d →", hpaMax)},
	}
	for _, tc := range cases {
		commits := latchCommits(t, remote)
		scaleTo(t, client, "shop", "web", tc.observe)
		changed := time.Now()
		waitUntil(t, tc.name+": a new latch commit", func() bool { return latchCommits(t, remote) > commits })
		took := time.Since(changed)
		content := gitShow(t, remote, "apps/web.yaml")
		subject := remote.Log(t, "main", "%s")[0]
		t.Logf("%s: scaled to %d, commit %q after %s", tc.name, tc.observe, subject, took.Round(time.Millisecond))
		if tc.want > 0 && !strings.Contains(content, replicasLine(tc.want)) {
			t.Errorf("%s: git declares\n%s\nwant replicas %d", tc.name, content, tc.want)
		}
		if !strings.Contains(subject, tc.subject) {
			t.Errorf("%s: commit subject %q does not contain %q", tc.name, subject, tc.subject)
		}
		if tc.name == "down" {
			if took < minDwell {
				t.Errorf("down: committed %s after the change, before the %s dwell (dwellDown %s)", took, minDwell, dwellDown)
			}
			// The policy's coverage floor: at least half the observed scale
			// (a cold start from git must cope), below the old value.
			var declared int64
			if _, err := fmt.Sscanf(content[strings.Index(content, "replicas: "):], "replicas: %d", &declared); err != nil {
				t.Fatalf("down: no replicas in\n%s", content)
			}
			if declared < policy.MinSafe(4) || declared >= hpaMax {
				t.Errorf("down: git declares %d, want ≥ %d (half of 4) and < %d", declared, policy.MinSafe(4), hpaMax)
			}
		}
		if got := latchCommits(t, remote) - commits; got != 1 {
			t.Errorf("%s: %d commits for one change", tc.name, got)
		}
	}
	// The counter moves just after the push lands, so the remote can show
	// the commit a moment before the metric does: wait for it to catch up,
	// then check it did not count more.
	waitUntil(t, fmt.Sprintf("latch_commits_total reaching %d", len(cases)), func() bool {
		return in.metric(t, "latch_commits_total") >= float64(len(cases))
	})
	if got := in.metric(t, "latch_commits_total"); got != float64(len(cases)) {
		t.Errorf("latch_commits_total = %.0f, want %d", got, len(cases))
	}

	// One Latched event per commit on the Deployment, through the
	// events.k8s.io/v1 API, naming the move and the short commit id.
	commits := remote.Log(t, "main", "%H %an")
	var latchIDs []string
	for _, line := range commits {
		if id, author, _ := strings.Cut(line, " "); author == "latch" {
			latchIDs = append(latchIDs, id[:7])
		}
	}
	var latched []eventsv1.Event
	var all []string
	defer func() { t.Logf("events in shop:\n%s", strings.Join(all, "\n")) }()
	waitUntil(t, "a Latched event per commit", func() bool {
		list, err := client.EventsV1().Events("shop").List(context.Background(), metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		latched, all = nil, nil
		for _, ev := range list.Items {
			all = append(all, ev.Reason+" "+ev.ReportingController+": "+ev.Note)
			if ev.Reason == "Latched" {
				latched = append(latched, ev)
			}
		}
		return len(latched) >= len(latchIDs)
	})

	for _, id := range latchIDs {
		found := false
		for _, ev := range latched {
			if strings.Contains(ev.Note, id) {
				found = true
				if ev.Regarding.Kind != "Deployment" || ev.Regarding.Name != "web" || ev.Type != "Normal" || !strings.Contains(ev.Note, "→") {
					t.Errorf("event for %s: regarding %s %s, type %s, note %q", id, ev.Regarding.Kind, ev.Regarding.Name, ev.Type, ev.Note)
				}
				if ev.ReportingController == "" || ev.Action != "Latch" {
					t.Errorf("event for %s: reportingController %q action %q", id, ev.ReportingController, ev.Action)
				}
			}
		}
		if !found {
			t.Errorf("no Latched event names commit %s; events: %v", id, notes(latched))
		}
	}
}

func notes(events []eventsv1.Event) []string {
	var out []string
	for _, ev := range events {
		out = append(out, ev.Note)
	}
	return out
}
