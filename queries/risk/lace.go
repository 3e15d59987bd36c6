package risk

import (
	"fmt"
	"slices"
)

// LACE bands (van Walraven 2010): low 0-4, moderate 5-9, high 10 or more.
const (
	LACELow      = "low"
	LACEModerate = "moderate"
	LACEHigh     = "high"
)

// LACEInput describes one discharge.
type LACEInput struct {
	// LengthOfStayDays is the length of the index stay in whole days
	// (discharge date minus admission date; 0 for a same-day stay).
	LengthOfStayDays int
	// Acute is true when the index admission was emergent (not elective).
	Acute bool
	// Comorbidity is the LACE comorbidity total: the sum of LACEComorbidity
	// points of the person's Charlson conditions.
	Comorbidity int
	// EDVisits is the number of emergency department visits in the six
	// months before the index admission, excluding it.
	EDVisits int
}

// LACEResult is the score with its parts.
type LACEResult struct {
	L, A, C, E int
	Score      int    `json:"score"`
	Band       string `json:"band"`
}

// LACE scores the risk of death or unplanned readmission within 30 days
// of a discharge (van Walraven et al., CMAJ 2010;182:551), range 0-19.
func LACE(in LACEInput) (LACEResult, error) {
	if in.LengthOfStayDays < 0 || in.Comorbidity < 0 || in.EDVisits < 0 {
		return LACEResult{}, fmt.Errorf("risk: LACE inputs must not be negative: %+v", in)
	}
	var r LACEResult
	switch los := in.LengthOfStayDays; {
	case los < 1:
		r.L = 0
	case los <= 3:
		r.L = los
	case los <= 6:
		r.L = 4
	case los <= 13:
		r.L = 5
	default:
		r.L = 7
	}
	if in.Acute {
		r.A = 3
	}
	if in.Comorbidity <= 3 {
		r.C = in.Comorbidity
	} else {
		r.C = 5
	}
	r.E = min(in.EDVisits, 4)
	r.Score = r.L + r.A + r.C + r.E
	switch {
	case r.Score >= 10:
		r.Band = LACEHigh
	case r.Score >= 5:
		r.Band = LACEModerate
	default:
		r.Band = LACELow
	}
	return r, nil
}

// LACEComorbidity returns the LACE comorbidity total for a Charlson result:
// LACE's own points (tables/lace_comorbidity.csv) for each Charlson
// condition present and not superseded. Hemiplegia, renal disease and
// peptic ulcer carry no LACE points.
func LACEComorbidity(charlson Result) (int, error) {
	if charlson.Index != "charlson" {
		return 0, fmt.Errorf("risk: LACE comorbidity needs a Charlson result, got %q", charlson.Index)
	}
	rows, err := readTable("lace_comorbidity.csv", "condition", "points")
	if err != nil {
		return 0, err
	}
	points := map[string]int{}
	for _, r := range rows {
		p, err := atoi(r, "points")
		if err != nil {
			return 0, err
		}
		points[r.get("condition")] = p
	}
	total := 0
	for _, c := range charlson.Conditions {
		if !c.Superseded {
			total += points[c.Key]
		}
	}
	return total, nil
}

// laceConditions lists the Charlson keys LACE scores, for tests.
func laceConditions() ([]string, error) {
	rows, err := readTable("lace_comorbidity.csv", "condition")
	if err != nil {
		return nil, err
	}
	var out []string
	for _, r := range rows {
		out = append(out, r.get("condition"))
	}
	slices.Sort(out)
	return out, nil
}
