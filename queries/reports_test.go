package queries

import (
	"bytes"
	"database/sql"
	"errors"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pophealth/pophealth/lake"
	"github.com/pophealth/pophealth/models"
)

// texts renders report rows as their shown strings.
func texts(rows [][]Cell) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		cells := make([]string, len(r))
		for j, c := range r {
			cells[j] = c.String()
		}
		out[i] = strings.Join(cells, " | ")
	}
	return out
}

func TestCohortCounts_CountsFixturePeopleExactly(t *testing.T) {
	e := openEngine(t, fixtureLake(t))
	got, err := e.cohortCounts(t.Context(), asOf)
	must(t, err)
	// Worked out from the comments in fixture_test.go.
	want := []cohortRow{
		{"0-17", "female", 0, 0}, {"0-17", "male", 1, 1}, {"0-17", "other/unknown", 0, 0},
		{"18-39", "female", 0, 0}, {"18-39", "male", 0, 0}, {"18-39", "other/unknown", 0, 0},
		{"40-59", "female", 0, 0}, {"40-59", "male", 2, 2}, {"40-59", "other/unknown", 0, 0},
		{"60-69", "female", 1, 1}, {"60-69", "male", 0, 1}, {"60-69", "other/unknown", 0, 0},
		{"70-79", "female", 14, 15}, {"70-79", "male", 0, 0}, {"70-79", "other/unknown", 0, 0},
		{"80+", "female", 0, 0}, {"80+", "male", 0, 1}, {"80+", "other/unknown", 0, 0},
	}
	if !slices.Equal(got, want) {
		t.Errorf("cohort counts\n%v\nwant\n%v", got, want)
	}
}

func TestCohortReport_SuppressesSmallCounts(t *testing.T) {
	e := openEngine(t, fixtureLake(t))
	r, err := e.CohortReport(t.Context(), asOf)
	must(t, err)
	want := []string{
		"0-17 | female | 0 | 0 | -", "0-17 | male | * | * | *", "0-17 | other/unknown | 0 | 0 | -",
		"18-39 | female | 0 | 0 | -", "18-39 | male | 0 | 0 | -", "18-39 | other/unknown | 0 | 0 | -",
		"40-59 | female | 0 | 0 | -", "40-59 | male | * | * | *", "40-59 | other/unknown | 0 | 0 | -",
		"60-69 | female | * | * | *", "60-69 | male | 0 | * | *", "60-69 | other/unknown | 0 | 0 | -",
		"70-79 | female | 15 | 15 | 933.3", "70-79 | male | 0 | 0 | -", "70-79 | other/unknown | 0 | 0 | -",
		"80+ | female | 0 | 0 | -", "80+ | male | 0 | * | *", "80+ | other/unknown | 0 | 0 | -",
		"All ages | All | 20 | 20 | 857.1",
	}
	if got := texts(r.Rows); !slices.Equal(got, want) {
		t.Errorf("cohort report rows\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if r.AsOf != asOf || len(r.Columns) != 5 {
		t.Errorf("report header: as of %s, columns %v", r.AsOf, r.Columns)
	}
	var text bytes.Buffer
	must(t, r.WriteText(&text))
	checkRenderedCounts(t, text.String(), 2, 3)
}

// checkRenderedCounts checks every count a rendered report shows in the
// given columns: each must be 0, * or a multiple of 5, never an exact count.
func checkRenderedCounts(t *testing.T, text string, countCols ...int) {
	t.Helper()
	lines := strings.Split(text, "\n")
	body := slices.IndexFunc(lines, func(l string) bool { return strings.HasPrefix(l, "---") })
	if body < 0 {
		t.Fatalf("no table in\n%s", text)
	}
	for _, line := range lines[body+1:] {
		if line == "" {
			break
		}
		fields := regexp.MustCompile(`\s{2,}`).Split(strings.TrimSpace(line), -1)
		for _, c := range countCols {
			n, err := strconv.Atoi(fields[c])
			if fields[c] != "*" && (err != nil || n%5 != 0) {
				t.Errorf("rendered count %q in line %q is neither * nor a multiple of 5", fields[c], line)
			}
		}
	}
}

func TestRiskCounts_RanksFixturePeopleIntoTiers(t *testing.T) {
	e := openEngine(t, fixtureLake(t))
	got, err := e.riskCounts(t.Context(), asOf)
	must(t, err)
	score := func(lo, hi int64) (sql.NullInt64, sql.NullInt64) {
		return sql.NullInt64{Int64: lo, Valid: true}, sql.NullInt64{Int64: hi, Valid: true}
	}
	// 21 people: tier 1 is position 1 (p04, score 12), tier 2 position 2
	// (p01, 7), tier 3 positions 3-5 (p13, p70-01, p70-02: score 5, first
	// by person key), tier 4 the other 16 (scores 2 to 5).
	want := []riskRow{
		{tier: 1, label: "Very high (top 0.5%)", people: 1, conditions: 2, emergencyAdmissions: 3, aged75Plus: 1},
		{tier: 2, label: "High (next 4.5%)", people: 1, conditions: 2, emergencyAdmissions: 1, aged75Plus: 0},
		{tier: 3, label: "Moderate (next 15%)", people: 3, conditions: 6, emergencyAdmissions: 0, aged75Plus: 2},
		{tier: 4, label: "Low (remaining 80%)", people: 16, conditions: 30, emergencyAdmissions: 0, aged75Plus: 10},
	}
	want[0].minScore, want[0].maxScore = score(12, 12)
	want[1].minScore, want[1].maxScore = score(7, 7)
	want[2].minScore, want[2].maxScore = score(5, 5)
	want[3].minScore, want[3].maxScore = score(2, 5)
	if !slices.Equal(got, want) {
		t.Errorf("risk tiers\n%+v\nwant\n%+v", got, want)
	}
}

func TestRiskRanking_ReportsSuppressedAggregatesOnly(t *testing.T) {
	e := openEngine(t, fixtureLake(t))
	r, err := e.RiskRanking(t.Context(), asOf)
	must(t, err)
	want := []string{
		"Very high (top 0.5%) | * | * | * | * | *",
		"High (next 4.5%) | * | * | * | * | *",
		"Moderate (next 15%) | * | * | * | * | *", // 0 admissions among 3 people: the denominator is small
		"Low (remaining 80%) | 15 | 2-5 | 1.9 | 0.0 | 62.5",
	}
	if got := texts(r.Rows); !slices.Equal(got, want) {
		t.Errorf("risk report rows\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	var text, js bytes.Buffer
	must(t, r.WriteText(&text))
	must(t, r.WriteJSON(&js))
	checkRenderedCounts(t, text.String(), 1)
	for _, out := range []string{text.String(), js.String()} {
		if strings.Contains(out, "p0") || strings.Contains(out, "p1") || strings.Contains(out, "p70") {
			t.Errorf("risk report mentions a person key:\n%s", out)
		}
	}
}

func TestReports_OnAnEmptyLakeShowZeros(t *testing.T) {
	l, err := lake.Open(t.TempDir())
	must(t, err)
	e := openEngine(t, l)
	cohort, err := e.CohortReport(t.Context(), asOf)
	must(t, err)
	if got := texts(cohort.Rows); len(got) != 19 || got[18] != "All ages | All | 0 | 0 | -" {
		t.Errorf("empty cohort report rows = %v", got)
	}
	risk, err := e.RiskRanking(t.Context(), asOf)
	must(t, err)
	for _, row := range texts(risk.Rows) {
		if !strings.HasSuffix(row, "| 0 | - | - | - | -") {
			t.Errorf("empty risk report row %q, want zero people and nothing else", row)
		}
	}
	if len(risk.Rows) != 4 {
		t.Errorf("empty risk report has %d tiers, want 4", len(risk.Rows))
	}
}

func TestDataEnd_IsLatestRecordDateUpToTheNewestCommit(t *testing.T) {
	e := openEngine(t, fixtureLake(t))
	got, err := e.DataEnd(t.Context())
	must(t, err)
	// p07's atrial fibrillation, recorded 2024-06-01; p03's admission booked
	// for 2099 lies after the commit and does not count.
	if want := models.NewDate(2024, time.June, 1); got != want {
		t.Errorf("DataEnd = %s, want %s", got, want)
	}
	empty, err := lake.Open(t.TempDir())
	must(t, err)
	if _, err := openEngine(t, empty).DataEnd(t.Context()); !errors.Is(err, ErrNoData) {
		t.Errorf("DataEnd on an empty lake: err = %v, want ErrNoData", err)
	}
}
