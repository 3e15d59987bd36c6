package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/pophealth/pophealth/lake"
	"github.com/pophealth/pophealth/models"
	"github.com/pophealth/pophealth/queries"
	"github.com/pophealth/pophealth/workspace"
)

func newReportCmd(g *globals) *cobra.Command {
	var (
		asOf    string
		jsonOut bool
	)
	cmd := &cobra.Command{
		Use:   "report",
		Short: "Run the sample cohort and risk-ranking reports on the lake, with small numbers suppressed",
		Long: `report runs two sample reports with DuckDB over the pseudonymised lake:

  1. people with type 2 diabetes and at least one other long-term condition,
     by age band and sex;
  2. a risk ranking: everyone scored and placed in the tiers of the Kaiser
     pyramid (top 0.5%, next 4.5%, next 15%, remaining 80%).

Counts are suppressed before they are printed: 1-7 shows as *, others are
rounded to the nearest 5. No option turns this off. The SQL is in
queries/sql/ for anyone to read.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ws, err := workspace.Open(g.workspace)
			if err != nil {
				return err
			}
			var date *models.Date
			if asOf != "" {
				d, err := models.ParseDate(asOf)
				if err != nil {
					return fmt.Errorf("--as-of: %w", err)
				}
				date = &d
			}
			reports, err := runReports(cmd.Context(), ws, date)
			if err != nil {
				return err
			}
			return writeReports(cmd.OutOrStdout(), reports, jsonOut)
		},
	}
	cmd.Flags().StringVar(&asOf, "as-of", "", "report date `YYYY-MM-DD` (default: the latest date in the lake)")
	cmd.Flags().BoolVar(&jsonOut, "json", false, "print the reports as JSON")
	return cmd
}

// runReports opens the lake in DuckDB and runs the sample reports as of
// asOf (nil: the latest date in the data), recording the run in the audit log.
func runReports(ctx context.Context, ws *workspace.Workspace, asOf *models.Date) ([]*queries.Report, error) {
	lk, err := lake.Open(ws.LakeDir())
	if err != nil {
		return nil, err
	}
	eng, err := queries.Open(ctx, lk)
	if err != nil {
		return nil, err
	}
	defer eng.Close()
	if asOf == nil {
		d, err := eng.DataEnd(ctx)
		if err != nil {
			return nil, err
		}
		asOf = &d
	}
	start := time.Now()
	cohort, err := eng.CohortReport(ctx, *asOf)
	if err != nil {
		return nil, err
	}
	risk, err := eng.RiskRanking(ctx, *asOf)
	if err != nil {
		return nil, err
	}
	err = appendAudit(ws, "report", map[string]any{
		"reports": []string{cohort.Title, risk.Title}, "as_of": asOf.String(),
		"seconds": time.Since(start).Seconds(),
	})
	return []*queries.Report{cohort, risk}, err
}

func writeReports(w io.Writer, reports []*queries.Report, jsonOut bool) error {
	if jsonOut {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(reports)
	}
	for i, r := range reports {
		if i > 0 {
			fmt.Fprintln(w)
		}
		if err := r.WriteText(w); err != nil {
			return err
		}
	}
	return nil
}
