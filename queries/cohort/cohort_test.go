package cohort

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pophealth/pophealth/models"
)

func mustParse(t *testing.T, yml string) *Spec {
	t.Helper()
	s, err := Parse([]byte(yml))
	if err != nil {
		t.Fatalf("Parse: %v\n%s", err, yml)
	}
	return s
}

func list(t *testing.T, system string, codes ...string) *Codelist {
	t.Helper()
	cl, err := ParseCodelist([]byte("code,term\n"+strings.Join(codes, ",x\n")+",x\n"), system)
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

// assureAll runs the timelines and fails the test for each patient whose
// membership differs from the expectation.
func assureAll(t *testing.T, q *Query, tl *Timelines) []Outcome {
	t.Helper()
	out, err := Assure(t.Context(), q, tl)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range out {
		if !o.Pass {
			t.Errorf("%s: %s", o.ID, o.Detail)
		}
	}
	return out
}

func TestExamples_CheckCleanAndTheirTimelinesPass(t *testing.T) {
	specs, err := filepath.Glob("examples/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	specs = slices.DeleteFunc(specs, func(p string) bool { return strings.HasSuffix(p, ".test.yaml") })
	if len(specs) < 2 {
		t.Fatalf("examples %v: want the two worked examples", specs)
	}
	for _, spec := range specs {
		t.Run(filepath.Base(spec), func(t *testing.T) {
			s, err := Load(spec)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range Check(s) {
				t.Errorf("example spec: %s", p) // examples are clean: no errors, no warnings
			}
			q, err := Compile(s)
			if err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(strings.TrimSuffix(spec, ".yaml") + ".test.yaml")
			if err != nil {
				t.Fatal(err)
			}
			tl, err := ParseTimelines(b)
			if err != nil {
				t.Fatal(err)
			}
			out := assureAll(t, q, tl)
			if len(out) != len(tl.Patients) || len(out) < 8 {
				t.Fatalf("%d outcomes for %d patients", len(out), len(tl.Patients))
			}
			// The same run with two expectations turned round must fail
			// for those two patients and no others.
			tl.Patients[0].Expect.Member = !tl.Patients[0].Expect.Member
			tl.Patients[1].Expect.Member = !tl.Patients[1].Expect.Member
			out, err = Assure(t.Context(), q, tl)
			if err != nil {
				t.Fatal(err)
			}
			var failed []string
			for _, o := range out {
				if !o.Pass {
					failed = append(failed, o.ID)
				}
			}
			if !slices.Equal(failed, []string{tl.Patients[0].ID, tl.Patients[1].ID}) {
				t.Errorf("failed %v, want the two altered patients", failed)
			}
		})
	}
}

// A base spec: entry on code list "e" (SNOMED 1000001) in 2024, no
// registration requirement; each case adds rules and timelines.
const base = `
name: case
study_period: {start: 2024-01-01, end: 2024-12-31}
entry: {codelist: e}
exit: {death: true}
`

// person writes a registered patient born in 1950 with the given events.
func person(id, sex string, events string) string {
	return "  - id: " + id + "\n    sex: " + sex + "\n    born: 1950-06\n    practice: P1\n    registered_from: 2000-01-01\n    events:\n" + events
}

func ev(date, table, code string) string {
	return "      - {date: " + date + ", " + table + ": \"" + code + "\"}\n"
}

func evv(date, code, value string) string {
	return "      - {date: " + date + ", observation: \"" + code + "\", value: " + value + "}\n"
}

func TestCompile_CriteriaSelectTheRightTimelines(t *testing.T) {
	entry := ev("2024-03-01", "diagnosis", "snomed:1000001")
	for _, tc := range []struct {
		name     string
		spec     string
		patients string
		want     map[string]string // member id -> index dates ("" for not a member)
	}{
		{
			name: "first, latest and all occurrences",
			spec: "entry: {codelist: e, occurrence: all}\n",
			patients: person("a", "male", ev("2024-02-01", "diagnosis", "snomed:1000001")+ev("2024-05-01", "diagnosis", "snomed:1000001")+
				ev("2023-05-01", "diagnosis", "snomed:1000001")),
			want: map[string]string{"a": "2024-02-01,2024-05-01"},
		},
		{
			name:     "latest occurrence",
			spec:     "entry: {codelist: e, occurrence: latest}\n",
			patients: person("a", "male", ev("2024-02-01", "diagnosis", "snomed:1000001")+ev("2024-05-01", "diagnosis", "snomed:1000001")),
			want:     map[string]string{"a": "2024-05-01"},
		},
		{
			name: "ICD-10 lists match by prefix, with or without the dot",
			spec: "inclusion:\n  - name: diabetes in hospital\n    diagnosis: dm\n",
			patients: person("dotted", "male", entry+ev("2023-01-01", "diagnosis", "icd10:E11.9")) +
				person("plain", "male", entry+ev("2023-01-01", "diagnosis", "icd10:e112")) +
				person("other", "male", entry+ev("2023-01-01", "diagnosis", "icd10:E10.9")),
			want: map[string]string{"dotted": "2024-03-01", "plain": "2024-03-01", "other": ""},
		},
		{
			name: "at least 2 of 3 conditions",
			spec: "inclusion:\n  - name: two of three\n    at_least: 2\n    of: [{diagnosis: a}, {diagnosis: b}, {diagnosis: c}]\n",
			patients: person("two", "male", entry+ev("2023-01-01", "diagnosis", "snomed:2000001")+ev("2023-01-01", "diagnosis", "snomed:2000003")) +
				person("one", "male", entry+ev("2023-01-01", "diagnosis", "snomed:2000002")+ev("2023-01-01", "diagnosis", "snomed:2000002")),
			want: map[string]string{"two": "2024-03-01", "one": ""},
		},
		{
			name: "at most 1 of 3 conditions",
			spec: "inclusion:\n  - name: at most one\n    at_most: 1\n    of: [{diagnosis: a}, {diagnosis: b}, {diagnosis: c}]\n",
			patients: person("two", "male", entry+ev("2023-01-01", "diagnosis", "snomed:2000001")+ev("2023-01-01", "diagnosis", "snomed:2000003")) +
				person("none", "male", entry),
			want: map[string]string{"two": "", "none": "2024-03-01"},
		},
		{
			name: "nested any inside all, with sex and practice",
			spec: "inclusion:\n  - name: women at P1 with a or b\n    all:\n      - sex: female\n      - practice: [P1, \"O'Brien\"]\n      - any: [{diagnosis: a}, {diagnosis: b}]\n",
			patients: person("woman_b", "female", entry+ev("2023-01-01", "diagnosis", "snomed:2000002")) +
				person("man_b", "male", entry+ev("2023-01-01", "diagnosis", "snomed:2000002")) +
				person("woman_c", "female", entry+ev("2023-01-01", "diagnosis", "snomed:2000003")),
			want: map[string]string{"woman_b": "2024-03-01", "man_b": "", "woman_c": ""},
		},
		{
			name: "count of events in a window before index",
			spec: "inclusion:\n  - name: two prescriptions in 90 days before\n    medication: m\n    window: {from: -90, to: -1}\n    count: {min: 2}\n",
			patients: person("two", "male", entry+ev("2024-01-15", "medication", "dmd:3000001")+ev("2024-02-15", "medication", "dmd:3000001")) +
				person("one_in_window", "male", entry+ev("2023-10-01", "medication", "dmd:3000001")+ev("2024-02-15", "medication", "dmd:3000001")) +
				person("on_index", "male", entry+ev("2024-02-15", "medication", "dmd:3000001")+ev("2024-03-01", "medication", "dmd:3000001")),
			want: map[string]string{"two": "2024-03-01", "one_in_window": "", "on_index": ""},
		},
		{
			name: "any value in range vs latest value",
			spec: "inclusion:\n  - name: ever 48-58\n    observation: h\n    value: {gte: 48, lte: 58}\n    which: any\n",
			patients: person("ever", "male", entry+evv("2023-01-01", "snomed:4000001", "50")+evv("2024-01-01", "snomed:4000001", "70")) +
				person("never", "male", entry+evv("2023-01-01", "snomed:4000001", "59")+evv("2024-01-01", "snomed:4000001", "47.9")) +
				person("after_index", "male", entry+evv("2024-04-01", "snomed:4000001", "50")),
			want: map[string]string{"ever": "2024-03-01", "never": "", "after_index": ""},
		},
		{
			// Two values on the latest date: the highest counts, so the
			// answer does not depend on the order the lake returns them.
			name: "latest value on a date with two values",
			spec: "inclusion:\n  - name: latest above 58\n    observation: h\n    value: {gt: 58}\n",
			patients: person("tie", "male", entry+evv("2024-01-01", "snomed:4000001", "50")+evv("2024-01-01", "snomed:4000001", "70")) +
				person("tie_low", "male", entry+evv("2024-01-01", "snomed:4000001", "50")+evv("2024-01-01", "snomed:4000001", "58")),
			want: map[string]string{"tie": "2024-03-01", "tie_low": ""},
		},
		{
			name: "age at index",
			spec: "inclusion:\n  - name: 70 to 73\n    age: {min: 70, max: 73}\n",
			// Born June 1950: 73 on 2024-03-01, 74 from June 2024.
			patients: person("at73", "male", entry) + person("at74", "male", ev("2024-07-01", "diagnosis", "snomed:1000001")),
			want:     map[string]string{"at73": "2024-03-01", "at74": ""},
		},
		{
			// A rule name is copied into an SQL comment: a newline in it
			// must not let the rest of the name run as SQL.
			name:     "rule names cannot inject SQL",
			spec:     "exclusion:\n  - name: \"has c\\n        true AS exc_9, false\"\n    diagnosis: c\n",
			patients: person("c", "male", entry+ev("2020-01-01", "diagnosis", "snomed:2000003")) + person("plain", "male", entry),
			want:     map[string]string{"c": "", "plain": "2024-03-01"},
		},
		{
			name: "deprivation decile, unknown deciles never meet it",
			spec: "inclusion:\n  - name: most deprived fifth\n    deprivation_decile: {max: 2}\n",
			patients: strings.Replace(person("d1", "male", entry), "practice: P1", "practice: P1\n    deprivation_decile: 1", 1) +
				strings.Replace(person("d2", "male", entry), "practice: P1", "practice: P1\n    deprivation_decile: 2", 1) +
				strings.Replace(person("d3", "male", entry), "practice: P1", "practice: P1\n    deprivation_decile: 3", 1) +
				person("unknown", "male", entry),
			want: map[string]string{"d1": "2024-03-01", "d2": "2024-03-01", "d3": "", "unknown": ""},
		},
		{
			name: "registration ended before index",
			spec: "",
			patients: strings.Replace(person("left", "male", entry), "registered_from: 2000-01-01", "registered_from: 2000-01-01\n    registered_to: 2024-02-01", 1) +
				strings.Replace(person("left_later", "male", entry), "registered_from: 2000-01-01", "registered_from: 2000-01-01\n    registered_to: 2024-06-01", 1),
			want: map[string]string{"left": "", "left_later": "2024-03-01"},
		},
		{
			name:     "exclusion removes",
			spec:     "exclusion:\n  - name: has c\n    diagnosis: c\n",
			patients: person("c", "male", entry+ev("2020-01-01", "diagnosis", "snomed:2000003")) + person("plain", "male", entry),
			want:     map[string]string{"c": "", "plain": "2024-03-01"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := base
			if strings.HasPrefix(tc.spec, "entry:") {
				spec = strings.Replace(spec, "entry: {codelist: e}\n", "", 1)
			}
			s := mustParse(t, spec+tc.spec)
			s.SetCodelist("e", list(t, SNOMED, "1000001"))
			s.SetCodelist("dm", list(t, ICD10, "E11"))
			s.SetCodelist("a", list(t, SNOMED, "2000001"))
			s.SetCodelist("b", list(t, SNOMED, "2000002"))
			s.SetCodelist("c", list(t, SNOMED, "2000003"))
			s.SetCodelist("m", list(t, DMD, "3000001"))
			s.SetCodelist("h", list(t, SNOMED, "4000001"))
			q, err := Compile(s)
			if err != nil {
				t.Fatal(err)
			}
			tl, err := ParseTimelines([]byte("patients:\n" + tc.patients))
			if err != nil {
				t.Fatal(err)
			}
			for i := range tl.Patients {
				tl.Patients[i].Expect = Expect{Member: tc.want[tl.Patients[i].ID] != "", IndexDate: tc.want[tl.Patients[i].ID]}
			}
			assureAll(t, q, tl)
		})
	}
}

func TestCompile_ExitIsTheEarliestOfStudyEndDeathRegistrationAndOffset(t *testing.T) {
	s := mustParse(t, `
name: exit
study_period: {start: 2024-01-01, end: 2024-12-31}
entry: {codelist: e}
exit: {death: true, offset_days: 100, end_of_registration: true}
`)
	s.SetCodelist("e", list(t, SNOMED, "1000001"))
	q, err := Compile(s)
	if err != nil {
		t.Fatal(err)
	}
	tl, err := ParseTimelines([]byte(`patients:
  - {id: offset, sex: male, born: 1950-01, practice: P1, registered_from: 2000-01-01, events: [{date: 2024-03-01, diagnosis: "snomed:1000001"}], expect: {member: true, exit_date: 2024-06-09}}
  - {id: died, sex: male, born: 1950-01, practice: P1, registered_from: 2000-01-01, died: 2024-04, events: [{date: 2024-03-01, diagnosis: "snomed:1000001"}], expect: {member: true, exit_date: 2024-04-01}}
  - {id: study_end, sex: male, born: 1950-01, practice: P1, registered_from: 2000-01-01, events: [{date: 2024-11-01, diagnosis: "snomed:1000001"}], expect: {member: true, exit_date: 2024-12-31}}
  - {id: dead_before, sex: male, born: 1950-01, practice: P1, registered_from: 2000-01-01, died: 2024-02, events: [{date: 2024-03-01, diagnosis: "snomed:1000001"}], expect: {member: false}}
  - {id: unregistered, sex: male, born: 1950-01, events: [{date: 2024-03-01, diagnosis: "snomed:1000001"}], expect: {member: false}}
  - {id: moved_away, sex: male, born: 1950-01, practice: P1, registered_from: 2000-01-01, registered_to: 2024-04-15, events: [{date: 2024-03-01, diagnosis: "snomed:1000001"}], expect: {member: true, exit_date: 2024-04-15}}
`))
	if err != nil {
		t.Fatal(err)
	}
	assureAll(t, q, tl)
}

func TestCheck_FindsProblems(t *testing.T) {
	for _, tc := range []struct {
		name, rules string
		want        string // substring of one problem
		isErr       bool
	}{
		{"clean", "", "", false},
		{"no exit", "exit: {}\n", "no exit", false},
		{"age min above max", "inclusion: [{name: r, age: {min: 80, max: 70}}]\n", "min 80 > max 70", true},
		{"two sexes in ALL", "inclusion: [{name: r, all: [{sex: female}, {sex: male}]}]\n", "more than one sex", true},
		{"two sexes across rules", "inclusion: [{name: r1, sex: female}, {name: r2, sex: male}]\n", "more than one sex", true},
		{"disjoint ages across rules", "inclusion: [{name: r1, age: {min: 70}}, {name: r2, age: {max: 60}}]\n", "do not overlap", true},
		{"empty value range", "inclusion: [{name: r, observation: h, value: {gt: 58, lt: 50}}]\n", "value range is empty", true},
		{"value on a diagnosis", "inclusion: [{name: r, diagnosis: a, value: {gt: 1}}]\n", "only observations", true},
		{"at least more than given", "inclusion: [{name: r, at_least: 3, of: [{diagnosis: a}, {diagnosis: b}]}]\n", "never true", true},
		{"at most all", "inclusion: [{name: r, at_most: 2, of: [{diagnosis: a}, {diagnosis: b}]}]\n", "always true", false},
		{"window backwards", "inclusion: [{name: r, diagnosis: a, window: {from: 0, to: -30}}]\n", "window from 0 is after to -30", true},
		{"unknown list", "inclusion: [{name: r, diagnosis: zzz}]\n", "unknown code list \"zzz\"", true},
		{"two kinds in one criterion", "inclusion: [{name: r, diagnosis: a, sex: male}]\n", "exactly one of", true},
		{"deprivation decile out of range", "inclusion: [{name: r, deprivation_decile: {min: 0, max: 3}}]\n", "bound 0 is not a decile", true},
		{"deprivation deciles backwards", "inclusion: [{name: r, deprivation_decile: {min: 5, max: 3}}]\n", "min 5 > max 3", true},
		{"empty list", "inclusion: [{name: r, diagnosis: empty}]\n", "empty code list", false},
		{"malformed codes", "inclusion: [{name: r, diagnosis: bad}]\n", "are not snomed codes", false},
		{"unnamed rule", "inclusion: [{diagnosis: a}]\n", "no name", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			yml := "name: c\nstudy_period: {start: 2024-01-01, end: 2024-12-31}\nentry: {codelist: e}\n"
			if !strings.Contains(tc.rules, "exit:") {
				yml += "exit: {death: true}\n"
			}
			s := mustParse(t, yml+tc.rules)
			s.Codelists = map[string]CodelistRef{}
			for name, cl := range map[string]*Codelist{
				"e": list(t, SNOMED, "1000001"), "a": list(t, SNOMED, "2000001"), "b": list(t, SNOMED, "2000002"),
				"h": list(t, SNOMED, "4000001"), "empty": {System: SNOMED}, "bad": list(t, SNOMED, "E11", "1000001"),
			} {
				s.SetCodelist(name, cl)
				s.Codelists[name] = CodelistRef{System: cl.System, Version: "1"}
			}
			var found *Problem
			var all []string
			for _, p := range Check(s) {
				all = append(all, p.String())
				if strings.Contains(p.Message, "defined but not used") || strings.HasPrefix(p.Where, "codelists.") && tc.want == "" {
					continue
				}
				if tc.want != "" && strings.Contains(p.String(), tc.want) {
					found = &p
				}
				if tc.want == "" {
					t.Errorf("clean spec: %s", p)
				}
			}
			if tc.want == "" {
				return
			}
			if found == nil {
				t.Fatalf("no problem containing %q in %v", tc.want, all)
			}
			if found.Error != tc.isErr {
				t.Errorf("%s: error %v, want %v", found, found.Error, tc.isErr)
			}
		})
	}
}

func TestParse_RefusesUnknownFieldsAndEmpty(t *testing.T) {
	if _, err := Parse([]byte("name: x\ninclusions: []\n")); err == nil {
		t.Error("misspelt field accepted")
	}
	if _, err := Parse(nil); err == nil {
		t.Error("empty spec accepted")
	}
	if _, err := ParseTimelines([]byte("patients: [{id: a}, {id: a}]")); err == nil {
		t.Error("repeated patient id accepted")
	}
}

func TestParseCodelist(t *testing.T) {
	for _, tc := range []struct {
		name, system, csv string
		codes, invalid    []string
		err               bool
	}{
		{"opencodelists snomed", SNOMED, "code,term\n44054006,Type 2 diabetes\n44054006,dup\n\n73211009,DM\n", []string{"44054006", "73211009"}, nil, false},
		{"icd10 dotted and lower case", ICD10, "code,term\ne11.9,x\nE10,y\nE1,z\n", []string{"E10", "E119"}, []string{"E1"}, false},
		{"dm+d column name", DMD, "dmd_id,dmd_name\n325278002,Metformin\n", []string{"325278002"}, nil, false},
		{"BOM and extra columns", SNOMED, "\ufeffterm,code,notes\nx,38341003,n\n", []string{"38341003"}, nil, false},
		{"not numeric", SNOMED, "code\n3834100X\n", nil, []string{"3834100X"}, false},
		{"no code column", SNOMED, "id,term\n1,x\n", nil, nil, true},
		{"empty", SNOMED, "", nil, nil, true},
		{"unknown system", "read", "code\nX\n", nil, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cl, err := ParseCodelist([]byte(tc.csv), tc.system)
			if (err != nil) != tc.err {
				t.Fatalf("err %v, want error %v", err, tc.err)
			}
			if err == nil && (!slices.Equal(cl.Codes, tc.codes) || !slices.Equal(cl.Invalid, tc.invalid)) {
				t.Errorf("codes %v invalid %v, want %v %v", cl.Codes, cl.Invalid, tc.codes, tc.invalid)
			}
		})
	}
}

func FuzzParseCodelist(f *testing.F) {
	f.Add([]byte("code,term\n44054006,x\n"), "snomed")
	f.Add([]byte("code\ne11.9\n'; DROP TABLE x; --\n"), "icd10")
	f.Add([]byte("dmd_id\n325278002\n"), "dmd")
	f.Fuzz(func(t *testing.T, data []byte, system string) {
		cl, err := ParseCodelist(data, system)
		if err != nil {
			return
		}
		for _, c := range cl.Codes {
			// Codes are inlined in SQL: only letters and digits get through.
			if strings.ContainsFunc(c, func(r rune) bool { return !(r >= '0' && r <= '9' || r >= 'A' && r <= 'Z') }) {
				t.Fatalf("code %q passed validation", c)
			}
		}
	})
}

func FuzzCompile(f *testing.F) {
	seed, _ := os.ReadFile("examples/t2d-poor-control.yaml")
	f.Add(seed)
	f.Add([]byte(base + "inclusion: [{name: \"x\\n) OR true --\", practice: [\"'; DROP TABLE y; --\"]}]\n"))
	f.Add([]byte(base + "inclusion: [{name: r, at_least: 1, of: [{any: [{diagnosis: e}]}]}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse(data)
		if err != nil {
			return
		}
		for name := range s.Codelists {
			s.SetCodelist(name, &Codelist{System: SNOMED, Codes: []string{"1000001"}})
		}
		s.SetCodelist("e", &Codelist{System: SNOMED, Codes: []string{"1000001"}})
		_ = Check(s)
		q, err := Compile(s)
		if err != nil {
			return
		}
		// Every line a name or value could reach is a comment or quoted:
		// no line of the SQL may start with text from a rule name.
		for _, line := range strings.Split(q.Members(), "\n") {
			if strings.HasPrefix(strings.TrimSpace(line), ") OR true") {
				t.Fatalf("rule name escaped its comment: %q", line)
			}
		}
	})
}

func TestLoad_TakesVersionsFromTheHeaderFile(t *testing.T) {
	s, err := Load("testdata/header/spec.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := s.ListVersions(), map[string]string{"asthma": "2020-04-15", "copd": "3e9f2a1c"}; !maps.Equal(got, want) {
		t.Errorf("versions %v, want %v", got, want)
	}
	if ps := Check(s); len(ps) != 0 {
		t.Errorf("problems %v, want none", ps)
	}
	s.Codelists["copd"] = CodelistRef{File: "user-alice-my-copd-list.csv", System: SNOMED, Version: "other"}
	var found bool
	for _, p := range Check(s) {
		found = found || p.Error && strings.Contains(p.Message, `version "other" in the spec, "3e9f2a1c" in codelists.txt`)
	}
	if !found {
		t.Errorf("a version differing from the header file is not an error: %v", Check(s))
	}
}

func TestReadHeader_RefusesMalformedLines(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, HeaderFile), []byte("opensafely/asthma/v1\nnot-a-list\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := readHeader(dir); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("err %v, want line 2 named", err)
	}
}

func TestQuery_NeedsThePersonColumnsAndOnlyTheEventTablesItReads(t *testing.T) {
	for _, c := range []struct {
		spec   string
		tables []models.Table
	}{
		{"examples/t2d-poor-control.yaml", []models.Table{models.TablePerson, models.TableDiagnosis, models.TableObservation}},
	} {
		s, err := Load(c.spec)
		if err != nil {
			t.Fatal(err)
		}
		q, err := Compile(s)
		if err != nil {
			t.Fatal(err)
		}
		var tables []models.Table
		person := map[string]bool{}
		for _, n := range q.Needs() {
			if !slices.Contains(tables, n.Table) {
				tables = append(tables, n.Table)
			}
			if n.Table == models.TablePerson {
				person[n.Column] = true
			}
			if n.For == "" {
				t.Errorf("%s.%s: no reason", n.Table, n.Column)
			}
		}
		if !slices.Equal(tables, c.tables) {
			t.Errorf("%s: needs tables %v, want %v", c.spec, tables, c.tables)
		}
		for _, col := range []string{"year_of_birth", "month_of_birth", "registered_from", "deprivation_decile", "death_month"} {
			if !person[col] {
				t.Errorf("%s: person.%s not needed", c.spec, col)
			}
		}
	}
}
