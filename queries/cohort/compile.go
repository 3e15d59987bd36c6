package cohort

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/pophealth/pophealth/models"
)

// Query is a compiled spec: DuckDB SQL over the lake views (queries'
// views.sql) that analysts can read with "cohort run --explain".
type Query struct {
	// Steps names the attrition steps in order: the entry event, the
	// registration requirement, then each inclusion rule and each
	// exclusion rule.
	Steps []string
	// ctes is the WITH clause shared by every statement below.
	ctes string
	// flags are the boolean columns of "flagged", one per step after the
	// entry.
	flags []string
	// end is the end of the study.
	end models.Date
	// events are the event CTEs (dx, rx, obs) the entry and the criteria
	// read.
	events map[string]bool
}

// Need is one lake column a compiled spec reads, and what for.
type Need struct {
	Table  models.Table
	Column string
	For    string
}

// eventNeeds are the columns each event CTE of Compile reads.
var eventNeeds = []struct {
	cte   string
	table models.Table
	cols  []string
}{
	{"dx", models.TableDiagnosis, []string{"person_key", "code_system", "code", "recorded_date"}},
	{"rx", models.TableMedication, []string{"person_key", "code_system", "code", "authored_date"}},
	{"obs", models.TableObservation, []string{"person_key", "code_system", "code", "effective_date", "value"}},
}

// Needs lists every lake column the compiled spec reads with what it is
// for, so that a run over data holding fewer columns (a purpose's, which
// leaves columns out and generalises date of birth) can refuse by name
// instead of counting NULLs. The person columns are always needed: every
// run reports age at index, sex, practice and deprivation, applies the
// registration requirement and folds each person's rows by feed and batch
// (person_at); event tables only when the entry or a criterion reads them.
func (q *Query) Needs() []Need {
	person := []struct{ col, why string }{
		{"person_key", "identifying members"},
		{"year_of_birth", "age at index (age bands, age criteria)"},
		{"month_of_birth", "age at index (age bands, age criteria)"},
		{"sex", "counts by sex and sex criteria"},
		{"practice_code", "the registration requirement and counts by practice"},
		{"registered_from", "the registration requirement (prior registration days)"},
		{"registered_to", "the registration requirement and exit at end of registration"},
		{"death_month", "exit at death and the registration requirement"},
		{"deprivation_decile", "counts by deprivation decile and deprivation criteria"},
		// person_at folds a person's rows from several feeds by them.
		{"source", "preferring the GP's record of a person to other feeds'"},
		{"batch_id", "taking a person's most recent record"},
	}
	var out []Need
	for _, p := range person {
		out = append(out, Need{Table: models.TablePerson, Column: p.col, For: p.why})
	}
	for _, e := range eventNeeds {
		if !q.events[e.cte] {
			continue
		}
		for _, c := range e.cols {
			out = append(out, Need{Table: e.table, Column: c, For: fmt.Sprintf("%s criteria or entry", e.table)})
		}
	}
	return out
}

// Members is the statement listing the cohort: person_key, index_date,
// exit_date, age (at index), sex, practice_code.
func (q *Query) Members() string {
	return q.ctes + "\nSELECT person_key, index_date, exit_date, age, sex, practice_code\nFROM cohort\nORDER BY person_key, index_date"
}

// Flagged is the statement Run reads: one row per candidate (a person with
// an entry event, at each index date) with the attrition steps they pass,
// and one row per practice with its list size (people alive and registered
// at the end of the study), the denominators of prevalence. Both come from
// one reading of the lake. Columns: kind ('candidate' or 'practice'),
// person_key, index_date, age_band (at index), sex, practice ('unknown'
// when none), deprivation_decile, one boolean per step after the entry,
// and list_size (practice rows only).
func (q *Query) Flagged() string {
	return q.ctes + ",\n-- List sizes, for prevalence by practice.\nlists AS (\n    SELECT practice_code AS practice, count(*) AS list_size\n    FROM population\n    WHERE alive AND registered\n    GROUP BY ALL\n)\n" +
		"SELECT 'candidate' AS kind, person_key, index_date, age_band(age) AS age_band, sex, coalesce(practice_code, 'unknown') AS practice,\n       deprivation_decile, " +
		strings.Join(q.flags, ", ") + ", NULL::BIGINT AS list_size\nFROM flagged\n" +
		"UNION ALL BY NAME\nSELECT 'practice' AS kind, practice, list_size\nFROM lists"
}

// compiler carries the code list CTE names while compiling.
type compiler struct {
	s      *Spec
	lists  map[string]string // code list name -> CTE name
	ctes   []string
	events map[string]bool // event CTEs read
}

// Compile turns a checked spec into SQL. It fails on what cannot run
// (unknown code lists, bad dates, deprivation criteria); Check reports
// those and softer problems together.
func Compile(s *Spec) (*Query, error) {
	start, end, err := s.period()
	if err != nil {
		return nil, err
	}
	if end < start {
		return nil, fmt.Errorf("study_period ends before it starts")
	}
	if s.PriorRegistrationDays < 0 {
		return nil, fmt.Errorf("prior_registration_days is negative")
	}
	c := &compiler{s: s, lists: map[string]string{}, events: map[string]bool{}}
	c.ctes = append(c.ctes,
		"-- Events: one row per coded record, ICD-10 codes without dots, upper case.\n"+
			"dx AS (\n    SELECT person_key, code_system,\n           CASE WHEN code_system = 'icd10' THEN upper(replace(code, '.', '')) ELSE code END AS code,\n"+
			"           recorded_date AS event_date, NULL::DOUBLE AS value\n    FROM diagnosis\n)",
		"rx AS (\n    SELECT person_key, code_system, code, authored_date AS event_date, NULL::DOUBLE AS value\n    FROM medication\n)",
		"obs AS (\n    SELECT person_key, code_system, code, effective_date AS event_date, value\n    FROM observation\n)")

	table, err := c.entryTable()
	if err != nil {
		return nil, err
	}
	c.events[table] = true
	match, err := c.match("e", s.Entry.Codelist)
	if err != nil {
		return nil, fmt.Errorf("entry: %w", err)
	}
	c.ctes = append(c.ctes, fmt.Sprintf("-- Entry: %s in %s, %s to %s.\nentry_events AS (\n    SELECT person_key, event_date\n    FROM %s e\n    WHERE %s\n      AND event_date BETWEEN %s AND %s\n)",
		s.Entry.Codelist, table, start, end, table, match, dateLit(start), dateLit(end)))
	switch occ := s.Entry.Occurrence; occ {
	case "", "first", "latest":
		agg := "min"
		if occ == "latest" {
			agg = "max"
		}
		c.ctes = append(c.ctes, fmt.Sprintf("index_events AS (\n    SELECT person_key, %s(event_date) AS index_date\n    FROM entry_events\n    GROUP BY person_key\n)", agg))
	case "all":
		c.ctes = append(c.ctes, "index_events AS (\n    SELECT DISTINCT person_key, event_date AS index_date\n    FROM entry_events\n)")
	default:
		return nil, fmt.Errorf("entry.occurrence %q: want first, latest or all", occ)
	}
	c.ctes = append(c.ctes, fmt.Sprintf("-- Everyone as known at the end of the study (person_at in views.sql), computed once.\n"+
		"population AS MATERIALIZED (\n    SELECT * FROM person_at(%s)\n)", dateLit(end)))
	c.ctes = append(c.ctes, "-- Demographics of the candidates at the end of the study.\n"+
		"candidates AS (\n    SELECT i.person_key, i.index_date, p.sex, p.practice_code, p.registered_from, p.registered_to,\n"+
		"           p.deprivation_decile, p.death_month,\n"+
		"           year(i.index_date) - p.year_of_birth\n               - CASE WHEN month(i.index_date) < coalesce(p.month_of_birth, 1) THEN 1 ELSE 0 END AS age\n"+
		"    FROM index_events i\n    JOIN population p USING (person_key)\n)")

	q := &Query{Steps: []string{"entry event: " + s.Entry.Codelist}, end: end, events: c.events}
	var cols []string
	regDays := s.PriorRegistrationDays
	reg := fmt.Sprintf("(c.death_month IS NULL OR c.death_month > c.index_date)\n        AND c.practice_code IS NOT NULL\n"+
		"        AND coalesce(c.registered_from <= c.index_date - %d, %t)\n        AND (c.registered_to IS NULL OR c.registered_to > c.index_date)", regDays, regDays == 0)
	cols = append(cols, reg+" AS registered")
	q.Steps = append(q.Steps, fmt.Sprintf("alive and registered %d days before index", regDays))
	q.flags = append(q.flags, "registered")
	for _, group := range []struct {
		rules                []Rule
		label, step, col, op string
	}{
		{s.Inclusion, "inclusion", "include: ", "inc_", ""},
		{s.Exclusion, "exclusion", "exclude: ", "exc_", "NOT "},
	} {
		for i, r := range group.rules {
			expr, err := c.criterion(r.Criterion)
			if err != nil {
				return nil, fmt.Errorf("%s %q: %w", group.label, r.Name, err)
			}
			col := group.col + strconv.Itoa(i+1)
			cols = append(cols, fmt.Sprintf("-- %s: %s\n        %s%s AS %s", group.label, oneLine(r.Name), group.op, expr, col))
			q.Steps = append(q.Steps, group.step+r.Name)
			q.flags = append(q.flags, col)
		}
	}
	c.ctes = append(c.ctes, "flagged AS (\n    SELECT c.*,\n        "+strings.Join(cols, ",\n        ")+"\n    FROM candidates c\n)")

	exit := []string{dateLit(end)}
	if s.Exit.Death {
		exit = append(exit, "coalesce(death_month, "+dateLit(end)+")")
	}
	if s.Exit.OffsetDays != nil {
		if *s.Exit.OffsetDays < 0 {
			return nil, fmt.Errorf("exit.offset_days is negative")
		}
		exit = append(exit, fmt.Sprintf("index_date + %d", *s.Exit.OffsetDays))
	}
	if s.Exit.EndOfRegistration {
		exit = append(exit, "coalesce(registered_to, "+dateLit(end)+")")
	}
	c.ctes = append(c.ctes, fmt.Sprintf("cohort AS (\n    SELECT person_key, index_date, least(%s)::DATE AS exit_date, age, sex, practice_code, deprivation_decile\n    FROM flagged\n    WHERE %s\n)",
		strings.Join(exit, ", "), strings.Join(q.flags, " AND ")))
	q.ctes = "-- Cohort: " + oneLine(s.Name) + " (compiled by pophealth cohort)\nWITH " + strings.Join(c.ctes, ",\n")
	return q, nil
}

func (c *compiler) entryTable() (string, error) {
	cl, ok := c.s.lists[c.s.Entry.Codelist]
	if !ok {
		return "", fmt.Errorf("entry.codelist %q is not a loaded code list", c.s.Entry.Codelist)
	}
	switch t := c.s.Entry.Table; {
	case t == "" && cl.System == DMD, t == "medication":
		return "rx", nil
	case t == "", t == "diagnosis":
		return "dx", nil
	case t == "observation":
		return "obs", nil
	default:
		return "", fmt.Errorf("entry.table %q: want diagnosis, medication or observation", t)
	}
}

// match returns the condition "alias's code is in the list", adding the
// list's CTE on first use. ICD-10 lists match by prefix.
func (c *compiler) match(alias, name string) (string, error) {
	cl, ok := c.s.lists[name]
	if !ok {
		return "", fmt.Errorf("code list %q is not defined under codelists", name)
	}
	cte, ok := c.lists[name]
	if !ok {
		cte = "codelist_" + strconv.Itoa(len(c.lists)+1)
		c.lists[name] = cte
		var body string
		if len(cl.Codes) == 0 {
			body = "SELECT NULL::VARCHAR AS code WHERE false"
		} else {
			vals := make([]string, len(cl.Codes))
			for i, code := range cl.Codes {
				vals[i] = "(" + lit(code) + ")"
			}
			body = "SELECT * FROM (VALUES " + strings.Join(vals, ", ") + ") AS t(code)"
		}
		c.ctes = append(c.ctes, fmt.Sprintf("-- code list %s (%s, %d codes)\n%s AS (%s)", oneLine(name), cl.System, len(cl.Codes), cte, body))
	}
	if cl.System != ICD10 {
		return fmt.Sprintf("(%s.code_system = %s AND %s.code IN (SELECT code FROM %s))", alias, lit(cl.System), alias, cte), nil
	}
	var lengths []int
	for _, code := range cl.Codes {
		if !slices.Contains(lengths, len(code)) {
			lengths = append(lengths, len(code))
		}
	}
	slices.Sort(lengths)
	alts := []string{fmt.Sprintf("%s.code IN (SELECT code FROM %s)", alias, cte)}
	for _, n := range lengths {
		alts = append(alts, fmt.Sprintf("left(%s.code, %d) IN (SELECT code FROM %s)", alias, n, cte))
	}
	return fmt.Sprintf("(%s.code_system = 'icd10' AND (%s))", alias, strings.Join(alts, " OR ")), nil
}

// criterion compiles one criterion to a boolean SQL expression over the
// candidate row c (never NULL).
func (c *compiler) criterion(k Criterion) (string, error) {
	kind, err := kindOf(k)
	if err != nil {
		return "", err
	}
	switch kind {
	case "all", "any":
		items := k.All
		op := " AND "
		if kind == "any" {
			items, op = k.Any, " OR "
		}
		if len(items) == 0 {
			return "", fmt.Errorf("%s: empty group", kind)
		}
		parts, err := c.criteria(items)
		if err != nil {
			return "", err
		}
		return "(" + strings.Join(parts, op) + ")", nil
	case "at_least", "at_most":
		if len(k.Of) == 0 {
			return "", fmt.Errorf("%s: empty of", kind)
		}
		parts, err := c.criteria(k.Of)
		if err != nil {
			return "", err
		}
		for i := range parts {
			parts[i] = "(" + parts[i] + ")::INTEGER"
		}
		if kind == "at_least" {
			return fmt.Sprintf("(%s >= %d)", strings.Join(parts, " + "), *k.AtLeast), nil
		}
		return fmt.Sprintf("(%s <= %d)", strings.Join(parts, " + "), *k.AtMost), nil
	case "diagnosis", "medication", "observation":
		return c.event(kind, k)
	case "age":
		return "coalesce(" + rangeExpr("c.age", k.Age) + ", false)", nil
	case "sex":
		if k.Sex != "female" && k.Sex != "male" && k.Sex != "other" && k.Sex != "unknown" {
			return "", fmt.Errorf("sex %q: want female, male, other or unknown", k.Sex)
		}
		return "(c.sex = " + lit(k.Sex) + ")", nil
	case "practice":
		vals := make([]string, len(k.Practice))
		for i, p := range k.Practice {
			vals[i] = lit(p)
		}
		return "coalesce(c.practice_code IN (" + strings.Join(vals, ", ") + "), false)", nil
	case "deprivation_decile":
		if err := checkDecile(k.DeprivationDecile); err != nil {
			return "", err
		}
		return "coalesce(" + rangeExpr("c.deprivation_decile", k.DeprivationDecile) + ", false)", nil
	}
	return "", fmt.Errorf("unknown criterion %q", kind)
}

func (c *compiler) criteria(items []Criterion) ([]string, error) {
	out := make([]string, len(items))
	for i, it := range items {
		e, err := c.criterion(it)
		if err != nil {
			return nil, fmt.Errorf("item %d: %w", i+1, err)
		}
		out[i] = e
	}
	return out, nil
}

func (c *compiler) event(kind string, k Criterion) (string, error) {
	name, table := k.Diagnosis, "dx"
	switch kind {
	case "medication":
		name, table = k.Medication, "rx"
	case "observation":
		name, table = k.Observation, "obs"
	}
	c.events[table] = true
	match, err := c.match("e", name)
	if err != nil {
		return "", err
	}
	where := []string{"e.person_key = c.person_key", match}
	from, to := (*int)(nil), new(int) // default: any time up to the index date
	if k.Window != nil {
		from, to = k.Window.From, k.Window.To
	}
	if from != nil {
		where = append(where, fmt.Sprintf("e.event_date >= c.index_date + %d", *from))
	}
	if to != nil {
		where = append(where, fmt.Sprintf("e.event_date <= c.index_date + %d", *to))
	}
	count := k.Count
	if count == nil {
		count = &IntRange{Min: new(1)}
	}
	if k.Value != nil {
		if kind != "observation" {
			return "", fmt.Errorf("value: only observations carry values")
		}
		cond := valueExpr("e.value", k.Value)
		switch k.Which {
		case "", "latest":
			return fmt.Sprintf("coalesce((SELECT %s FROM (SELECT arg_max(e.value, {'date': e.event_date, 'value': e.value}) AS latest FROM obs e WHERE %s AND e.value IS NOT NULL)), false)",
				valueExpr("latest", k.Value), strings.Join(where, " AND ")), nil
		case "any":
			where = append(where, cond)
		default:
			return "", fmt.Errorf("which %q: want latest or any", k.Which)
		}
	}
	n := fmt.Sprintf("(SELECT count(*) FROM %s e WHERE %s)", table, strings.Join(where, " AND "))
	return "coalesce(" + rangeExpr(n, count) + ", false)", nil
}

// kindOf says which single kind of criterion k is.
func kindOf(k Criterion) (string, error) {
	var kinds []string
	add := func(ok bool, name string) {
		if ok {
			kinds = append(kinds, name)
		}
	}
	add(k.All != nil, "all")
	add(k.Any != nil, "any")
	add(k.AtLeast != nil, "at_least")
	add(k.AtMost != nil, "at_most")
	add(k.Diagnosis != "", "diagnosis")
	add(k.Medication != "", "medication")
	add(k.Observation != "", "observation")
	add(k.Age != nil, "age")
	add(k.Sex != "", "sex")
	add(k.Practice != nil, "practice")
	add(k.DeprivationDecile != nil, "deprivation_decile")
	if len(kinds) != 1 {
		return "", fmt.Errorf("a criterion needs exactly one of all, any, at_least, at_most, diagnosis, medication, observation, age, sex, practice, deprivation_decile; got %v", kinds)
	}
	if k.Of != nil && kinds[0] != "at_least" && kinds[0] != "at_most" {
		return "", fmt.Errorf("of belongs with at_least or at_most")
	}
	return kinds[0], nil
}

// checkDecile refuses decile bounds outside 1-10.
func checkDecile(r *IntRange) error {
	for _, b := range []*int{r.Min, r.Max} {
		if b != nil && (*b < 1 || *b > 10) {
			return fmt.Errorf("deprivation_decile: bound %d is not a decile (1 most deprived to 10 least)", *b)
		}
	}
	return nil
}

// rangeExpr is "x between min and max" with missing bounds left out.
func rangeExpr(x string, r *IntRange) string {
	var parts []string
	if r.Min != nil {
		parts = append(parts, fmt.Sprintf("%s >= %d", x, *r.Min))
	}
	if r.Max != nil {
		parts = append(parts, fmt.Sprintf("%s <= %d", x, *r.Max))
	}
	if len(parts) == 0 {
		return "true"
	}
	return "(" + strings.Join(parts, " AND ") + ")"
}

// valueExpr is the condition on the value x.
func valueExpr(x string, v *ValueRange) string {
	var parts []string
	for _, b := range []struct {
		op string
		v  *float64
	}{{">", v.GT}, {">=", v.GTE}, {"<", v.LT}, {"<=", v.LTE}} {
		if b.v != nil {
			parts = append(parts, fmt.Sprintf("%s %s %s", x, b.op, strconv.FormatFloat(*b.v, 'g', -1, 64)))
		}
	}
	if len(parts) == 0 {
		return "true"
	}
	return strings.Join(parts, " AND ")
}

func lit(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func dateLit(d models.Date) string { return "DATE '" + d.String() + "'" }

// oneLine keeps names from breaking out of SQL comments.
func oneLine(s string) string {
	return strings.NewReplacer("\n", " ", "\r", " ", "*/", "* /").Replace(s)
}
