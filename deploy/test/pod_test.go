package deploytest

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// The controller's contract for `latch run` in a pod (docs/install.md).
const (
	latchUID          = 65532
	gitCredentialsDir = "/etc/latch/git"
	workDir           = "/var/lib/latch"
	homeDir           = "/tmp"
)

// forgeTokenEnv is the one variable latch reads from a Secret.
const forgeTokenEnv = "LATCH_FORGE_TOKEN"

var varRef = regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)`)

// downwardFields are the Pod fields latch's env may take from the
// downward API.
var downwardFields = map[string]bool{"metadata.name": true, "metadata.namespace": true, "metadata.uid": true}

// expandedArgs returns c's args with $(VAR) references expanded from its env,
// as the kubelet does; configMapKeyRef values are looked up in the rendered
// ConfigMaps. A reference that cannot be resolved (a missing ConfigMap key,
// which keeps the pod from starting) is a problem.
func expandedArgs(c corev1.Container, r rendering) (args, problems []string) {
	env := map[string]string{}
	secret := map[string]bool{}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom == nil:
			env[e.Name] = e.Value
		case e.ValueFrom.ConfigMapKeyRef != nil:
			ref := e.ValueFrom.ConfigMapKeyRef
			var found bool
			for _, o := range r.ofKind("ConfigMap") {
				if cm := o.typed.(*corev1.ConfigMap); cm.Name == ref.Name {
					env[e.Name], found = cm.Data[ref.Key]
				}
			}
			if !found {
				problems = append(problems, fmt.Sprintf("env %s: ConfigMap %s has no key %q", e.Name, ref.Name, ref.Key))
			}
		case e.ValueFrom.SecretKeyRef != nil && e.Name == forgeTokenEnv:
			// The forge token comes from a Secret and must never be
			// expanded into the args (which the pod spec and ps show).
			secret[e.Name] = true
		case e.ValueFrom.FieldRef != nil && downwardFields[e.ValueFrom.FieldRef.FieldPath]:
			// The Pod's own identity (the Events about git refusing
			// latch): resolved by the kubelet, nothing to look up.
			env[e.Name] = "$(" + e.Name + ")"
		default:
			problems = append(problems, fmt.Sprintf("env %s: unexpected valueFrom", e.Name))
		}
	}
	for _, arg := range c.Args {
		for _, m := range varRef.FindAllStringSubmatch(arg, -1) {
			if secret[m[1]] {
				problems = append(problems, fmt.Sprintf("arg %q: expands the Secret-backed %s", arg, m[1]))
			}
		}
		args = append(args, varRef.ReplaceAllStringFunc(arg, func(ref string) string {
			if v, ok := env[ref[2:len(ref)-1]]; ok {
				return v
			}
			return ref
		}))
	}
	return args, problems
}

// parseFlags reads `latch run --name=value ...` into name → values. A bare
// --name is "true".
func parseFlags(args []string) (flags map[string][]string, problems []string) {
	flags = map[string][]string{}
	if len(args) == 0 || args[0] != "run" {
		return flags, []string{fmt.Sprintf("args %q: want the subcommand run first", args)}
	}
	for _, arg := range args[1:] {
		if !strings.HasPrefix(arg, "--") {
			problems = append(problems, fmt.Sprintf("arg %q: want --name=value", arg))
			continue
		}
		name, value, ok := strings.Cut(strings.TrimPrefix(arg, "--"), "=")
		if !ok {
			value = "true"
		}
		if strings.Contains(value, "$(") {
			problems = append(problems, fmt.Sprintf("flag --%s: unexpanded reference in %q", name, value))
		}
		flags[name] = append(flags[name], value)
	}
	return flags, problems
}

// portOf resolves a probe's or Service's port (a name or a number) against
// the container's ports.
func portOf(c corev1.Container, port intstr.IntOrString) (int32, bool) {
	if port.Type == intstr.Int {
		return port.IntVal, true
	}
	for _, p := range c.Ports {
		if p.Name == port.StrVal {
			return p.ContainerPort, true
		}
	}
	return 0, false
}

// bindPort reads the port of a ":8080"-style bind address.
func bindPort(addr string) (int32, bool) {
	_, portText, ok := strings.Cut(addr, ":")
	port, err := strconv.ParseInt(portText, 10, 32)
	return int32(port), ok && err == nil && port > 0
}

// podProblems holds the latch Deployment (and its metrics Service, when
// there is one) to the contract: a non-root pod with a read-only root
// filesystem, resource requests and a memory limit, probes and Service on the
// ports the flags bind, the git Secret mounted read-only where
// --git-credentials-dir points, and emptyDirs wherever latch writes.
func podProblems(dep *appsv1.Deployment, svc *corev1.Service, r rendering) []string {
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	if dep.Spec.Replicas == nil || *dep.Spec.Replicas != 1 {
		bad("spec.replicas: want 1 by default, got %v", dep.Spec.Replicas)
	}
	pod := dep.Spec.Template.Spec
	if pod.ServiceAccountName == "" {
		bad("pod: no serviceAccountName")
	}
	if pod.HostNetwork || pod.HostPID || pod.HostIPC {
		bad("pod: host namespaces")
	}
	psc := pod.SecurityContext
	switch {
	case psc == nil:
		bad("pod: no securityContext")
	default:
		if psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot {
			bad("pod securityContext.runAsNonRoot: want true")
		}
		if psc.RunAsUser == nil || *psc.RunAsUser != latchUID {
			bad("pod securityContext.runAsUser: want %d", latchUID)
		}
		if psc.FSGroup == nil || *psc.FSGroup != latchUID {
			bad("pod securityContext.fsGroup: want %d so the 0440 Secret files are readable", latchUID)
		}
		if psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
			bad("pod securityContext.seccompProfile: want RuntimeDefault")
		}
	}
	if len(pod.Containers) != 1 || len(pod.InitContainers) != 0 {
		bad("pod: want exactly one container, got %d (+%d init)", len(pod.Containers), len(pod.InitContainers))
		return problems
	}
	c := pod.Containers[0]
	if strings.HasSuffix(c.Image, ":latest") || (!strings.Contains(c.Image, "@sha256:") && !strings.Contains(c.Image[strings.LastIndex(c.Image, "/")+1:], ":")) {
		bad("container image %q: want a pinned tag or digest", c.Image)
	}

	sc := c.SecurityContext
	if sc == nil {
		bad("container: no securityContext")
	} else {
		if sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
			bad("container securityContext.runAsNonRoot: want true")
		}
		if sc.RunAsUser == nil || *sc.RunAsUser != latchUID {
			bad("container securityContext.runAsUser: want %d", latchUID)
		}
		if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
			bad("container securityContext.readOnlyRootFilesystem: want true")
		}
		if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			bad("container securityContext.allowPrivilegeEscalation: want false")
		}
		if sc.Privileged != nil && *sc.Privileged {
			bad("container securityContext.privileged: want false")
		}
		if sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") || len(sc.Capabilities.Add) > 0 {
			bad("container securityContext.capabilities: want drop [ALL] and nothing added, got %+v", sc.Capabilities)
		}
		if sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
			bad("container securityContext.seccompProfile: want RuntimeDefault")
		}
	}

	wantResources := []struct {
		name  string
		list  corev1.ResourceList
		res   corev1.ResourceName
		value string
	}{
		{"requests.cpu", c.Resources.Requests, corev1.ResourceCPU, "50m"},
		{"requests.memory", c.Resources.Requests, corev1.ResourceMemory, "64Mi"},
		{"limits.memory", c.Resources.Limits, corev1.ResourceMemory, "256Mi"},
	}
	for _, want := range wantResources {
		got, ok := want.list[want.res]
		if !ok || got.Cmp(resource.MustParse(want.value)) != 0 {
			bad("container resources.%s: want %s, got %v", want.name, want.value, got.String())
		}
	}

	args, argProblems := expandedArgs(c, r)
	problems = append(problems, argProblems...)
	flags, flagProblems := parseFlags(args)
	problems = append(problems, flagProblems...)
	flag := func(name string) string {
		values := flags[name]
		if len(values) != 1 {
			bad("flag --%s: want it once, got %q", name, values)
			return ""
		}
		return values[0]
	}
	if repo := flag("repo"); repo == "" {
		bad("flag --repo: empty")
	}
	if v := flag("leader-elect"); v != "true" {
		bad("flag --leader-elect: want true by default, got %q", v)
	}

	probePort, ok := bindPort(flag("health-probe-bind-address"))
	if !ok {
		bad("flag --health-probe-bind-address: want :PORT")
	}
	probes := []struct {
		name  string
		probe *corev1.Probe
		path  string
	}{
		{"livenessProbe", c.LivenessProbe, "/healthz"},
		{"readinessProbe", c.ReadinessProbe, "/readyz"},
	}
	for _, p := range probes {
		if p.probe == nil || p.probe.HTTPGet == nil {
			bad("container %s: want an httpGet probe", p.name)
			continue
		}
		if p.probe.HTTPGet.Path != p.path {
			bad("container %s: path %q, want %q", p.name, p.probe.HTTPGet.Path, p.path)
		}
		if port, ok := portOf(c, p.probe.HTTPGet.Port); !ok || port != probePort {
			bad("container %s: port %s is %d, but --health-probe-bind-address binds %d", p.name, p.probe.HTTPGet.Port.String(), port, probePort)
		}
	}

	metricsPort, ok := bindPort(flag("metrics-bind-address"))
	if !ok {
		bad("flag --metrics-bind-address: want :PORT")
	}
	if svc == nil {
		bad("no metrics Service")
	} else {
		if len(svc.Spec.Ports) != 1 {
			bad("Service %s: want one port, got %d", svc.Name, len(svc.Spec.Ports))
		} else if port, ok := portOf(c, svc.Spec.Ports[0].TargetPort); !ok || port != metricsPort {
			bad("Service %s: targetPort %s is %d, but --metrics-bind-address binds %d", svc.Name, svc.Spec.Ports[0].TargetPort.String(), port, metricsPort)
		}
		for k, v := range svc.Spec.Selector {
			if dep.Spec.Template.Labels[k] != v {
				bad("Service %s: selector %s=%s does not match the pod's labels", svc.Name, k, v)
			}
		}
	}

	// Every place latch writes must be a writable volume: the root is read-only.
	volumes := map[string]corev1.Volume{}
	for _, v := range pod.Volumes {
		volumes[v.Name] = v
	}
	mountAt := func(path string) (corev1.VolumeMount, corev1.Volume, bool) {
		for _, m := range c.VolumeMounts {
			if m.MountPath == path {
				return m, volumes[m.Name], true
			}
		}
		return corev1.VolumeMount{}, corev1.Volume{}, false
	}
	if dir := flag("git-credentials-dir"); dir != gitCredentialsDir {
		bad("flag --git-credentials-dir: %q, want %q", dir, gitCredentialsDir)
	}
	if m, v, ok := mountAt(gitCredentialsDir); !ok || v.Secret == nil || !m.ReadOnly {
		bad("%s: want a read-only Secret volume mounted there", gitCredentialsDir)
	} else {
		if v.Secret.SecretName == "" || (v.Secret.Optional != nil && *v.Secret.Optional) {
			bad("%s: the Secret must be named and not optional", gitCredentialsDir)
		}
		// Secret files are owned by root and the fsGroup: the latch user
		// reads them through the group bit; nobody else needs them.
		if mode := v.Secret.DefaultMode; mode == nil || *mode&0o040 == 0 || *mode&0o007 != 0 {
			bad("%s: Secret defaultMode %v: want group-readable and no access for others (0440)", gitCredentialsDir, mode)
		}
	}
	if dir := flag("work-dir"); dir != workDir {
		bad("flag --work-dir: %q, want %q", dir, workDir)
	}
	home := ""
	for _, e := range c.Env {
		if e.Name == "HOME" {
			home = e.Value
		}
	}
	if home != homeDir {
		bad("env HOME: %q, want %q (git, ssh and gpg write there)", home, homeDir)
	}
	for _, dir := range []string{workDir, homeDir} {
		if m, v, ok := mountAt(dir); !ok || v.EmptyDir == nil || m.ReadOnly {
			bad("%s: want a writable emptyDir mounted there", dir)
		}
	}
	slices.Sort(problems)
	return problems
}

// gitSecretName is the Secret the pod mounts at --git-credentials-dir.
func gitSecretName(dep *appsv1.Deployment) string {
	for _, v := range dep.Spec.Template.Spec.Volumes {
		if v.Secret != nil {
			return v.Secret.SecretName
		}
	}
	return ""
}
