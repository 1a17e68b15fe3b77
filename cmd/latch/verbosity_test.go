package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestKubectlVerbosity(t *testing.T) {
	for _, tc := range []struct {
		args, want string
	}{
		{"-v 10 run", "--verbose=10 run"},
		{"run -v 6 --repo x", "run --verbose=6 --repo x"},
		{"run --v 6", "run --verbose=6"},
		{"run --verbose 2", "run --verbose=2"},
		{"run -v6", "run --verbose=6"},
		{"run --v=4", "run --verbose=4"},
		{"run -v=3", "run -v=3"},
		{"-v run", "-v run"},         // -v alone: 1
		{"run -v", "run -v"},         // at the end
		{"run --v", "run --verbose"}, // klog's spelling, alone
		{"run -v -1", "run -v -1"},   // not a level: left for the flag's own error
		{"run -vx", "run -vx"},
		{"simulate -- -v 10", "simulate -- -v 10"}, // after --: arguments
		{"", ""},
	} {
		got := strings.Join(kubectlVerbosity(strings.Fields(tc.args)), " ")
		if got != tc.want {
			t.Errorf("%q → %q, want %q", tc.args, got, tc.want)
		}
	}
}

// TestVerbosityAsKubectlUsersTypeIt runs the root command as main does:
// "-v 10" is verbosity 10, not -v plus a command "10".
func TestVerbosityAsKubectlUsersTypeIt(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want int
	}{
		{[]string{"-v", "10", "version"}, 10},
		{[]string{"version", "-v", "6"}, 6},
		{[]string{"version", "-v"}, 1},
		{[]string{"version", "-v=2"}, 2},
		{[]string{"version", "--v=3"}, 3},
		{[]string{"version"}, 0},
	} {
		var stdout, stderr bytes.Buffer
		root := newRootCommand(&stdout, &stderr)
		root.SetArgs(kubectlVerbosity(tc.args))
		if err := root.Execute(); err != nil {
			t.Errorf("%v: %v", tc.args, err)
			continue
		}
		v, err := root.PersistentFlags().GetInt("verbose")
		if err != nil || v != tc.want {
			t.Errorf("%v: verbosity %d (%v), want %d", tc.args, v, err, tc.want)
		}
	}
}
