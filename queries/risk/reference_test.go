package risk

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// The reference tables and test vectors live outside the repository
// (../shared/data/risk, see each folder's README for origin and licence)
// and are read by tests only. POPHEALTH_RISK_REFERENCE overrides the path.
func referenceDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("POPHEALTH_RISK_REFERENCE")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "shared", "data", "risk")
	}
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("reference data not available at %s (set POPHEALTH_RISK_REFERENCE): %v", dir, err)
	}
	return dir
}

// readReference reads a reference CSV as maps from column name to value.
func readReference(t *testing.T, rel string) []map[string]string {
	t.Helper()
	f, err := os.Open(filepath.Join(referenceDir(t), rel))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", rel, err)
	}
	out := make([]map[string]string, 0, len(rows)-1)
	for _, r := range rows[1:] {
		m := map[string]string{}
		for i, h := range rows[0] {
			m[h] = r[i]
		}
		out = append(out, m)
	}
	return out
}

// mustIndex unwraps an index constructor; the embedded tables are part of
// the build, so a failure is a defect and panics the test.
func mustIndex(x *ComorbidityIndex, err error) *ComorbidityIndex {
	if err != nil {
		panic(err)
	}
	return x
}

// Our tables, written from Quan 2005 as printed, must expand to exactly the
// prefixes of the R comorbidity package (which transcribes the same paper):
// no prefix missing, none extra, each for the same conditions.
func TestTables_ExpandToTheReferencePrefixes(t *testing.T) {
	for _, tc := range []struct {
		file string
		idx  func() (*ComorbidityIndex, error)
	}{
		{"comorbidity-r/charlson_icd10_quan.csv", func() (*ComorbidityIndex, error) { return Charlson(Quan2011) }},
		{"comorbidity-r/elixhauser_icd10_quan.csv", func() (*ComorbidityIndex, error) { return Elixhauser(VanWalraven2009) }},
	} {
		t.Run(tc.file, func(t *testing.T) {
			want := map[string][]string{}
			for _, r := range readReference(t, tc.file) {
				want[r["icd10_prefix"]] = append(want[r["icd10_prefix"]], r["condition"])
			}
			got := mustIndex(tc.idx()).Prefixes()
			for p, conds := range want {
				slices.Sort(conds)
				g := slices.Sorted(slices.Values(got[p]))
				if !slices.Equal(g, conds) {
					t.Errorf("prefix %s: ours %v, reference %v", p, g, conds)
				}
			}
			for p, conds := range got {
				if _, ok := want[p]; !ok {
					t.Errorf("prefix %s (%v) is ours only", p, conds)
				}
			}
			if len(got) != len(want) {
				t.Errorf("%d prefixes, reference %d", len(got), len(want))
			}
		})
	}
}

// Every single-code vector: the code alone flags exactly the expected
// conditions, with the expected score under each weight set we implement
// (hierarchy off, as in the vectors). The Swiss Elixhauser weights are not
// implemented (not asked for by the issue); their column is not checked.
func TestVectors_SingleCode(t *testing.T) {
	charlson := map[WeightSet]*ComorbidityIndex{}
	for _, w := range []WeightSet{Quan2011, Charlson1987} {
		charlson[w] = mustIndex(Charlson(w))
	}
	elix := mustIndex(Elixhauser(VanWalraven2009))
	rows := readReference(t, "comorbidity-r/test_vectors_single_code.csv")
	if len(rows) != 688 {
		t.Fatalf("%d single-code vectors, README says 688", len(rows))
	}
	for _, r := range rows {
		code := r["code"]
		want := strings.Split(r["expected_conditions"], "|")
		slices.Sort(want)
		check := func(x *ComorbidityIndex, col string) {
			t.Helper()
			res := x.Score([]string{code})
			var got []string
			for _, c := range res.Conditions {
				got = append(got, c.Key)
			}
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Errorf("%s %s: conditions %v, want %v", r["map"], code, got, want)
			}
			wantScore, err := strconv.Atoi(r[col])
			if err != nil {
				t.Fatalf("%s %s: %s %q", r["map"], code, col, r[col])
			}
			if res.Unadjusted != wantScore {
				t.Errorf("%s %s: %s score %d, want %d", r["map"], code, col, res.Unadjusted, wantScore)
			}
		}
		switch r["map"] {
		case "charlson_icd10_quan":
			check(charlson[Charlson1987], "score_charlson_1987")
			check(charlson[Quan2011], "score_quan_2011")
		case "elixhauser_icd10_quan":
			check(elix, "score_van_walraven")
		default:
			t.Errorf("unknown map %q", r["map"])
		}
	}
}

// scoreVector scores one combined vector; ok is false for a weight set or
// map we do not implement.
func scoreVector(t *testing.T, m, weights, assign0, codes string) (score int, ok bool) {
	t.Helper()
	var x *ComorbidityIndex
	var err error
	switch {
	case m == "charlson_icd10_quan" && weights == "charlson_1987":
		x, err = Charlson(Charlson1987)
	case m == "charlson_icd10_quan" && (weights == "quan_2011" || weights == "quan_2011_as_coded"):
		x, err = Charlson(Quan2011)
	case m == "elixhauser_icd10_quan" && weights == "van_walraven":
		x, err = Elixhauser(VanWalraven2009)
	default:
		return 0, false
	}
	if err != nil {
		t.Fatal(err)
	}
	res := x.Score(strings.Split(codes, "|"))
	if assign0 == "false" {
		return res.Unadjusted, true
	}
	return res.Score, true
}

// The combined vectors (all conditions at once, hierarchy, dotted input,
// negative van Walraven). Divergences are asserted, not skipped:
//   - Swiss weights (all31_swiss_assign0): not implemented, Elixhauser
//     refuses the weight set;
//   - comorbidipy's SHMI map and weights: a different (NHS SHMI) variant,
//     not the Quan coding the issue asks for;
//   - comorbidipy's "Quan 2011 as coded" gives AIDS/HIV 2 points, the paper
//     4: we score 2 more than that vector (24, the paper's maximum).
func TestVectors_Combined(t *testing.T) {
	type vec struct{ id, m, weights, assign0, codes, expected string }
	var vecs []vec
	for _, r := range readReference(t, "comorbidity-r/test_vectors_combined.csv") {
		vecs = append(vecs, vec{r["case_id"], r["map"], r["weights"], r["assign0"], r["codes"], r["expected_score"]})
	}
	for _, r := range readReference(t, "comorbidipy/test_vectors.csv") {
		vecs = append(vecs, vec{r["case_id"], r["map"], r["weights"], r["assign0"], r["codes"], r["expected_score"]})
	}
	passed, diverged := 0, 0
	for _, v := range vecs {
		want, err := strconv.Atoi(v.expected)
		if err != nil {
			t.Fatalf("%s: expected %q", v.id, v.expected)
		}
		got, ok := scoreVector(t, v.m, v.weights, v.assign0, v.codes)
		switch {
		case !ok && v.weights == "swiss":
			if _, err := Elixhauser(WeightSet("swiss")); err == nil {
				t.Errorf("%s: Swiss weights accepted but not checked here", v.id)
			}
			diverged++
		case !ok && v.m == "charlson_icd10_shmi":
			diverged++
		case !ok:
			t.Errorf("%s: map %s weights %s not handled", v.id, v.m, v.weights)
		case v.weights == "quan_2011_as_coded":
			if got != want+2 {
				t.Errorf("%s: got %d, want %d (reference %d with AIDS weighted 2, not 4)", v.id, got, want+2, want)
			}
			diverged++
		case got != want:
			t.Errorf("%s: got %d, want %d", v.id, got, want)
		default:
			passed++
		}
	}
	t.Logf("combined vectors: %d pass, %d documented divergences", passed, diverged)
	if passed+diverged != len(vecs) || passed < 13 {
		t.Errorf("%d passed + %d diverged of %d vectors", passed, diverged, len(vecs))
	}
}

// Our weights must equal the published weights the reference transcribes
// (Charlson 1987, Quan 2011, van Walraven 2009), and our hierarchy its
// assign0 rules.
func TestTables_WeightsAndHierarchyMatchReference(t *testing.T) {
	checks := []struct {
		file, col string
		ws        WeightSet
		charlson  bool
	}{
		{"comorbidity-r/charlson_weights.csv", "charlson_1987", Charlson1987, true},
		{"comorbidity-r/charlson_weights.csv", "quan_2011", Quan2011, true},
		{"comorbidity-r/elixhauser_weights.csv", "van_walraven_2009", VanWalraven2009, false},
	}
	for _, c := range checks {
		var x *ComorbidityIndex
		var err error
		if c.charlson {
			x, err = Charlson(c.ws)
		} else {
			x, err = Elixhauser(c.ws)
		}
		x = mustIndex(x, err)
		ours := map[string]int{}
		for _, d := range x.conditions {
			ours[d.key] = d.weight
		}
		ref := readReference(t, c.file)
		if len(ref) != len(ours) {
			t.Errorf("%s: %d conditions, reference %d", c.ws, len(ours), len(ref))
		}
		for _, r := range ref {
			w, _ := strconv.Atoi(r[c.col])
			if got, ok := ours[r["condition"]]; !ok || got != w {
				t.Errorf("%s %s: weight %d (present %v), reference %d", c.ws, r["condition"], got, ok, w)
			}
		}
	}
	indices := map[string]*ComorbidityIndex{
		"charlson":   mustIndex(Charlson(Quan2011)),
		"elixhauser": mustIndex(Elixhauser(VanWalraven2009)),
	}
	want := map[string]bool{}
	for _, r := range readReference(t, "comorbidity-r/hierarchy.csv") {
		want[r["score"]+":"+r["if_present"]+">"+r["set_to_zero"]] = true
	}
	got := map[string]bool{}
	for name, x := range indices {
		for _, d := range x.conditions {
			for _, j := range d.supersedes {
				got[name+":"+d.key+">"+x.conditions[j].key] = true
			}
		}
	}
	for k := range want {
		if !got[k] {
			t.Errorf("hierarchy rule %s missing", k)
		}
	}
	for k := range got {
		if !want[k] {
			t.Errorf("hierarchy rule %s not in reference", k)
		}
	}
}

// Every concept in our eFI table must be listed by the gm-sde SNOMED CT
// eFI code sets (an automated map of Clegg 2016's Read codes) under the
// same deficit. Ours is a curated subset; where gm-sde lists a concept under
// a second deficit that is a mapping artefact (73211009 Diabetes mellitus
// under CKD, 53741008 Coronary arteriosclerosis under heart failure,
// 64859006 Osteoporosis under fragility fracture) we keep the clinical one.
func TestEFITable_IsASubsetOfTheReferenceCodeSets(t *testing.T) {
	f, err := EFI()
	if err != nil {
		t.Fatal(err)
	}
	ref := map[string][]string{}
	for _, r := range readReference(t, "gm-sde-efi/efi_snomed.csv") {
		ref[r["snomed_concept_id"]] = append(ref[r["snomed_concept_id"]], r["deficit"])
	}
	covered := map[string]bool{}
	for c, deficits := range f.Concepts() {
		for _, d := range deficits {
			if !slices.Contains(ref[c], d) {
				t.Errorf("concept %s under %s: reference lists it under %v", c, d, ref[c])
			}
			covered[d] = true
		}
	}
	var missing []string
	for _, r := range readReference(t, "gm-sde-efi/efi_deficits.csv") {
		if r["deficit"] != "polypharmacy" && !covered[r["deficit"]] {
			missing = append(missing, r["deficit"])
		}
	}
	t.Logf("eFI table: %d concepts (reference %d); code deficits without a concept: %v", len(f.Concepts()), len(ref), missing)
	if len(missing) > 1 {
		t.Errorf("deficits without any concept: %v", missing)
	}
}

// The eFI vectors: k deficits give k/36 and the listed category, through
// Score on a test table with one concept per deficit, so all 36 counts are
// reachable.
func TestVectors_EFI(t *testing.T) {
	f := testFrailtyIndex(t)
	rows := readReference(t, "literature/efi_test_vectors.csv")
	if len(rows) != 37 {
		t.Fatalf("%d eFI vectors, want 37", len(rows))
	}
	for _, r := range rows {
		k, _ := strconv.Atoi(r["deficits_present"])
		want, _ := strconv.ParseFloat(r["efi"], 64)
		in := FrailtyInput{}
		for i := 1; i <= min(k, 35); i++ {
			in.Concepts = append(in.Concepts, testConcept(i))
		}
		if k == 36 {
			in.Medicines = PolypharmacyMedicines
		}
		res := f.Score(in)
		if res.Count != k || res.Value < want-5e-7 || res.Value > want+5e-7 || res.Category != r["expected_category"] {
			t.Errorf("%d deficits: count %d eFI %.6f %s, want %.6f %s", k, res.Count, res.Value, res.Category, want, r["expected_category"])
		}
	}
}

func TestVectors_LACE(t *testing.T) {
	for _, r := range readReference(t, "literature/lace_test_vectors.csv") {
		n := func(col string) int {
			v, err := strconv.Atoi(r[col])
			if err != nil {
				t.Fatalf("%s %s %q", r["case_id"], col, r[col])
			}
			return v
		}
		got, err := LACE(LACEInput{LengthOfStayDays: n("length_of_stay_days"), Acute: n("acute") == 1,
			Comorbidity: n("lace_comorbidity_total"), EDVisits: n("ed_visits_6m")})
		if err != nil {
			t.Fatalf("%s: %v", r["case_id"], err)
		}
		if got.Score != n("expected_lace") || got.Band != r["expected_band"] {
			t.Errorf("%s: %d %s, want %s %s", r["case_id"], got.Score, got.Band, r["expected_lace"], r["expected_band"])
		}
	}
}

func TestLACEComorbidityPoints_MatchReference(t *testing.T) {
	want := map[string]int{}
	for _, r := range readReference(t, "literature/lace_comorbidity_weights.csv") {
		want[r["quan_key"]], _ = strconv.Atoi(r["points"])
	}
	keys, err := laceConditions()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != len(want) {
		t.Errorf("%d LACE conditions, reference %d", len(keys), len(want))
	}
	x := mustIndex(Charlson(Quan2011))
	// One code per condition, scored alone, must give the reference points.
	example := map[string]string{}
	for p, conds := range x.Prefixes() {
		if len(conds) == 1 && (example[conds[0]] == "" || p < example[conds[0]]) {
			example[conds[0]] = p
		}
	}
	for key, pts := range want {
		got, err := LACEComorbidity(x.Score([]string{example[key]}))
		if err != nil {
			t.Fatal(err)
		}
		if got != pts {
			t.Errorf("%s (%s): %d LACE points, reference %d", key, example[key], got, pts)
		}
	}
}
