package cohort

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/pophealth/pophealth/models"
	"github.com/pophealth/pophealth/queries"
	"github.com/pophealth/pophealth/queries/suppress"
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
	Spec      string
	Attrition []Step
	ByAgeSex  []AgeSexCount
	// ByDeprivation counts members by IMD decile of their area, "1" (most
	// deprived) to "10", then "unknown".
	ByDeprivation []GroupCount
	ByPractice    []PracticeCount
}

// GroupCount is the number of members in one group.
type GroupCount struct {
	Group  string
	People int64
}

// PracticeCount is the number of members registered with one practice and
// the practice's list size at the end of the study.
type PracticeCount struct {
	Practice   string
	People     int64
	Registered int64
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

// Run executes a compiled spec on the engine. One statement
// (Query.Flagged) gives the candidates, from which the attrition and the
// members' counts are tallied here, and the practices' list sizes.
func Run(ctx context.Context, eng *queries.Engine, name string, q *Query) (*Result, error) {
	rows, err := eng.Query(ctx, q.Flagged())
	if err != nil {
		return nil, fmt.Errorf("cohort %s: %w", name, err)
	}
	// kind, person_key, index_date, age_band, sex, practice, decile, then
	// the steps' flags, then list_size.
	const fixed = 7
	nflags := len(q.Steps) - 1
	if len(rows.Columns) != fixed+nflags+1 {
		return nil, fmt.Errorf("cohort %s: %d columns for %d steps", name, len(rows.Columns), len(q.Steps))
	}
	// Counts are of distinct people: a person with several index dates
	// (occurrence: all) counts once per step and once per group.
	steps := make([]map[string]bool, len(q.Steps))
	for i := range steps {
		steps[i] = map[string]bool{}
	}
	type key struct{ group, person string }
	ageSex, decile, practice := map[key]bool{}, map[key]bool{}, map[key]bool{}
	listSize := map[string]int64{}
	for _, r := range rows.Rows {
		if kind, _ := r[0].(string); kind == "practice" {
			p, _ := r[5].(string)
			n, err := count(r[fixed+nflags])
			if err != nil {
				return nil, fmt.Errorf("cohort %s: list size of %s: %w", name, p, err)
			}
			listSize[p] = n
			continue
		}
		person, _ := r[1].(string)
		steps[0][person] = true
		member := true
		for i := range nflags {
			pass, ok := r[fixed+i].(bool)
			if !ok {
				return nil, fmt.Errorf("cohort %s: step %q is %T", name, q.Steps[i+1], r[fixed+i])
			}
			if member = member && pass; member {
				steps[i+1][person] = true
			}
		}
		if !member {
			continue
		}
		band, _ := r[3].(string)
		sex, _ := r[4].(string)
		prac, _ := r[5].(string)
		dec := "unknown"
		if r[6] != nil {
			d, err := count(r[6])
			if err != nil {
				return nil, fmt.Errorf("cohort %s: deprivation_decile: %w", name, err)
			}
			dec = strconv.FormatInt(d, 10)
		}
		ageSex[key{band + "\x00" + sex, person}] = true
		decile[key{dec, person}] = true
		practice[key{prac, person}] = true
	}
	res := &Result{Spec: name}
	for i, s := range q.Steps {
		res.Attrition = append(res.Attrition, Step{Name: s, People: int64(len(steps[i]))})
	}
	tally := func(m map[key]bool) map[string]int64 {
		out := map[string]int64{}
		for k := range m {
			out[k.group]++
		}
		return out
	}
	byAgeSex := tally(ageSex)
	for _, g := range slices.Sorted(maps.Keys(byAgeSex)) {
		band, sex, _ := strings.Cut(g, "\x00")
		res.ByAgeSex = append(res.ByAgeSex, AgeSexCount{AgeBand: band, Sex: sex, People: byAgeSex[g]})
	}
	byDecile := tally(decile)
	for d := 1; d <= 10; d++ {
		if n := byDecile[strconv.Itoa(d)]; n > 0 {
			res.ByDeprivation = append(res.ByDeprivation, GroupCount{Group: strconv.Itoa(d), People: n})
		}
	}
	if n := byDecile["unknown"]; n > 0 {
		res.ByDeprivation = append(res.ByDeprivation, GroupCount{Group: "unknown", People: n})
	}
	// Every practice with a list or a member: a practice with none of the
	// cohort is a finding too, and the total is the whole area's.
	byPractice := tally(practice)
	all := maps.Clone(listSize)
	for p := range byPractice {
		all[p] += 0
	}
	for _, p := range slices.Sorted(maps.Keys(all)) {
		res.ByPractice = append(res.ByPractice, PracticeCount{Practice: p, People: byPractice[p], Registered: listSize[p]})
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
	case int8:
		return int64(x), nil
	}
	return 0, fmt.Errorf("count is %T", v)
}

// Report renders the result for commissioners: attrition, members by age
// band and sex, by deprivation decile and by practice, each with a chart,
// every count suppressed under the NHSD rule. Charts are drawn from the
// tables' own cells.
func (r *Result) Report(asOf models.Date) []*queries.Report { return r.ReportAs(asOf, suppress.NHSD) }

// ReportAs is Report with every count and rate suppressed under profile
// p, the purpose's (output: suppression), and notes stating that rule.
func (r *Result) ReportAs(asOf models.Date, p suppress.Profile) []*queries.Report {
	att := &queries.Report{
		Title:   "Cohort " + r.Spec + ": attrition",
		AsOf:    asOf,
		Columns: []string{"Step", "People remaining", "Share of entry (%)"},
		Notes:   []string{"Each step keeps the people who meet it and every step above it."},
	}
	funnel := queries.Chart{Title: "Attrition: people remaining after each step", Kind: queries.HBars, Unit: "people", Series: []queries.Series{{Name: "People"}}}
	var entry int64
	if len(r.Attrition) > 0 {
		entry = r.Attrition[0].People
	}
	for _, s := range r.Attrition {
		n := queries.SuppressAs(p, s.People)
		att.Rows = append(att.Rows, []queries.Cell{queries.Label(s.Name), n, queries.RatioAs(p, s.People, entry, 100)})
		funnel.Categories = append(funnel.Categories, s.Name)
		funnel.Series[0].Values = append(funnel.Series[0].Values, n)
	}
	att.Charts = []queries.Chart{funnel}

	by := &queries.Report{
		Title:   "Cohort " + r.Spec + ": members by age band (at index) and sex",
		AsOf:    asOf,
		Columns: []string{"Age band", "Sex", "People"},
	}
	ageSex := queries.Chart{Title: "Members by age band and sex", Kind: queries.Bars, Unit: "people"}
	var bands []string
	cells := map[string]map[string]queries.Cell{} // sex -> band -> cell
	for _, c := range r.ByAgeSex {
		n := queries.SuppressAs(p, c.People)
		by.Rows = append(by.Rows, []queries.Cell{queries.Label(c.AgeBand), queries.Label(c.Sex), n})
		if !slices.Contains(bands, c.AgeBand) {
			bands = append(bands, c.AgeBand)
		}
		if cells[c.Sex] == nil {
			cells[c.Sex] = map[string]queries.Cell{}
		}
		cells[c.Sex][c.AgeBand] = n
	}
	ageSex.Categories = bands
	for _, sex := range []string{"female", "male", "other", "unknown"} {
		if cells[sex] == nil {
			continue
		}
		s := queries.Series{Name: sex}
		for _, b := range bands {
			c, ok := cells[sex][b]
			if !ok {
				c = queries.SuppressAs(p, 0)
			}
			s.Values = append(s.Values, c)
		}
		ageSex.Series = append(ageSex.Series, s)
	}
	by.Charts = []queries.Chart{ageSex}

	dep := &queries.Report{
		Title:   "Cohort " + r.Spec + ": members by deprivation decile",
		AsOf:    asOf,
		Columns: []string{"IMD decile", "People", "Share of members (%)"},
		Notes: []string{
			"English Index of Multiple Deprivation decile of the member's area (LSOA) from the workspace's deprivation lookup: 1 is the most deprived tenth of areas in England, 10 the least.",
			"Counts by LSOA are not reported: the lake keeps the decile, not the LSOA, and most LSOAs would hold only a handful of members (docs/deprivation.md).",
		},
	}
	depChart := queries.Chart{Title: "Members by IMD decile (1 = most deprived)", Kind: queries.Bars, Unit: "people", Series: []queries.Series{{Name: "People"}}}
	var members int64
	for _, c := range r.ByDeprivation {
		members += c.People
	}
	for _, c := range r.ByDeprivation {
		n := queries.SuppressAs(p, c.People)
		name := c.Group
		switch name {
		case "1":
			name = "1 (most deprived)"
		case "10":
			name = "10 (least deprived)"
		}
		dep.Rows = append(dep.Rows, []queries.Cell{queries.Label(name), n, queries.RatioAs(p, c.People, members, 100)})
		depChart.Categories = append(depChart.Categories, c.Group)
		depChart.Series[0].Values = append(depChart.Series[0].Values, n)
	}
	dep.Charts = []queries.Chart{depChart}

	bp := &queries.Report{
		Title:   "Cohort " + r.Spec + ": members by registered practice",
		AsOf:    asOf,
		Columns: []string{"Practice", "People", "Registered", "Per 1,000 registered"},
		Notes: []string{"Registered: people alive and registered with the practice at the end of the study; " +
			"members are counted at their practice as known then, whether or not they are still alive."},
	}
	// The chart ranks practices, highest prevalence first; the table
	// lists them by code with the whole area's rate last.
	prev := queries.Chart{Title: "Members per 1,000 registered patients, by practice, highest first", Kind: queries.HBars, Unit: "per 1,000 registered", Series: []queries.Series{{Name: "Per 1,000"}}}
	byRate := slices.Clone(r.ByPractice)
	rate := func(c PracticeCount) float64 {
		if c.Registered == 0 {
			return -1
		}
		return float64(c.People) / float64(c.Registered)
	}
	slices.SortStableFunc(byRate, func(a, b PracticeCount) int { return cmp.Compare(rate(b), rate(a)) })
	for _, c := range byRate {
		prev.Categories = append(prev.Categories, c.Practice)
		prev.Series[0].Values = append(prev.Series[0].Values, queries.RatioAs(p, c.People, c.Registered, 1000))
	}
	var people, registered int64
	for _, c := range r.ByPractice {
		bp.Rows = append(bp.Rows, []queries.Cell{queries.Label(c.Practice), queries.SuppressAs(p, c.People), queries.SuppressAs(p, c.Registered), queries.RatioAs(p, c.People, c.Registered, 1000)})
		people += c.People
		registered += c.Registered
	}
	bp.Rows = append(bp.Rows, []queries.Cell{queries.Label("All practices"), queries.SuppressAs(p, people), queries.SuppressAs(p, registered), queries.RatioAs(p, people, registered, 1000)})
	bp.Charts = []queries.Chart{prev}
	reports := []*queries.Report{att, by, dep, bp}
	for _, rep := range reports {
		rep.Profile = p
	}
	return reports
}

// KeyFigures are the numbers a cohort report leads with: the cohort's
// size, the share of entry-event people who qualified, and the share in
// the most deprived fifth of areas. They are suppressed like the tables.
func (r *Result) KeyFigures() []queries.KeyFigure { return r.KeyFiguresAs(suppress.NHSD) }

// KeyFiguresAs is KeyFigures under suppression profile p.
func (r *Result) KeyFiguresAs(p suppress.Profile) []queries.KeyFigure {
	var entry, final int64
	if n := len(r.Attrition); n > 0 {
		entry, final = r.Attrition[0].People, r.Attrition[n-1].People
	}
	var members, deprived, known int64
	for _, c := range r.ByDeprivation {
		members += c.People
		switch c.Group {
		case "1", "2":
			deprived += c.People
		}
		if c.Group != "unknown" {
			known += c.People
		}
	}
	return []queries.KeyFigure{
		{Label: "people in the cohort", Value: queries.SuppressAs(p, final), Detail: "after every inclusion and exclusion rule"},
		{Label: "of people with the entry event", Unit: "%", Value: queries.RatioAs(p, final, entry, 100), Detail: "meet every rule"},
		{Label: "live in the most deprived fifth of areas", Unit: "%", Value: queries.RatioAs(p, deprived, known, 100),
			Detail: "IMD deciles 1-2, of members whose area is known (a fifth of England lives there)"},
	}
}
