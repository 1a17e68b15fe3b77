package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
	ctrlclient "sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/latch-gitops/latch/internal/cluster"
	"github.com/latch-gitops/latch/internal/controller"
)

// globalOptions are the flags every latch command shares. Kubernetes
// connection flags follow kubectl (k8s.io/cli-runtime): the flag, then
// KUBECONFIG, then ~/.kube/config, then the in-cluster service account.
type globalOptions struct {
	kube      *genericclioptions.ConfigFlags
	output    string
	logFormat string
	verbosity int

	stdout io.Writer
	stderr io.Writer
}

var outputFormats = []string{"text", "json", "yaml"}

func newRootCommand(stdout, stderr io.Writer) *cobra.Command {
	opts := &globalOptions{
		kube:   genericclioptions.NewConfigFlags(true),
		stdout: stdout,
		stderr: stderr,
	}
	root := &cobra.Command{
		Use:   "latch",
		Short: "Latch autoscaled workload state into git in round numbers",
		Long: `latch watches Kubernetes workloads and writes back to a GitOps repository the
nearest round number of their live scale (with hysteresis, dwell and the HPA's
min/max), so a cluster rebuilt from git comes back able to cope, while commits
stay few enough that people read them.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return opts.validate()
		},
	}
	root.SetOut(stdout)
	root.SetErr(stderr)

	flags := root.PersistentFlags()
	// Only the connection flags latch uses; the rest of kubectl's set
	// (impersonation, certificates…) is reachable through the kubeconfig.
	flags.StringVar(opts.kube.KubeConfig, "kubeconfig", "", "path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config, then in-cluster)")
	flags.StringVar(opts.kube.Context, "context", "", "kubeconfig context to use")
	flags.StringVarP(opts.kube.Namespace, "namespace", "n", "", "namespace to act on (default: all namespaces the command covers)")
	flags.StringVarP(&opts.output, "output", "o", "text", "output format: "+strings.Join(outputFormats, "|"))
	flags.StringVar(&opts.logFormat, "log-format", "text", "log format: text|json")
	flags.IntVarP(&opts.verbosity, "verbose", "v", 0, "log verbosity: 0 info, 1 debug, 2+ trace (-v alone means 1; -v=2 for more)")
	flags.Lookup("verbose").NoOptDefVal = "1"

	root.AddCommand(newVersionCommand(opts))
	root.AddCommand(newSyncCommand(opts))
	root.AddCommand(newRunCommand(opts))
	root.AddCommand(newStatusCommand(opts))
	root.AddCommand(newDiffCommand(opts))
	root.AddCommand(newPolicyCommand(opts))
	root.AddCommand(newSimulateCommand(opts))
	root.AddCommand(newRestoreCommand(opts))
	nameFlagsInErrors(root)
	return root
}

func (o *globalOptions) validate() error {
	switch o.output {
	case "text", "json", "yaml":
	default:
		return fmt.Errorf("flag -o/--output: unknown format %q (want one of %s)", o.output, strings.Join(outputFormats, ", "))
	}
	switch o.logFormat {
	case "text", "json":
	default:
		return fmt.Errorf("flag --log-format: unknown format %q (want text or json)", o.logFormat)
	}
	if o.verbosity < 0 {
		return fmt.Errorf("flag -v/--verbose: must be 0 or more, got %d", o.verbosity)
	}
	return nil
}

// logger builds the structured logger the flags ask for; logs go to stderr so
// stdout stays machine-readable with -o json.
func (o *globalOptions) logger() *slog.Logger {
	level := slog.LevelInfo
	if o.verbosity >= 1 {
		level = slog.LevelDebug
	}
	if o.verbosity >= 2 {
		level = slog.LevelDebug - 4
	}
	handlerOpts := &slog.HandlerOptions{Level: level}
	if o.logFormat == "json" {
		return slog.New(slog.NewJSONHandler(o.stderr, handlerOpts))
	}
	return slog.New(slog.NewTextHandler(o.stderr, handlerOpts))
}

// printStructured writes v as JSON or YAML when -o asks for it and reports
// whether it did; text output is left to the command.
func (o *globalOptions) printStructured(v any) (bool, error) {
	switch o.output {
	case "json":
		enc := json.NewEncoder(o.stdout)
		enc.SetIndent("", "  ")
		return true, enc.Encode(v)
	case "yaml":
		b, err := yaml.Marshal(v)
		if err != nil {
			return true, fmt.Errorf("encoding YAML output: %w", err)
		}
		_, err = o.stdout.Write(b)
		return true, err
	}
	return false, nil
}

// restConfig resolves the Kubernetes connection the flags describe.
func (o *globalOptions) restConfig() (*rest.Config, error) {
	if !o.haveKubeconfig() {
		// Without this check client-go falls back to localhost:8080 and the
		// user sees a refused connection to a server they never named.
		return nil, fmt.Errorf("no Kubernetes connection: no --kubeconfig, no KUBECONFIG, no ~/.kube/config, and not running inside a cluster")
	}
	cfg, err := o.kube.ToRESTConfig()
	if err != nil {
		return nil, fmt.Errorf("kubernetes connection: %w", err)
	}
	return cfg, nil
}

// namespace is -n, or "" for all namespaces.
func (o *globalOptions) namespace() string {
	if o.kube.Namespace == nil {
		return ""
	}
	return *o.kube.Namespace
}

// listWorkloads reads the live workloads once, straight from the API
// server: Deployments, StatefulSets and the kinds with a /scale subresource
// latch.yaml at the remote head latches, resolved as `latch run` resolves
// them at start (controller.KindsFromPolicy).
func (o *globalOptions) listWorkloads(ctx context.Context, cfg *rest.Config, latcher *controller.Latcher, log *slog.Logger) ([]cluster.Workload, error) {
	reader, err := ctrlclient.New(cfg, ctrlclient.Options{})
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	disc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("discovery client: %w", err)
	}
	kinds, _ := controller.KindsFromPolicy(ctx, latcher, reader.RESTMapper(), disc, log)
	workloads, err := cluster.List(ctx, reader, o.namespace(), kinds...)
	if err != nil {
		return nil, fmt.Errorf("reading the cluster: %w", err)
	}
	return workloads, nil
}

// haveKubeconfig reports whether any source of a connection exists, in
// client-go's order: the flag, KUBECONFIG, ~/.kube/config, in-cluster.
func (o *globalOptions) haveKubeconfig() bool {
	if o.kube.KubeConfig != nil && *o.kube.KubeConfig != "" {
		return true
	}
	if os.Getenv("KUBECONFIG") != "" || os.Getenv("KUBERNETES_SERVICE_HOST") != "" {
		return true
	}
	if home, err := os.UserHomeDir(); err == nil {
		if _, err := os.Stat(filepath.Join(home, ".kube", "config")); err == nil {
			return true
		}
	}
	return false
}
