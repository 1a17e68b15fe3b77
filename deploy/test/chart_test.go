package deploytest

import (
	"maps"
	"slices"
	"strings"
	"testing"

	"helm.sh/helm/v4/pkg/action"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// TestChartLint runs `helm lint --strict` through the SDK: with the required
// values it must be clean (no warning either); without them it must fail and
// say what is missing.
func TestChartLint(t *testing.T) {
	tests := []struct {
		name    string
		values  map[string]any
		wantErr string // substring of one lint error; "" for a clean lint
	}{
		{name: "required values only", values: requiredValues()},
		{name: "every option on", values: with(with(with(with(requiredValues(),
			"enforce.enabled", true),
			"rbac.extraScaleKinds", []any{"rollouts.argoproj.io/Rollout"}),
			"replicaCount", 2),
			"image.digest", "sha256:"+strings.Repeat("ab", 32))},
		// Helm's lint mode turns `required` into a logged warning and renders
		// on, so missing values are TestChartValues' business; the schema
		// still fails a lint.
		{name: "a value outside the schema", values: with(requiredValues(), "config.logFormat", "xml"), wantErr: "logFormat"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lint := action.NewLint()
			lint.Strict = true
			lint.Namespace = releaseNamespace
			result := lint.Run([]string{chartDir}, tt.values)
			if result.TotalChartsLinted != 1 {
				t.Fatalf("linted %d charts, want 1 (errors: %v)", result.TotalChartsLinted, result.Errors)
			}
			if tt.wantErr == "" {
				for _, msg := range result.Messages {
					t.Logf("lint: %s", msg)
				}
				if action.HasWarningsOrErrors(result) {
					t.Fatalf("lint --strict: %v", result.Errors)
				}
				return
			}
			var all []string
			for _, err := range result.Errors {
				all = append(all, err.Error())
			}
			if !strings.Contains(strings.Join(all, "\n"), tt.wantErr) {
				t.Fatalf("lint errors %q, want one containing %q", all, tt.wantErr)
			}
		})
	}
}

// TestChartDefaults renders the chart with only the required values and holds
// every object to the install's invariants.
func TestChartDefaults(t *testing.T) {
	r, err := renderChart(requiredValues())
	if err != nil {
		t.Fatal(err)
	}
	wantKinds := map[string]int{
		"ServiceAccount": 1, "ClusterRole": 1, "ClusterRoleBinding": 1,
		"Role": 1, "RoleBinding": 1, "Deployment": 1, "Service": 1,
	}
	if got := r.kinds(); !maps.Equal(got, wantKinds) {
		t.Errorf("kinds: got %v, want %v", got, wantKinds)
	}
	for _, o := range r {
		namespaced := o.kind != "ClusterRole" && o.kind != "ClusterRoleBinding"
		if namespaced && o.namespace != releaseNamespace {
			t.Errorf("%v: namespace %q, want the release namespace %q", o, o.namespace, releaseNamespace)
		}
	}

	assertDefaultRBAC(t, r)

	dep := only[*appsv1.Deployment](t, r, "Deployment")
	svc := only[*corev1.Service](t, r, "Service")
	for _, p := range podProblems(dep, svc, r) {
		t.Errorf("Deployment: %s", p)
	}
	for _, p := range bindingProblems(r, dep.Spec.Template.Spec.ServiceAccountName, releaseNamespace) {
		t.Errorf("bindings: %s", p)
	}
	sa := only[*corev1.ServiceAccount](t, r, "ServiceAccount")
	if sa.Name != dep.Spec.Template.Spec.ServiceAccountName {
		t.Errorf("Deployment runs as %q, chart creates ServiceAccount %q", dep.Spec.Template.Spec.ServiceAccountName, sa.Name)
	}
	if got := gitSecretName(dep); got != testSecret {
		t.Errorf("git Secret: got %q, want git.secretName %q", got, testSecret)
	}
	if want := "ghcr.io/latch-gitops/latch:0.1.0"; dep.Spec.Template.Spec.Containers[0].Image != want {
		t.Errorf("image %q, want %q (the chart's appVersion)", dep.Spec.Template.Spec.Containers[0].Image, want)
	}
}

// TestChartValues renders the chart with each option and checks what it
// changes; the failing cases must stop the render with a message that says
// which value to set.
func TestChartValues(t *testing.T) {
	defaults := defaultGrants()
	tests := []struct {
		name    string
		values  map[string]any
		wantErr string                          // substring of the render error
		check   func(t *testing.T, r rendering) // extra checks on a successful render
	}{
		{
			name:    "git.secretName is required",
			values:  without(requiredValues(), "git.secretName"),
			wantErr: "git.secretName is required: create a Secret with your git credentials",
		},
		{
			name:    "git.secretName empty string is as good as missing",
			values:  with(requiredValues(), "git.secretName", ""),
			wantErr: "git.secretName is required",
		},
		{
			name:    "config.repo is required",
			values:  without(requiredValues(), "config.repo"),
			wantErr: "config.repo is required",
		},
		{
			name:    "two replicas need leader election",
			values:  with(with(requiredValues(), "replicaCount", 2), "leaderElection.enabled", false),
			wantErr: "enable leader election or use 1 replica",
		},
		{
			name:    "the latest tag is refused",
			values:  with(requiredValues(), "image.tag", "latest"),
			wantErr: `image.tag: "latest" is not allowed`,
		},
		{
			name:    "a misspelt value is refused by the schema",
			values:  with(requiredValues(), "enforce.enable", true),
			wantErr: "enable",
		},
		{
			name:    "extraScaleKinds must be RESOURCE.GROUP/Kind",
			values:  with(requiredValues(), "rbac.extraScaleKinds", []any{"Rollout"}),
			wantErr: "extraScaleKinds",
		},
		{
			name:   "enforce.enabled adds patch on deployments and statefulsets, nothing else",
			values: with(requiredValues(), "enforce.enabled", true),
			check: func(t *testing.T, r rendering) {
				grants, problems := grantsOf(r)
				problems = append(problems, rbacProblems(grants, true)...)
				for _, p := range problems {
					t.Errorf("RBAC: %s", p)
				}
				if extra, missing := grantDiff(grants, union(defaults, enforceGrants())); len(extra)+len(missing) > 0 {
					t.Errorf("RBAC with enforce:\n extra: %v\n missing: %v", extra, missing)
				}
				// The same rendering judged as if enforce were off must fail:
				// the patch grants are the enforce grants.
				if len(rbacProblems(grants, false)) != len(enforceGrants()) {
					t.Errorf("patch grants not recognised as enforce-only: %v", rbacProblems(grants, false))
				}
				if got := enforceFlag(t, r); got != "on" {
					t.Errorf("--enforce=%q, want on", got)
				}
			},
		},
		{
			name:    "review.mode must be a mode",
			values:  with(requiredValues(), "review.mode", "sometimes"),
			wantErr: "/review/mode",
		},
		{
			name: "review passes its flags and the forge token from a Secret; RBAC unchanged",
			values: with(with(with(with(requiredValues(), "review.mode", "suspicious"), "review.forge", "gitea"),
				"review.url", "https://gitea.example.com/"), "review.tokenSecret.name", "latch-forge"),
			check: func(t *testing.T, r rendering) {
				grants, problems := grantsOf(r)
				for _, p := range problems {
					t.Errorf("RBAC: %s", p)
				}
				if extra, missing := grantDiff(grants, defaults); len(extra)+len(missing) > 0 {
					t.Errorf("RBAC with review:\n extra: %v\n missing: %v", extra, missing)
				}
				c := only[*appsv1.Deployment](t, r, "Deployment").Spec.Template.Spec.Containers[0]
				flags, _ := parseFlags(c.Args)
				for name, want := range map[string]string{"review": "suspicious", "forge": "gitea", "forge-url": "https://gitea.example.com/"} {
					if got := flags[name]; len(got) != 1 || got[0] != want {
						t.Errorf("--%s: got %q, want %q", name, got, want)
					}
				}
				var found bool
				for _, e := range c.Env {
					if e.Name == forgeTokenEnv {
						found = e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil &&
							e.ValueFrom.SecretKeyRef.Name == "latch-forge" && e.ValueFrom.SecretKeyRef.Key == "token" && e.Value == ""
					}
				}
				if !found {
					t.Errorf("no %s from Secret latch-forge key token: %+v", forgeTokenEnv, c.Env)
				}
			},
		},
		{
			name:   "enforce.mode dry-run passes the flag and grants nothing",
			values: with(with(requiredValues(), "enforce.enabled", true), "enforce.mode", "dry-run"),
			check: func(t *testing.T, r rendering) {
				assertDefaultRBAC(t, r)
				if got := enforceFlag(t, r); got != "dry-run" {
					t.Errorf("--enforce=%q, want dry-run", got)
				}
			},
		},
		{
			name:    "enforce.mode is on or dry-run",
			values:  with(with(requiredValues(), "enforce.enabled", true), "enforce.mode", "yes"),
			wantErr: "mode",
		},
		{
			name:   "extraScaleKinds add read access and one flag each",
			values: with(requiredValues(), "rbac.extraScaleKinds", []any{"rollouts.argoproj.io/Rollout", "widgets/Widget"}),
			check: func(t *testing.T, r rendering) {
				grants, problems := grantsOf(r)
				problems = append(problems, rbacProblems(grants, false)...)
				for _, p := range problems {
					t.Errorf("RBAC: %s", p)
				}
				want := union(defaults, []grant{
					{"ClusterRole", "argoproj.io", "rollouts", "get", ""},
					{"ClusterRole", "argoproj.io", "rollouts", "list", ""},
					{"ClusterRole", "argoproj.io", "rollouts", "watch", ""},
					{"ClusterRole", "argoproj.io", "rollouts/scale", "get", ""},
					{"ClusterRole", "", "widgets", "get", ""},
					{"ClusterRole", "", "widgets", "list", ""},
					{"ClusterRole", "", "widgets", "watch", ""},
					{"ClusterRole", "", "widgets/scale", "get", ""},
				})
				if extra, missing := grantDiff(grants, want); len(extra)+len(missing) > 0 {
					t.Errorf("RBAC with extraScaleKinds:\n extra: %v\n missing: %v", extra, missing)
				}
				flags, _ := parseFlags(only[*appsv1.Deployment](t, r, "Deployment").Spec.Template.Spec.Containers[0].Args)
				if got, want := flags["extra-scale-kinds"], []string{"rollouts.argoproj.io/Rollout", "widgets/Widget"}; !slices.Equal(got, want) {
					t.Errorf("--extra-scale-kinds: got %q, want %q", got, want)
				}
			},
		},
		{
			name:   "leader election off drops the Role and passes --leader-elect=false",
			values: with(requiredValues(), "leaderElection.enabled", false),
			check: func(t *testing.T, r rendering) {
				if n := len(r.ofKind("Role")) + len(r.ofKind("RoleBinding")); n != 0 {
					t.Errorf("%d Role/RoleBinding objects without leader election", n)
				}
				flags, _ := parseFlags(only[*appsv1.Deployment](t, r, "Deployment").Spec.Template.Spec.Containers[0].Args)
				if got := flags["leader-elect"]; !slices.Equal(got, []string{"false"}) {
					t.Errorf("--leader-elect: got %q", got)
				}
			},
		},
		{
			name: "optional flags and quoting survive odd values",
			values: with(with(with(requiredValues(),
				"config.path", "clusters/prod: eu #1"),
				"config.clusterName", "prod-eu-1"),
				"config.gitAuthor", `Latch Bot "CI" <bot@example.com>`),
			check: func(t *testing.T, r rendering) {
				flags, problems := parseFlags(only[*appsv1.Deployment](t, r, "Deployment").Spec.Template.Spec.Containers[0].Args)
				for _, p := range problems {
					t.Error(p)
				}
				want := map[string]string{"path": "clusters/prod: eu #1", "cluster-name": "prod-eu-1", "git-author": `Latch Bot "CI" <bot@example.com>`, "repo": testRepo}
				for name, value := range want {
					if got := flags[name]; !slices.Equal(got, []string{value}) {
						t.Errorf("--%s: got %q, want %q", name, got, value)
					}
				}
			},
		},
		{
			name:   "rbac.create=false renders no RBAC",
			values: with(requiredValues(), "rbac.create", false),
			check: func(t *testing.T, r rendering) {
				for _, kind := range []string{"ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"} {
					if n := len(r.ofKind(kind)); n != 0 {
						t.Errorf("%d %s objects with rbac.create=false", n, kind)
					}
				}
			},
		},
		{
			name:   "image.digest wins over the tag",
			values: with(requiredValues(), "image.digest", "sha256:"+strings.Repeat("0f", 32)),
			check: func(t *testing.T, r rendering) {
				image := only[*appsv1.Deployment](t, r, "Deployment").Spec.Template.Spec.Containers[0].Image
				if want := "ghcr.io/latch-gitops/latch@sha256:" + strings.Repeat("0f", 32); image != want {
					t.Errorf("image %q, want %q", image, want)
				}
			},
		},
		{
			name:   "sizeLimit empty gives a plain emptyDir",
			values: with(requiredValues(), "tmpDir.sizeLimit", ""),
			check: func(t *testing.T, r rendering) {
				for _, v := range only[*appsv1.Deployment](t, r, "Deployment").Spec.Template.Spec.Volumes {
					if v.Name == "tmp" && (v.EmptyDir == nil || v.EmptyDir.SizeLimit != nil) {
						t.Errorf("tmp volume: %+v", v.VolumeSource)
					}
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := renderChart(tt.values)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("render error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, r)
		})
	}
}

// TestCheckersCatchViolations feeds the RBAC and pod checkers broken installs:
// each must be reported, or the checks above would prove nothing.
func TestCheckersCatchViolations(t *testing.T) {
	base, err := renderChart(requiredValues())
	if err != nil {
		t.Fatal(err)
	}
	rbacTests := []struct {
		name   string
		extra  []grant
		wantIn string
	}{
		{"delete on deployments", []grant{{"ClusterRole", "apps", "deployments", "delete", ""}}, "write verb not allowed"},
		{"patch on deployments without enforce", []grant{{"ClusterRole", "apps", "deployments", "patch", ""}}, "without enforce.enabled"},
		{"get on pods (only list is granted)", []grant{{"ClusterRole", "", "pods", "get", ""}}, "no access to pods"},
		{"update on HPAs", []grant{{"ClusterRole", "autoscaling", "horizontalpodautoscalers", "update", ""}}, "write verb not allowed"},
		{"read secrets", []grant{{"ClusterRole", "", "secrets", "get", ""}}, "no access to secrets"},
		{"wildcard verb", []grant{{"ClusterRole", "apps", "deployments", "*", ""}}, "wildcard"},
		{"leases in the ClusterRole", []grant{{"ClusterRole", "coordination.k8s.io", "leases", "get", ""}}, "namespaced leader-election Role only"},
		{"lease update on any name", []grant{{"Role", "coordination.k8s.io", "leases", "update", ""}}, "want resourceNames"},
		{"lease delete", []grant{{"Role", "coordination.k8s.io", "leases", "delete", leaseName}}, "leader election needs only"},
		{"create on events in a Role", []grant{{"Role", "", "events", "create", ""}}, "write verb not allowed"},
	}
	grants, _ := grantsOf(base)
	for _, tt := range rbacTests {
		t.Run("rbac/"+tt.name, func(t *testing.T) {
			problems := rbacProblems(union(grants, tt.extra), false)
			if len(problems) != 1 || !strings.Contains(problems[0], tt.wantIn) {
				t.Errorf("problems %q, want exactly one containing %q", problems, tt.wantIn)
			}
		})
	}

	podTests := []struct {
		name   string
		mutate func(dep *appsv1.Deployment, svc *corev1.Service)
		wantIn string
	}{
		{"writable root", func(d *appsv1.Deployment, _ *corev1.Service) {
			*d.Spec.Template.Spec.Containers[0].SecurityContext.ReadOnlyRootFilesystem = false
		}, "readOnlyRootFilesystem"},
		{"root user", func(d *appsv1.Deployment, _ *corev1.Service) {
			*d.Spec.Template.Spec.Containers[0].SecurityContext.RunAsUser = 0
		}, "runAsUser"},
		{"capability added", func(d *appsv1.Deployment, _ *corev1.Service) {
			d.Spec.Template.Spec.Containers[0].SecurityContext.Capabilities.Add = []corev1.Capability{"NET_ADMIN"}
		}, "capabilities"},
		{"probe on the metrics port", func(d *appsv1.Deployment, _ *corev1.Service) {
			d.Spec.Template.Spec.Containers[0].ReadinessProbe.HTTPGet.Port.StrVal = "metrics"
		}, "readinessProbe: port metrics"},
		{"health bound elsewhere", func(d *appsv1.Deployment, _ *corev1.Service) {
			args := d.Spec.Template.Spec.Containers[0].Args
			for i, a := range args {
				if strings.HasPrefix(a, "--health-probe-bind-address=") {
					args[i] = "--health-probe-bind-address=:9440"
				}
			}
		}, "livenessProbe"},
		{"service to the wrong port", func(_ *appsv1.Deployment, s *corev1.Service) { s.Spec.Ports[0].TargetPort.StrVal = "health" }, "targetPort"},
		{"no memory limit", func(d *appsv1.Deployment, _ *corev1.Service) {
			d.Spec.Template.Spec.Containers[0].Resources.Limits = nil
		}, "limits.memory"},
		{"work dir on the root", func(d *appsv1.Deployment, _ *corev1.Service) {
			c := &d.Spec.Template.Spec.Containers[0]
			c.VolumeMounts = slices.DeleteFunc(c.VolumeMounts, func(m corev1.VolumeMount) bool { return m.MountPath == workDir })
		}, workDir + ": want a writable emptyDir"},
		{"credentials writable", func(d *appsv1.Deployment, _ *corev1.Service) {
			d.Spec.Template.Spec.Containers[0].VolumeMounts[0].ReadOnly = false
		}, gitCredentialsDir},
		{"secret world-readable", func(d *appsv1.Deployment, _ *corev1.Service) {
			*d.Spec.Template.Spec.Volumes[0].Secret.DefaultMode = 0o644
		}, "defaultMode"},
		{"latest image", func(d *appsv1.Deployment, _ *corev1.Service) {
			d.Spec.Template.Spec.Containers[0].Image = "ghcr.io/latch-gitops/latch:latest"
		}, "pinned"},
		{"untagged image on a registry with a port", func(d *appsv1.Deployment, _ *corev1.Service) {
			d.Spec.Template.Spec.Containers[0].Image = "registry.local:5000/latch"
		}, "pinned"},
	}
	for _, tt := range podTests {
		t.Run("pod/"+tt.name, func(t *testing.T) {
			// A fresh render each time: mutate touches pointers inside it.
			r, err := renderChart(requiredValues())
			if err != nil {
				t.Fatal(err)
			}
			dep := only[*appsv1.Deployment](t, r, "Deployment")
			svc := only[*corev1.Service](t, r, "Service")
			if before := podProblems(dep, svc, r); len(before) != 0 {
				t.Fatalf("unmutated pod already has problems: %q", before)
			}
			tt.mutate(dep, svc)
			problems := podProblems(dep, svc, r)
			if !strings.Contains(strings.Join(problems, "\n"), tt.wantIn) {
				t.Errorf("problems %q, want one containing %q", problems, tt.wantIn)
			}
		})
	}
}

// TestChartValuesDocumented keeps values.yaml and the chart README in step:
// every leaf key in values.yaml is named in the README's values table.
func TestChartValuesDocumented(t *testing.T) {
	valuesYAML := readFile(t, chartDir+"/values.yaml")
	readme := readFile(t, chartDir+"/README.md")
	var values map[string]any
	if err := yaml.Unmarshal([]byte(valuesYAML), &values); err != nil {
		t.Fatal(err)
	}
	var walk func(prefix string, m map[string]any)
	walk = func(prefix string, m map[string]any) {
		for k, v := range m {
			key := prefix + k
			if child, ok := v.(map[string]any); ok && len(child) > 0 && !strings.HasSuffix(k, "ecurityContext") && k != "resources" {
				walk(key+".", child)
				continue
			}
			if !strings.Contains(readme, "`"+key+"`") {
				t.Errorf("values.yaml key %s is not documented in deploy/chart/README.md", key)
			}
		}
	}
	walk("", values)
}

// enforceFlag is the value of the latch Deployment's --enforce flag ("" when
// absent); more than one is an error.
func enforceFlag(t *testing.T, r rendering) string {
	t.Helper()
	dep := only[*appsv1.Deployment](t, r, "Deployment")
	// Other flags' problems ($(VAR) references in the kustomize base) are
	// the pod tests' business.
	flags, _ := parseFlags(dep.Spec.Template.Spec.Containers[0].Args)
	switch v := flags["enforce"]; len(v) {
	case 0:
		return ""
	case 1:
		return v[0]
	default:
		t.Errorf("--enforce given %d times: %v", len(v), v)
		return v[0]
	}
}
