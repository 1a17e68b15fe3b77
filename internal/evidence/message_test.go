package evidence

import (
	"reflect"
	"strings"
	"testing"
	"text/template"

	"github.com/latch-gitops/latch/internal/objectid"
)

var (
	webChange = Change{Object: objectid.Ref{Kind: "Deployment", Namespace: "shop", Name: "web"}, Field: "spec.replicas", File: "apps/shop/web.yaml",
		From: 3, To: 40, Observed: 37, Rule: "sigfig", Min: 2, Max: 500, ChangedBy: "kube-controller-manager",
		Reason: "observed 37 held 10m above 35; rounded to one significant figure"}
	apiChange   = Change{Object: objectid.Ref{Kind: "Deployment", Namespace: "shop", Name: "api"}, Field: "spec.replicas", File: "apps/shop/api.yaml", From: 10, To: 20, Observed: 18, Rule: "sigfig", Min: 1, Max: 50, ChangedBy: "kube-controller-manager"}
	dbChange    = Change{Object: objectid.Ref{Kind: "StatefulSet", Namespace: "data", Name: "db"}, Field: "spec.replicas", File: "apps/data/db.yaml", From: 3, To: 5, Observed: 5, Rule: "step", ChangedBy: "kubectl-scale"}
	queueChange = Change{Object: objectid.Ref{Kind: "Deployment", Namespace: "jobs", Name: "queue-worker"}, Field: "spec.replicas", File: "apps/jobs/queue.yaml", From: 100, To: 200, Observed: 230, Rule: "magnitude", Min: 10, Max: 1000, BoundsFrom: "KEDA", ChangedBy: "keda-operator"}
	cacheChange = Change{Object: objectid.Ref{Kind: "Deployment", Namespace: "shop", Name: "cache"}, Field: "spec.replicas", From: 2, To: 4, Observed: 4, Rule: "sigfig"}
)

func TestCommitMessageGolden(t *testing.T) {
	custom, err := ParseMessageTemplate("custom", "{{.Subject}}\n\nWindow on {{.Cluster}}: {{len .Changes}} change(s).\n{{range .Changes}}* {{.Name}}={{.To}}\n{{end}}")
	if err != nil {
		t.Fatal(err)
	}
	resources := webChange
	resources.Field, resources.From, resources.To, resources.Observed, resources.Max, resources.Reason = "spec.template.spec.containers[0].resources.requests.cpuMillis", 250, 500, 480, 0, ""
	tests := []struct {
		name    string
		changes []Change
		cluster string
		tmpl    string // "" default, "custom"
	}{
		{"single", []Change{webChange}, "prod-eu", ""},
		{"single-no-bounds-no-cluster", []Change{dbChange}, "", ""},
		{"two-workloads", []Change{webChange, apiChange}, "prod-eu", ""},
		{"five-workloads-ellipsis", []Change{webChange, apiChange, dbChange, queueChange, cacheChange}, "prod-eu", ""},
		{"one-object-two-fields", []Change{webChange, resources}, "prod-eu", ""},
		{"mixed-objects-and-fields", []Change{webChange, resources, apiChange}, "prod-eu", ""},
		{"custom-template", []Change{webChange, apiChange}, "staging", "custom"},
		{"newlines-in-values", []Change{{Object: objectid.Ref{Namespace: "shop", Name: "web\nLatch-Object: evil"}, Field: "spec.replicas", From: 1, To: 2, Observed: 2, Rule: "sig\r\nfig"}}, "a\nb", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var tmpl = custom
			if tt.tmpl == "" {
				tmpl = nil
			}
			msg, err := CommitMessage(tmpl, tt.changes, tt.cluster)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, "messages/"+tt.name+".golden", msg)
			subject, _, _ := strings.Cut(msg, "\n")
			if tt.tmpl == "" && len(tt.changes) > 1 && len([]rune(subject)) > maxSubject {
				t.Errorf("subject has %d runes, want ≤ %d: %q", len([]rune(subject)), maxSubject, subject)
			}
			// The trailers read back to the changes (Reason lives in the body only).
			cluster, got, err := ParseMessage(msg)
			if err != nil {
				t.Fatal(err)
			}
			if want := oneLine(tt.cluster); cluster != want {
				t.Errorf("cluster = %q, want %q", cluster, want)
			}
			if want := normalized(tt.changes); !reflect.DeepEqual(got, want) {
				t.Errorf("parsed changes:\n%+v\nwant:\n%+v", got, want)
			}
		})
	}
}

// normalized is what ParseMessage gives back for changes.
func normalized(changes []Change) []Change {
	out := make([]Change, len(changes))
	for i, c := range changes {
		c.Object, c.Field, c.File = oneLineObject(c.Object), oneLine(c.Field), oneLine(c.File)
		c.Rule, c.ChangedBy, c.BoundsFrom = oneLine(c.Rule), oneLine(c.ChangedBy), oneLine(c.BoundsFrom)
		c.Reason = ""
		if c.Max > 0 {
			if c.BoundsFrom == "" {
				c.BoundsFrom = "HPA"
			}
		} else {
			c.Min, c.Max, c.BoundsFrom = 0, 0, ""
		}
		out[i] = c
	}
	return out
}

func TestSubjectExamples(t *testing.T) {
	tests := []struct {
		changes []Change
		want    string
	}{
		{[]Change{webChange}, "latch: shop/web replicas 3 → 40 (observed 37; HPA 2..500)"},
		{[]Change{dbChange}, "latch: data/db replicas 3 → 5 (observed 5)"},
		{[]Change{webChange, apiChange}, "latch: 2 workloads (web 3 → 40, api 10 → 20)"},
		{[]Change{webChange, apiChange, dbChange, queueChange, cacheChange}, "latch: 5 workloads (web 3 → 40, api 10 → 20, db 3 → 5, …)"},
	}
	for _, tt := range tests {
		if got := Subject(tt.changes); got != tt.want {
			t.Errorf("Subject = %q, want %q", got, tt.want)
		}
	}
}

func TestCommitMessageErrors(t *testing.T) {
	bad, err := ParseMessageTemplate("bad", "{{.Nope}}")
	if err != nil {
		t.Fatal(err)
	}
	empty, err := ParseMessageTemplate("empty", "  \n\n")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		tmpl    string
		changes []Change
		want    string
	}{
		{"no changes", "", nil, "no changes"},
		{"no object", "", []Change{{Field: "spec.replicas"}}, "change 1"},
		{"no field", "", []Change{{Object: objectid.Ref{Namespace: "a", Name: "b"}}}, "object and field must be set"},
		{"missing template field", "bad", []Change{webChange}, "template bad"},
		{"empty render", "empty", []Change{webChange}, "empty message"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmpl := map[string]*template.Template{"bad": bad, "empty": empty}[tt.tmpl]
			_, err := CommitMessage(tmpl, tt.changes, "")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
	if _, err := ParseMessageTemplate("broken", "{{.Subject"); err == nil {
		t.Error("a broken template parsed")
	}
}

func TestParseMessageErrors(t *testing.T) {
	for _, msg := range []string{
		"latch: x\n\nno trailers here",
		"latch: x\n\nLatch-Field: spec.replicas",
		"latch: x\n\nLatch-Object: a/b\nLatch-Value: 3 to 4",
		"latch: x\n\nLatch-Object: a/b\nLatch-Observed: many",
		"latch: x\n\nLatch-Object: a/b\nLatch-Bounds: 2..x",
	} {
		if _, _, err := ParseMessage(msg); err == nil {
			t.Errorf("ParseMessage(%q) succeeded", msg)
		}
	}
}

// FuzzCommitMessage: whatever the values, the message parses back to the
// same changes (made one-line) and git sees exactly one Latch-Object per
// change — no value can inject a trailer or a paragraph.
func FuzzCommitMessage(f *testing.F) {
	f.Add("Deployment", "shop/web", "spec.replicas", "apps/web.yaml", "sigfig", "HPA", "kcm", "prod", int64(3), int64(40), int64(37), int64(2), int64(500))
	f.Add("", "a\nLatch-Object: b", "x\n\ny", "", "r\r\n", "", "Latch-Rule: z", "\n", int64(-1), int64(0), int64(1<<62), int64(0), int64(0))
	f.Fuzz(func(t *testing.T, kind, object, field, file, rule, boundsFrom, changedBy, cluster string, from, to, observed, lo, hi int64) {
		c := Change{Object: objectid.Ref{Kind: kind}.WithNamespacedName(object), Field: field, File: file, Rule: rule, BoundsFrom: boundsFrom, ChangedBy: changedBy,
			From: from, To: to, Observed: observed, Min: lo, Max: hi}
		msg, err := CommitMessage(nil, []Change{c, c}, cluster)
		if oneLineObject(c.Object).NamespacedName() == "" || oneLine(field) == "" {
			if err == nil {
				t.Fatal("empty object or field accepted")
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		gotCluster, got, err := ParseMessage(msg)
		if err != nil {
			t.Fatalf("%v\n%s", err, msg)
		}
		want := normalized([]Change{c, c})
		if gotCluster != oneLine(cluster) || !reflect.DeepEqual(got, want) {
			t.Fatalf("round trip:\n%+v %q\nwant\n%+v %q\nmessage:\n%s", got, gotCluster, want, oneLine(cluster), msg)
		}
		if n := strings.Count(msg, "\n"+TrailerObject+": "); n != 2 {
			t.Fatalf("%d Latch-Object lines, want 2:\n%s", n, msg)
		}
		if strings.Contains(msg, "\r") {
			t.Fatalf("carriage return in message: %q", msg)
		}
	})
}
