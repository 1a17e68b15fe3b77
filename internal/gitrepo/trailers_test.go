package gitrepo

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/latch-gitops/latch/internal/evidence"
	"github.com/latch-gitops/latch/internal/objectid"
)

// The changes of evidence's message tests, whose trailers git must read.
var (
	webChange = evidence.Change{Object: objectid.Ref{Kind: "Deployment", Namespace: "shop", Name: "web"}, Field: "spec.replicas", File: "apps/shop/web.yaml",
		From: 3, To: 40, Observed: 37, Rule: "sigfig", Min: 2, Max: 500, ChangedBy: "kube-controller-manager"}
	apiChange   = evidence.Change{Object: objectid.Ref{Kind: "Deployment", Namespace: "shop", Name: "api"}, Field: "spec.replicas", File: "apps/shop/api.yaml", From: 10, To: 20, Observed: 18, Rule: "sigfig", Min: 1, Max: 50, ChangedBy: "kube-controller-manager"}
	queueChange = evidence.Change{Object: objectid.Ref{Kind: "Deployment", Namespace: "jobs", Name: "queue-worker"}, Field: "spec.replicas", File: "apps/jobs/queue.yaml", From: 100, To: 200, Observed: 230, Rule: "magnitude", Min: 10, Max: 1000, BoundsFrom: "KEDA", ChangedBy: "keda-operator"}
)

// TestTrailersParseWithGit checks git itself reads the trailers: one
// Latch-Object per change, the keys and values as written.
func TestTrailersParseWithGit(t *testing.T) {
	msg, err := evidence.CommitMessage(nil, []evidence.Change{webChange, apiChange, queueChange}, "prod-eu")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("git", "interpret-trailers", "--parse")
	cmd.Env = baseEnv()
	cmd.Stdin = strings.NewReader(msg)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("git interpret-trailers: %v", err)
	}
	want := `Latch-Cluster: prod-eu
Latch-Object: shop/web
Latch-Kind: Deployment
Latch-Field: spec.replicas
Latch-File: apps/shop/web.yaml
Latch-Value: 3 -> 40
Latch-Observed: 37
Latch-Bounds: HPA 2..500
Latch-Rule: sigfig
Latch-Changed-By: kube-controller-manager
Latch-Object: shop/api
Latch-Kind: Deployment
Latch-Field: spec.replicas
Latch-File: apps/shop/api.yaml
Latch-Value: 10 -> 20
Latch-Observed: 18
Latch-Bounds: HPA 1..50
Latch-Rule: sigfig
Latch-Changed-By: kube-controller-manager
Latch-Object: jobs/queue-worker
Latch-Kind: Deployment
Latch-Field: spec.replicas
Latch-File: apps/jobs/queue.yaml
Latch-Value: 100 -> 200
Latch-Observed: 230
Latch-Bounds: KEDA 10..1000
Latch-Rule: magnitude
Latch-Changed-By: keda-operator
`
	if string(out) != want {
		t.Errorf("git interpret-trailers --parse:\n%s\nwant:\n%s", out, want)
	}
}
