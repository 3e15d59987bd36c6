// Package codelists holds the clinical code lists pophealth ships: which
// SNOMED CT, ICD-10 and dm+d codes mean a long-term condition, a measurement
// or a typical treatment. The lists are CSV files embedded in the binary so
// that an analyst can read and review them; the synthetic data generator and
// the queries both read them from here, so the codes the generator writes are
// exactly the codes the reports look for.
//
// ICD-10 codes are stored without the dot and match by prefix (E11 matches
// E119); SNOMED CT and dm+d codes match exactly.
//
// The dm+d identifiers in medication.csv exist to give synthetic
// prescriptions realistic shape; check them against the NHSBSA dm+d release
// before using them on real data.
package codelists

import (
	"bytes"
	_ "embed"
	"encoding/csv"
	"fmt"
	"strconv"

	"github.com/pophealth/pophealth/models"
)

//go:embed ltc.csv
var ltcCSV []byte

//go:embed observation.csv
var observationCSV []byte

//go:embed medication.csv
var medicationCSV []byte

//go:embed sensitive.csv
var sensitiveCSV []byte

// Entry is one code of a list.
type Entry struct {
	// Name is the condition (ltc.csv, medication.csv) or measure
	// (observation.csv) the code belongs to.
	Name   string
	System models.CodeSystem
	Code   string
	Term   string
	// Unit is the UCUM unit of a measure; empty for other lists.
	Unit string
}

// LongTermConditions returns the long-term condition code list.
func LongTermConditions() []Entry { return mustParse("ltc.csv", ltcCSV) }

// Observations returns the measurement code list (HbA1c, blood pressure, BMI).
func Observations() []Entry { return mustParse("observation.csv", observationCSV) }

// Medications returns typical treatments for each long-term condition.
func Medications() []Entry { return mustParse("medication.csv", medicationCSV) }

// Sensitive returns the codes that put a record in a sensitive category
// (mental_health, sexual_health, social_care, safeguarding; Entry.Name is
// the category). Purposes leave such records out unless they admit the
// category. ICD-10 entries match by prefix, like every list here.
func Sensitive() []Entry { return mustParse("sensitive.csv", sensitiveCSV) }

// CSV returns the raw bytes of an embedded list by file name, for loading
// into DuckDB as a table.
func CSV(name string) ([]byte, error) {
	switch name {
	case "ltc.csv":
		return ltcCSV, nil
	case "observation.csv":
		return observationCSV, nil
	case "medication.csv":
		return medicationCSV, nil
	case "sensitive.csv":
		return sensitiveCSV, nil
	}
	return nil, fmt.Errorf("codelists: no list %q", name)
}

// mustParse parses an embedded list. The lists are compiled in and covered
// by tests, so a parse failure is a build defect, not a run-time condition.
func mustParse(name string, data []byte) []Entry {
	entries, err := parse(data)
	if err != nil {
		panic(fmt.Sprintf("codelists: embedded %s: %v", name, err))
	}
	return entries
}

func parse(data []byte) ([]Entry, error) {
	rows, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
	if err != nil {
		return nil, err
	}
	if len(rows) < 2 {
		return nil, fmt.Errorf("no rows")
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	nameCol, ok := -1, false
	for _, name := range []string{"condition", "measure", "category"} {
		if nameCol, ok = col[name]; ok {
			break
		}
	}
	if !ok {
		return nil, fmt.Errorf("header %v has no condition, measure or category", rows[0])
	}
	for _, need := range []string{"code_system", "code", "term"} {
		if _, ok := col[need]; !ok {
			return nil, fmt.Errorf("header %v lacks %s", rows[0], need)
		}
	}
	out := make([]Entry, 0, len(rows)-1)
	for i, r := range rows[1:] {
		e := Entry{
			Name:   r[nameCol],
			System: models.CodeSystem(r[col["code_system"]]),
			Code:   r[col["code"]],
			Term:   r[col["term"]],
		}
		if u, ok := col["unit"]; ok {
			e.Unit = r[u]
		}
		switch e.System {
		case models.SNOMED, models.DMD:
			if _, err := strconv.ParseUint(e.Code, 10, 64); err != nil {
				return nil, fmt.Errorf("line %d: %s code %q is not a numeric concept id", i+2, e.System, e.Code)
			}
		case models.ICD10:
			if len(e.Code) < 3 {
				return nil, fmt.Errorf("line %d: ICD-10 code %q too short", i+2, e.Code)
			}
		default:
			return nil, fmt.Errorf("line %d: unknown code system %q", i+2, e.System)
		}
		out = append(out, e)
	}
	return out, nil
}
