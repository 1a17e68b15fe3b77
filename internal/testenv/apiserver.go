package testenv

import (
	"os"
	"path/filepath"

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
	}
	cfg, err := env.Start()
	if err != nil {
		// envtest may have started etcd before the API server failed.
		_ = env.Stop()
		t.Fatalf("starting etcd + kube-apiserver from %s: %v", dir, err)
	}
	t.Cleanup(func() {
		if err := env.Stop(); err != nil {
			t.Errorf("stopping etcd + kube-apiserver: %v", err)
		}
	})
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(path, env.KubeConfig, 0o600); err != nil {
		t.Fatalf("writing kubeconfig: %v", err)
	}
	return &ControlPlane{Config: cfg, Kubeconfig: path}
}
