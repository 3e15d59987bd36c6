package queries

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/pophealth/pophealth/models"
	"github.com/pophealth/pophealth/queries/suppress"
)

// ErrNoData is returned by DataEnd when the lake holds no dated records.
var ErrNoData = errors.New("queries: the lake holds no dated records")

// DataEnd returns the latest date carried by any clinical record in the
// lake, ignoring dates after the newest batch was committed
// (sql/data_end.sql): the natural as-of date for reports when the caller
// has none.
func (e *Engine) DataEnd(ctx context.Context) (models.Date, error) {
	body, err := sqlFiles.ReadFile("sql/data_end.sql")
	if err != nil {
		return 0, fmt.Errorf("queries: %w", err)
	}
	var end sql.NullTime
	if err := e.db.QueryRowContext(ctx, string(body)).Scan(&end); err != nil {
		return 0, fmt.Errorf("queries: sql/data_end.sql: %w", err)
	}
	if !end.Valid {
		return 0, ErrNoData
	}
	return models.DateOf(end.Time.UTC()), nil
}

// cohortRow is one row of sql/cohort.sql. Its counts are exact and never
// leave the package: CohortReport suppresses them.
type cohortRow struct {
	ageBand, sex       string
	cohort, registered int64
}

// CohortReport counts people with type 2 diabetes and at least one other
// long-term condition, alive and registered on asOf, by age band and sex,
// against the registered population (sql/cohort.sql). Counts are
// suppressed.
func (e *Engine) CohortReport(ctx context.Context, asOf models.Date) (*Report, error) {
	rows, err := e.cohortCounts(ctx, asOf)
	if err != nil {
		return nil, err
	}
	return cohortReport(asOf, rows), nil
}

func (e *Engine) cohortCounts(ctx context.Context, asOf models.Date) ([]cohortRow, error) {
	var out []cohortRow
	err := e.query(ctx, "cohort.sql", asOf, func(rows *sql.Rows) error {
		var r cohortRow
		if err := rows.Scan(&r.ageBand, &r.sex, &r.cohort, &r.registered); err != nil {
			return err
		}
		out = append(out, r)
		return nil
	})
	return out, err
}

func cohortReport(asOf models.Date, rows []cohortRow) *Report {
	r := &Report{
		Title:   "People with type 2 diabetes and at least one other long-term condition",
		AsOf:    asOf,
		Columns: []string{"Age band", "Sex", "People", "Registered", "Per 1,000 registered"},
		Notes: []string{
			"Population: people alive and registered with a GP practice on the as-at date.",
			"Cohort: a type 2 diabetes diagnosis and a diagnosis of another long-term condition (codelists/ltc.csv), both recorded by the as-at date.",
			"Age is in whole years on the as-at date, from year and month of birth.",
		},
	}
	chart := Chart{Title: "Prevalence by age band and sex", Kind: Bars, Unit: "per 1,000 registered"}
	series := map[string]int{}
	counts := make([][]int64, 0, len(rows)+1)
	var cohort, registered int64
	for _, x := range rows {
		counts = append(counts, []int64{x.cohort, x.registered})
		cohort += x.cohort
		registered += x.registered
	}
	counts = append(counts, []int64{cohort, registered})
	cells := protectedCounts(counts, []suppress.Line{columnTotal(len(rows), 0), columnTotal(len(rows), 1)})
	for i, x := range rows {
		rate := ratio(x.cohort, x.registered, 1000)
		if cells[i][0].Suppressed() || cells[i][1].Suppressed() {
			rate = withheld
		}
		r.Rows = append(r.Rows, []Cell{label(x.ageBand), label(x.sex), cells[i][0], cells[i][1], rate})
		chart.addPoint(x.ageBand, x.sex, rate)
		if x.registered > 0 {
			series[x.sex]++
		}
	}
	total := cells[len(rows)]
	r.Rows = append(r.Rows, []Cell{label("All ages"), label("All"), total[0], total[1], ratio(cohort, registered, 1000)})
	chart.keepSeries(func(name string) bool { return series[name] > 0 })
	r.Charts = []Chart{chart}
	return r
}

// riskRow is one row of sql/risk.sql, exact like cohortRow.
type riskRow struct {
	tier                int
	label               string
	people, conditions  int64
	emergencyAdmissions int64
	aged75Plus          int64
	minScore, maxScore  sql.NullInt64
}

// RiskRanking scores everyone alive and registered on asOf with a simple
// additive score (age band, number of long-term conditions, emergency
// admissions in the previous 12 months; see sql/risk.sql), ranks them into
// the four tiers of the Kaiser Permanente pyramid (top 0.5%, next 4.5%,
// next 15%, remaining 80%) and describes each tier. Only aggregates are
// reported, and counts are suppressed.
func (e *Engine) RiskRanking(ctx context.Context, asOf models.Date) (*Report, error) {
	rows, err := e.riskCounts(ctx, asOf)
	if err != nil {
		return nil, err
	}
	return riskReport(asOf, rows), nil
}

func (e *Engine) riskCounts(ctx context.Context, asOf models.Date) ([]riskRow, error) {
	var out []riskRow
	err := e.query(ctx, "risk.sql", asOf, func(rows *sql.Rows) error {
		var r riskRow
		if err := rows.Scan(&r.tier, &r.label, &r.people, &r.conditions, &r.emergencyAdmissions, &r.aged75Plus, &r.minScore, &r.maxScore); err != nil {
			return err
		}
		out = append(out, r)
		return nil
	})
	return out, err
}

func riskReport(asOf models.Date, rows []riskRow) *Report {
	r := &Report{
		Title:   "Risk stratification: population by tier of the risk pyramid",
		AsOf:    asOf,
		Columns: []string{"Tier", "People", "Score range", "Mean long-term conditions", "Emergency admissions per 1,000", "Aged 75+ (%)"},
		Notes: []string{
			"Population: people alive and registered with a GP practice on the as-at date.",
			"Score: 0-4 points for age (40-59: 1, 60-69: 2, 70-79: 3, 80+: 4), 1 point per long-term condition, " +
				"2 points per emergency admission in the 12 months before the as-at date (at most 3 counted).",
			"Tiers: people ranked by score, highest first; equal scores are ordered arbitrarily but repeatably, " +
				"so people with the same score may fall in neighbouring tiers.",
		},
	}
	pyramid := Chart{Title: "Risk pyramid: people by tier", Kind: Pyramid, Unit: "people", Series: []Series{{Name: "People"}}}
	for _, x := range rows {
		pyramid.Categories = append(pyramid.Categories, x.label)
		pyramid.Series[0].Values = append(pyramid.Series[0].Values, Suppress(x.people))
		r.Rows = append(r.Rows, []Cell{
			label(x.label),
			Suppress(x.people),
			scoreRange(x.minScore, x.maxScore, x.people),
			ratio(x.conditions, x.people, 1),
			ratio(x.emergencyAdmissions, x.people, 1000),
			ratio(x.aged75Plus, x.people, 100),
		})
	}
	r.Charts = []Chart{pyramid}
	return r
}

// scoreRange shows the scores a tier spans, withheld when the tier is small
// enough for its scores to describe individuals.
func scoreRange(lo, hi sql.NullInt64, people int64) Cell {
	switch {
	case people == 0 || !lo.Valid || !hi.Valid:
		return Cell{kind: kindEmpty, text: "-"}
	case people <= suppressMax:
		return withheld
	case lo.Int64 == hi.Int64:
		return label(fmt.Sprint(lo.Int64))
	}
	return label(fmt.Sprintf("%d-%d", lo.Int64, hi.Int64))
}
