package diff

import (
	"bytes"
	"sort"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"
)

// Owner is who last wrote a field, from the live object's managedFields:
// "kubectl-set" (kubectl set image), "kubectl-edit", "kubectl" (server-side
// apply), "kubectl-client-side-apply", "helm", "kube-controller-manager"
// with subresource "scale" (the HPA), and so on.
type Owner struct {
	Manager     string    `json:"manager"`
	Operation   string    `json:"operation"`
	Subresource string    `json:"subresource,omitempty"`
	Time        time.Time `json:"time,omitzero"`
}

func (o Owner) String() string {
	s := o.Manager
	if o.Subresource != "" {
		s += " (" + o.Subresource + ")"
	}
	if !o.Time.IsZero() {
		s += " at " + o.Time.UTC().Format(time.RFC3339)
	}
	return s
}

// ownership is the decoded managedFields of one live object.
type ownership []ownedSet

type ownedSet struct {
	owner Owner
	set   *fieldpath.Set
}

// ownersOf decodes managedFields; an entry whose fields do not decode owns
// nothing (attribution is evidence, not a reason to fail the comparison).
func ownersOf(live *unstructured.Unstructured) ownership {
	var out ownership
	for _, e := range live.GetManagedFields() {
		s := &fieldpath.Set{}
		if e.FieldsV1 != nil {
			if err := s.FromJSON(bytes.NewReader(e.FieldsV1.Raw)); err != nil {
				s = &fieldpath.Set{}
			}
		}
		o := Owner{Manager: e.Manager, Operation: string(e.Operation), Subresource: e.Subresource}
		if e.Time != nil {
			o.Time = e.Time.Time
		}
		out = append(out, ownedSet{owner: o, set: s})
	}
	return out
}

// changedBy returns the manager that last wrote p (or, when no entry names
// p itself, its closest owned ancestor: a list item added whole, an atomic
// list). Among several owners the latest wins; at equal times an Update
// (an imperative change) beats an Apply, since an apply that agrees with
// git cannot be what made a field drift.
func (own ownership) changedBy(p fieldpath.Path) *Owner {
	for n := len(p); n > 0; n-- {
		prefix := p[:n]
		var cands []Owner
		for _, o := range own {
			if o.set.Has(prefix) {
				cands = append(cands, o.owner)
			}
		}
		if len(cands) == 0 {
			continue
		}
		sort.SliceStable(cands, func(i, j int) bool {
			if !cands[i].Time.Equal(cands[j].Time) {
				return cands[i].Time.After(cands[j].Time)
			}
			return cands[i].Operation == "Update" && cands[j].Operation != "Update"
		})
		o := cands[0]
		return &o
	}
	return nil
}

// controlPlaneOnly reports whether only the control plane ever wrote the
// object (kube-root-ca.crt, the default ServiceAccount, the kubernetes
// Service): not something a person forgot to put in git.
func (own ownership) controlPlaneOnly() bool {
	if len(own) == 0 {
		return false
	}
	for _, o := range own {
		switch o.owner.Manager {
		case "kube-controller-manager", "kube-apiserver", "kube-scheduler":
		default:
			return false
		}
	}
	return true
}

// latest is the owner with the most recent write.
func (own ownership) latest() *Owner {
	var best *Owner
	for i := range own {
		if best == nil || own[i].owner.Time.After(best.Time) {
			o := own[i].owner
			best = &o
		}
	}
	return best
}
