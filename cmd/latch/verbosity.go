package main

import (
	"strconv"
	"strings"
)

// kubectlVerbosity rewrites the verbosity flag as kubectl users type it
// into the one form pflag reads: "-v 6", "--v 6", "--verbose 6", "-v6" and
// "--v=6" become "--verbose=6". ("-v" alone still means 1, and "-v=2"
// needs no help.) Arguments after "--" are left alone, and so is a "-v"
// not followed by a number ("-v sync" is -v plus the command sync).
func kubectlVerbosity(args []string) []string {
	out := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		arg := args[i]
		if arg == "--" {
			return append(out, args[i:]...)
		}
		switch {
		case arg == "-v" || arg == "--v" || arg == "--verbose":
			if i+1 < len(args) && isLevel(args[i+1]) {
				out = append(out, "--verbose="+args[i+1])
				i++
				continue
			}
			if arg == "--v" {
				arg = "--verbose"
			}
		case strings.HasPrefix(arg, "--v="):
			arg = "--verbose=" + strings.TrimPrefix(arg, "--v=")
		case strings.HasPrefix(arg, "-v") && isLevel(arg[2:]):
			arg = "--verbose=" + arg[2:]
		}
		out = append(out, arg)
	}
	return out
}

// isLevel reports whether s is a verbosity level (a non-negative integer).
func isLevel(s string) bool {
	n, err := strconv.Atoi(s)
	return err == nil && n >= 0 && !strings.HasPrefix(s, "+")
}
