package queries

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pophealth/pophealth/lake"
	"github.com/pophealth/pophealth/models"
)

// describe returns "name type" for each column of a relation.
func describe(t *testing.T, e *Engine, relation string) []string {
	t.Helper()
	res, err := e.Query(t.Context(), "DESCRIBE "+relation)
	must(t, err)
	var out []string
	for _, r := range res.Rows {
		out = append(out, fmt.Sprintf("%v %v", r[0], r[1]))
	}
	return out
}

func TestOpen_TableViewsHaveModelColumnsWithOrWithoutData(t *testing.T) {
	empty, err := lake.Open(t.TempDir())
	must(t, err)
	engines := map[string]*Engine{"empty lake": openEngine(t, empty), "fixture lake": openEngine(t, fixtureLake(t))}
	want := map[models.Table][]string{
		models.TablePerson: {"person_key VARCHAR", "source VARCHAR", "batch_id VARCHAR", "year_of_birth SMALLINT", "month_of_birth TINYINT",
			"sex VARCHAR", "postcode_district VARCHAR", "practice_code VARCHAR", "registered_from DATE", "registered_to DATE", "deprivation_decile TINYINT",
			"death_month DATE", "nhs_number_status VARCHAR"},
		models.TableEncounter: {"person_key VARCHAR", "encounter_key VARCHAR", "source VARCHAR", "batch_id VARCHAR", "event VARCHAR", "class VARCHAR",
			"admission_method VARCHAR", "start_date DATE", "end_date DATE", "cancelled BOOLEAN", "seq BIGINT"},
		models.TableDiagnosis: {"person_key VARCHAR", "encounter_key VARCHAR", "source VARCHAR", "batch_id VARCHAR", "code_system VARCHAR", "code VARCHAR", "recorded_date DATE"},
		models.TableObservation: {"person_key VARCHAR", "source VARCHAR", "batch_id VARCHAR", "code_system VARCHAR", "code VARCHAR", "value DOUBLE",
			"unit VARCHAR", "effective_date DATE"},
		models.TableMedication: {"person_key VARCHAR", "source VARCHAR", "batch_id VARCHAR", "code_system VARCHAR", "code VARCHAR", "authored_date DATE"},
		models.TableProcedure:  {"person_key VARCHAR", "encounter_key VARCHAR", "source VARCHAR", "batch_id VARCHAR", "code_system VARCHAR", "code VARCHAR", "performed_date DATE"},
	}
	if len(want) != len(models.Tables) {
		t.Fatalf("test covers %d tables, models.Tables has %d", len(want), len(models.Tables))
	}
	for name, e := range engines {
		for _, table := range models.Tables {
			if got := describe(t, e, string(table)); !slices.Equal(got, want[table]) {
				t.Errorf("%s: view %s has columns\n%v\nwant\n%v", name, table, got, want[table])
			}
		}
	}
}

func TestOpen_ViewsReadEveryCommittedRow(t *testing.T) {
	e := openEngine(t, fixtureLake(t))
	people, diagnoses, events := fixturePeople()
	var nDx, nEv int
	for _, d := range diagnoses {
		nDx += len(d)
	}
	for _, ev := range events {
		nEv += len(ev)
	}
	res, err := e.Query(t.Context(), `SELECT (SELECT count(*) FROM person), (SELECT count(*) FROM diagnosis),
		(SELECT count(*) FROM encounter), (SELECT count(*) FROM observation), (SELECT count(*) FROM medication),
		(SELECT count(*) FROM lake_batch), (SELECT count(*) FROM ltc_codes), (SELECT count(*) FROM observation_codes),
		(SELECT count(*) FROM medication_codes)`)
	must(t, err)
	want := fmt.Sprint([]any{int64(len(people)), int64(nDx), int64(nEv), int64(1), int64(1), int64(2), int64(33), int64(4), int64(15)})
	if got := fmt.Sprint(res.Rows[0]); got != want {
		t.Errorf("row counts (person, diagnosis, encounter, observation, medication, lake_batch, ltc, obs, med codes) = %s, want %s", got, want)
	}
}

func TestQuery_ReturnsColumnsAndBindsArguments(t *testing.T) {
	e := openEngine(t, fixtureLake(t))
	res, err := e.Query(t.Context(), "SELECT source, count(*) AS n FROM person WHERE year_of_birth < $1 GROUP BY source ORDER BY source", 1951)
	must(t, err)
	if got, want := fmt.Sprint(res.Columns, res.Rows), "[source n] [[gp 17] [hl7v2 1]]"; got != want {
		t.Errorf("Query = %s, want %s", got, want)
	}
}

func TestQuery_RefusesWritesSettingsAndFilesOutsideViews(t *testing.T) {
	l := fixtureLake(t)
	e := openEngine(t, l)
	mpi, err := l.Files("mpi/links")
	must(t, err)
	root := l.Root()
	leak := filepath.Join(root, "pseudo", "leak.csv")
	for _, tc := range []struct {
		name string
		sql  string
		// notReadOnly is set when Query must refuse before running anything.
		notReadOnly bool
	}{
		{"copy to a file", "COPY person TO '" + leak + "'", false},
		{"create table", "CREATE TABLE t AS SELECT * FROM person", true},
		{"change a setting", "SET enable_external_access = true", true},
		{"two statements", "SELECT 1; DROP VIEW person", true},
		{"attach", "ATTACH '" + filepath.Join(root, "x.db") + "'", true},
		{"install", "INSTALL httpfs", true},
		{"read the master person index", "SELECT * FROM read_parquet('" + mpi[0] + "')", false},
		{"glob the lake", "SELECT * FROM glob('" + root + "/**')", false},
		{"read a file as text", "SELECT * FROM read_text('" + filepath.Join(root, ".lock") + "')", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.Query(t.Context(), tc.sql)
			if err == nil {
				t.Fatalf("Query(%q) succeeded", tc.sql)
			}
			if tc.notReadOnly != errors.Is(err, ErrNotReadOnly) {
				t.Errorf("Query(%q): err = %v; want ErrNotReadOnly: %v", tc.sql, err, tc.notReadOnly)
			}
		})
	}
	if _, err := os.Stat(leak); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("COPY wrote %s (stat: %v)", leak, err)
	}
	// Settings stay locked even for the engine's own connection.
	if _, err := e.db.ExecContext(t.Context(), "SET enable_external_access = true"); err == nil {
		t.Error("changing enable_external_access succeeded, want the configuration locked")
	}
	// The statement after the refused DROP never ran.
	if _, err := e.Query(t.Context(), "SELECT count(*) FROM person"); err != nil {
		t.Errorf("person view after refused statements: %v", err)
	}
}

func TestPersonAt_FoldsSourceRowsIntoOnePersonAsOfADate(t *testing.T) {
	e := openEngine(t, fixtureLake(t))
	res, err := e.Query(t.Context(), `
		SELECT person_key, age, age_band, sex, practice_code, postcode_district, alive, registered, sources::VARCHAR
		FROM person_at($1::DATE) WHERE person_key IN ('p05', 'p06', 'p07', 'p08', 'p12', 'p13') ORDER BY person_key`, asOf.Time())
	must(t, err)
	want := []string{
		"[p05 73 70-79 female A81001 <nil> false true [gp]]",     // died November 2023
		"[p06 73 70-79 female <nil> <nil> true false [hl7v2]]",   // no practice
		"[p07 64 60-69 male A81001 <nil> true true [gp]]",        // birthday in the as-at month counts
		"[p08 68 60-69 female B82002 LS1 true true [gp, hl7v2]]", // GP practice, newer hospital postcode
		"[p12 64 60-69 female A81001 <nil> true false [gp]]",     // registers after the as-at date
		"[p13 74 70-79 female A81001 <nil> true true [gp]]",      // month unknown: January
	}
	var got []string
	for _, r := range res.Rows {
		got = append(got, fmt.Sprint(r))
	}
	if !slices.Equal(got, want) {
		t.Errorf("person_at rows\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// A day before p07's 64th-birthday month he was 63; before 1960-03 not born.
	for _, tc := range []struct {
		on    models.Date
		age   int64
		alive bool
	}{
		{models.NewDate(2024, time.February, 29), 63, true},
		{models.NewDate(1960, time.February, 1), -1, false},
	} {
		res, err := e.Query(t.Context(), "SELECT age, alive FROM person_at($1::DATE) WHERE person_key = 'p07'", tc.on.Time())
		must(t, err)
		if got, want := fmt.Sprint(res.Rows), fmt.Sprint([][]any{{tc.age, tc.alive}}); got != want {
			t.Errorf("p07 on %s: age, alive = %s, want %s", tc.on, got, want)
		}
	}
}

func TestSpell_FoldsEventsAndDropsCancelledAdmissions(t *testing.T) {
	e := openEngine(t, fixtureLake(t))
	res, err := e.Query(t.Context(), `
		SELECT encounter_key, start_date::VARCHAR, end_date::VARCHAR, class, admission_method, events
		FROM spell WHERE person_key IN ('p01', 'p04') ORDER BY encounter_key`)
	must(t, err)
	want := []string{
		"[e1 2023-06-01 2023-06-05 inpatient emergency 2]", // admit + discharge
		"[e2 2023-09-10 <nil> inpatient emergency 2]",      // A08 without a method keeps the admission's
		"[e3 2024-01-15 <nil> inpatient emergency 1]",
		// e4: admission cancelled (A11)
		"[e5 2022-12-01 <nil> inpatient emergency 1]",
		"[e6 2024-02-01 <nil> emergency <nil> 1]",
		"[e7 2024-02-10 <nil> inpatient elective 1]",
		"[e8 2023-05-01 <nil> inpatient elective 3]", // discharge cancelled (A13): still open
		"[f1 2024-03-01 2024-03-04 inpatient emergency 1]",
		// f2: FHIR encounter cancelled
	}
	var got []string
	for _, r := range res.Rows {
		got = append(got, fmt.Sprint(r))
	}
	if !slices.Equal(got, want) {
		t.Errorf("spells\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestLtcAt_MatchesICD10ByPrefixAndSNOMEDExactly(t *testing.T) {
	e := openEngine(t, fixtureLake(t))
	for _, tc := range []struct {
		on   models.Date
		want string
	}{
		{asOf, "[[p01 diabetes_t2] [p01 hypertension] [p02 asthma] [p02 diabetes_t2] [p07 diabetes_t2] [p08 chd] [p08 diabetes_t2] [p11 diabetes_t2] [p11 hypertension]]"},
		// p07's atrial fibrillation is recorded in June 2024; p08's undated CHD counts at any date.
		{models.NewDate(2024, time.July, 1), "[[p01 diabetes_t2] [p01 hypertension] [p02 asthma] [p02 diabetes_t2] [p07 af] [p07 diabetes_t2] [p08 chd] [p08 diabetes_t2] [p11 diabetes_t2] [p11 hypertension]]"},
		// Before 2020 only the undated and 2019 diagnoses.
		{models.NewDate(2019, time.December, 31), "[[p08 chd] [p11 diabetes_t2] [p11 hypertension]]"},
	} {
		res, err := e.Query(t.Context(), `SELECT person_key, condition FROM ltc_at($1::DATE)
			WHERE person_key IN ('p01', 'p02', 'p07', 'p08', 'p11') ORDER BY ALL`, tc.on.Time())
		must(t, err)
		if got := fmt.Sprint(res.Rows); got != tc.want {
			t.Errorf("ltc_at(%s) = %s\nwant %s", tc.on, got, tc.want)
		}
	}
}

func TestAgeBand_AgreesWithReportBands(t *testing.T) {
	e := openEngine(t, fixtureLake(t))
	res, err := e.Query(t.Context(), `SELECT a, age_band(a) FROM unnest([NULL, -1, 0, 17, 18, 39, 40, 59, 60, 69, 70, 79, 80, 120]) AS t(a)`)
	must(t, err)
	want := "[[<nil> unknown] [-1 unknown] [0 0-17] [17 0-17] [18 18-39] [39 18-39] [40 40-59] [59 40-59] " +
		"[60 60-69] [69 60-69] [70 70-79] [79 70-79] [80 80+] [120 80+]]"
	if got := fmt.Sprint(res.Rows); got != want {
		t.Errorf("age_band = %s\nwant %s", got, want)
	}
	// Every band age_band gives appears in cohort.sql's grid, in age order.
	grid, err := sqlFiles.ReadFile("sql/cohort.sql")
	must(t, err)
	if !strings.Contains(string(grid), "(1, '0-17'), (2, '18-39'), (3, '40-59'), (4, '60-69'), (5, '70-79'), (6, '80+'), (7, 'unknown')") {
		t.Error("cohort.sql's band grid does not list age_band's bands in order")
	}
}

// A GP row's deregistration ends "registered" from that day, and the
// decile comes from the latest row that has one: a later row without an
// LSOA (another feed) does not erase it.
func TestPersonAt_RegistrationEndAndDecile(t *testing.T) {
	l, err := lake.Open(t.TempDir())
	must(t, err)
	b, err := l.Begin("B1")
	must(t, err)
	gp := gpPerson("p1", "female", 1950, 6)
	gp.RegisteredTo, gp.DeprivationDecile = date(2024, time.May, 31), 2
	later := models.PersonRow{PersonKey: "p1", Source: "hl7v2", BatchID: "B1", Sex: "female", NHSNumberStatus: "valid"}
	for _, r := range []models.PersonRow{gp, later} {
		must(t, lake.Append(b, lake.PseudoDir(models.TablePerson, models.Feed(r.Source), nil), r))
	}
	must(t, b.Commit(lake.Manifest{}))
	e := openEngine(t, l)
	for _, tc := range []struct {
		on         models.Date
		registered bool
	}{
		{models.NewDate(2024, time.May, 30), true},
		{models.NewDate(2024, time.May, 31), false},
	} {
		res, err := e.Query(t.Context(), "SELECT registered, registered_to::VARCHAR, deprivation_decile FROM person_at($1::DATE)", tc.on.Time())
		must(t, err)
		if got, want := fmt.Sprint(res.Rows), fmt.Sprintf("[[%v 2024-05-31 2]]", tc.registered); got != want {
			t.Errorf("on %s: %s, want %s", tc.on, got, want)
		}
	}
}
