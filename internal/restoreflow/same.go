package restoreflow

import (
	"runtime"
	"sync"

	"k8s.io/client-go/kubernetes/scheme"

	"github.com/latch-gitops/latch/internal/diff"
	"github.com/latch-gitops/latch/internal/manifest"
	"github.com/latch-gitops/latch/internal/objectid"
	"github.com/latch-gitops/latch/internal/restore"
)

// sameAsLive says which actions the cluster already holds as they would be
// applied: every field the body sets has the live value (compared through
// the kind's schema and latch diff's normalisers, as `latch diff` does).
// Those are not sent, so a second restore makes no write and few
// requests. Anything the comparison cannot vouch for (no live object, an
// error, a field the policy ignores) is applied; the server then decides.
func (g *Gathered) sameAsLive(actions []restore.Action, defaultNS string) map[int]bool {
	in := diff.Input{Live: g.live, DefaultNamespace: defaultNS, Types: g.types, Normalizers: diff.DefaultNormalizers(scheme.Scheme)}
	at := map[objectid.Key]int{}
	for i, a := range actions {
		if !a.Exists {
			continue
		}
		in.Declared = append(in.Declared, &manifest.Declared{Ref: a.Ref, Object: a.Body, Origin: a.Origin})
		at[a.Ref.Key()] = i
	}
	same := map[int]bool{}
	if len(in.Declared) == 0 {
		return same
	}
	// Compare is pure and the comparison of one object needs no other
	// (an HPA only changes how a difference is reported): compare in
	// chunks, one per CPU.
	chunks := min(runtime.GOMAXPROCS(0), len(in.Declared))
	results := make([][]diff.ObjectResult, chunks)
	var wg sync.WaitGroup
	for c := range chunks {
		part := in
		part.Declared = in.Declared[c*len(in.Declared)/chunks : (c+1)*len(in.Declared)/chunks]
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[c] = diff.Compare(part).Objects
		}()
	}
	wg.Wait()
	for _, objects := range results {
		for _, r := range objects {
			i, ok := at[r.Ref.Key()]
			if ok && r.Compared && r.Status == diff.StatusInSync && len(r.Fields) == 0 && r.Ignored == 0 {
				same[i] = true
			}
		}
	}
	return same
}
