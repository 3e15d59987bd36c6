package cohort

import (
	"context"
	"fmt"

	"github.com/pophealth/pophealth/models"
	"github.com/pophealth/pophealth/queries"
)

// Step is one line of the attrition table: people remaining after it.
type Step struct {
	Name   string
	People int64
}

// AgeSexCount is the number of members in one age band and sex.
type AgeSexCount struct {
	AgeBand, Sex string
	People       int64
}

// Result is what a cohort run found. It holds exact counts: Report
// suppresses them before anyone sees them.
type Result struct {
	Spec       string
	Attrition  []Step
	ByAgeSex   []AgeSexCount
	ByPractice []PracticeCount
}

// PracticeCount is the number of members registered with one practice.
type PracticeCount struct {
	Practice string
	People   int64
}

// Member is one cohort member (row-level; for tests and analysts under the
// purpose, never for reports).
type Member struct {
	PersonKey string
	IndexDate models.Date
	ExitDate  models.Date
	Age       *int64
	Sex       string
	Practice  string
}

// Run executes a compiled spec on the engine.
func Run(ctx context.Context, eng *queries.Engine, name string, q *Query) (*Result, error) {
	res := &Result{Spec: name}
	att, err := eng.Query(ctx, q.Attrition())
	if err != nil {
		return nil, fmt.Errorf("cohort %s: attrition: %w", name, err)
	}
	if len(att.Rows) != 1 || len(att.Rows[0]) != len(q.Steps) {
		return nil, fmt.Errorf("cohort %s: attrition returned %d rows", name, len(att.Rows))
	}
	for i, v := range att.Rows[0] {
		n, err := count(v)
		if err != nil {
			return nil, fmt.Errorf("cohort %s: step %d: %w", name, i, err)
		}
		res.Attrition = append(res.Attrition, Step{Name: q.Steps[i], People: n})
	}
	by, err := eng.Query(ctx, q.ByAgeSex())
	if err != nil {
		return nil, fmt.Errorf("cohort %s: counts: %w", name, err)
	}
	for _, r := range by.Rows {
		n, err := count(r[2])
		if err != nil {
			return nil, err
		}
		band, _ := r[0].(string)
		sex, _ := r[1].(string)
		res.ByAgeSex = append(res.ByAgeSex, AgeSexCount{AgeBand: band, Sex: sex, People: n})
	}
	bp, err := eng.Query(ctx, q.ByPractice())
	if err != nil {
		return nil, fmt.Errorf("cohort %s: counts by practice: %w", name, err)
	}
	for _, r := range bp.Rows {
		n, err := count(r[1])
		if err != nil {
			return nil, err
		}
		p, _ := r[0].(string)
		res.ByPractice = append(res.ByPractice, PracticeCount{Practice: p, People: n})
	}
	return res, nil
}

// Members lists the cohort's members.
func Members(ctx context.Context, eng *queries.Engine, q *Query) ([]Member, error) {
	rows, err := eng.Query(ctx, q.Members())
	if err != nil {
		return nil, fmt.Errorf("cohort: members: %w", err)
	}
	out := make([]Member, 0, len(rows.Rows))
	for _, r := range rows.Rows {
		var m Member
		m.PersonKey, _ = r[0].(string)
		idx, ok1 := r[1].(interface{ Unix() int64 })
		exit, ok2 := r[2].(interface{ Unix() int64 })
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("cohort: members: dates are %T, %T", r[1], r[2])
		}
		m.IndexDate = models.Date(idx.Unix() / 86400)
		m.ExitDate = models.Date(exit.Unix() / 86400)
		if a, ok := r[3].(int64); ok {
			m.Age = &a
		}
		m.Sex, _ = r[4].(string)
		m.Practice, _ = r[5].(string)
		out = append(out, m)
	}
	return out, nil
}

func count(v any) (int64, error) {
	switch x := v.(type) {
	case int64:
		return x, nil
	case int32:
		return int64(x), nil
	}
	return 0, fmt.Errorf("count is %T", v)
}

// Report renders the result for commissioners: attrition and counts by
// age band and sex, every count suppressed.
func (r *Result) Report(asOf models.Date) []*queries.Report {
	att := &queries.Report{
		Title:   "Cohort " + r.Spec + ": attrition",
		AsOf:    asOf,
		Columns: []string{"Step", "People remaining", "Share of entry (%)"},
		Notes:   []string{"Each step keeps the people who meet it and every step above it."},
	}
	var entry int64
	if len(r.Attrition) > 0 {
		entry = r.Attrition[0].People
	}
	for _, s := range r.Attrition {
		att.Rows = append(att.Rows, []queries.Cell{queries.Label(s.Name), queries.Suppress(s.People), queries.Ratio(s.People, entry, 100)})
	}
	by := &queries.Report{
		Title:   "Cohort " + r.Spec + ": members by age band (at index) and sex",
		AsOf:    asOf,
		Columns: []string{"Age band", "Sex", "People"},
	}
	for _, c := range r.ByAgeSex {
		by.Rows = append(by.Rows, []queries.Cell{queries.Label(c.AgeBand), queries.Label(c.Sex), queries.Suppress(c.People)})
	}
	bp := &queries.Report{
		Title:   "Cohort " + r.Spec + ": members by registered practice",
		AsOf:    asOf,
		Columns: []string{"Practice", "People"},
	}
	for _, c := range r.ByPractice {
		bp.Rows = append(bp.Rows, []queries.Cell{queries.Label(c.Practice), queries.Suppress(c.People)})
	}
	return []*queries.Report{att, by, bp}
}
