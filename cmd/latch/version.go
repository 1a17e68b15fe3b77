package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// Set by the release build: -ldflags "-X main.version=... -X main.commit=...".
var (
	version = ""
	commit  = ""
)

// versionInfo is what `latch version` reports.
type versionInfo struct {
	Version    string `json:"version"`
	Commit     string `json:"commit"`
	Go         string `json:"go"`
	Platform   string `json:"platform"`
	KubeClient string `json:"kubernetesClient"`
}

func currentVersion() versionInfo {
	info := versionInfo{
		Version:    version,
		Commit:     commit,
		Go:         runtime.Version(),
		Platform:   runtime.GOOS + "/" + runtime.GOARCH,
		KubeClient: "unknown",
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if info.Version == "" && bi.Main.Version != "" {
			info.Version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && info.Commit == "" {
				info.Commit = s.Value
			}
		}
		for _, dep := range bi.Deps {
			if dep.Path == "k8s.io/client-go" {
				info.KubeClient = dep.Version
			}
		}
	}
	if info.Version == "" {
		info.Version = "(devel)"
	}
	if info.Commit == "" {
		info.Commit = "unknown"
	}
	return info
}

func newVersionCommand(opts *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print latch's version, commit, Go and Kubernetes client versions",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			info := currentVersion()
			if done, err := opts.printStructured(info); done {
				return err
			}
			_, err := fmt.Fprintf(opts.stdout, "latch %s\ncommit: %s\ngo: %s (%s)\nkubernetes client: %s\n",
				info.Version, info.Commit, info.Go, info.Platform, info.KubeClient)
			return err
		},
	}
}
