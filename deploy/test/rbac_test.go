package deploytest

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
)

// leaseName is the Lease controller-runtime's leader election uses
// (--leader-elect); the controller fixes it.
const leaseName = "latch-leader"

// grant is one permission, with every rule expanded to a single group,
// resource, verb and resource name, so two renderings compare as sets no
// matter how their rules are grouped.
type grant struct {
	scope        string // "ClusterRole" or "Role"
	group        string
	resource     string
	verb         string
	resourceName string // "" for any name
}

func (g grant) String() string {
	s := fmt.Sprintf("%s: %s %s.%s", g.scope, g.verb, g.resource, g.group)
	if g.group == "" {
		s = fmt.Sprintf("%s: %s %s (core)", g.scope, g.verb, g.resource)
	}
	if g.resourceName != "" {
		s += " named " + g.resourceName
	}
	return s
}

func compareGrants(a, b grant) int {
	return cmp.Or(cmp.Compare(a.scope, b.scope), cmp.Compare(a.group, b.group),
		cmp.Compare(a.resource, b.resource), cmp.Compare(a.verb, b.verb),
		cmp.Compare(a.resourceName, b.resourceName))
}

// expandRules turns rules into sorted, de-duplicated grants. NonResourceURLs
// are reported as a problem: latch needs none.
func expandRules(scope, owner string, rules []rbacv1.PolicyRule) (grants []grant, problems []string) {
	for i, rule := range rules {
		if len(rule.NonResourceURLs) > 0 {
			problems = append(problems, fmt.Sprintf("%s rules[%d]: nonResourceURLs %v", owner, i, rule.NonResourceURLs))
		}
		names := rule.ResourceNames
		if len(names) == 0 {
			names = []string{""}
		}
		for _, group := range rule.APIGroups {
			for _, resource := range rule.Resources {
				for _, verb := range rule.Verbs {
					for _, name := range names {
						grants = append(grants, grant{scope, group, resource, verb, name})
					}
				}
			}
		}
	}
	return grants, problems
}

// grantsOf collects every grant of every ClusterRole and Role in r.
func grantsOf(r rendering) (grants []grant, problems []string) {
	for _, o := range r {
		var got []grant
		var bad []string
		switch typed := o.typed.(type) {
		case *rbacv1.ClusterRole:
			got, bad = expandRules("ClusterRole", o.String(), typed.Rules)
			if typed.AggregationRule != nil {
				bad = append(bad, fmt.Sprintf("%v: aggregationRule would pull in other roles' rules", o))
			}
		case *rbacv1.Role:
			got, bad = expandRules("Role", o.String(), typed.Rules)
		}
		grants = append(grants, got...)
		problems = append(problems, bad...)
	}
	slices.SortFunc(grants, compareGrants)
	return slices.Compact(grants), problems
}

var readVerbs = map[string]bool{"get": true, "list": true, "watch": true}

// rbacProblems holds the install's RBAC to latch's least-privilege rules:
//   - no wildcard anywhere;
//   - reads (get/list/watch) only; the writes allowed are create/patch on
//     core and events.k8s.io Events (ClusterRole), create/update/patch on
//     Leases (namespaced Role only, and every verb but create restricted to the
//     Lease latch-leader), and, only with allowEnforce, patch on apps
//     deployments and statefulsets;
//   - no access at all to Secrets or ConfigMaps (latch reads workloads, not
//     their data), and to Pods only list: the rollout follower lists the
//     pods of a rollout in flight for crash loops and pods never Ready.
func rbacProblems(grants []grant, allowEnforce bool) []string {
	var problems []string
	for _, g := range grants {
		if g.group == "*" || g.resource == "*" || g.verb == "*" || strings.HasPrefix(g.resource, "*/") {
			problems = append(problems, fmt.Sprintf("%v: wildcard", g))
			continue
		}
		if g.group == "" && g.resource == "pods" && g.verb == "list" && g.scope == "ClusterRole" {
			continue
		}
		switch g.resource {
		case "secrets", "configmaps", "pods", "pods/exec", "serviceaccounts/token":
			problems = append(problems, fmt.Sprintf("%v: latch needs no access to %s", g, g.resource))
			continue
		}
		isLease := g.group == "coordination.k8s.io" && g.resource == "leases"
		if isLease && g.scope != "Role" {
			problems = append(problems, fmt.Sprintf("%v: leases belong in the namespaced leader-election Role only", g))
			continue
		}
		if isLease {
			switch {
			case g.verb == "create" && g.resourceName != "":
				problems = append(problems, fmt.Sprintf("%v: Kubernetes ignores resourceNames for create; the rule must not pretend", g))
			case g.verb != "create" && g.resourceName != leaseName:
				problems = append(problems, fmt.Sprintf("%v: want resourceNames [%s]", g, leaseName))
			case !readVerbs[g.verb] && g.verb != "create" && g.verb != "update" && g.verb != "patch":
				problems = append(problems, fmt.Sprintf("%v: leader election needs only create/get/update (and list/watch/patch)", g))
			}
			continue
		}
		if readVerbs[g.verb] {
			continue
		}
		isEvent := (g.group == "" || g.group == "events.k8s.io") && g.resource == "events"
		isEnforce := g.group == "apps" && (g.resource == "deployments" || g.resource == "statefulsets") && g.verb == "patch"
		switch {
		case isEvent && (g.verb == "create" || g.verb == "patch") && g.scope == "ClusterRole":
		case isEnforce && allowEnforce && g.scope == "ClusterRole":
		case isEnforce:
			problems = append(problems, fmt.Sprintf("%v: write access to workloads without enforce.enabled", g))
		default:
			problems = append(problems, fmt.Sprintf("%v: write verb not allowed", g))
		}
	}
	return problems
}

// defaultGrants is the complete RBAC of a default install, spelled out: the
// chart and the kustomize base must grant exactly this, no more.
func defaultGrants() []grant {
	var grants []grant
	add := func(scope, group string, resources, verbs []string, name string) {
		for _, res := range resources {
			for _, verb := range verbs {
				grants = append(grants, grant{scope, group, res, verb, name})
			}
		}
	}
	read := []string{"get", "list", "watch"}
	add("ClusterRole", "apps", []string{"deployments", "statefulsets", "replicasets"}, read, "")
	add("ClusterRole", "autoscaling", []string{"horizontalpodautoscalers"}, read, "")
	add("ClusterRole", "", []string{"pods"}, []string{"list"}, "")
	add("ClusterRole", "apps", []string{"controllerrevisions"}, []string{"get"}, "")
	add("ClusterRole", "argoproj.io", []string{"rollouts"}, read, "")
	add("ClusterRole", "", []string{"events"}, []string{"create", "patch"}, "")
	add("ClusterRole", "events.k8s.io", []string{"events"}, []string{"create", "patch"}, "")
	add("Role", "coordination.k8s.io", []string{"leases"}, []string{"create"}, "")
	add("Role", "coordination.k8s.io", []string{"leases"}, []string{"get", "list", "watch", "update", "patch"}, leaseName)
	slices.SortFunc(grants, compareGrants)
	return grants
}

// enforceGrants is what enforce.enabled adds to the default.
func enforceGrants() []grant {
	return []grant{
		{"ClusterRole", "apps", "deployments", "patch", ""},
		{"ClusterRole", "apps", "statefulsets", "patch", ""},
	}
}

// grantDiff says which grants one set has that the other lacks.
func grantDiff(got, want []grant) (extra, missing []grant) {
	for _, g := range got {
		if !slices.Contains(want, g) {
			extra = append(extra, g)
		}
	}
	for _, g := range want {
		if !slices.Contains(got, g) {
			missing = append(missing, g)
		}
	}
	return extra, missing
}

func union(sets ...[]grant) []grant {
	var out []grant
	for _, s := range sets {
		out = append(out, s...)
	}
	slices.SortFunc(out, compareGrants)
	return slices.Compact(out)
}

// bindingProblems checks that every ClusterRole and Role is bound, by a
// binding of the matching kind, to the ServiceAccount the Deployment runs as,
// and that no binding points elsewhere.
func bindingProblems(r rendering, serviceAccount, namespace string) []string {
	var problems []string
	bound := map[string]bool{}
	checkSubjects := func(owner string, subjects []rbacv1.Subject) {
		if len(subjects) != 1 || subjects[0].Kind != "ServiceAccount" || subjects[0].Name != serviceAccount || subjects[0].Namespace != namespace {
			problems = append(problems, fmt.Sprintf("%s: subjects %+v, want only ServiceAccount %s/%s", owner, subjects, namespace, serviceAccount))
		}
	}
	for _, o := range r {
		switch typed := o.typed.(type) {
		case *rbacv1.ClusterRoleBinding:
			checkSubjects(o.String(), typed.Subjects)
			if typed.RoleRef.Kind != "ClusterRole" {
				problems = append(problems, fmt.Sprintf("%v: roleRef kind %s", o, typed.RoleRef.Kind))
			}
			bound["ClusterRole/"+typed.RoleRef.Name] = true
		case *rbacv1.RoleBinding:
			checkSubjects(o.String(), typed.Subjects)
			if typed.RoleRef.Kind != "Role" {
				problems = append(problems, fmt.Sprintf("%v: roleRef kind %s (a RoleBinding to a ClusterRole would widen nothing here, but latch does not use one)", o, typed.RoleRef.Kind))
			}
			if o.namespace != namespace {
				problems = append(problems, fmt.Sprintf("%v: not in namespace %s", o, namespace))
			}
			bound["Role/"+typed.RoleRef.Name] = true
		}
	}
	for _, o := range r {
		if o.kind != "ClusterRole" && o.kind != "Role" {
			continue
		}
		if o.kind == "Role" && o.namespace != namespace {
			problems = append(problems, fmt.Sprintf("%v: not in namespace %s", o, namespace))
		}
		if !bound[o.kind+"/"+o.name] {
			problems = append(problems, fmt.Sprintf("%v: not bound", o))
		}
		delete(bound, o.kind+"/"+o.name)
	}
	for ref := range bound {
		problems = append(problems, fmt.Sprintf("a binding refers to %s, which the install does not create", ref))
	}
	slices.Sort(problems)
	return problems
}

// assertDefaultRBAC checks a rendering grants exactly the read-only default
// set, with none of the forbidden grants rbacProblems looks for.
func assertDefaultRBAC(t *testing.T, r rendering) {
	t.Helper()
	grants, problems := grantsOf(r)
	problems = append(problems, rbacProblems(grants, false)...)
	for _, p := range problems {
		t.Errorf("RBAC: %s", p)
	}
	if extra, missing := grantDiff(grants, defaultGrants()); len(extra)+len(missing) > 0 {
		t.Errorf("RBAC differs from the default set:\n extra: %v\n missing: %v", extra, missing)
	}
}
