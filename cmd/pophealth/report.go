package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unicode"

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
		format  string
		outPath string
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
queries/sql/ for anyone to read.

Formats: text (default), json, csv (one table per report; with --out, one
file per report in the directory OUT), parquet (with --out only: one file
per report in the directory OUT) and html (one self-contained page with
charts, no scripts, nothing fetched from a network).

Examples:
  pophealth report
  pophealth report --as-of 2026-03-31 --json
  pophealth report --format html --out reports/diabetes.html
  pophealth report --format csv --out reports/`,
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
			if jsonOut {
				format = "json"
			}
			if err := checkReportFormat(format, outPath); err != nil {
				return err
			}
			reports, err := runReports(cmd.Context(), ws, date)
			if err != nil {
				return err
			}
			page := &queries.Page{Title: "pophealth reports", Generated: time.Now(), Reports: reports}
			if outPath == "" {
				return writeReports(cmd.OutOrStdout(), page, format)
			}
			return writeReportFiles(outPath, page, format)
		},
	}
	cmd.Flags().StringVar(&asOf, "as-of", "", "report date `YYYY-MM-DD` (default: the latest date in the lake)")
	cmd.Flags().BoolVar(&jsonOut, "json", false, "print the reports as JSON (same as --format json)")
	cmd.Flags().StringVar(&format, "format", "text", "output `FORMAT`: "+strings.Join(reportFormats, ", "))
	cmd.Flags().StringVarP(&outPath, "out", "o", "", "write to `PATH` instead of standard output (a directory for csv)")
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

// reportFormats are the values of --format of the commands that write
// reports (report, cohort run, risk run).
var reportFormats = []string{"text", "json", "csv", "parquet", "html"}

// checkReportFormat refuses a format not in reportFormats, and parquet
// without a directory to write to.
func checkReportFormat(format, outPath string) error {
	if !slices.Contains(reportFormats, format) {
		return fmt.Errorf("--format %q: want one of %s", format, strings.Join(reportFormats, ", "))
	}
	if format == "parquet" && outPath == "" {
		return fmt.Errorf("--format parquet writes one file per report: give a directory with --out")
	}
	return nil
}

// writeReports writes the page's reports to w in format (one of
// reportFormats but parquet); html writes the whole page.
func writeReports(w io.Writer, page *queries.Page, format string) error {
	reports := page.Reports
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(reports)
	case "html":
		return page.WriteHTML(w)
	case "parquet":
		return fmt.Errorf("parquet reports are written to a directory (--out)")
	}
	for i, r := range reports {
		if i > 0 {
			fmt.Fprintln(w)
		}
		var err error
		if format == "csv" {
			err = r.WriteCSV(w)
		} else {
			err = r.WriteText(w)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// writeReportFiles writes reports to path: for csv and parquet a directory
// with one file per report named after its title, otherwise one file. Each
// file is written under a temporary name and renamed, so a reader never
// sees half a report.
func writeReportFiles(path string, page *queries.Page, format string) error {
	if format != "csv" && format != "parquet" {
		if dir := filepath.Dir(path); dir != "" {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return err
			}
		}
		return writeFileAtomic(path, func(w io.Writer) error { return writeReports(w, page, format) })
	}
	if err := os.MkdirAll(path, 0o755); err != nil {
		return err
	}
	for _, r := range page.Reports {
		write := r.WriteCSV
		if format == "parquet" {
			write = r.WriteParquet
		}
		name := filepath.Join(path, slug(r.Title)+"."+format)
		if err := writeFileAtomic(name, write); err != nil {
			return err
		}
	}
	return nil
}

// writeFileAtomic writes name through a temporary file in the same
// directory, renamed into place when write succeeds.
func writeFileAtomic(name string, write func(io.Writer) error) error {
	f, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // a no-op after the rename
	if err := write(f); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Chmod(f.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(f.Name(), name)
}

// slug turns a report title into a file name: lower case letters and
// digits, other runs of characters as one hyphen.
func slug(title string) string {
	var b strings.Builder
	hyphen := false
	for _, r := range strings.ToLower(title) {
		if unicode.IsLetter(r) && r < unicode.MaxASCII || unicode.IsDigit(r) && r < unicode.MaxASCII {
			b.WriteRune(r)
			hyphen = false
		} else if !hyphen && b.Len() > 0 {
			b.WriteByte('-')
			hyphen = true
		}
	}
	return strings.TrimSuffix(b.String(), "-")
}
