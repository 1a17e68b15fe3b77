package testenv

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// ControlPlane is a running etcd + kube-apiserver.
type ControlPlane struct {
	// Config reaches the API server as a cluster admin (system:masters).
	Config *rest.Config
	// Kubeconfig is the path of a kubeconfig file for the same admin, for
	// CLIs and child processes.
	Kubeconfig string

	// env is the running envtest environment; mu serialises API server
	// stops and starts (RestartAPIServer) with the cleanup's Stop.
	mu  sync.Mutex
	env *envtest.Environment
}

// APIServer starts etcd and kube-apiserver on free loopback ports and returns
// an admin config; both stop when the test ends. There is no controller
// manager: Deployments make no ReplicaSets (use Cluster for that).
func APIServer(t T) *rest.Config {
	t.Helper()
	return StartControlPlane(t).Config
}

// StartControlPlane is APIServer that also writes a kubeconfig file.
func StartControlPlane(t T) *ControlPlane {
	t.Helper()
	dir := requireBinaries(t, "etcd", "kube-apiserver", "kubectl")
	env := &envtest.Environment{
		BinaryAssetsDirectory: dir,
		ErrorIfCRDPathMissing: false,
		// envtest's own default (20 s) is a fixed budget that a loaded
		// machine overruns; wait as long as the test may.
		ControlPlaneStartTimeout: time.Until(Deadline(t)),
	}
	// A cert folder of our own, not envtest's random one: envtest deletes a
	// random folder on Stop and mints a new serving CA on Start, which
	// would leave Config distrusting a restarted API server.
	env.ControlPlane.GetAPIServer().CertDir = t.TempDir()
	cfg, err := env.Start()
	if err != nil {
		// envtest may have started etcd before the API server failed.
		_ = env.Stop()
		t.Fatalf("starting etcd + kube-apiserver from %s: %v", dir, err)
	}
	cp := &ControlPlane{Config: cfg, env: env}
	t.Cleanup(func() {
		cp.mu.Lock()
		defer cp.mu.Unlock()
		if err := env.Stop(); err != nil {
			t.Errorf("stopping etcd + kube-apiserver: %v", err)
		}
	})
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(path, env.KubeConfig, 0o600); err != nil {
		t.Fatalf("writing kubeconfig: %v", err)
	}
	cp.Kubeconfig = path
	return cp
}

// StopAPIServer stops kube-apiserver (SIGTERM, as a rolling control-plane
// upgrade would) and leaves etcd running, so StartAPIServer brings the same
// data back. Clients see connection refused meanwhile.
func (cp *ControlPlane) StopAPIServer(t T) {
	t.Helper()
	cp.mu.Lock()
	defer cp.mu.Unlock()
	apiServer := cp.env.ControlPlane.GetAPIServer()
	// kube-apiserver drains open watches before it exits, which with a
	// controller connected outlasts envtest's 20 s stop timeout. Give it
	// apiServerStopGrace after SIGTERM, then SIGKILL it (a crash is a
	// restart too); envtest's Stop then finds it gone.
	pid := findProcess(apiServer.Path, "--cert-dir="+apiServer.CertDir)
	if pid > 0 {
		_ = syscall.Kill(pid, syscall.SIGTERM)
		deadline := time.Now().Add(apiServerStopGrace)
		for processAlive(pid) && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		if processAlive(pid) {
			t.Logf("kube-apiserver still draining %s after SIGTERM; killing it", apiServerStopGrace)
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	// Once the process is gone, envtest's Stop returns nil only after its
	// own wait on the child has returned; until then it signals a pid that
	// no longer exists and says "no such process". That is the same exit
	// not yet seen, so ask again rather than fail.
	ctx := Context(t)
	for {
		err := apiServer.Stop()
		if err == nil {
			return
		}
		if pid <= 0 || processAlive(pid) || ctx.Err() != nil {
			t.Fatalf("stopping kube-apiserver: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// apiServerStopGrace is how long StopAPIServer lets kube-apiserver drain.
const apiServerStopGrace = 3 * time.Second

// findProcess returns the pid of a running bin whose command line holds
// arg (0: none). Only children of this test process are considered.
func findProcess(bin, arg string) int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		args := strings.Split(string(cmdline), "\x00")
		if len(args) == 0 || filepath.Base(args[0]) != filepath.Base(bin) || !slices.Contains(args, arg) {
			continue
		}
		if stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat")); err == nil {
			// Field 4 of /proc/pid/stat is the parent pid (after "pid (comm) state").
			fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
			if len(fields) > 1 && fields[1] == strconv.Itoa(os.Getpid()) {
				return pid
			}
		}
	}
	return 0
}

// processAlive reports whether pid runs and is not a zombie.
func processAlive(pid int) bool {
	stat, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return false
	}
	fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	return len(fields) > 0 && fields[0] != "Z"
}

// StartAPIServer starts kube-apiserver again on the same port, certificates
// and etcd, and waits until it serves: Config and Kubeconfig keep working.
func (cp *ControlPlane) StartAPIServer(t T) {
	t.Helper()
	cp.mu.Lock()
	defer cp.mu.Unlock()
	if err := cp.env.ControlPlane.GetAPIServer().Start(); err != nil {
		t.Fatalf("restarting kube-apiserver: %v", err)
	}
	client, err := kubernetes.NewForConfig(cp.Config)
	if err != nil {
		t.Fatalf("kubernetes client: %v", err)
	}
	err = waitFor(Context(t), "restarted kube-apiserver serving namespaces", nil, func(ctx context.Context) error {
		_, err := client.CoreV1().Namespaces().Get(ctx, "default", metav1.GetOptions{})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// RestartAPIServer stops kube-apiserver and starts it again in place.
func (cp *ControlPlane) RestartAPIServer(t T) {
	t.Helper()
	cp.StopAPIServer(t)
	cp.StartAPIServer(t)
}
