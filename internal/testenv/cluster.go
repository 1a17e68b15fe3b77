package testenv

import (
	"context"
	_ "embed"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

//go:embed kwok/stages.yaml
var kwokStages string

// neverReadySentinel keeps the never-ready image list non-empty, so the kwok
// selectors stay well-formed when a test names no such image.
const neverReadySentinel = "latch.invalid/never-ready:sentinel"

// ClusterOptions shapes a Cluster.
type ClusterOptions struct {
	// Nodes is the number of fake Ready nodes (default 2).
	Nodes int
	// NeverReadyImages are container images whose pods run but never become
	// Ready, to drive failing rollouts. Matched on the first container.
	NeverReadyImages []string
}

// ClusterEnv is a running cluster.
type ClusterEnv struct {
	*ControlPlane
	Client *kubernetes.Clientset
	Nodes  []string
}

// Cluster starts etcd, kube-apiserver, kube-controller-manager,
// kube-scheduler and kwok with fake Ready nodes, on free loopback ports:
// Deployments create ReplicaSets, pods are scheduled and become Ready, and
// rolling updates complete. Everything stops when the test ends.
func Cluster(t T, opts ClusterOptions) *ClusterEnv {
	t.Helper()
	dir := requireBinaries(t, "etcd", "kube-apiserver", "kubectl", "kube-controller-manager", "kube-scheduler", "kwok")
	if opts.Nodes <= 0 {
		opts.Nodes = 2
	}
	cp := StartControlPlane(t)
	client, err := kubernetes.NewForConfig(cp.Config)
	if err != nil {
		t.Fatalf("kubernetes client: %v", err)
	}
	work := t.TempDir()

	// Secure serving is switched off (--secure-port=0) so that no component
	// binds a fixed port; the tests only need them to act on the API server.
	kcm := startProcess(t, "kube-controller-manager", filepath.Join(dir, "kube-controller-manager"), []string{
		"--kubeconfig=" + cp.Kubeconfig,
		"--leader-elect=false",
		"--secure-port=0",
		"--controllers=*,-serviceaccount-token-controller",
		"--concurrent-deployment-syncs=10",
		"--concurrent-replicaset-syncs=10",
		"--node-monitor-grace-period=60s",
		"--v=1",
	}, nil)
	sched := startProcess(t, "kube-scheduler", filepath.Join(dir, "kube-scheduler"), []string{
		"--kubeconfig=" + cp.Kubeconfig,
		"--leader-elect=false",
		"--secure-port=0",
		"--v=1",
	}, nil)

	never := append([]string{neverReadySentinel}, opts.NeverReadyImages...)
	quoted := make([]string, len(never))
	for i, image := range never {
		quoted[i] = strconv.Quote(image)
	}
	stagesPath := filepath.Join(work, "kwok.yaml")
	stages := strings.ReplaceAll(kwokStages, "__NEVER_READY_IMAGES__", strings.Join(quoted, ", "))
	if err := os.WriteFile(stagesPath, []byte(stages), 0o600); err != nil {
		t.Fatalf("writing kwok stages: %v", err)
	}
	kwok := startProcess(t, "kwok", filepath.Join(dir, "kwok"), []string{
		"--kubeconfig=" + cp.Kubeconfig,
		"--config=" + stagesPath,
		"--manage-all-nodes=false",
		"--manage-nodes-with-label-selector=type=kwok",
		"--node-lease-duration-seconds=40",
		// No --server-address: kwok's server (fake exec, logs and port
		// forwards) is used by no test, and a port chosen free could be
		// taken by another process before kwok binds it.
		"--cidr=10.244.0.0/16",
		"--node-ip=10.0.0.1",
	}, nil)

	ctx := context.Background()
	env := &ClusterEnv{ControlPlane: cp, Client: client}
	for i := range opts.Nodes {
		name := fmt.Sprintf("kwok-node-%d", i)
		node := &corev1.Node{
			ObjectMeta: metav1.ObjectMeta{
				Name:        name,
				Labels:      map[string]string{"type": "kwok", "kubernetes.io/hostname": name, "kubernetes.io/os": "linux"},
				Annotations: map[string]string{"node.alpha.kubernetes.io/ttl": "0", "kwok.x-k8s.io/node": "fake"},
			},
		}
		if _, err := client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil {
			t.Fatalf("creating node %s: %v", name, err)
		}
		env.Nodes = append(env.Nodes, name)
	}
	for _, name := range env.Nodes {
		err := waitFor(Context(t), "node "+name+" Ready (kwok)", kwok, func(ctx context.Context) error {
			node, err := client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			for _, c := range node.Status.Conditions {
				if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
					return nil
				}
			}
			return fmt.Errorf("node %s not Ready yet", name)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	// The controller manager is working once it has made the default
	// service account; the scheduler is checked by the first pod it binds.
	err = waitFor(Context(t), "kube-controller-manager creating the default service account", kcm, func(ctx context.Context) error {
		_, err := client.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return fmt.Errorf("no default service account yet")
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if ended, err := sched.exited(); ended {
		t.Fatalf("kube-scheduler exited early (%v); log tail:\n%s", err, sched.tail(20))
	}
	return env
}
