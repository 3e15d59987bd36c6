package purpose

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pophealth/pophealth/audit"
	"github.com/pophealth/pophealth/lake"
	"github.com/pophealth/pophealth/models"
	"github.com/pophealth/pophealth/pseudonymise"
)

func TestMaterialise_OnlyTheListedTablesAndColumns(t *testing.T) {
	g := newGovWorkspace(t)
	var steps []string
	run, err := Materialise(t.Context(), g.ws, "diabetes-phm", MaterialiseOptions{Now: day, Progress: func(step string, done, total int) {
		steps = append(steps, fmt.Sprintf("%s %d/%d", step, done, total))
	}})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(steps, ", "); got != "population 1/5, person 2/5, diagnosis 3/5, observation 4/5, medication 5/5" {
		t.Errorf("progress = %s", got)
	}
	entries, err := os.ReadDir(run.Dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if strings.Join(names, ",") != "_manifest.json,diagnosis,medication,observation,person" {
		t.Errorf("purpose dir holds %v", names)
	}
	for table, want := range map[models.Table]string{
		// age_band replaces year and month of birth.
		models.TablePerson:      "person_key,age_band,sex,postcode_district,practice_code,death_month",
		models.TableDiagnosis:   "person_key,code_system,code,recorded_date",
		models.TableObservation: "person_key,code_system,code,value,unit,effective_date",
		models.TableMedication:  "person_key,code_system,code,authored_date",
	} {
		if got := parquetColumns(t, run, table); got != want {
			t.Errorf("%s columns = %s, want %s", table, got, want)
		}
		if strings.Join(run.Columns[table], ",") != want {
			t.Errorf("run columns of %s = %v", table, run.Columns[table])
		}
	}
}

func TestMaterialise_OptOutsRemovePeopleExceptForDirectCare(t *testing.T) {
	g := newGovWorkspace(t)
	for _, tc := range []struct {
		id      string
		absent  []string
		applied bool
	}{
		{"diabetes-phm", []string{"p2", "p3"}, true},
		{"smi-research", []string{"p2", "p3"}, true},
		{"frailty-direct-care", nil, false},
	} {
		t.Run(tc.id, func(t *testing.T) {
			run := g.materialise(t, tc.id)
			ps := pseudonymise.New(purposeKeyOf(t, g.ws, tc.id))
			got := column(t, run, models.TableDiagnosis, "person_key")
			for person, pk := range g.personKey {
				want := !slices.Contains(tc.absent, person)
				if has := slices.Contains(got, ps.Derive(domainPerson, pk)); has != want {
					t.Errorf("%s in %s: %v, want %v", person, tc.id, has, want)
				}
			}
			if run.OptOutsApplied != tc.applied || run.People != int64(8-len(tc.absent)) {
				t.Errorf("applied %v people %d", run.OptOutsApplied, run.People)
			}
			if run.RemovedByOptOut != roundTo5(len(tc.absent)) {
				t.Errorf("removed (rounded) = %d, want %d", run.RemovedByOptOut, roundTo5(len(tc.absent)))
			}
		})
	}
}

func TestMaterialise_ClearedListLeavesOutTheUnchecked(t *testing.T) {
	g := newGovWorkspace(t)
	// The check service returned everyone but p2 and p8 (p8's number was
	// not submitted, so it was not cleared).
	body := "# pophealth opt-out register v1\n# kind: national\n# list: cleared\n# as-of: 2026-12-02\n"
	for _, p := range []string{"p1", "p3", "p4", "p5", "p7"} {
		for _, n := range fixtureNHS[p] {
			body += n + ",\n"
		}
	}
	os.WriteFile(g.ws.OptOutRegisterPath(RegisterNational), []byte(body), 0o640)
	run := g.materialise(t, "diabetes-phm")
	ps := pseudonymise.New(purposeKeyOf(t, g.ws, "diabetes-phm"))
	got := column(t, run, models.TablePerson, "person_key")
	for person, pk := range g.personKey {
		want := !slices.Contains([]string{"p2", "p3", "p8"}, person) // p3: Type 1
		if has := slices.Contains(got, ps.Derive(domainPerson, pk)); has != want {
			t.Errorf("%s: present %v, want %v", person, has, want)
		}
	}
	if run.Unverifiable != roundTo5(1) {
		t.Errorf("unverifiable = %d", run.Unverifiable)
	}
}

func TestMaterialise_RefusesMissingOrStaleRegister(t *testing.T) {
	g := newGovWorkspace(t)
	writeRegisters(t, g.ws, models.DateOf(day).AddDays(-31))
	if _, err := Materialise(t.Context(), g.ws, "diabetes-phm", MaterialiseOptions{Now: day}); err == nil || !strings.Contains(err.Error(), "31 days old") {
		t.Errorf("stale register: %v", err)
	}
	os.Remove(g.ws.OptOutRegisterPath(RegisterType1))
	writeRegisters(t, g.ws, models.DateOf(day))
	os.Remove(g.ws.OptOutRegisterPath(RegisterType1))
	if _, err := Materialise(t.Context(), g.ws, "diabetes-phm", MaterialiseOptions{Now: day}); err == nil || !strings.Contains(err.Error(), "type1 opt-out register") {
		t.Errorf("missing type 1 register: %v", err)
	}
	// Direct care does not apply opt-outs, so needs no register.
	if _, err := Materialise(t.Context(), g.ws, "frailty-direct-care", MaterialiseOptions{Now: day}); err != nil {
		t.Errorf("direct care: %v", err)
	}
	if _, err := os.Stat(Dir(g.ws.LakeDir(), "diabetes-phm")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a refused run left data: %v", err)
	}
}

func TestMaterialise_RefusesUnapprovedPurpose(t *testing.T) {
	g := newGovWorkspace(t)
	appendTo(t, filepath.Join(g.ws.PurposesDir(), "diabetes-phm.yaml"), "# edited\n")
	_, err := Materialise(t.Context(), g.ws, "diabetes-phm", MaterialiseOptions{Now: day})
	wantRefused(t, err, StatusChanged, "changed since approval")
}

func TestMaterialise_SensitiveRecordsOnlyWhereAdmitted(t *testing.T) {
	g := newGovWorkspace(t)
	phm := g.materialise(t, "diabetes-phm")         // admits none
	smi := g.materialise(t, "smi-research")         // admits mental_health
	care := g.materialise(t, "frailty-direct-care") // mental_health, safeguarding
	codes := func(run *Run, table models.Table) string {
		return strings.Join(slices.Compact(column(t, run, table, "code")), ",")
	}
	for _, tc := range []struct {
		run   *Run
		table models.Table
		want  string
	}{
		{phm, models.TableDiagnosis, "44054006,E11"},
		{phm, models.TableMedication, "325278002"},
		{smi, models.TableDiagnosis, "44054006,E11,F32.1"},
		{smi, models.TableMedication, "321968004,325278002"},
		// p4's A54 and T741: p4 is in direct care (no opt-outs); T741 is
		// safeguarding, admitted; A54 (sexual health) and Z59 (social
		// care) are not.
		{care, models.TableDiagnosis, "44054006,E11,F32.1,T741"},
	} {
		if got := codes(tc.run, tc.table); got != tc.want {
			t.Errorf("%s %s codes = %s, want %s", tc.run.Purpose, tc.table, got, tc.want)
		}
	}
	// e1 carries the F32.1 diagnosis: its encounter is left out where
	// mental health is not admitted.
	psSMI := pseudonymise.New(purposeKeyOf(t, g.ws, "smi-research"))
	if got := column(t, smi, models.TableEncounter, "encounter_key"); len(got) != 2 ||
		!slices.Contains(got, psSMI.Derive(domainEncounter, g.encKey["e1"])) {
		t.Errorf("smi-research encounters = %v, want e1 and e2", got)
	}
}

func TestMaterialise_SensitiveEncounterLeftOut(t *testing.T) {
	g := newGovWorkspace(t)
	// A purpose like smi-research without mental health.
	file := filepath.Join(g.ws.PurposesDir(), "smi-research.yaml")
	b, _ := os.ReadFile(file)
	os.WriteFile(file, bytes.Replace(b, []byte("sensitive: [mental_health]"), []byte("sensitive: []"), 1), 0o640)
	approve(t, g.ws, file)
	run := g.materialise(t, "smi-research")
	ps := pseudonymise.New(purposeKeyOf(t, g.ws, "smi-research"))
	got := column(t, run, models.TableEncounter, "encounter_key")
	if len(got) != 1 || got[0] != ps.Derive(domainEncounter, g.encKey["e2"]) {
		t.Errorf("encounters = %v, want only e2", got)
	}
}

func TestMaterialise_Generalisation(t *testing.T) {
	g := newGovWorkspace(t)
	phm := g.materialise(t, "diabetes-phm")
	smi := g.materialise(t, "smi-research")
	// p1 born 1945-01: 81 on 2026-12-03; p8 born 1980-08: 46.
	// p2 and p3 opted out.
	bands := column(t, phm, models.TablePerson, "age_band")
	if len(bands) != 6 || strings.Join(slices.Compact(bands), ",") != "45-49,50-54,55-59,60-64,65-69,80-84" {
		t.Errorf("age bands = %v", bands)
	}
	if got := parquetColumns(t, smi, models.TablePerson); got != "person_key,year_of_birth,sex,postcode_area" {
		t.Errorf("smi person columns = %s", got)
	}
	areas := column(t, smi, models.TablePerson, "postcode_area")
	if strings.Join(slices.Compact(areas), ",") != "LS,M,S,W" { // EC1A was p2's
		t.Errorf("postcode areas = %v", areas)
	}
}

// TestMaterialise_PurposesCannotBeJoined is the test: two
// purposes' outputs share no pseudonym, and neither holds a lake key.
func TestMaterialise_PurposesCannotBeJoined(t *testing.T) {
	g := newGovWorkspace(t)
	a, b := g.materialise(t, "smi-research"), g.materialise(t, "frailty-direct-care")
	for _, col := range []struct {
		table models.Table
		name  string
	}{{models.TablePerson, "person_key"}, {models.TableDiagnosis, "person_key"}, {models.TableEncounter, "person_key"}, {models.TableEncounter, "encounter_key"}} {
		q := "SELECT count(*) FROM read_parquet(" + sqlString(filepath.Join(a.Dir, string(col.table), "part-0.parquet")) + ") x JOIN read_parquet(" +
			sqlString(filepath.Join(b.Dir, string(col.table), "part-0.parquet")) + ") y ON x." + col.name + " = y." + col.name
		if n := query(t, q)[0][0]; n != "0" {
			t.Errorf("%s.%s: %s rows join across purposes", col.table, col.name, n)
		}
		for _, run := range []*Run{a, b} {
			if n := len(column(t, run, col.table, col.name)); n == 0 {
				t.Errorf("%s %s.%s is empty: the join proves nothing", run.Purpose, col.table, col.name)
			}
			for _, v := range column(t, run, col.table, col.name) {
				for _, lk := range g.personKey {
					if v == lk {
						t.Errorf("%s holds a lake person key", run.Purpose)
					}
				}
				for _, lk := range g.encKey {
					if v == lk {
						t.Errorf("%s holds a lake encounter key", run.Purpose)
					}
				}
			}
		}
	}
}

// TestMaterialise_KeysInNoArtefact greps every file a run leaves in the
// workspace outside the keys directory, the logs and a failed run's error
// for the purpose and lake keys in hex, base64 and raw bytes.
func TestMaterialise_KeysInNoArtefact(t *testing.T) {
	g := newGovWorkspace(t)
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if _, err := Materialise(t.Context(), g.ws, "diabetes-phm", MaterialiseOptions{Actor: "oscar", Now: day, Log: log}); err != nil {
		t.Fatal(err)
	}
	if _, err := RotateKey(t.Context(), g.ws, "diabetes-phm", MaterialiseOptions{Actor: "oscar", Now: day, Log: log}); err != nil {
		t.Fatal(err)
	}
	writeRegisters(t, g.ws, models.DateOf(day).AddDays(-90))
	_, failed := Materialise(t.Context(), g.ws, "diabetes-phm", MaterialiseOptions{Now: day, Log: log})
	if failed == nil {
		t.Fatal("stale register accepted")
	}
	var secrets [][]byte
	for _, path := range []string{keyPath(g.ws, "diabetes-phm"), g.ws.LakeKeyPath()} {
		h, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := hex.DecodeString(strings.TrimSpace(string(h)))
		if err != nil {
			t.Fatal(err)
		}
		secrets = append(secrets, raw, []byte(hex.EncodeToString(raw)), []byte(strings.ToUpper(hex.EncodeToString(raw))),
			[]byte(base64.StdEncoding.EncodeToString(raw)), []byte(base64.RawURLEncoding.EncodeToString(raw)))
	}
	check := func(what string, data []byte) {
		for _, s := range secrets {
			if bytes.Contains(data, s) {
				t.Errorf("a key is in %s", what)
			}
		}
	}
	files := 0
	filepath.WalkDir(g.ws.Dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		if e.IsDir() && p == g.ws.KeysDir() {
			return filepath.SkipDir
		}
		if !e.IsDir() {
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			files++
			check(p, b)
		}
		return nil
	})
	check("the logs", logs.Bytes())
	check("the error", []byte(failed.Error()))
	if files < 10 || logs.Len() == 0 {
		t.Errorf("checked %d files and %d bytes of logs: too few to mean anything", files, logs.Len())
	}
}

func TestMaterialise_ReplacesAtomicallyAndCleansUp(t *testing.T) {
	g := newGovWorkspace(t)
	first := g.materialise(t, "diabetes-phm")
	stale := filepath.Join(g.ws.LakeDir(), "purposes", ".tmp-diabetes-phm.crashed")
	os.MkdirAll(stale, 0o750)
	// Another purpose's run in progress, whose id starts with this one's.
	other := filepath.Join(g.ws.LakeDir(), "purposes", ".tmp-diabetes-phm-2.running")
	os.MkdirAll(other, 0o750)
	second := g.materialise(t, "diabetes-phm")
	if first.Dir != second.Dir {
		t.Fatalf("dirs %s %s", first.Dir, second.Dir)
	}
	entries, _ := os.ReadDir(filepath.Join(g.ws.LakeDir(), "purposes"))
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if strings.Join(names, ",") != ".diabetes-phm.lock,.tmp-diabetes-phm-2.running,diabetes-phm" {
		t.Errorf("purposes dir holds %v, want the lock, the other purpose's run and diabetes-phm", names)
	}
	if got := column(t, second, models.TablePerson, "person_key"); len(got) != 6 {
		t.Errorf("after replacement %d people", len(got))
	}
}

func TestRotateKey_ChangesEveryPseudonym(t *testing.T) {
	g := newGovWorkspace(t)
	before := column(t, g.materialise(t, "smi-research"), models.TablePerson, "person_key")
	oldKey := purposeKeyOf(t, g.ws, "smi-research")
	run, err := RotateKey(t.Context(), g.ws, "smi-research", MaterialiseOptions{Actor: "oscar", Now: day})
	if err != nil {
		t.Fatal(err)
	}
	if purposeKeyOf(t, g.ws, "smi-research") == oldKey {
		t.Error("key file unchanged")
	}
	after := column(t, run, models.TablePerson, "person_key")
	if len(after) != len(before) {
		t.Fatalf("people %d -> %d", len(before), len(after))
	}
	for _, p := range after {
		if slices.Contains(before, p) {
			t.Errorf("pseudonym %s survived rotation", p)
		}
	}
	// A later materialisation uses the new key.
	if again := column(t, g.materialise(t, "smi-research"), models.TablePerson, "person_key"); strings.Join(again, ",") != strings.Join(after, ",") {
		t.Error("materialising after rotation changed pseudonyms again")
	}
	t.Setenv(KeyEnv("smi-research"), hex.EncodeToString(make([]byte, 32)))
	if _, err := RotateKey(t.Context(), g.ws, "smi-research", MaterialiseOptions{Now: day}); err == nil || !strings.Contains(err.Error(), KeyEnv("smi-research")) {
		t.Errorf("rotating an environment key: %v", err)
	}
}

func TestPurposeKey_EnvironmentAndPlacement(t *testing.T) {
	g := newGovWorkspace(t)
	t.Setenv(KeyEnv("diabetes-phm"), strings.Repeat("ab", 32))
	run := g.materialise(t, "diabetes-phm")
	k, err := pseudonymise.ParseKey(strings.Repeat("ab", 32))
	if err != nil {
		t.Fatal(err)
	}
	if got := column(t, run, models.TablePerson, "person_key"); !slices.Contains(got, pseudonymise.New(k).Derive(domainPerson, g.personKey["p1"])) {
		t.Error("the environment key was not used")
	}
	if _, err := os.Stat(keyPath(g.ws, "diabetes-phm")); !errors.Is(err, fs.ErrNotExist) {
		t.Error("a key file was written although the environment supplies the key")
	}
	g.ws.Config.Purposes.Keys = filepath.Join(g.ws.LakeDir(), "keys")
	t.Setenv(KeyEnv("diabetes-phm"), "")
	if _, err := Materialise(t.Context(), g.ws, "diabetes-phm", MaterialiseOptions{Now: day}); err == nil || !strings.Contains(err.Error(), "inside the lake") {
		t.Errorf("keys inside the lake: %v", err)
	}
}

func TestPurposeKey_CreatedPrivate(t *testing.T) {
	g := newGovWorkspace(t)
	g.materialise(t, "diabetes-phm")
	info, err := os.Stat(keyPath(g.ws, "diabetes-phm"))
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("key mode %#o", info.Mode().Perm())
	}
	dir, _ := os.Stat(g.ws.PurposeKeysDir())
	if dir.Mode().Perm() != 0o700 {
		t.Errorf("keys dir mode %#o", dir.Mode().Perm())
	}
}

func TestDataDir_RefusesMissingAndStaleData(t *testing.T) {
	g := newGovWorkspace(t)
	ap, err := Check(g.ws, "smi-research", day)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := DataDir(g.ws, ap); err == nil || !strings.Contains(err.Error(), "has no data yet") {
		t.Errorf("before materialising: %v", err)
	}
	run := g.materialise(t, "smi-research")
	if dir, err := DataDir(g.ws, ap); err != nil || dir != run.Dir {
		t.Errorf("DataDir = %s, %v", dir, err)
	}
	// Re-approve a narrower config: the old data must not be served.
	file := filepath.Join(g.ws.PurposesDir(), "smi-research.yaml")
	b, _ := os.ReadFile(file)
	os.WriteFile(file, bytes.Replace(b, []byte("  encounter: [person_key, encounter_key, class, admission_method, start_date, end_date]\n"), nil, 1), 0o640)
	approve(t, g.ws, file)
	ap, err = Check(g.ws, "smi-research", day)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := DataDir(g.ws, ap); err == nil || !strings.Contains(err.Error(), "made under an earlier approval") {
		t.Errorf("after re-approval: %v", err)
	}
}

func TestMaterialise_RunsAreAudited(t *testing.T) {
	g := newGovWorkspace(t)
	g.materialise(t, "diabetes-phm")
	if _, err := RotateKey(t.Context(), g.ws, "diabetes-phm", MaterialiseOptions{Actor: "oscar", Now: day}); err != nil {
		t.Fatal(err)
	}
	log, err := audit.Open(g.ws.AuditLogPath())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := log.Verify(); err != nil {
		t.Fatal(err)
	}
	entries, err := log.Entries()
	if err != nil {
		t.Fatal(err)
	}
	var runs []audit.Entry
	var rotated bool
	for _, e := range entries {
		switch e.Action {
		case "purpose.materialise":
			runs = append(runs, e)
		case "purpose.rotate-key":
			rotated = e.Actor == "oscar" && e.Detail["purpose"] == "diabetes-phm"
		}
	}
	if len(runs) != 2 || !rotated {
		t.Fatalf("audit has %d materialisations, rotation %v", len(runs), rotated)
	}
	e := runs[0]
	tables, _ := e.Detail["tables"].(map[string]any)
	// Numbers compare as text: the audit log decodes them as json.Number.
	if e.Actor != "oscar" || e.Detail["purpose"] != "diabetes-phm" || fmt.Sprint(e.Detail["people"]) != "6" ||
		fmt.Sprint(e.Detail["removed_by_opt_out_rounded"]) != fmt.Sprint(roundTo5(2)) || fmt.Sprint(tables["person"]) != "6" ||
		e.Detail["national_register_as_of"] != "2026-12-02" {
		t.Errorf("audit entry %+v", e)
	}
}

func TestMaterialise_OneRunAtATime(t *testing.T) {
	g := newGovWorkspace(t)
	unlock, err := lockPurpose(g.ws, "diabetes-phm")
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	if _, err := Materialise(t.Context(), g.ws, "diabetes-phm", MaterialiseOptions{Now: day}); err == nil || !strings.Contains(err.Error(), "is running") {
		t.Errorf("second run: %v", err)
	}
	if _, err := RotateKey(t.Context(), g.ws, "diabetes-phm", MaterialiseOptions{Now: day}); err == nil || !strings.Contains(err.Error(), "is running") {
		t.Errorf("rotation during a run: %v", err)
	}
	// Another purpose is not held up.
	g.materialise(t, "smi-research")
}

func TestRevoke_RemovesThePurposeData(t *testing.T) {
	g := newGovWorkspace(t)
	run := g.materialise(t, "smi-research")
	if _, err := mustLedger(t, g.ws).Revoke("smi-research", "ian", "study closed", day); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(run.Dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("revoked purpose's data still there: %v", err)
	}
}

// keyMapRow is a row of linkage's person key map (lake/pseudo/person_key_map).
type keyMapRow struct {
	FromKey string `parquet:"from_key"`
	ToKey   string `parquet:"to_key"`
	BatchID string `parquet:"batch_id"`
}

// A record that linkage joined to an opted-out person without an NHS
// number of its own (p6, whose number is invalid, found to be p2) is left
// out with that person.
func TestMaterialise_OptOutsFollowLinkage(t *testing.T) {
	g := newGovWorkspace(t)
	g.linkPeople(t, "p6", "p2")
	run := g.materialise(t, "diabetes-phm")
	ps := pseudonymise.New(purposeKeyOf(t, g.ws, "diabetes-phm"))
	got := column(t, run, models.TablePerson, "person_key")
	if slices.Contains(got, ps.Derive(domainPerson, g.personKey["p6"])) {
		t.Error("p6, linked to opted-out p2, is in the purpose's data")
	}
	if len(got) != 5 {
		t.Errorf("%d people, want 5 (p2, p3 and p6 left out)", len(got))
	}
}

func TestMaterialise_RowsFollowLinkageMerges(t *testing.T) {
	g := newGovWorkspace(t)
	// Linkage found that p5 is p1: p5's rows must carry p1's pseudonym.
	g.linkPeople(t, "p5", "p1")
	run := g.materialise(t, "diabetes-phm")
	ps := pseudonymise.New(purposeKeyOf(t, g.ws, "diabetes-phm"))
	for _, table := range []models.Table{models.TablePerson, models.TableDiagnosis} {
		got := column(t, run, table, "person_key")
		if slices.Contains(got, ps.Derive(domainPerson, g.personKey["p5"])) {
			t.Errorf("%s: p5's own pseudonym survives its merge into p1", table)
		}
		if !slices.Contains(got, ps.Derive(domainPerson, g.personKey["p1"])) {
			t.Errorf("%s: p1's pseudonym is missing", table)
		}
	}
}

// linkPeople commits a linkage key map row in a batch of its own: the rows
// written under from's person key belong to the person of to.
func (g *govWorkspace) linkPeople(t *testing.T, from, to string) {
	t.Helper()
	l, err := lake.Open(g.ws.LakeDir())
	if err != nil {
		t.Fatal(err)
	}
	b, err := l.Begin("B-link-" + from)
	if err != nil {
		t.Fatal(err)
	}
	if err := lake.Append(b, keyMapDir, keyMapRow{FromKey: g.personKey[from], ToKey: g.personKey[to], BatchID: "B-link-" + from}); err != nil {
		t.Fatal(err)
	}
	if err := b.Commit(lake.Manifest{}); err != nil {
		t.Fatal(err)
	}
}

// A source patient of p4 that started sending opted-out p2's NHS number
// (an NHS number conflict, kept apart until a clerk decides) is left out:
// it may be p2.
func TestMaterialise_OptOutsCoverNHSNumberConflicts(t *testing.T) {
	g := newGovWorkspace(t)
	l, err := lake.Open(g.ws.LakeDir())
	if err != nil {
		t.Fatal(err)
	}
	b, err := l.Begin("B-conflict")
	if err != nil {
		t.Fatal(err)
	}
	row := models.LinkRow{Feed: "gp", LocalID: "Lp4-0", PersonID: "p4", NHSNumber: fixtureNHS["p2"][0],
		NHSNumberStatus: "valid", Method: models.LinkNHSConflict, BatchID: "B-conflict"}
	if err := lake.Append(b, "mpi/links", row); err != nil {
		t.Fatal(err)
	}
	if err := b.Commit(lake.Manifest{}); err != nil {
		t.Fatal(err)
	}
	run := g.materialise(t, "diabetes-phm")
	ps := pseudonymise.New(purposeKeyOf(t, g.ws, "diabetes-phm"))
	got := column(t, run, models.TablePerson, "person_key")
	if slices.Contains(got, ps.Derive(domainPerson, g.personKey["p4"])) {
		t.Error("p4, whose feed sent opted-out p2's NHS number, is in the purpose's data")
	}
	if !slices.Contains(got, ps.Derive(domainPerson, g.personKey["p1"])) {
		t.Error("p1 is missing: the test removes too much")
	}
}
