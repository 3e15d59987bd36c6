package risk

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

func TestNormaliseICD10(t *testing.T) {
	for in, want := range map[string]string{
		"I50.0": "I500", "i500": "I500", " e11.4 ": "E114", "N18-3": "N183", "": "", "é11": "11",
	} {
		if got := NormaliseICD10(in); got != want {
			t.Errorf("NormaliseICD10(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestExpandICD10(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
		err  bool
	}{
		{in: "I25.2", want: []string{"I252"}},
		{in: "I21.x", want: []string{"I21"}},
		{in: "F10", want: []string{"F10"}},
		{in: "I42.5-I42.9", want: []string{"I425", "I426", "I427", "I428", "I429"}},
		{in: "F00.x-F03.x", want: []string{"F00", "F01", "F02", "F03"}},
		{in: "D65.x-D68.x", want: []string{"D65", "D66", "D67", "D68"}},
		{in: "C07-C09", want: []string{"C07", "C08", "C09"}},
		{in: "I42.5-I43", err: true},
		{in: "I42-J42", err: true},
		{in: "I49-I47", err: true},
		{in: "I4", err: true},
		{in: "I4A", err: true},
		{in: "I42.55", err: true},
		{in: "I42;", err: true},
		{in: "", err: true},
	} {
		got, err := ExpandICD10(tc.in)
		if (err != nil) != tc.err || !slices.Equal(got, tc.want) {
			t.Errorf("ExpandICD10(%q) = %v, %v; want %v, error %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func FuzzExpandICD10(f *testing.F) {
	for _, s := range []string{"I25.2", "I21.x", "I42.5-I42.9", "C00.x-C26.x", "A-B", "Z99.2-Z99.1", "-"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ExpandICD10(s)
		if err != nil {
			return
		}
		if len(got) == 0 || len(got) > 1000 {
			t.Fatalf("%q expanded to %d codes", s, len(got))
		}
		for _, c := range got {
			if NormaliseICD10(c) != c || len(c) < 3 || len(c) > 4 {
				t.Fatalf("%q gave bad code %q", s, c)
			}
		}
	})
}

func FuzzScoreCharlson(f *testing.F) {
	x, err := Charlson(Quan2011)
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{"I21|E11.4|e112", "C787|C18", "", "||..", "K70.3|I85.0|B20"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		res := x.Score(strings.Split(s, "|"))
		if res.Score < 0 || res.Score > 24 || res.Score > res.Unadjusted {
			t.Fatalf("%q: score %d, unadjusted %d", s, res.Score, res.Unadjusted)
		}
	})
}

func TestCharlson_HierarchyAndDottedInput(t *testing.T) {
	x := mustIndex(Charlson(Quan2011))
	for _, tc := range []struct {
		name         string
		codes        []string
		score, unadj int
		conds        []string
		superseded   []string
	}{
		{"complicated diabetes supersedes uncomplicated", []string{"E11.9", "E11.2"}, 1, 1, []string{"diab", "diabwc"}, []string{"diab"}},
		{"metastases supersede the primary", []string{"C18.7", "C78.7"}, 6, 8, []string{"canc", "metacanc"}, []string{"canc"}},
		{"severe liver supersedes mild", []string{"K70.3", "I85.0"}, 4, 6, []string{"mld", "msld"}, []string{"mld"}},
		{"a condition counts once", []string{"I50.0", "I50.9", "i11.0"}, 2, 2, []string{"chf"}, nil},
		{"dotted lower-case codes", []string{"i50.0", "e11.4", "n18.3"}, 4, 4, []string{"chf", "diabwc", "rend"}, nil},
		{"no condition", []string{"J18.9", "S72.0", ""}, 0, 0, nil, nil},
		{"AIDS weighs 4 (Quan 2011)", []string{"B20"}, 4, 4, []string{"aids"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := x.Score(tc.codes)
			var conds, sup []string
			for _, c := range res.Conditions {
				conds = append(conds, c.Key)
				if c.Superseded {
					sup = append(sup, c.Key)
				}
			}
			if res.Score != tc.score || res.Unadjusted != tc.unadj || !slices.Equal(conds, tc.conds) || !slices.Equal(sup, tc.superseded) {
				t.Errorf("got score %d/%d conditions %v superseded %v; want %d/%d %v %v",
					res.Score, res.Unadjusted, conds, sup, tc.score, tc.unadj, tc.conds, tc.superseded)
			}
		})
	}
}

func TestElixhauser_OverlapCodesCountForBothConditions(t *testing.T) {
	x := mustIndex(Elixhauser(VanWalraven2009))
	for code, want := range map[string][]string{
		"I42.6": {"alcohol", "chf"}, "I11.0": {"chf", "hypc"}, "K70.3": {"alcohol", "ld"},
		"F31.5": {"depre", "psycho"}, "I10": {"hypunc"},
	} {
		got := x.Match(code)
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("%s: %v, want %v", code, got, want)
		}
	}
	res := x.Score([]string{"I10", "I11.9", "F11.2", "E66.0"})
	if res.Score != -11 || res.Unadjusted != -11 {
		t.Errorf("hypertension both forms + drug + obesity: %d/%d, want -11", res.Score, res.Unadjusted)
	}
}

func TestIndices_RefuseUnknownWeightSets(t *testing.T) {
	if _, err := Charlson(VanWalraven2009); err == nil {
		t.Error("Charlson accepted van Walraven weights")
	}
	if _, err := Elixhauser(Quan2011); err == nil {
		t.Error("Elixhauser accepted Quan weights")
	}
}

// testConcept is the made-up concept id of the i-th deficit in
// testFrailtyIndex's table.
func testConcept(i int) string { return fmt.Sprintf("9000000%02d", i) }

// testFrailtyIndex has one made-up concept per code deficit (the 36 keys of
// the embedded deficits table), one concept listed under two deficits, and
// value rules with both bounds, one bound and a sex.
func testFrailtyIndex(t *testing.T) *FrailtyIndex {
	t.Helper()
	defs, err := TableCSV("efi_deficits.csv")
	if err != nil {
		t.Fatal(err)
	}
	rows, err := parseTable("efi_deficits.csv", defs, "deficit")
	if err != nil {
		t.Fatal(err)
	}
	var concepts strings.Builder
	concepts.WriteString("deficit,snomed\n")
	i := 0
	for _, r := range rows {
		if r.get("deficit") == "polypharmacy" {
			continue
		}
		i++
		fmt.Fprintf(&concepts, "%s,%s\n", r.get("deficit"), testConcept(i))
	}
	concepts.WriteString("falls,800000001\ndizziness,800000001\n")
	values := "deficit,snomed,sex,value_gt,value_lt\n" +
		"ckd,800000002,any,,60\n" +
		"anaemia,800000003,female,25,115\n" +
		"thyroid-disorders,800000004,any,0,0.36\n"
	f, err := newFrailtyIndex(defs, []byte(concepts.String()), []byte(values))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestEFI_CountsEachDeficitOnceAndSharedConceptsForBoth(t *testing.T) {
	f := testFrailtyIndex(t)
	for _, tc := range []struct {
		name string
		in   FrailtyInput
		want []string
	}{
		{"two concepts of one deficit count once", FrailtyInput{Concepts: []string{testConcept(1), testConcept(1)}}, []string{"activity-limitation"}},
		{"a concept under two deficits counts for both", FrailtyInput{Concepts: []string{"800000001"}}, []string{"dizziness", "falls"}},
		{"unknown concepts count for nothing", FrailtyInput{Concepts: []string{"123456789"}}, nil},
		{"eGFR 59.9 is a CKD deficit", FrailtyInput{Measurements: []Measurement{{"800000002", 59.9}}}, []string{"ckd"}},
		{"eGFR 60 is not", FrailtyInput{Measurements: []Measurement{{"800000002", 60}}}, nil},
		{"haemoglobin 114 in a woman is anaemia", FrailtyInput{Sex: "female", Measurements: []Measurement{{"800000003", 114}}}, []string{"anaemia"}},
		{"haemoglobin 114 in a man is not (rule is for women)", FrailtyInput{Sex: "male", Measurements: []Measurement{{"800000003", 114}}}, nil},
		{"haemoglobin 11 is outside the g/L rule", FrailtyInput{Sex: "female", Measurements: []Measurement{{"800000003", 11}}}, nil},
		{"TSH 0 is outside the lower-bounded rule", FrailtyInput{Measurements: []Measurement{{"800000004", 0}}}, nil},
		{"TSH 0.35 is a thyroid deficit", FrailtyInput{Measurements: []Measurement{{"800000004", 0.35}}}, []string{"thyroid-disorders"}},
		{"4 medicines are not polypharmacy", FrailtyInput{Medicines: 4}, nil},
		{"5 medicines are", FrailtyInput{Medicines: 5}, []string{"polypharmacy"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := f.Score(tc.in)
			var got []string
			for _, d := range res.Deficits {
				got = append(got, d.Key)
			}
			slices.Sort(got)
			if !slices.Equal(got, tc.want) || res.Count != len(tc.want) {
				t.Errorf("deficits %v (count %d), want %v", got, res.Count, tc.want)
			}
		})
	}
}

func TestEFI_EmbeddedTableScoresCommonGPCodes(t *testing.T) {
	f, err := EFI()
	if err != nil {
		t.Fatal(err)
	}
	// Type 2 diabetes, hypertension, AF, heart failure, dementia, COPD:
	// six deficits, 6/36 = 0.1667, mild.
	res := f.Score(FrailtyInput{Concepts: []string{"44054006", "38341003", "49436004", "84114007", "52448006", "13645005", "35489007"}})
	if res.Count != 6 || res.Category != Mild || !slices.Equal(res.Unmatched, []string{"35489007"}) {
		t.Errorf("got %d deficits, %s, unmatched %v; want 6, mild, [35489007 depression]", res.Count, res.Category, res.Unmatched)
	}
	if len(f.ValueConcepts()) == 0 {
		t.Error("no value rules loaded")
	}
}

func TestFrailtyCategory_Boundaries(t *testing.T) {
	for n, want := range map[int]string{0: Fit, 4: Fit, 5: Mild, 8: Mild, 9: Moderate, 12: Moderate, 13: Severe, 36: Severe} {
		if got := FrailtyCategory(n); got != want {
			t.Errorf("FrailtyCategory(%d) = %s, want %s", n, got, want)
		}
	}
}

func TestLACE_RefusesNegativeInputs(t *testing.T) {
	if _, err := LACE(LACEInput{LengthOfStayDays: -1}); err == nil {
		t.Error("negative length of stay accepted")
	}
	if _, err := LACEComorbidity(Result{Index: "elixhauser"}); err == nil {
		t.Error("Elixhauser result accepted for LACE")
	}
}

func TestTables_AllParse(t *testing.T) {
	names, err := tableFiles.ReadDir("tables")
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		b, _ := TableCSV(n.Name())
		if _, err := parseTable(n.Name(), b); err != nil {
			t.Errorf("%s: %v", n.Name(), err)
		}
	}
	if _, err := TableCSV("nope.csv"); err == nil {
		t.Error("unknown table returned")
	}
}
