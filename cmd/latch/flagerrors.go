package main

import (
	"errors"
	"strings"

	"github.com/spf13/cobra"

	"github.com/latch-gitops/latch/internal/controller"
	"github.com/latch-gitops/latch/internal/manifest"
)

// optionFlags maps the options the internal packages name in their typed
// errors to the flags that set them: the libraries do not know latch's
// command line, the command line does.
var optionFlags = map[string]string{
	controller.OptionRepo:   "--repo",
	controller.OptionAuthor: "--git-author",
}

// flagError is an error whose cause is a flag's value: it reads as
// "flag --repo: …" with the library's wording of the option replaced by
// the flag.
type flagError struct {
	flag, value string
	// lib is the library's option error inside whole.
	lib   error
	cause error
	whole error
}

func (e *flagError) Error() string {
	named := "flag " + e.flag
	if e.value != "" {
		named += " " + e.value
	}
	outer := e.whole.Error()
	inner := named + ": " + e.cause.Error()
	if libMsg := e.lib.Error(); strings.Contains(outer, libMsg) {
		if outer == libMsg {
			return inner
		}
		return named + ": " + strings.Replace(outer, libMsg, e.cause.Error(), 1)
	}
	return named + ": " + outer
}

func (e *flagError) Unwrap() error { return e.whole }

// withFlagNames names the flag behind a typed option error of the
// internal packages; any other error is returned as it is.
func withFlagNames(err error) error {
	if err == nil {
		return nil
	}
	var opt *controller.OptionError
	if errors.As(err, &opt) {
		if flag, ok := optionFlags[opt.Option]; ok {
			return &flagError{flag: flag, value: opt.Value, lib: opt, cause: opt.Err, whole: err}
		}
	}
	var folder *manifest.FolderError
	if errors.As(err, &folder) {
		return &flagError{flag: "--path", value: folder.Folder, lib: folder, cause: folder.Err, whole: err}
	}
	return err
}

// nameFlagsInErrors wraps every command's RunE (and the root's pre-run)
// with withFlagNames, so each error a user sees names the flag to fix.
func nameFlagsInErrors(cmd *cobra.Command) {
	if run := cmd.RunE; run != nil {
		cmd.RunE = func(c *cobra.Command, args []string) error { return withFlagNames(run(c, args)) }
	}
	if pre := cmd.PersistentPreRunE; pre != nil {
		cmd.PersistentPreRunE = func(c *cobra.Command, args []string) error { return withFlagNames(pre(c, args)) }
	}
	for _, sub := range cmd.Commands() {
		nameFlagsInErrors(sub)
	}
}
