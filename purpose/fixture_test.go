package purpose

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	_ "github.com/duckdb/duckdb-go/v2"

	"github.com/pophealth/pophealth/lake"
	"github.com/pophealth/pophealth/models"
	"github.com/pophealth/pophealth/pseudonymise"
	"github.com/pophealth/pophealth/workspace"
)

// The fixture lake: eight people, written with the lake.Append calls the
// ingest job uses, keyed with the workspace's lake key so that opt-outs
// can be matched through the master person index.
//
//	p1  9000000017  E11 + F32.1 (mental health, on encounter e1) + sertraline; HbA1c; e1, e2
//	p2  9000000025  national data opt-out
//	p3  9000000033  Type 1 opt-out
//	p4  9000000041  A54 (sexual health), T74.1 (safeguarding)
//	p5  9000000068  Z59 (social care)
//	p6  invalid number: cannot be checked, kept
//	p7  9000000076 and 9000000084 (two records linked to one person)
//	p8  9000000092
var fixtureNHS = map[string][]string{
	"p1": {"9000000017"}, "p2": {"9000000025"}, "p3": {"9000000033"}, "p4": {"9000000041"},
	"p5": {"9000000068"}, "p7": {"9000000076", "9000000084"}, "p8": {"9000000092"},
}

func d(y int, m time.Month, dd int) *models.Date { return models.NewDate(y, m, dd).Ptr() }

// buildFixture writes the fixture lake into ws and returns each person's
// lake person key and each encounter's lake encounter key.
func buildFixture(t testing.TB, ws *workspace.Workspace) (personKey map[string]string, encKey map[string]string) {
	t.Helper()
	key, err := ws.LakeKey()
	if err != nil {
		t.Fatal(err)
	}
	ps := pseudonymise.New(key)
	personKey, encKey = map[string]string{}, map[string]string{}
	l, err := lake.Open(ws.LakeDir())
	if err != nil {
		t.Fatal(err)
	}
	b, err := l.Begin("B1")
	if err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	districts := []string{"LS1", "EC1A", "BD10", "M1", "LS6", "W1A", "LS1", "S10"}
	for i := 1; i <= 8; i++ {
		id := fmt.Sprintf("p%d", i)
		pk := ps.PersonKey(id)
		personKey[id] = pk
		must(lake.Append(b, "pseudo/person/source=gp", models.PersonRow{
			PersonKey: pk, Source: "gp", BatchID: "B1", YearOfBirth: int16(1940 + 5*i), MonthOfBirth: int8(i),
			Sex: []string{"female", "male"}[i%2], PostcodeDistrict: districts[i-1], PracticeCode: "A81001",
			NHSNumberStatus: "verified",
		}))
		numbers := fixtureNHS[id]
		if numbers == nil {
			must(lake.Append(b, "mpi/links", models.LinkRow{Feed: "gp", LocalID: "L" + id, PersonID: id, NHSNumber: "1234567890", NHSNumberStatus: "invalid", Method: "unmatched", BatchID: "B1"}))
		}
		for j, n := range numbers {
			must(lake.Append(b, "mpi/links", models.LinkRow{Feed: "gp", LocalID: fmt.Sprintf("L%s-%d", id, j), PersonID: id, NHSNumber: n, NHSNumberStatus: "verified", Method: "nhs_number", BatchID: "B1"}))
		}
		// Everyone has a type 2 diabetes code, so that each person appears
		// in every purpose's diagnosis table unless removed.
		must(lake.Append(b, "pseudo/diagnosis/source=gp", models.DiagnosisRow{PersonKey: pk, Source: "gp", BatchID: "B1", CodeSystem: "snomed", Code: "44054006", RecordedDate: d(2020, 1, 1)}))
	}
	for _, e := range []string{"e1", "e2"} {
		encKey[e] = ps.EncounterKey("hl7v2", e)
		must(lake.Append(b, "pseudo/encounter/source=hl7v2", models.EncounterRow{PersonKey: personKey["p1"], EncounterKey: encKey[e], Source: "hl7v2", BatchID: "B1",
			Event: "A01", Class: "inpatient", AdmissionMethod: "emergency", StartDate: d(2024, 3, 1), Seq: 1}))
	}
	for _, dx := range []struct {
		person, enc, system, code string
	}{
		{"p1", "e2", "icd10", "E11"},
		{"p1", "e1", "icd10", "F32.1"},
		{"p4", "", "icd10", "A54"},
		{"p4", "", "icd10", "T741"},
		{"p5", "", "icd10", "Z59"},
	} {
		must(lake.Append(b, "pseudo/diagnosis/source=hl7v2", models.DiagnosisRow{PersonKey: personKey[dx.person], EncounterKey: encKey[dx.enc], Source: "hl7v2", BatchID: "B1",
			CodeSystem: dx.system, Code: dx.code, RecordedDate: d(2024, 3, 1)}))
	}
	for _, code := range []string{"321968004", "325278002"} { // sertraline, metformin
		must(lake.Append(b, "pseudo/medication/source=gp", models.MedicationRow{PersonKey: personKey["p1"], Source: "gp", BatchID: "B1", CodeSystem: "dmd", Code: code, AuthoredDate: d(2024, 2, 1)}))
	}
	v := 64.0
	must(lake.Append(b, "pseudo/observation/source=gp", models.ObservationRow{PersonKey: personKey["p1"], Source: "gp", BatchID: "B1", CodeSystem: "snomed", Code: "999791000000106", Value: &v, Unit: "mmol/mol", EffectiveDate: d(2024, 2, 1)}))
	must(b.Commit(lake.Manifest{}))
	return personKey, encKey
}

// writeRegisters writes both opt-out registers (opted-out lists) as of
// asOf: p2 has a national data opt-out, p3 a Type 1 opt-out.
func writeRegisters(t testing.TB, ws *workspace.Workspace, asOf models.Date) {
	t.Helper()
	for kind, number := range map[string]string{RegisterNational: "9000000025", RegisterType1: "9000000033"} {
		path := ws.OptOutRegisterPath(kind)
		if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
			t.Fatal(err)
		}
		body := fmt.Sprintf("# pophealth opt-out register v1\n# kind: %s\n# list: opted-out\n# as-of: %s\n%s,\n", kind, asOf, number)
		if err := os.WriteFile(path, []byte(body), 0o640); err != nil {
			t.Fatal(err)
		}
	}
}

// govWorkspace is a workspace with the fixture lake, fresh registers and
// the three example purposes approved.
type govWorkspace struct {
	ws        *workspace.Workspace
	personKey map[string]string
	encKey    map[string]string
}

func newGovWorkspace(t testing.TB) *govWorkspace {
	t.Helper()
	ws, _ := newWorkspace(t)
	g := &govWorkspace{ws: ws}
	g.personKey, g.encKey = buildFixture(t, ws)
	writeRegisters(t, ws, models.DateOf(day).AddDays(-1))
	for _, name := range []string{"diabetes-phm", "smi-research", "frailty-direct-care"} {
		file := filepath.Join(ws.PurposesDir(), name+".yaml")
		if err := os.WriteFile(file, []byte(readExample(t, name+".yaml")), 0o640); err != nil {
			t.Fatal(err)
		}
		approve(t, ws, file)
	}
	return g
}

func (g *govWorkspace) materialise(t testing.TB, id string) *Run {
	t.Helper()
	run, err := Materialise(t.Context(), g.ws, id, MaterialiseOptions{Actor: "oscar", Now: day})
	if err != nil {
		t.Fatal(err)
	}
	return run
}

// purposeKeyOf reads purpose id's key file, as an attacker with the keys
// directory could; tests use it to compute expected pseudonyms.
func purposeKeyOf(t testing.TB, ws *workspace.Workspace, id string) pseudonymise.Key {
	t.Helper()
	k, err := pseudonymise.LoadKey(keyPath(ws, id))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// query runs q against a fresh DuckDB and returns its rows as strings.
func query(t testing.TB, q string) [][]string {
	t.Helper()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	all, err := scanAll(t.Context(), db, q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	var out [][]string
	for _, vals := range all {
		row := make([]string, len(vals))
		for i, v := range vals {
			if v == nil {
				row[i] = "NULL"
			} else {
				row[i] = fmt.Sprint(v)
			}
		}
		out = append(out, row)
	}
	return out
}

// scanAll runs q and reads every row into Go values, as the sandbox does.
func scanAll(ctx context.Context, db *sql.DB, q string) ([][]any, error) {
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	var out [][]any
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		out = append(out, vals)
	}
	return out, rows.Err()
}

// column returns the values of one column of a purpose table, sorted.
func column(t testing.TB, run *Run, table models.Table, col string) []string {
	t.Helper()
	rows := query(t, fmt.Sprintf("SELECT %s FROM read_parquet(%s)", ident(col), sqlString(filepath.Join(run.Dir, string(table), "part-0.parquet"))))
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = r[0]
	}
	slices.Sort(out)
	return out
}

func parquetColumns(t testing.TB, run *Run, table models.Table) string {
	t.Helper()
	rows := query(t, fmt.Sprintf("SELECT name FROM parquet_schema(%s) WHERE name <> 'duckdb_schema'", sqlString(filepath.Join(run.Dir, string(table), "part-0.parquet"))))
	var names []string
	for _, r := range rows {
		names = append(names, r[0])
	}
	return strings.Join(names, ",")
}
