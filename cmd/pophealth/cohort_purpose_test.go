package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pophealth/pophealth/lake"
	"github.com/pophealth/pophealth/purpose"
	"github.com/pophealth/pophealth/queries"
	"github.com/pophealth/pophealth/queries/cohort"
	"github.com/pophealth/pophealth/queries/suppress"
)

// cohortPurposeWorkspace is newPurposeWorkspace with cohort purposes
// approved and materialised, copies of the diabetes-cohorts example:
// t2d-cohorts (nhsd, alice), t2d-cohorts-os
// (the same data under opensafely, rita), diabetes-phm (date of birth as
// age bands, no registration dates), t2d-revoked (approved, then revoked)
// and smi-research left a draft. After materialisation the lake grows by
// a second feed, so a run over the lake and one over a purpose's data
// count different people.
//
// It returns the workspace and the JSON of the example spec run over the
// lake before it grew, when the lake held the same people as the purposes.
func cohortPurposeWorkspace(t *testing.T) (ws, lakeBefore string) {
	t.Helper()
	ws = newPurposeWorkspace(t)
	cli := func(args ...string) string {
		t.Helper()
		out, err := runCLI(t, append([]string{"--workspace", ws}, args...)...)
		if err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
		return out
	}
	b, err := os.ReadFile(filepath.Join("..", "..", "purpose", "examples", "diabetes-cohorts.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	// In date whenever the test runs.
	base := strings.NewReplacer("valid_from: 2026-12-01", "valid_from: 2000-01-01", "valid_until: 2027-11-30", "valid_until: 2999-12-31").Replace(string(b))
	for id, r := range map[string]*strings.Replacer{
		"t2d-cohorts":    strings.NewReplacer("id: diabetes-cohorts", "id: t2d-cohorts"),
		"t2d-cohorts-os": strings.NewReplacer("id: diabetes-cohorts", "id: t2d-cohorts-os", "suppression: nhsd", "suppression: opensafely", "users: [alice]", "users: [rita]"),
		"t2d-revoked":    strings.NewReplacer("id: diabetes-cohorts", "id: t2d-revoked"),
	} {
		if err := os.WriteFile(filepath.Join(ws, "purposes", id+".yaml"), []byte(r.Replace(base)), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range []string{"t2d-cohorts", "t2d-cohorts-os", "diabetes-phm", "t2d-revoked"} {
		cli("purpose", "approve", filepath.Join(ws, "purposes", id+".yaml"), "--by", "ian")
		if id != "t2d-revoked" {
			cli("purpose", "materialise", id)
		}
	}
	cli("purpose", "revoke", "t2d-revoked", "--by", "ian", "--reason", "study closed")
	lakeBefore = cli("cohort", "run", exampleSpec, "--json")
	feeds := filepath.Join(t.TempDir(), "feeds")
	cli("synth", "--people", "150", "--seed", "11", "--out", feeds)
	cli("ingest", feeds)
	return ws, lakeBefore
}

// TestCohortRunUnderPurpose runs cohort run --purpose on one workspace
// (building it is the slow part).
func TestCohortRunUnderPurpose(t *testing.T) {
	ws, lakeBefore := cohortPurposeWorkspace(t)
	t.Run("SameNumbersAsTheLakeForTheSamePeople", func(t *testing.T) {
		// Everyone is cleared by the registers and the spec reads no
		// sensitive record, so the purpose holds the lake's people as it
		// was before it grew: the counts must be the lake's.
		out, _ := runCohortJSON(t, "--workspace", ws, "cohort", "run", exampleSpec, "--purpose", "t2d-cohorts", "--as", "alice", "--json")
		if out != lakeBefore {
			t.Errorf("under the purpose:\n%s\nover the lake before it grew:\n%s", out, lakeBefore)
		}
	})
	for name, test := range map[string]func(*testing.T, string){
		"CountsThePurposesDataAndAudits":    testCohortPurposeCountsThePurposesDataAndAudits,
		"OpenSAFELYProfileWithholdsZeros":   testCohortPurposeOpenSAFELYProfileWithholdsZeros,
		"RefusesUnapprovedRevokedAndUsers":  testCohortPurposeRefusesUnapprovedRevokedAndUsers,
		"RefusesASpecNeedingMissingColumns": testCohortPurposeRefusesASpecNeedingMissingColumns,
	} {
		t.Run(name, func(t *testing.T) { test(t, ws) })
	}
}

// cohortJSON is the JSON cohort run prints: one object per report.
type cohortJSON []struct {
	Title       string
	Rows        [][]any
	Notes       []string
	Suppression string
}

func runCohortJSON(t *testing.T, args ...string) (string, cohortJSON) {
	t.Helper()
	out, err := runCLI(t, args...)
	if err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	var res cohortJSON
	if err := json.Unmarshal([]byte(out), &res); err != nil || len(res) != 4 {
		t.Fatalf("%v: %d reports, %v\n%s", args, len(res), err, out)
	}
	return out, res
}

// purposeReports is what the run should print: the spec run over the
// purpose's folder itself, suppressed under profile p.
func purposeReports(t *testing.T, ws, id string, p suppress.Profile) string {
	t.Helper()
	lk, err := lake.Open(filepath.Join(ws, "lake"))
	if err != nil {
		t.Fatal(err)
	}
	eng, err := queries.OpenFolder(context.Background(), lk, purpose.Dir(filepath.Join(ws, "lake"), id))
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	s, err := cohort.Load(exampleSpec)
	if err != nil {
		t.Fatal(err)
	}
	q, err := cohort.Compile(s)
	if err != nil {
		t.Fatal(err)
	}
	res, err := cohort.Run(context.Background(), eng, s.Name, q)
	if err != nil {
		t.Fatal(err)
	}
	end, err := eng.DataEnd(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := writeReports(&b, cohortPage(s, res, end, p), "json"); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func testCohortPurposeCountsThePurposesDataAndAudits(t *testing.T, ws string) {
	out, res := runCohortJSON(t, "--workspace", ws, "cohort", "run", exampleSpec, "--purpose", "t2d-cohorts", "--as", "alice", "--json")
	if want := purposeReports(t, ws, "t2d-cohorts", suppress.NHSD); out != want {
		t.Errorf("run under the purpose is not the report of its data:\n%s\nwant\n%s", out, want)
	}
	lakeOut, _ := runCohortJSON(t, "--workspace", ws, "cohort", "run", exampleSpec, "--json")
	if lakeOut == out {
		t.Error("the run under the purpose counted the whole lake, which has grown since the purpose's data was made")
	}
	// The attrition's counts, whatever the expected reports say.
	for _, row := range res[0].Rows {
		if n, ok := row[1].(float64); !ok && row[1] != "*" || ok && int64(n)%5 != 0 {
			t.Errorf("attrition %v: count %v neither rounded to 5 nor withheld", row[0], row[1])
		}
	}
	var got map[string]any
	var actor string
	for _, e := range auditEntries(t, ws) {
		if e.Action == "cohort.run" {
			got, actor = e.Detail, e.Actor
		}
	}
	body, err := os.ReadFile(exampleSpec)
	if err != nil {
		t.Fatal(err)
	}
	if actor != "alice" || got["purpose"] != "t2d-cohorts" || got["spec"] != "t2d-poor-control" || got["outcome"] != "ok" ||
		got["suppression"] != "nhsd" || got["spec_sha256"] != fmt.Sprintf("%x", sha256.Sum256(body)) {
		t.Errorf("audit of the purpose run: %s %+v", actor, got)
	}
}

func testCohortPurposeOpenSAFELYProfileWithholdsZeros(t *testing.T, ws string) {
	_, nhsd := runCohortJSON(t, "--workspace", ws, "cohort", "run", exampleSpec, "--purpose", "t2d-cohorts", "--as", "alice", "--json")
	osOut, opensafely := runCohortJSON(t, "--workspace", ws, "cohort", "run", exampleSpec, "--purpose", "t2d-cohorts-os", "--as", "rita", "--json")
	if want := purposeReports(t, ws, "t2d-cohorts-os", suppress.OpenSAFELY); osOut != want {
		t.Errorf("opensafely run:\n%s\nwant\n%s", osOut, want)
	}
	zeros := 0
	for i, r := range nhsd {
		if !strings.Contains(opensafely[i].Suppression, "OpenSAFELY") || strings.Contains(r.Suppression, "OpenSAFELY") {
			t.Errorf("%s: rules %q and %q", r.Title, r.Suppression, opensafely[i].Suppression)
		}
		if len(opensafely[i].Rows) != len(r.Rows) {
			t.Fatalf("%s: %d rows under opensafely, %d under nhsd", r.Title, len(opensafely[i].Rows), len(r.Rows))
		}
		for j, row := range r.Rows {
			for k, c := range row {
				o := opensafely[i].Rows[j][k]
				switch {
				case c == 0.0:
					zeros++
					if o != "*" {
						t.Errorf("%s row %d col %d: nhsd shows 0, opensafely %v (want *)", r.Title, j, k, o)
					}
				case fmt.Sprint(o) != fmt.Sprint(c):
					t.Errorf("%s row %d col %d: nhsd %v, opensafely %v", r.Title, j, k, c, o)
				}
			}
		}
	}
	if zeros == 0 {
		t.Fatal("the nhsd run shows no zero, so the profiles cannot differ on this data")
	}
}

func testCohortPurposeRefusesUnapprovedRevokedAndUsers(t *testing.T, ws string) {
	for _, c := range []struct{ id, as, want string }{
		{"smi-research", "rita", "smi-research refused: not approved"},
		{"t2d-revoked", "alice", "t2d-revoked refused: revoked by ian"},
		{"t2d-cohorts", "bob", `t2d-cohorts refused: user "bob" is not among the purpose's users or roles`},
		{"t2d-cohorts-os", "alice", `user "alice" is not among`},
	} {
		out, err := runCLI(t, "--workspace", ws, "cohort", "run", exampleSpec, "--purpose", c.id, "--as", c.as, "--json")
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(out, "attrition") {
			t.Errorf("%s as %s: %v (want %q)\n%s", c.id, c.as, err, c.want, out)
		}
		if e := lastAudit(t, ws); e.Action != "cohort.refused" || e.Actor != c.as || e.Detail["purpose"] != c.id {
			t.Errorf("%s as %s: audit %+v", c.id, c.as, e)
		}
	}
}

func testCohortPurposeRefusesASpecNeedingMissingColumns(t *testing.T, ws string) {
	_, err := runCLI(t, "--workspace", ws, "cohort", "run", exampleSpec, "--purpose", "diabetes-phm", "--as", "alice", "--json")
	for _, want := range []string{
		"column person.year_of_birth (for age at index (age bands, age criteria)): the purpose generalises date of birth to a five-year age band",
		"column person.registered_from (for the registration requirement (prior registration days)): not among the purpose's person columns",
		"column person.deprivation_decile",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("diabetes-phm: %v\nwant %q", err, want)
		}
	}
	if e := lastAudit(t, ws); e.Action != "cohort.run" || e.Detail["outcome"] != "refused" || e.Actor != "alice" {
		t.Errorf("audit %+v", e)
	}

	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "metformin.csv"), []byte("code,term\n325278002,Metformin 500mg tablets\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	spec := filepath.Join(dir, "metformin.yaml")
	body := "name: on-metformin\ndescription: people prescribed metformin\n" +
		"codelists: {metformin: {file: metformin.csv, system: dmd, version: '1'}}\n" +
		"study_period: {start: 2023-04-01, end: 2026-03-31}\nentry: {codelist: metformin}\nexit: {death: true}\n"
	if err := os.WriteFile(spec, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = runCLI(t, "--workspace", ws, "cohort", "run", spec, "--purpose", "t2d-cohorts", "--as", "alice", "--json")
	if err == nil || !strings.Contains(err.Error(), "table medication (for medication criteria or entry): the purpose has no medication table") {
		t.Errorf("medication spec: %v", err)
	}
}
