package controller

import (
	"context"
	"fmt"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/latch-gitops/latch/internal/forge"
	"github.com/latch-gitops/latch/internal/review"
	"github.com/latch-gitops/latch/internal/testenv"
)

// The run loop's review story on the real API server and a real git remote,
// with the in-memory forge (memForge; the Gitea story is in cmd/latch): a
// jump opens one PR, a further jump updates it, the value coming back
// closes it; metrics count each and Events name the PR.
func TestRunReviewEventsAndMetrics(t *testing.T) {
	cfg := testenv.APIServer(t)
	client := kubernetes.NewForConfigOrDie(cfg)
	remote := testenv.NewGitRemote(t)
	human := remote.Human(t)
	human.WriteFile("apps/web.yaml", webManifest)
	human.WriteFile("latch.yaml", fastPolicy)
	human.Commit("seed")
	human.Push()
	runGit(t, remote.BareDir, "config", "receive.denyNonFastForwards", "false")
	createWeb(t, client)
	mem := &memForge{}
	in := startRun(t, cfg, remote, runSpec{cluster: "test", review: &ReviewOptions{Mode: review.Suspicious, Forge: forge.NewClient(mem, "", forge.Options{})}})
	mainBefore := remote.Head(t, "main")
	open := func() []forge.PR {
		prs, _ := mem.ListOpen(context.Background(), "latch")
		return prs
	}
	marker := func(pr forge.PR) review.Marker {
		m, _ := review.ParseMarker(pr.Body)
		return m
	}

	scaleWeb(t, client, 30)
	waitUntil(t, "one open PR", func() bool { return len(open()) == 1 })
	first := open()[0]
	if m := marker(first); m.From != 3 || m.To != 40 {
		t.Fatalf("PR #%d proposes %d → %d, want 3 → 40", first.Number, m.From, m.To)
	}
	scaleWeb(t, client, 60)
	waitUntil(t, "the PR proposing 63", func() bool { o := open(); return len(o) == 1 && marker(o[0]).To == 63 })
	if o := open(); o[0].Number != first.Number {
		t.Fatalf("the update opened PR #%d besides #%d", o[0].Number, first.Number)
	}
	scaleWeb(t, client, 3)
	waitUntil(t, "latch closing the PR", func() bool { return len(open()) == 0 })
	if n, _ := mem.count(); n != 1 {
		t.Fatalf("%d PRs opened, want 1", n)
	}
	if remote.Head(t, "main") != mainBefore {
		t.Fatal("main moved: a latch needing review was pushed directly")
	}
	waitUntil(t, "the PR metrics", func() bool {
		return in.metric(t, "latch_review_prs_total", "action", "opened") == 1 && in.metric(t, "latch_review_prs_total", "action", "updated") >= 1 &&
			in.metric(t, "latch_review_prs_total", "action", "closed") == 1
	})
	want := []string{fmt.Sprintf("ReviewOpened: opened PR #%d: replicas 3 → 40", first.Number),
		fmt.Sprintf("ReviewUpdated: updated PR #%d: replicas 3 → 63", first.Number),
		fmt.Sprintf("ReviewClosed: closed PR #%d", first.Number)}
	var notes []string
	waitUntil(t, "the review Events", func() bool {
		events, err := client.EventsV1().Events("shop").List(context.Background(), metav1.ListOptions{})
		if err != nil {
			return false
		}
		notes = notes[:0]
		for _, e := range events.Items {
			notes = append(notes, e.Reason+": "+e.Note)
		}
		for _, w := range want {
			found := false
			for _, n := range notes {
				found = found || strings.HasPrefix(n, w)
			}
			if !found {
				return false
			}
		}
		return true
	})
	t.Logf("events:\n%s", strings.Join(notes, "\n"))
}
