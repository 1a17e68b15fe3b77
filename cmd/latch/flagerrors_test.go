package main

import (
	"errors"
	"fmt"
	"testing"

	"github.com/latch-gitops/latch/internal/controller"
	"github.com/latch-gitops/latch/internal/manifest"
)

// The internal packages name options by what they are; the user reads the
// flag to fix, with the library's context kept.
func TestWithFlagNames(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"option at the top", &controller.OptionError{Option: controller.OptionRepo, Err: errors.New("required")}, "flag --repo: required"},
		{"option with its value, wrapped", fmt.Errorf("opening: %w", &controller.OptionError{Option: controller.OptionRepo, Value: "/x", Err: boom}), "flag --repo /x: opening: boom"},
		{"author", &controller.OptionError{Option: controller.OptionAuthor, Err: boom}, "flag --git-author: boom"},
		{"folder naming itself", fmt.Errorf("indexing: %w", &manifest.FolderError{Err: errors.New("sub: cannot read")}), "flag --path: indexing: sub: cannot read"},
		{"folder", &manifest.FolderError{Folder: "sub", Err: errors.New("not a folder in the checkout")}, "flag --path sub: not a folder in the checkout"},
		{"unknown option is left alone", &controller.OptionError{Option: "other", Err: boom}, "other: boom"},
		{"plain error", boom, "boom"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := withFlagNames(tt.err)
			if got.Error() != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			if !errors.Is(got, tt.err) {
				t.Errorf("the original error is not in the chain")
			}
		})
	}
	if withFlagNames(nil) != nil {
		t.Error("nil became an error")
	}
}
