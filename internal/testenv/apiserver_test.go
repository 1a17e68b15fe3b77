package testenv

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// TestAPIServerIsReal writes and reads back an object through a real
// kube-apiserver, both through the rest.Config and the kubeconfig file.
func TestAPIServerIsReal(t *testing.T) {
	cp := StartControlPlane(t)
	ctx := context.Background()
	client := kubernetes.NewForConfigOrDie(cp.Config)

	version, err := client.Discovery().ServerVersion()
	if err != nil {
		t.Fatalf("server version: %v", err)
	}
	if version.GitVersion != KubeVersion {
		t.Errorf("server reports %s, want %s (is the binary stamped?)", version.GitVersion, KubeVersion)
	}

	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "probe", Namespace: "default"}, Data: map[string]string{"k": "v"}}
	if _, err := client.CoreV1().ConfigMaps("default").Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create: %v", err)
	}

	fromFile, err := clientcmd.BuildConfigFromFlags("", cp.Kubeconfig)
	if err != nil {
		t.Fatalf("kubeconfig %s: %v", cp.Kubeconfig, err)
	}
	got, err := kubernetes.NewForConfigOrDie(fromFile).CoreV1().ConfigMaps("default").Get(ctx, "probe", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get through kubeconfig: %v", err)
	}
	if got.Data["k"] != "v" {
		t.Errorf("read back %v, want k=v", got.Data)
	}
}

// TestRestartAPIServer: a restart keeps the port, the certificates (the same
// Config reaches it) and etcd's data, and clients fail while it is down.
func TestRestartAPIServer(t *testing.T) {
	cp := StartControlPlane(t)
	ctx := context.Background()
	client := kubernetes.NewForConfigOrDie(cp.Config)
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "survivor", Namespace: "default"}}
	if _, err := client.CoreV1().ConfigMaps("default").Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	cp.StopAPIServer(t)
	if _, err := client.CoreV1().ConfigMaps("default").Get(ctx, "survivor", metav1.GetOptions{}); err == nil {
		t.Fatal("a read succeeded while kube-apiserver was stopped")
	}
	cp.StartAPIServer(t)
	if _, err := client.CoreV1().ConfigMaps("default").Get(ctx, "survivor", metav1.GetOptions{}); err != nil {
		t.Fatalf("after the restart, through the same Config: %v", err)
	}
}
