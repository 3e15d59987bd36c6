package main

import (
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/pophealth/pophealth/models"
	"github.com/pophealth/pophealth/purpose"
	"github.com/pophealth/pophealth/workspace"
)

func newOptOutCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "optout",
		Short: "Exchange NHS numbers with NHS England's opt-out check service and install the registers purposes apply",
		Long: `Opt-outs (the national data opt-out and Type 1 GP opt-outs) apply to every
purpose except direct care. The check service takes a file of NHS numbers and
returns the ones without an opt-out (a "cleared" list):

  pophealth optout export --out submit.dat      every valid NHS number in the master person index
  (send submit.dat to the Check for National Data Opt-outs service over MESH)
  pophealth optout import returned.dat --kind national --list cleared --as-of 2026-12-01

A register older than opt_outs.max_age_days (pophealth.yaml) stops purposes
that apply it from running. Format: docs/purposes.md.`,
	}
	cmd.AddCommand(newOptOutExportCmd(g), newOptOutImportCmd(g))
	return cmd
}

func newOptOutExportCmd(g *globals) *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "export --out FILE",
		Short: "Write every valid NHS number in the master person index, in the check service's .dat format (mode 0600)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ws, err := workspace.Open(g.workspace)
			if err != nil {
				return err
			}
			f, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
			if err != nil {
				return fmt.Errorf("export: %w", err)
			}
			n, err := purpose.ExportNHSNumbers(cmd.Context(), ws, f)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				os.Remove(out)
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %d NHS numbers to %s (identifiable: send it over MESH, then delete it)\n", n, out)
			return appendAudit(ws, "optout.export", map[string]any{"file": out, "numbers": n})
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "`FILE` to create (refuses to replace one)")
	cmd.MarkFlagRequired("out")
	return cmd
}

func newOptOutImportCmd(g *globals) *cobra.Command {
	var kind, list, asOf string
	cmd := &cobra.Command{
		Use:   "import FILE --kind national|type1 --list cleared|opted-out --as-of DATE",
		Short: "Install a file of NHS numbers (as the check service returns it) as the workspace's opt-out register",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ws, err := workspace.Open(g.workspace)
			if err != nil {
				return err
			}
			d := models.DateOf(time.Now())
			if asOf != "" {
				if d, err = models.ParseDate(asOf); err != nil {
					return fmt.Errorf("--as-of: %w", err)
				}
			}
			reg, err := purpose.ImportRegister(ws, args[0], kind, list, d)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s register %s: %s list of %d NHS numbers as of %s\n", reg.Kind, reg.File, reg.List, len(reg.Numbers), reg.AsOf)
			return appendAudit(ws, "optout.import", map[string]any{"kind": reg.Kind, "list": reg.List, "as_of": reg.AsOf.String(), "file": reg.File})
		},
	}
	cmd.Flags().StringVar(&kind, "kind", "national", "register `KIND`: national or type1")
	cmd.Flags().StringVar(&list, "list", purpose.ListCleared, "what the numbers are: cleared (the check service's answer) or opted-out")
	cmd.Flags().StringVar(&asOf, "as-of", "", "`DATE` the list was produced (YYYY-MM-DD; default today)")
	return cmd
}
