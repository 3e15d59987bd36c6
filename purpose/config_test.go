package purpose

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pophealth/pophealth/models"
)

func readExample(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("examples", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestParse_ExamplesAreValid(t *testing.T) {
	files, err := filepath.Glob("examples/*.yaml")
	if err != nil || len(files) < 3 {
		t.Fatalf("examples: %v %v", files, err)
	}
	for _, f := range files {
		c, _, err := LoadFile(f)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if c.ID+".yaml" != filepath.Base(f) {
			t.Errorf("%s: id %q does not match the file name", f, c.ID)
		}
	}
}

func TestParse_DiabetesExampleFields(t *testing.T) {
	c, err := Parse("d.yaml", []byte(readExample(t, "diabetes-phm.yaml")))
	if err != nil {
		t.Fatal(err)
	}
	if c.Article6 != "6(1)(e)" || c.Article9 != "9(2)(h)" || c.Category != PopulationHealth {
		t.Errorf("basis/category = %s %s %s", c.Article6, c.Article9, c.Category)
	}
	if c.DateOfBirth != DOBAgeBand || c.Postcode != PostcodeDistrict || c.Rows != RowsAggregates || c.Suppression != SuppressNHSD {
		t.Errorf("generalise/output = %s %s %s %s", c.DateOfBirth, c.Postcode, c.Rows, c.Suppression)
	}
	d, ok := c.Dataset(models.TableObservation)
	if !ok || strings.Join(d.Columns, ",") != "person_key,code_system,code,value,unit,effective_date" {
		t.Errorf("observation dataset = %v %v", d, ok)
	}
	if _, ok := c.Dataset(models.TableEncounter); ok {
		t.Error("encounter dataset present but not listed")
	}
	if c.ValidFrom.String() != "2026-12-01" || c.ValidUntil.String() != "2027-11-30" {
		t.Errorf("validity = %s..%s", c.ValidFrom, c.ValidUntil)
	}
	if len(c.Sensitive) != 0 || !c.AppliesOptOuts() {
		t.Errorf("sensitive %v, opt-outs %v", c.Sensitive, c.AppliesOptOuts())
	}
}

// TestParse_ProblemsNameTheLine changes one thing in a valid config and
// expects exactly one problem, on the line of the change.
func TestParse_ProblemsNameTheLine(t *testing.T) {
	base := readExample(t, "diabetes-phm.yaml")
	lineOf := func(s string) int {
		for i, l := range strings.Split(base, "\n") {
			if strings.Contains(l, s) {
				return i + 1
			}
		}
		t.Fatalf("base has no line with %q", s)
		return 0
	}
	for _, tc := range []struct {
		name, old, new, want string
		line                 int
	}{
		{"unknown column", "value, unit,", "value, units,", `"units" is not a column of the lake table`, lineOf("observation:")},
		{"unknown table", "  medication:", "  prescriptions:", `"prescriptions" is not a lake table`, lineOf("  medication:")},
		{"article 6 not a basis", "article6: 6(1)(e)", "article6: 6(1)(g)", `"6(1)(g)" is not one of 6(1)(a) (consent)`, lineOf("article6")},
		{"article 9 not a condition", "article9: 9(2)(h)", "article9: 9(3)", `legal_basis.article9: "9(3)" is not one of`, lineOf("article9")},
		{"article 9 missing", "  article9: 9(2)(h)   # health or social care\n", "", "article9: required", lineOf("legal_basis:")},
		{"research needs 9(2)(j)", "category: population health management", "category: research", "research needs article9 9(2)(j)", lineOf("legal_basis:")},
		{"id with a slash", "id: diabetes-phm", "id: ../etc", `id: "../etc" must be`, lineOf("id: diabetes-phm")},
		{"unknown category", "category: population health management", "category: marketing", `category: "marketing" is not one of direct care`, lineOf("category:")},
		{"until before from", "valid_until: 2027-11-30", "valid_until: 2026-11-30", "valid_until 2026-11-30 is before valid_from 2026-12-01", lineOf("valid_until")},
		{"impossible date", "valid_from: 2026-12-01", "valid_from: 2026-02-30", "valid_from: date", lineOf("valid_from")},
		{"postcode sector", "postcode: district", "postcode: sector", "sector is finer than the lake keeps", lineOf("postcode: district")},
		{"year drops month", "date_of_birth: age_band", "date_of_birth: year", "year drops month_of_birth", lineOf("date_of_birth")},
		{"unknown field", "sensitive: []", "sensitive: []\nretention: 5y", `unknown field "retention"`, lineOf("sensitive: []") + 1},
		{"field twice", "sensitive: []", "sensitive: []\ntitle: Again", `field "title" given twice`, lineOf("sensitive: []") + 1},
		{"unknown sensitive category", "sensitive: []", "sensitive: [religion]", `"religion" is not one of mental_health`, lineOf("sensitive: []")},
		{"unknown suppression profile", "suppression: nhsd", "suppression: none", `suppression: "none" is not one of nhsd, opensafely`, lineOf("suppression:")},
		{"unknown rows rule", "rows: aggregates", "rows: identifiable", `rows: "identifiable" is not one of pseudonymised, aggregates`, lineOf("rows:")},
		{"unknown role", "  users: [alice, bob]", "  users: [alice, bob]\n  roles: [analyst]", `access.roles: "analyst" is not a role`, lineOf("  users:") + 1},
		{"nobody may use it", "  users: [alice, bob]", "  users: []", "access: name at least one user or role", lineOf("access:")},
		{"column twice", "[person_key, code_system, code, recorded_date]", "[person_key, code, code]", "code listed twice", lineOf("diagnosis:")},
		{"yaml syntax", "title: Diabetes population health management", "title: [unclosed", "not valid YAML", lineOf("title:")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(base, tc.old) {
				t.Fatalf("base lacks %q", tc.old)
			}
			_, err := Parse("p.yaml", []byte(strings.Replace(base, tc.old, tc.new, 1)))
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("err = %v, want a ValidationError", err)
			}
			if len(ve.Problems) != 1 {
				t.Fatalf("problems = %v, want one", ve.Problems)
			}
			p := ve.Problems[0]
			if p.File != "p.yaml" || !strings.Contains(p.Msg, tc.want) {
				t.Errorf("problem %q, want it to contain %q", p, tc.want)
			}
			// A syntax error in a flow sequence is reported where YAML
			// gives up, which may be a later line.
			if tc.name != "yaml syntax" && p.Line != tc.line {
				t.Errorf("problem %q on line %d, want %d", p, p.Line, tc.line)
			}
			if !strings.HasPrefix(p.String(), "p.yaml:") {
				t.Errorf("problem %q does not start with the file", p)
			}
		})
	}
}

func TestParse_ReportsEveryProblem(t *testing.T) {
	_, err := Parse("p.yaml", []byte("id: x\ntitle: t\n"))
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("err = %v", err)
	}
	for _, want := range []string{"id: \"x\" must be", "controller: required", "legal_basis: required", "category: required",
		"datasets: want a mapping", "generalise: required", "output: required", "access: required", "valid_from: required", "valid_until: required"} {
		if !strings.Contains(ve.Error(), want) {
			t.Errorf("errors lack %q:\n%s", want, ve)
		}
	}
}

func TestParse_RefusesFreeTextAndUnclassifiedColumns(t *testing.T) {
	s, err := lakeSchema()
	if err != nil {
		t.Fatal(err)
	}
	s[models.TableObservation] = append(s[models.TableObservation],
		schemaColumn{name: "comment", kind: kindFreeText}, schemaColumn{name: "new_column", kind: kindUnclassified})
	base := readExample(t, "diabetes-phm.yaml")
	for col, want := range map[string]string{
		"comment":    "comment is free text, which never enters purpose data",
		"new_column": "new_column has not been classified for governance",
	} {
		cfg := strings.Replace(base, "value, unit,", "value, unit, "+col+",", 1)
		_, err := parse("p.yaml", []byte(cfg), s)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want %q", col, err, want)
		}
	}
}

// Every lake column must be classified; an unclassified one would be
// refused by every purpose (fail closed), which a developer adding a column
// should decide about deliberately.
func TestColumnKinds_EveryLakeColumnClassified(t *testing.T) {
	s, err := lakeSchema()
	if err != nil {
		t.Fatal(err)
	}
	for table, cols := range s {
		for _, c := range cols {
			if c.kind == kindUnclassified {
				t.Errorf("%s.%s has no kind in columnKinds", table, c.name)
			}
		}
	}
}

func TestLookupBasis_Normalises(t *testing.T) {
	for in, want := range map[string]string{"6(1)(e)": "6(1)(e)", "Art. 6(1)(E)": "6(1)(e)", "article 9(2)(h)": "9(2)(h)", " 9(2)(j) ": "9(2)(j)"} {
		list := article6
		if strings.Contains(want, "9(") {
			list = article9
		}
		if b, ok := lookupBasis(list, in); !ok || b.code != want {
			t.Errorf("lookupBasis(%q) = %v %v, want %s", in, b, ok, want)
		}
	}
	if BasisName("6(1)(e)") != "public task" || BasisName("9(2)(z)") != "" {
		t.Error("BasisName")
	}
}

func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("examples/*.yaml")
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	s, err := lakeSchema()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := parse("fuzz.yaml", data, s)
		if err != nil {
			var ve *ValidationError
			if !errors.As(err, &ve) || len(ve.Problems) == 0 {
				t.Fatalf("error %v is not a ValidationError with problems", err)
			}
			return
		}
		if !ValidID(c.ID) || len(c.Datasets) == 0 || c.ValidUntil < c.ValidFrom {
			t.Fatalf("accepted an invalid config: %+v", c)
		}
	})
}
