package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/latch-gitops/latch/internal/policyfile"

	"github.com/latch-gitops/latch/internal/objectid"
)

func newPolicyCommand(opts *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "policy",
		Short: "Work with latch.yaml, the per-field policy file",
	}
	cmd.AddCommand(newPolicyCheckCommand(opts))
	return cmd
}

// policyCheckOutput is what `latch policy check -o json|yaml` prints.
type policyCheckOutput struct {
	Policy   policyfile.Summary   `json:"policy"`
	Object   string               `json:"object,omitempty"`
	Resolved *policyfile.Resolved `json:"resolved,omitempty"`
}

func newPolicyCheckCommand(opts *globalOptions) *cobra.Command {
	var (
		objectRef   string
		objectLabel string
		objectHPA   bool
	)
	cmd := &cobra.Command{
		Use:   "check [FILE]",
		Short: "Validate a policy file and print the rules it resolves to",
		Long: `Validate a latch policy file (default: ./latch.yaml) and print its rules in the
order latch applies them, built-in rules first, with every field's complete
parameters. Every problem is reported as FILE:LINE:COLUMN: FIELD: MESSAGE and
the command exits non-zero.

Without FILE and without ./latch.yaml, the built-in policy is printed. With
--object, also print what the policy resolves to for that object.`,
		Example: `  latch policy check
  latch policy check deploy/latch.yaml
  latch policy check --object Deployment.apps/shop/web-1 --labels tier=frontend --hpa`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var obj *policyfile.Object
			if objectRef != "" {
				o, err := parseObjectRef(objectRef, objectLabel, objectHPA)
				if err != nil {
					return err
				}
				obj = &o
			} else if objectLabel != "" || objectHPA {
				return fmt.Errorf("flags --labels and --hpa describe an object: use them with --object")
			}
			pol, err := loadPolicy(args)
			var problems policyfile.ErrorList
			if errors.As(err, &problems) {
				// One problem per line, FILE:LINE:COL first, so editors and
				// CI annotate them; the returned error only sums up.
				for _, problem := range problems {
					fmt.Fprintln(opts.stderr, problem)
				}
				return fmt.Errorf("%s: %d problem(s) found", problems[0].File, len(problems))
			}
			if err != nil {
				return err
			}
			out := policyCheckOutput{Policy: pol.Summary()}
			if obj != nil {
				r := pol.Resolve(*obj)
				out.Object, out.Resolved = objectRef, &r
			}
			if done, err := opts.printStructured(out); done {
				return err
			}
			if err := out.Policy.WriteText(opts.stdout); err != nil {
				return err
			}
			if out.Resolved != nil {
				fmt.Fprintf(opts.stdout, "resolved for %s:\n", objectRef)
				return out.Resolved.WriteText(opts.stdout)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&objectRef, "object", "", "resolve the policy for this object: KIND[.GROUP]/NAMESPACE/NAME")
	cmd.Flags().StringVar(&objectLabel, "labels", "", "the object's labels, as k=v,k2=v2 (with --object)")
	cmd.Flags().BoolVar(&objectHPA, "hpa", false, "the object is scaled by an HPA (with --object)")
	return cmd
}

// loadPolicy reads the file named on the command line, or ./latch.yaml.
// A file named explicitly must exist; a missing ./latch.yaml means the
// built-in policy, as it does for the controller.
func loadPolicy(args []string) (*policyfile.Policy, error) {
	if len(args) == 0 {
		return policyfile.Load(".", policyfile.DefaultFile)
	}
	data, err := os.ReadFile(args[0])
	if err != nil {
		return nil, fmt.Errorf("reading policy file: %w", err)
	}
	return policyfile.Parse(args[0], data)
}

func parseObjectRef(ref, labelText string, hasHPA bool) (policyfile.Object, error) {
	parts := strings.Split(ref, "/")
	if len(parts) != 3 || parts[0] == "" || parts[2] == "" {
		return policyfile.Object{}, fmt.Errorf("flag --object: want KIND[.GROUP]/NAMESPACE/NAME, got %q", ref)
	}
	kind, group, _ := strings.Cut(parts[0], ".")
	obj := policyfile.Object{Ref: objectid.Ref{Kind: kind, Group: group, Namespace: parts[1], Name: parts[2]}, HasHPA: hasHPA}
	if labelText != "" {
		set, err := labels.ConvertSelectorToLabelsMap(labelText)
		if err != nil {
			return policyfile.Object{}, fmt.Errorf("flag --labels: %w", err)
		}
		obj.Labels = set
	}
	return obj, nil
}
