package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestCommandsRefuseBadFlagsFirst: a missing --repo or a missing Kubernetes
// connection is named plainly, before anything is contacted.
func TestCommandsRefuseBadFlagsFirst(t *testing.T) {
	t.Setenv("HOME", t.TempDir())
	t.Setenv("KUBECONFIG", "")
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"sync", "--once"}, "flag --repo: required"},
		{[]string{"status"}, "flag --repo: required"},
		{[]string{"run"}, "flag --repo: required"},
		{[]string{"sync"}, "sync needs --once"},
		{[]string{"sync", "--once", "--repo", "https://git.example/infra.git"}, "no Kubernetes connection"},
		{[]string{"status", "--repo", "https://git.example/infra.git"}, "no Kubernetes connection"},
		{[]string{"run", "--repo", "https://git.example/infra.git", "--extra-scale-kinds", "rollout"}, "flag --extra-scale-kinds"},
		{[]string{"run", "--repo", "https://git.example/infra.git", "--enforce", "yes"}, "flag --enforce: want off, dry-run or on"},
		{[]string{"run", "--repo", "https://git.example/infra.git", "--enforce", "on", "--enforce-max-reverts", "0"}, "flag --enforce-max-reverts"},
		{[]string{"restore", "--repo", "https://git.example/infra.git", "--review", "sometimes"}, "flag --review"},
		{[]string{"version", "-o", "xml"}, "flag -o/--output"},
		{[]string{"version", "--log-format", "xml"}, "flag --log-format"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			cmd := newRootCommand(&stdout, &stderr)
			cmd.SetArgs(tt.args)
			err := cmd.Execute()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}
