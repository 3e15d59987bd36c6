package link

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/pophealth/pophealth/models"
)

func TestPrepare_BlanksJunkValues(t *testing.T) {
	for _, tc := range []struct {
		name string
		rec  Record
		want func(p prepared) bool
	}{
		{"baby as given name", Record{GivenName: "BABY", FamilyName: "Smith"}, func(p prepared) bool { return p.given == "" && p.family == "smith" }},
		{"twin 1", Record{GivenName: "Twin 1"}, func(p prepared) bool { return p.given == "" }},
		{"unknown family name", Record{FamilyName: "Unknown"}, func(p prepared) bool { return p.family == "" }},
		{"1900-01-01", Record{BirthDate: "1900-01-01"}, func(p prepared) bool { return p.dob == "" && p.dobDay == noDay }},
		{"no fixed abode postcode", Record{Postcode: "ZZ99 3VZ"}, func(p prepared) bool { return p.postcode == "" }},
		{"repeated-digit NHS number", Record{NHSNumber: "0000000000"}, func(p prepared) bool { return p.nhs == "" && !p.nhsUsable }},
		{"apostrophe and case", Record{FamilyName: "O'Brien"}, func(p prepared) bool { return p.family == "obrien" }},
		{"impossible date kept as text", Record{BirthDate: "19371233"}, func(p prepared) bool { return p.dob == "19371233" && p.dobDay == noDay }},
		{"DD/MM/YYYY", Record{BirthDate: "31/12/1999"}, func(p prepared) bool { return p.dob == "19991231" && p.dobDay != noDay }},
		{"invalid NHS number is not a key", Record{NHSNumber: "9434765918", NHSStatus: models.NHSInvalid}, func(p prepared) bool { return p.nhs == "9434765918" && !p.nhsUsable }},
		{"valid NHS number without status", Record{NHSNumber: "943 476 5919"}, func(p prepared) bool { return p.nhsUsable }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if p := prepare(&tc.rec); !tc.want(p) {
				t.Errorf("prepare(%+v) = %+v", tc.rec, p)
			}
		})
	}
}

func TestUKPostcodeParts(t *testing.T) {
	for _, tc := range []struct{ in, sector, district, area string }{
		{"SW1A1AA", "SW1A 1", "SW1A", "SW"},
		{"LS64QT", "LS6 4", "LS6", "LS"},
		{"M11AE", "M1 1", "M1", "M"},
		{"EC1V9NR", "EC1V 9", "EC1V", "EC"},
		{"2119", "", "", ""},    // Australian: no parts
		{"ABCDEFG", "", "", ""}, // not a postcode
	} {
		s, d, a := ukPostcodeParts(tc.in)
		if s != tc.sector || d != tc.district || a != tc.area {
			t.Errorf("ukPostcodeParts(%q) = %q, %q, %q; want %q, %q, %q", tc.in, s, d, a, tc.sector, tc.district, tc.area)
		}
	}
}

func TestComparisons_ReachTheirLevels(t *testing.T) {
	level := func(name string, a, b Record) string {
		pa, pb := prepare(&a), prepare(&b)
		for c, cmp := range comparisons {
			if cmp.name == name {
				l := comparePair(&pa, &pb).level(c)
				if l == 0 {
					return "missing"
				}
				return cmp.levels[l-1]
			}
		}
		t.Fatalf("no comparison %s", name)
		return ""
	}
	for _, tc := range []struct {
		cmp  string
		a, b Record
		want string
	}{
		{"birth_date", Record{BirthDate: "1980-02-03"}, Record{BirthDate: "1980-02-03"}, "exact"},
		{"birth_date", Record{BirthDate: "1980-03-12"}, Record{BirthDate: "1980-03-21"}, "one typo or transposition"},
		{"birth_date", Record{BirthDate: "1980-02-03"}, Record{BirthDate: "1980-02-28"}, "within a month"},
		{"birth_date", Record{BirthDate: "1980-02-03"}, Record{BirthDate: "1980-11-20"}, "within a year"},
		{"birth_date", Record{BirthDate: "1980-02-03"}, Record{BirthDate: "1975-06-20"}, "else"},
		{"birth_date", Record{BirthDate: "1980-02-03"}, Record{}, "missing"},
		{"given_name", Record{GivenName: "Martha"}, Record{GivenName: "Marhta"}, "jaro-winkler >= 0.92"},
		{"given_name", Record{GivenName: "Henry", FamilyName: "Simmons"}, Record{GivenName: "Simmons", FamilyName: "Henry"}, "swapped with the other name"},
		{"given_name", Record{GivenName: "Catherine"}, Record{GivenName: "Kathryn"}, "jaro-winkler >= 0.70"},
		{"family_name", Record{FamilyName: "Smith"}, Record{FamilyName: "Smyth"}, "jaro-winkler >= 0.88"},
		{"family_name", Record{FamilyName: "Philips"}, Record{FamilyName: "Filips"}, "jaro-winkler >= 0.70"},
		{"family_name", Record{FamilyName: "Knight"}, Record{FamilyName: "Nite"}, "phonetic (double metaphone)"},
		{"postcode", Record{Postcode: "LS6 2QT"}, Record{Postcode: "ls62qt"}, "full"},
		{"postcode", Record{Postcode: "LS6 2QT"}, Record{Postcode: "LS6 2AB"}, "sector"},
		{"postcode", Record{Postcode: "LS6 2QT"}, Record{Postcode: "LS6 4AB"}, "district"},
		{"postcode", Record{Postcode: "LS6 2QT"}, Record{Postcode: "LS12 4AB"}, "area"},
		{"postcode", Record{Postcode: "2119"}, Record{Postcode: "2191"}, "one edit"},
		{"nhs_number", Record{NHSNumber: "9434765919"}, Record{NHSNumber: "9434765991"}, "one edit"},
		{"sex", Record{Sex: "unknown"}, Record{Sex: "female"}, "missing"},
	} {
		if got := level(tc.cmp, tc.a, tc.b); got != tc.want {
			t.Errorf("%s: %+v vs %+v at %q, want %q", tc.cmp, tc.a, tc.b, got, tc.want)
		}
	}
}

func TestLink_RejectsUnusableSettings(t *testing.T) {
	broken := DefaultSettings()
	broken.Threshold = 1
	for name, s := range map[string]Settings{"zero": {}, "threshold 1": broken} {
		if _, err := Link(context.Background(), []Record{{ID: "a"}, {ID: "b"}}, s); err == nil || !strings.Contains(err.Error(), "link settings") {
			t.Errorf("%s settings: %v, want a settings error", name, err)
		}
	}
}

func TestExplain_TotalIsPriorPlusFieldWeights(t *testing.T) {
	recs := []Record{
		{ID: "a", GivenName: "Amelia", FamilyName: "Hartley", BirthDate: "1984-03-12", Postcode: "LS6 2QT", Sex: "female"},
		{ID: "b", GivenName: "Amelia", FamilyName: "Hartly", BirthDate: "1984-03-12", Postcode: "LS6 2QT", Sex: "female"},
		{ID: "c", GivenName: "George", FamilyName: "Okonkwo", BirthDate: "1950-11-30", Postcode: "M14 5RX", Sex: "male"},
		{ID: "d", GivenName: "Priya", FamilyName: "Raman", BirthDate: "2001-07-07", Postcode: "B12 9QL", Sex: "female"},
	}
	res, err := Link(context.Background(), recs, DefaultSettings())
	if err != nil {
		t.Fatal(err)
	}
	e := res.Explain(0, 1, 0.5)
	sum := e.PriorWeight
	var names []string
	for _, f := range e.Fields {
		sum += f.Weight + f.TermFrequency
		names = append(names, f.Comparison+":"+f.Level)
	}
	if diff := sum - e.Total; diff > 1e-9 || diff < -1e-9 {
		t.Errorf("total %v, prior plus fields %v", e.Total, sum)
	}
	if got := strings.Join(names, " "); got != "given_name:exact family_name:jaro-winkler >= 0.92 birth_date:exact sex:exact postcode:full" {
		t.Errorf("fields %s", got)
	}
	if e.Probability != Probability(e.Total) {
		t.Errorf("probability %v for total %v", e.Probability, e.Total)
	}
}

func TestPrepareAll_SameAsPreparingEachRecord(t *testing.T) {
	recs := []Record{
		{GivenName: "Jon", FamilyName: "Smith", BirthDate: "1970-01-02", Postcode: "LS6 4QT"},
		{GivenName: "John", FamilyName: "Smyth"},
		{GivenName: "Jon", FamilyName: "Smith"}, // names again: from the cache
		{GivenName: "baby", FamilyName: ""},
		{},
	}
	for _, workers := range []int{1, 2, 3, 8} {
		got := make([]prepared, len(recs))
		prepareAll(got, recs, workers)
		for i := range recs {
			if want := prepare(&recs[i]); got[i] != want {
				t.Errorf("workers %d, record %d: prepareAll gave %+v, prepare %+v", workers, i, got[i], want)
			}
		}
	}
	prepareAll(nil, nil, 2) // no records: nothing to do, no panic
}

func TestEstimateTF_ActiveCountsMatchCountingEverything(t *testing.T) {
	recs := []Record{
		{GivenName: "Ann", FamilyName: "Smith", Postcode: "LS6 4QT"},
		{GivenName: "Ann", FamilyName: "Smith", Postcode: "LS6 4QT"},
		{GivenName: "Bob", FamilyName: "Jones"},
		{GivenName: "Ann", FamilyName: "Jones", Postcode: "M1 1AE"},
	}
	prep := make([]prepared, len(recs))
	prepareAll(prep, recs, 1)
	active := []bool{false, false, false, true}
	var got, want Model
	got.estimateTF(prep, active)
	t0 := newTFCounts()
	t0.add(prep)
	want.useTF(t0, prep, active)
	if len(got.tf) != len(want.tf) {
		t.Fatalf("got %d comparisons, want %d", len(got.tf), len(want.tf))
	}
	for c := range want.tf {
		if len(got.tf[c]) != len(want.tf[c]) {
			t.Errorf("comparison %s: got %v, want %v", comparisons[c].name, got.tf[c], want.tf[c])
		}
		for v, f := range want.tf[c] {
			if got.tf[c][v] != f {
				t.Errorf("comparison %s value %q: got %v, want %v", comparisons[c].name, v, got.tf[c][v], f)
			}
		}
	}
	family := slices.IndexFunc(comparisons, func(c comparison) bool { return c.name == "family_name" })
	if f := got.tf[family]["jones"]; f != 0.5 {
		t.Errorf("family name jones share %v, want 0.5 (2 of 4 records)", f)
	}
}
