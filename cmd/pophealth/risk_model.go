package main

import (
	"context"
	"encoding/csv"
	"fmt"

	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/pophealth/pophealth/lake"
	"github.com/pophealth/pophealth/models"
	"github.com/pophealth/pophealth/queries"
	"github.com/pophealth/pophealth/queries/riskmodel"
	"github.com/pophealth/pophealth/workspace"
)

// openRiskEngine opens the workspace's lake in DuckDB and returns the
// engine, the data end date and the committed batch ids (the snapshot).
func openRiskEngine(ctx context.Context, g *globals) (*workspace.Workspace, *queries.Engine, models.Date, []string, error) {
	ws, lk, eng, err := openEngine(ctx, g)
	if err != nil {
		return nil, nil, 0, nil, err
	}
	ms, err := lk.Manifests()
	if err != nil {
		eng.Close()
		return nil, nil, 0, nil, err
	}
	batches := make([]string, len(ms))
	for i, m := range ms {
		batches[i] = m.BatchID
	}
	end, err := eng.DataEnd(ctx)
	if err != nil {
		eng.Close()
		return nil, nil, 0, nil, err
	}
	return ws, eng, end, batches, nil
}

// openEngine opens the workspace, its lake and a DuckDB engine over the
// lake; the caller closes the engine.
func openEngine(ctx context.Context, g *globals) (*workspace.Workspace, *lake.Lake, *queries.Engine, error) {
	ws, err := workspace.Open(g.workspace)
	if err != nil {
		return nil, nil, nil, err
	}
	lk, err := lake.Open(ws.LakeDir())
	if err != nil {
		return nil, nil, nil, err
	}
	eng, err := queries.Open(ctx, lk)
	if err != nil {
		return nil, nil, nil, err
	}
	return ws, lk, eng, nil
}

func parseAsOf(s string, def models.Date) (models.Date, error) {
	if s == "" {
		return def, nil
	}
	d, err := models.ParseDate(s)
	if err != nil {
		return 0, fmt.Errorf("--as-of: %w", err)
	}
	return d, nil
}

func newRiskFitCmd(g *globals) *cobra.Command {
	var (
		asOf, format, outPath string
		jsonOut               bool
	)
	cmd := &cobra.Command{
		Use:   "fit",
		Short: "Fit the 12-month emergency-admission model on the lake (temporal split) and report its validation",
		Long: `fit fits a logistic regression for "emergency admission in the next 12
months" with a temporal split. With E the end of the data (--as-of, default
the latest date in the lake):

  fit:        features on E - 24 months, outcome in the 12 months after
  validate:   features on E - 12 months, outcome in the 12 months up to E

Features: age, sex, Charlson (Quan 2011) and eFI from the person's codes,
emergency admissions and A&E attendances in the previous 12 months, and the
number of different medicines in the previous 12 months
(queries/riskmodel/sql/features.sql). It prints the coefficients, the
validation AUROC with a DeLong 95% confidence interval, calibration by
decile of predicted risk and the positive predictive value in the top 0.5%
and 5%; counts are suppressed (1-7 as *, others rounded to 5).

The model is stored in WORKSPACE/models/emergency-admission-12m/ as
<version>.json and latest.json, with the index dates and the lake batches
it was fitted on.

--format csv, parquet or html with --out writes the three tables
(coefficients, calibration with a chart, PPV) as files; --json prints the
model's provenance and AUROC with the tables.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !jsonOut && format != "text" {
				if err := checkReportFormat(format, outPath); err != nil {
					return err
				}
			}
			ctx := cmd.Context()
			ws, eng, end, batches, err := openRiskEngine(ctx, g)
			if err != nil {
				return err
			}
			defer eng.Close()
			e, err := parseAsOf(asOf, end)
			if err != nil {
				return err
			}
			if e > end {
				return fmt.Errorf("--as-of %s is after the end of the data (%s): the validation outcome would be incomplete", e, end)
			}
			fitIndex := models.DateOf(e.Time().AddDate(-2, 0, 0))
			g.logger.Info("risk fit", "fit_index", fitIndex, "data_end", end)
			m, err := riskmodel.FitOnLake(ctx, eng, fitIndex, batches)
			if err != nil {
				return err
			}
			path, err := m.Save(riskmodel.Dir(ws.Dir))
			if err != nil {
				return err
			}
			if err := appendAudit(ws, "risk fit", map[string]any{
				"model": m.Name, "version": m.Version, "fit_index": m.FitIndex, "validation_index": m.ValidationIndex,
				"snapshot_batches": m.Snapshot, "auroc": m.Validation.AUROC.AUC,
			}); err != nil {
				return err
			}
			reports := fitReports(m)
			if !jsonOut && format != "text" {
				a := m.Validation.AUROC
				page := &queries.Page{
					Title: "Emergency admission in the next 12 months: model validation",
					Subtitle: fmt.Sprintf("Model %s %s fitted with features on %s, validated on %s (lake snapshot of %d batches).",
						m.Name, m.Version, m.FitIndex, m.ValidationIndex, len(m.Snapshot)),
					Generated: time.Now(),
					Reports:   reports,
					KeyFigures: []queries.KeyFigure{
						{Label: "validation AUROC", Value: queries.Mean(a.AUC, int64(m.Validation.People), 3),
							Detail: fmt.Sprintf("95%% CI %.3f-%.3f (DeLong)", a.Lower, a.Upper)},
						{Label: "admitted in the validation year", Unit: "%", Value: queries.Ratio(int64(m.Validation.Events), int64(m.Validation.People), 100),
							Detail: fmt.Sprintf("mean predicted %.1f%%", 100*m.Validation.MeanPredicted)},
					},
				}
				if outPath != "" {
					return writeReportFiles(outPath, page, format)
				}
				return writeReports(cmd.OutOrStdout(), page, format)
			}
			if jsonOut {
				return writeJSON(cmd.OutOrStdout(), map[string]any{
					"model": m.Name, "version": m.Version, "path": path,
					"fit_index": m.FitIndex, "validation_index": m.ValidationIndex, "snapshot_batches": m.Snapshot,
					"auroc":   m.Validation.AUROC,
					"reports": reports,
				})
			}
			out := cmd.OutOrStdout()
			a := m.Validation.AUROC
			fmt.Fprintf(out, "Model %s %s (stored in %s)\n", m.Name, m.Version, path)
			fmt.Fprintf(out, "Fit: features on %s, outcome to %s; validation: features on %s, outcome to %s\n",
				m.FitIndex, m.ValidationIndex, m.ValidationIndex, e)
			fmt.Fprintf(out, "Lake snapshot: %d batches %v\n", len(m.Snapshot), m.Snapshot)
			fmt.Fprintf(out, "Validation AUROC %.3f (95%% CI %.3f-%.3f, DeLong); on the fitting year %.3f\n",
				a.AUC, a.Lower, a.Upper, m.Validation.FitAUROC.AUC)
			fmt.Fprintf(out, "Calibration in the large: mean predicted %.2f%%, observed %s%%; Brier score %.4f\n\n",
				100*m.Validation.MeanPredicted,
				queries.Ratio(int64(m.Validation.Events), int64(m.Validation.People), 100), m.Validation.Brier)
			for _, r := range reports {
				if err := r.WriteText(out); err != nil {
					return err
				}
				fmt.Fprintln(out)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&asOf, "as-of", "", "end of the data `YYYY-MM-DD` (default: the latest date in the lake)")
	cmd.Flags().BoolVar(&jsonOut, "json", false, "print the results as JSON")
	cmd.Flags().StringVar(&format, "format", "text", "output `FORMAT`: "+strings.Join(reportFormats, ", "))
	cmd.Flags().StringVarP(&outPath, "out", "o", "", "write the tables to `PATH` (a directory for csv and parquet)")
	return cmd
}

// fitReports renders the model's coefficients, calibration and PPV, with
// counts suppressed.
func fitReports(m *riskmodel.Model) []*queries.Report {
	val, _ := models.ParseDate(m.ValidationIndex)
	coef := &queries.Report{
		Title:   "Emergency admission in 12 months: logistic regression coefficients",
		AsOf:    val,
		Columns: []string{"Term", "Log-odds", "Odds ratio", "SE"},
		Notes: []string{fmt.Sprintf("Fitted on %s people (features on %s).",
			queries.Suppress(int64(m.FitPeople)), m.FitIndex)},
	}
	names := append([]string{"intercept"}, m.Features...)
	for i, n := range names {
		coef.Rows = append(coef.Rows, []queries.Cell{
			queries.Label(n),
			queries.Label(strconv.FormatFloat(m.Coefficients[i], 'f', 4, 64)),
			queries.Label(strconv.FormatFloat(math.Exp(m.Coefficients[i]), 'f', 3, 64)),
			queries.Label(strconv.FormatFloat(m.SE[i], 'f', 4, 64)),
		})
	}
	cal := &queries.Report{
		Title:   "Calibration by decile of predicted risk (validation year)",
		AsOf:    val,
		Columns: []string{"Decile", "People", "Admitted", "Mean predicted (%)", "Observed (%)"},
		Notes:   []string{"Deciles of predicted risk, lowest first; observed: share with an emergency admission in the 12 months after the index date."},
	}
	chart := queries.Chart{Title: "Calibration: mean predicted and observed risk by decile of predicted risk", Kind: queries.Bars, Unit: "% admitted in 12 months"}
	predicted, observed := queries.Series{Name: "Mean predicted"}, queries.Series{Name: "Observed"}
	for _, d := range m.Validation.Calibration {
		p, o := queries.Mean(100*d.Predicted, d.People, 1), queries.Ratio(d.Events, d.People, 100)
		cal.Rows = append(cal.Rows, []queries.Cell{
			queries.Label(strconv.Itoa(d.Group)),
			queries.Suppress(d.People),
			queries.Suppress(d.Events),
			p, o,
		})
		chart.Categories = append(chart.Categories, strconv.Itoa(d.Group))
		predicted.Values = append(predicted.Values, p)
		observed.Values = append(observed.Values, o)
	}
	chart.Series = []queries.Series{predicted, observed}
	cal.Charts = []queries.Chart{chart}
	ppv := &queries.Report{
		Title:   "Positive predictive value of flagging the highest-risk people (validation year)",
		AsOf:    val,
		Columns: []string{"Flagged", "People", "Admitted", "PPV (%)", "Share of all admitted (%)"},
	}
	for _, t := range m.Validation.Top {
		ppv.Rows = append(ppv.Rows, []queries.Cell{
			queries.Label(fmt.Sprintf("top %.1f%%", 100*t.Share)),
			queries.Suppress(t.Flagged),
			queries.Suppress(t.Events),
			queries.Ratio(t.Events, t.Flagged, 100),
			queries.Ratio(t.Events, int64(m.Validation.Events), 100),
		})
	}
	return []*queries.Report{coef, cal, ppv}
}

func newRiskRunCmd(g *globals) *cobra.Command {
	var (
		asOf, version, scoresFile string
		format, outPath           string
		jsonOut                   bool
	)
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Score everyone with the fitted model and assign risk-pyramid tiers",
		Long: `run scores everyone alive and registered on the as-of date (default the
latest date in the lake) with the stored model (latest unless --model) and
ranks them into the tiers of the Kaiser pyramid: top 0.5%, next 4.5%, next
15%, remaining 80% (ties by pseudonymous key). It reports, suppressed, the
tiers (with a pyramid chart) and each tier's make-up by deprivation decile.

Formats: text (default), json, csv and parquet (one file per table in the
directory --out) and html (one self-contained page with charts).

--scores writes one row per person (pseudonymous key, risk, tier) as CSV
for analysts working under the purpose: it is row-level data, not a report
for commissioners.

Examples:
  pophealth risk run
  pophealth risk run --format html --out reports/risk.html
  pophealth risk run --scores /secure/scores.csv`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if jsonOut {
				format = "json"
			}
			if err := checkReportFormat(format, outPath); err != nil {
				return err
			}
			ctx := cmd.Context()
			ws, eng, end, _, err := openRiskEngine(ctx, g)
			if err != nil {
				return err
			}
			defer eng.Close()
			d, err := parseAsOf(asOf, end)
			if err != nil {
				return err
			}
			m, err := riskmodel.Load(riskmodel.Dir(ws.Dir), version)
			if err != nil {
				return err
			}
			scored, err := riskmodel.Run(ctx, eng, m, d)
			if err != nil {
				return err
			}
			if scoresFile != "" {
				if err := writeScores(scoresFile, scored); err != nil {
					return err
				}
			}
			if err := appendAudit(ws, "risk run", map[string]any{"model": m.Name, "version": m.Version, "as_of": d.String(),
				"people": len(scored), "scores": scoresFile, "format": format, "out": outPath}); err != nil {
				return err
			}
			page := &queries.Page{
				Title: "Risk stratification: emergency admission in the next 12 months",
				Subtitle: fmt.Sprintf("Everyone alive and registered on %s, scored by model %s %s (validation AUROC %.3f).",
					d, m.Name, m.Version, m.Validation.AUROC.AUC),
				Generated: time.Now(),
				Reports:   []*queries.Report{tierReport(m, d, scored), tierDeprivationReport(d, scored)},
			}
			if outPath != "" {
				return writeReportFiles(outPath, page, format)
			}
			return writeReports(cmd.OutOrStdout(), page, format)
		},
	}
	cmd.Flags().StringVar(&asOf, "as-of", "", "scoring date `YYYY-MM-DD` (default: the latest date in the lake)")
	cmd.Flags().StringVar(&version, "model", "", "model `VERSION` to use (default: the latest fitted)")
	cmd.Flags().StringVar(&scoresFile, "scores", "", "also write person_key,risk,tier to this CSV `FILE` (row-level, pseudonymised)")
	cmd.Flags().BoolVar(&jsonOut, "json", false, "print the reports as JSON (same as --format json)")
	cmd.Flags().StringVar(&format, "format", "text", "output `FORMAT`: "+strings.Join(reportFormats, ", "))
	cmd.Flags().StringVarP(&outPath, "out", "o", "", "write the reports to `PATH` instead of standard output (a directory for csv and parquet)")
	return cmd
}

// tierDeprivationReport shows how each tier of the pyramid is made up by
// deprivation decile: where the highest-risk people live.
func tierDeprivationReport(asOf models.Date, scored []riskmodel.Scored) *queries.Report {
	var counts [5][12]int64 // tier, decile (0 unknown, 1-10), [11] total
	for _, s := range scored {
		d := 0
		if s.Deprivation != nil {
			d = *s.Deprivation
		}
		counts[s.Tier][d]++
		counts[s.Tier][11]++
	}
	r := &queries.Report{
		Title:   "Risk tiers by deprivation decile",
		AsOf:    asOf,
		Columns: []string{"Tier", "Most deprived fifth (deciles 1-2, %)", "Deciles 3-8 (%)", "Least deprived fifth (deciles 9-10, %)", "Decile unknown (%)", "People"},
		Notes: []string{"Share of each tier's people by the English IMD decile of their area (1 most deprived). " +
			"A tier with more than a fifth of its people in the most deprived fifth is weighted towards deprived areas."},
	}
	chart := queries.Chart{Title: "Share of each tier living in the most deprived fifth of areas", Kind: queries.Bars, Unit: "% of the tier", Series: []queries.Series{{Name: "Deciles 1-2"}}}
	for t := riskmodel.Tier(1); t <= 4; t++ {
		c := counts[t]
		sum := func(lo, hi int) int64 {
			var n int64
			for d := lo; d <= hi; d++ {
				n += c[d]
			}
			return n
		}
		most := queries.Ratio(sum(1, 2), c[11], 100)
		r.Rows = append(r.Rows, []queries.Cell{queries.Label(t.String()), most, queries.Ratio(sum(3, 8), c[11], 100),
			queries.Ratio(sum(9, 10), c[11], 100), queries.Ratio(c[0], c[11], 100), queries.Suppress(c[11])})
		chart.Categories = append(chart.Categories, t.String())
		chart.Series[0].Values = append(chart.Series[0].Values, most)
	}
	r.Charts = []queries.Chart{chart}
	return r
}

func tierReport(m *riskmodel.Model, asOf models.Date, scored []riskmodel.Scored) *queries.Report {
	type agg struct {
		people, prior, aged75 int64
		expected, charlson    float64
		frail                 int64
	}
	var tiers [5]agg
	for _, s := range scored {
		a := &tiers[s.Tier]
		a.people++
		a.prior += int64(s.Prior)
		a.expected += s.Risk
		a.charlson += float64(s.Charlson)
		if s.EFI > 0.12 {
			a.frail++
		}
		if s.Age != nil && *s.Age >= 75 {
			a.aged75++
		}
	}
	r := &queries.Report{
		Title: "Risk stratification by predicted emergency admission in the next 12 months",
		AsOf:  asOf,
		Columns: []string{"Tier", "People", "Predicted admitted in 12 months", "Predicted risk (%)",
			"Emergency admissions in last 12 months per 1,000", "Mean Charlson", "Frailty mild or worse (%)", "Aged 75+ (%)"},
		Notes: []string{
			fmt.Sprintf("Model %s %s, fitted with features on %s and validated on %s (AUROC %.3f, 95%% CI %.3f-%.3f).",
				m.Name, m.Version, m.FitIndex, m.ValidationIndex, m.Validation.AUROC.AUC, m.Validation.AUROC.Lower, m.Validation.AUROC.Upper),
			"Population: people alive and registered with a GP practice on the as-at date.",
			"Tiers: people ranked by predicted risk, highest first (ties by pseudonymous key): top 0.5%, next 4.5%, next 15%, remaining 80%.",
			"Predicted admitted: the sum of predicted risks (expected number of people with an emergency admission).",
			"Frailty: electronic Frailty Index above 0.12 (mild, moderate or severe).",
		},
	}
	pyramid := queries.Chart{Title: "Risk pyramid: people by tier", Kind: queries.Pyramid, Unit: "people", Series: []queries.Series{{Name: "People"}}}
	for t := riskmodel.Tier(1); t <= 4; t++ {
		a := tiers[t]
		expected := int64(math.Round(a.expected))
		pyramid.Categories = append(pyramid.Categories, t.String())
		pyramid.Series[0].Values = append(pyramid.Series[0].Values, queries.Suppress(a.people))
		r.Rows = append(r.Rows, []queries.Cell{
			queries.Label(t.String()),
			queries.Suppress(a.people),
			queries.Suppress(expected),
			queries.Ratio(expected, a.people, 100),
			queries.Ratio(a.prior, a.people, 1000),
			queries.Ratio(int64(math.Round(a.charlson)), a.people, 1),
			queries.Ratio(a.frail, a.people, 100),
			queries.Ratio(a.aged75, a.people, 100),
		})
	}
	r.Charts = []queries.Chart{pyramid}
	return r
}

func writeScores(path string, scored []riskmodel.Scored) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	_ = w.Write([]string{"person_key", "risk", "tier"})
	for _, s := range scored {
		_ = w.Write([]string{s.Key, strconv.FormatFloat(s.Risk, 'f', 6, 64), strconv.Itoa(int(s.Tier))})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Close()
}
