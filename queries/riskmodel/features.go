package riskmodel

import (
	"context"
	"embed"
	"fmt"

	"github.com/pophealth/pophealth/models"
	"github.com/pophealth/pophealth/queries"
	"github.com/pophealth/pophealth/queries/risk"
)

//go:embed sql/*.sql
var sqlFiles embed.FS

// Person is one row of sql/features.sql: what the lake says about a
// person on an index date.
type Person struct {
	Key string
	Age *int
	Sex string
	// Deprivation is the IMD decile (1 most deprived), nil when unknown.
	Deprivation    *int
	ICD10          []string
	SNOMED         []string
	Measurements   []risk.Measurement
	Medicines      int
	EmergencyPrior int
	AEPrior        int
	Outcome        bool
}

// Extract runs sql/features.sql on the engine for an index date.
func Extract(ctx context.Context, eng *queries.Engine, index models.Date) ([]Person, error) {
	body, err := sqlFiles.ReadFile("sql/features.sql")
	if err != nil {
		return nil, fmt.Errorf("riskmodel: %w", err)
	}
	// Rows are converted as they stream: the result is never held whole
	// next to the Persons made from it.
	var out []Person
	_, err = eng.Each(ctx, string(body), func(r []any) error {
		p, err := personFromRow(r)
		if err != nil {
			return fmt.Errorf("riskmodel: sql/features.sql row %d: %w", len(out)+1, err)
		}
		out = append(out, p)
		return nil
	}, index.Time())
	if err != nil {
		return nil, fmt.Errorf("riskmodel: sql/features.sql on %s: %w", index, err)
	}
	return out, nil
}

func personFromRow(r []any) (Person, error) {
	if len(r) != 11 {
		return Person{}, fmt.Errorf("%d columns, want 11", len(r))
	}
	var p Person
	var ok bool
	if p.Key, ok = r[0].(string); !ok {
		return p, fmt.Errorf("person_key is %T", r[0])
	}
	if r[1] != nil {
		a, err := asInt(r[1])
		if err != nil {
			return p, fmt.Errorf("age: %w", err)
		}
		p.Age = &a
	}
	p.Sex, _ = r[2].(string)
	if r[3] != nil {
		d, err := asInt(r[3])
		if err != nil {
			return p, fmt.Errorf("deprivation: %w", err)
		}
		p.Deprivation = &d
	}
	r = r[1:] // the columns after deprivation
	var err error
	if p.ICD10, err = asStrings(r[3]); err != nil {
		return p, fmt.Errorf("icd10: %w", err)
	}
	if p.SNOMED, err = asStrings(r[4]); err != nil {
		return p, fmt.Errorf("snomed: %w", err)
	}
	ms, ok := r[5].([]any)
	if !ok {
		return p, fmt.Errorf("measurements is %T", r[5])
	}
	for _, m := range ms {
		mm, ok := m.(map[string]any)
		if !ok {
			return p, fmt.Errorf("measurement is %T", m)
		}
		code, _ := mm["code"].(string)
		v, ok := mm["value"].(float64)
		if !ok {
			return p, fmt.Errorf("measurement value is %T", mm["value"])
		}
		p.Measurements = append(p.Measurements, risk.Measurement{Concept: code, Value: v})
	}
	for i, dst := range []*int{&p.Medicines, &p.EmergencyPrior, &p.AEPrior} {
		if *dst, err = asInt(r[6+i]); err != nil {
			return p, fmt.Errorf("column %d: %w", 7+i, err)
		}
	}
	if p.Outcome, ok = r[9].(bool); !ok {
		return p, fmt.Errorf("outcome is %T", r[9])
	}
	return p, nil
}

func asInt(v any) (int, error) {
	switch x := v.(type) {
	case int64:
		return int(x), nil
	case int32:
		return int(x), nil
	case int8:
		return int(x), nil
	case int16:
		return int(x), nil
	case int:
		return x, nil
	}
	return 0, fmt.Errorf("%T is not an integer", v)
}

func asStrings(v any) ([]string, error) {
	xs, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("%T is not a list", v)
	}
	out := make([]string, 0, len(xs))
	for _, x := range xs {
		s, ok := x.(string)
		if !ok {
			return nil, fmt.Errorf("list element %T is not a string", x)
		}
		out = append(out, s)
	}
	return out, nil
}

// FeatureNames returns the model's features in column order. Counts are
// capped so that a few extreme records cannot dominate a linear term.
func FeatureNames() []string {
	return []string{
		"age_per_10y",         // (age - 50) / 10; 0 when unknown
		"age_per_10y_sq",      // its square: emergency admission is J-shaped in age
		"age_unknown",         // 1 when the year of birth is unknown
		"female",              // sex recorded as female
		"deprivation",         // 5.5 - IMD decile: +4.5 most deprived, -4.5 least; 0 when unknown
		"deprivation_unknown", // 1 when the lake has no decile for the person
		"charlson",            // Quan 2011 score of ICD-10 codes to date, capped at 12
		"efi_deficits",        // eFI deficits present (0-36)
		"emergency_prior",     // emergency admissions in the previous 12 months, capped at 5
		"ae_prior",            // A&E attendances in the previous 12 months, capped at 5
		"medicines",           // different medicines in the previous 12 months, capped at 15
	}
}

// Scorer turns Persons into feature rows with package risk's indices.
type Scorer struct {
	charlson *risk.ComorbidityIndex
	efi      *risk.FrailtyIndex
}

// NewScorer loads the Charlson (Quan 2011) and eFI tables.
func NewScorer() (*Scorer, error) {
	c, err := risk.Charlson(risk.Quan2011)
	if err != nil {
		return nil, err
	}
	f, err := risk.EFI()
	if err != nil {
		return nil, err
	}
	return &Scorer{charlson: c, efi: f}, nil
}

// Row is one person's features with the scores they came from.
type Row struct {
	Features []float64
	Charlson int
	EFI      risk.FrailtyResult
}

// Features computes one person's feature row.
func (s *Scorer) Features(p Person) Row {
	ch := s.charlson.Score(p.ICD10)
	efi := s.efi.Score(risk.FrailtyInput{Concepts: p.SNOMED, Measurements: p.Measurements, Sex: p.Sex, Medicines: p.Medicines})
	age, unknown := 0.0, 1.0
	if p.Age != nil {
		age, unknown = (float64(*p.Age)-50)/10, 0
	}
	female := 0.0
	if p.Sex == "female" {
		female = 1
	}
	deprivation, depUnknown := 0.0, 1.0
	if p.Deprivation != nil {
		deprivation, depUnknown = 5.5-float64(*p.Deprivation), 0
	}
	return Row{
		Features: []float64{
			age, age * age, unknown, female, deprivation, depUnknown,
			float64(min(ch.Score, 12)),
			float64(efi.Count),
			float64(min(p.EmergencyPrior, 5)),
			float64(min(p.AEPrior, 5)),
			float64(min(p.Medicines, 15)),
		},
		Charlson: ch.Score,
		EFI:      efi,
	}
}
