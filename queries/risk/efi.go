package risk

import (
	"fmt"
	"slices"
)

// Deficits is the number of deficits of the electronic Frailty Index; eFI
// is the count present divided by it.
const Deficits = 36

// PolypharmacyMedicines is the number of different medicines prescribed in
// the 12 months before the index date from which the polypharmacy deficit
// counts (Clegg 2016).
const PolypharmacyMedicines = 5

// Frailty categories of the eFI (Clegg 2016).
const (
	Fit      = "fit"
	Mild     = "mild"
	Moderate = "moderate"
	Severe   = "severe"
)

// FrailtyIndex is the electronic Frailty Index: 35 deficits recognised
// from SNOMED CT concepts (a problem recorded at any time before the index
// date; no resolution) or from a coded value beyond a threshold, plus
// polypharmacy. It is immutable and safe for concurrent use.
type FrailtyIndex struct {
	deficits  []deficitDef
	byConcept map[string][]int
	values    []valueRule
}

type deficitDef struct{ key, label string }

// valueRule makes a measurement a deficit when its value is strictly above
// gt and/or strictly below lt (an absent bound does not constrain).
type valueRule struct {
	deficit int
	concept string
	sex     string // "any", "male" or "female"
	gt, lt  *float64
}

// Measurement is one coded value, for the value rules (eGFR below 60,
// haemoglobin below the sex-specific limit).
type Measurement struct {
	Concept string
	Value   float64
}

// FrailtyInput is what the eFI needs to know about one person on the index
// date.
type FrailtyInput struct {
	// Concepts are the SNOMED CT concepts recorded on or before the index
	// date.
	Concepts []string
	// Measurements are the coded values recorded on or before the index
	// date.
	Measurements []Measurement
	// Sex is "male", "female" or anything else (only sex-specific value
	// rules look at it).
	Sex string
	// Medicines is the number of different medicines prescribed in the 12
	// months before the index date.
	Medicines int
}

// Deficit is one deficit found.
type Deficit struct {
	Key   string `json:"key"`
	Label string `json:"label"`
	// Evidence are the concepts that flagged the deficit (for polypharmacy,
	// the number of medicines).
	Evidence []string `json:"evidence"`
}

// FrailtyResult is a person's eFI.
type FrailtyResult struct {
	// Index is "efi", so JSON output says which score it is.
	Index string `json:"index"`
	// Count is the number of deficits present, 0 to 36.
	Count int `json:"deficits"`
	// Value is Count / 36, unrounded.
	Value float64 `json:"score"`
	// Category is fit, mild, moderate or severe, computed from Count.
	Category string    `json:"category"`
	Deficits []Deficit `json:"conditions"`
	// Unmatched are input concepts that flag no deficit.
	Unmatched []string `json:"unmatched,omitempty"`
}

// EFI returns the electronic Frailty Index with the embedded SNOMED CT
// concept table (tables/efi_snomed.csv) and value rules
// (tables/efi_values.csv).
func EFI() (*FrailtyIndex, error) {
	var files [3][]byte
	for i, name := range []string{"efi_deficits.csv", "efi_snomed.csv", "efi_values.csv"} {
		b, err := TableCSV(name)
		if err != nil {
			return nil, err
		}
		files[i] = b
	}
	return newFrailtyIndex(files[0], files[1], files[2])
}

// newFrailtyIndex builds an index from the three tables' bytes (deficits,
// concepts, value rules); tests use it with tables of their own.
func newFrailtyIndex(deficitsCSV, conceptsCSV, valuesCSV []byte) (*FrailtyIndex, error) {
	defs, err := parseTable("efi_deficits.csv", deficitsCSV, "deficit", "label")
	if err != nil {
		return nil, err
	}
	f := &FrailtyIndex{byConcept: map[string][]int{}}
	pos := map[string]int{}
	for _, r := range defs {
		k := r.get("deficit")
		if _, dup := pos[k]; dup || k == "" {
			return nil, r.errorf("deficit %q empty or repeated", k)
		}
		pos[k] = len(f.deficits)
		f.deficits = append(f.deficits, deficitDef{key: k, label: r.get("label")})
	}
	if len(f.deficits) != Deficits {
		return nil, fmt.Errorf("risk: tables/efi_deficits.csv has %d deficits, want %d", len(f.deficits), Deficits)
	}
	if _, ok := pos["polypharmacy"]; !ok {
		return nil, fmt.Errorf("risk: tables/efi_deficits.csv lacks polypharmacy")
	}
	concepts, err := parseTable("efi_snomed.csv", conceptsCSV, "deficit", "snomed")
	if err != nil {
		return nil, err
	}
	for _, r := range concepts {
		i, ok := pos[r.get("deficit")]
		if !ok || r.get("deficit") == "polypharmacy" {
			return nil, r.errorf("unknown or non-code deficit %q", r.get("deficit"))
		}
		c := r.get("snomed")
		if !isConceptID(c) {
			return nil, r.errorf("%q is not a SNOMED CT concept id", c)
		}
		if slices.Contains(f.byConcept[c], i) {
			return nil, r.errorf("concept %s listed twice for %s", c, r.get("deficit"))
		}
		f.byConcept[c] = append(f.byConcept[c], i)
	}
	rules, err := parseTable("efi_values.csv", valuesCSV, "deficit", "snomed", "sex", "value_gt", "value_lt")
	if err != nil {
		return nil, err
	}
	for _, r := range rules {
		i, ok := pos[r.get("deficit")]
		if !ok {
			return nil, r.errorf("unknown deficit %q", r.get("deficit"))
		}
		vr := valueRule{deficit: i, concept: r.get("snomed"), sex: r.get("sex")}
		if !isConceptID(vr.concept) {
			return nil, r.errorf("%q is not a SNOMED CT concept id", vr.concept)
		}
		if vr.sex != "any" && vr.sex != "male" && vr.sex != "female" {
			return nil, r.errorf("sex %q is not any, male or female", vr.sex)
		}
		if vr.gt, err = optionalFloat(r, "value_gt"); err != nil {
			return nil, err
		}
		if vr.lt, err = optionalFloat(r, "value_lt"); err != nil {
			return nil, err
		}
		f.values = append(f.values, vr)
	}
	return f, nil
}

func isConceptID(s string) bool {
	if len(s) < 6 || len(s) > 18 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s[0] != '0'
}

// Concepts returns every SNOMED CT concept of the table with the deficit
// keys it flags, for checking the table against other sources.
func (f *FrailtyIndex) Concepts() map[string][]string {
	out := make(map[string][]string, len(f.byConcept))
	for c, is := range f.byConcept {
		for _, i := range is {
			out[c] = append(out[c], f.deficits[i].key)
		}
	}
	return out
}

// ValueConcepts returns the concepts whose values the index reads, so a
// caller extracting measurements can fetch only those.
func (f *FrailtyIndex) ValueConcepts() []string {
	var out []string
	for _, v := range f.values {
		if !slices.Contains(out, v.concept) {
			out = append(out, v.concept)
		}
	}
	return out
}

// Score computes one person's eFI.
func (f *FrailtyIndex) Score(in FrailtyInput) FrailtyResult {
	evidence := make([][]string, len(f.deficits))
	res := FrailtyResult{Index: "efi"}
	for _, c := range in.Concepts {
		is, ok := f.byConcept[c]
		if !ok {
			res.Unmatched = append(res.Unmatched, c)
		}
		for _, i := range is {
			if !slices.Contains(evidence[i], c) {
				evidence[i] = append(evidence[i], c)
			}
		}
	}
	for _, m := range in.Measurements {
		for _, v := range f.values {
			if v.concept != m.Concept || (v.sex != "any" && v.sex != in.Sex) {
				continue
			}
			if (v.gt == nil || m.Value > *v.gt) && (v.lt == nil || m.Value < *v.lt) {
				ev := fmt.Sprintf("%s=%g", m.Concept, m.Value)
				if !slices.Contains(evidence[v.deficit], ev) {
					evidence[v.deficit] = append(evidence[v.deficit], ev)
				}
			}
		}
	}
	for i, d := range f.deficits {
		if d.key == "polypharmacy" && in.Medicines >= PolypharmacyMedicines {
			evidence[i] = []string{fmt.Sprintf("%d medicines", in.Medicines)}
		}
		if evidence[i] != nil {
			res.Deficits = append(res.Deficits, Deficit{Key: d.key, Label: d.label, Evidence: evidence[i]})
		}
	}
	res.Count = len(res.Deficits)
	res.Value = float64(res.Count) / Deficits
	res.Category = FrailtyCategory(res.Count)
	return res
}

// FrailtyCategory maps a deficit count to the eFI category: fit up to
// 0.12, mild up to 0.24, moderate up to 0.36, severe above (bounds
// inclusive). It works on the count, not a rounded eFI, so 13 deficits
// (0.3611, shown as 0.36) is severe.
func FrailtyCategory(deficits int) string {
	// deficits/36 <= 0.12  <=>  deficits*100 <= 12*36, and so on: exact
	// integer comparisons, no floating-point edge at the boundaries.
	switch n := deficits * 100; {
	case n <= 12*Deficits:
		return Fit
	case n <= 24*Deficits:
		return Mild
	case n <= 36*Deficits:
		return Moderate
	default:
		return Severe
	}
}
