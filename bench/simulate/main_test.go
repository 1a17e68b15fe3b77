package main

import (
	"strings"
	"testing"
)

func TestOptionsValidate(t *testing.T) {
	tests := []struct {
		name string
		o    options
		want string // "" is valid
	}{
		{"the doc", options{}, ""},
		{"quick", options{quick: true}, ""},
		{"quick at the controller's cadence", options{quick: true, passes: true}, ""},
		{"the doc at the controller's cadence", options{passes: true}, "-passes needs -quick"},
		{"reasons at the controller's cadence", options{quick: true, passes: true, explain: "bursts"}, "-passes with -explain"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.o.validate()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}
