package risk

import (
	"fmt"
	"slices"
	"strings"
)

// WeightSet names a published set of weights for a comorbidity index.
type WeightSet string

// The weight sets the tables carry.
const (
	// Quan2011 is the updated Charlson weighting (Quan et al., Am J
	// Epidemiol 2011;173:676), maximum 24: the default for Charlson.
	Quan2011 WeightSet = "quan_2011"
	// Charlson1987 is the original Charlson weighting, maximum 29.
	Charlson1987 WeightSet = "charlson_1987"
	// VanWalraven2009 is the van Walraven weighting of the Elixhauser
	// comorbidities (Med Care 2009;47:626); scores can be negative.
	VanWalraven2009 WeightSet = "van_walraven_2009"
)

// ComorbidityIndex is a comorbidity score defined by ICD-10 prefixes per
// condition, a weight per condition and hierarchy rules. It is immutable and
// safe for concurrent use.
type ComorbidityIndex struct {
	name       string
	weights    WeightSet
	conditions []conditionDef
	byPrefix   map[string][]int // normalised prefix -> indices into conditions
	minPrefix  int
	maxPrefix  int
}

type conditionDef struct {
	key, label string
	weight     int
	supersedes []int // conditions scored 0 when this one is present
}

// Condition is one condition found in a person's codes.
type Condition struct {
	Key   string `json:"key"`
	Label string `json:"label"`
	// Weight is the condition's weight in the chosen set.
	Weight int `json:"weight"`
	// Superseded is true when a more severe form of the condition is also
	// present (for example diabetes without complications when diabetes
	// with complications is found); the condition then adds 0 to Score.
	Superseded bool `json:"superseded,omitempty"`
	// Codes are the person's codes (normalised) that matched.
	Codes []string `json:"codes"`
}

// Result is the score of one person's codes.
type Result struct {
	Index   string    `json:"index"`
	Weights WeightSet `json:"weights"`
	// Score applies the hierarchy rules: a superseded condition adds 0.
	Score int `json:"score"`
	// Unadjusted is the sum of the weights of every condition found,
	// ignoring the hierarchy (the R comorbidity package's assign0 = FALSE).
	Unadjusted int `json:"unadjusted_score"`
	// Conditions are in table order, superseded ones included.
	Conditions []Condition `json:"conditions"`
	// Unmatched are the input codes that matched no condition.
	Unmatched []string `json:"unmatched,omitempty"`
}

// Charlson returns the Charlson Comorbidity Index over ICD-10 codes, coded
// with the Quan 2005 algorithm, with the given weights (Quan2011 or
// Charlson1987). Hierarchy: metastatic solid tumour supersedes any
// malignancy, moderate/severe liver disease supersedes mild, diabetes with
// chronic complications supersedes diabetes without.
func Charlson(w WeightSet) (*ComorbidityIndex, error) {
	if w != Quan2011 && w != Charlson1987 {
		return nil, fmt.Errorf("risk: Charlson has no weight set %q (want %s or %s)", w, Quan2011, Charlson1987)
	}
	return loadComorbidity("charlson", w, "charlson_conditions.csv", "charlson_icd10.csv")
}

// Elixhauser returns the 31 Elixhauser comorbidities over ICD-10 codes,
// coded with the Quan 2005 algorithm, scored with the van Walraven 2009
// weights. Hierarchy: complicated hypertension and diabetes supersede
// uncomplicated, metastatic cancer supersedes solid tumour. Fourteen codes
// (for example I11.0, I42.6, K70.3) belong to two conditions by design and
// count for both.
func Elixhauser(w WeightSet) (*ComorbidityIndex, error) {
	if w != VanWalraven2009 {
		return nil, fmt.Errorf("risk: Elixhauser has no weight set %q (want %s)", w, VanWalraven2009)
	}
	return loadComorbidity("elixhauser", w, "elixhauser_conditions.csv", "elixhauser_icd10.csv")
}

func loadComorbidity(name string, w WeightSet, conditionsFile, codesFile string) (*ComorbidityIndex, error) {
	conds, err := readTable(conditionsFile, "condition", "label", string(w), "supersedes")
	if err != nil {
		return nil, err
	}
	idx := &ComorbidityIndex{name: name, weights: w, byPrefix: map[string][]int{}}
	pos := map[string]int{}
	for _, r := range conds {
		key := r.get("condition")
		if _, dup := pos[key]; dup || key == "" {
			return nil, r.errorf("condition %q empty or repeated", key)
		}
		weight, err := atoi(r, string(w))
		if err != nil {
			return nil, err
		}
		pos[key] = len(idx.conditions)
		idx.conditions = append(idx.conditions, conditionDef{key: key, label: r.get("label"), weight: weight})
	}
	for _, r := range conds {
		if s := r.get("supersedes"); s != "" {
			for _, k := range strings.Fields(s) {
				j, ok := pos[k]
				if !ok {
					return nil, r.errorf("supersedes unknown condition %q", k)
				}
				i := pos[r.get("condition")]
				idx.conditions[i].supersedes = append(idx.conditions[i].supersedes, j)
			}
		}
	}
	codes, err := readTable(codesFile, "condition", "icd10")
	if err != nil {
		return nil, err
	}
	for _, r := range codes {
		i, ok := pos[r.get("condition")]
		if !ok {
			return nil, r.errorf("unknown condition %q", r.get("condition"))
		}
		prefixes, err := ExpandICD10(r.get("icd10"))
		if err != nil {
			return nil, r.errorf("%v", err)
		}
		for _, p := range prefixes {
			if slices.Contains(idx.byPrefix[p], i) {
				return nil, r.errorf("%s listed twice for %s", p, r.get("condition"))
			}
			idx.byPrefix[p] = append(idx.byPrefix[p], i)
			idx.maxPrefix = max(idx.maxPrefix, len(p))
			if idx.minPrefix == 0 || len(p) < idx.minPrefix {
				idx.minPrefix = len(p)
			}
		}
	}
	return idx, nil
}

// Name is "charlson" or "elixhauser".
func (x *ComorbidityIndex) Name() string { return x.name }

// Keys returns the condition keys in table order.
func (x *ComorbidityIndex) Keys() []string {
	out := make([]string, len(x.conditions))
	for i, c := range x.conditions {
		out[i] = c.key
	}
	return out
}

// Prefixes returns every normalised ICD-10 prefix of the index with the
// condition keys it flags, for checking the tables against other sources.
func (x *ComorbidityIndex) Prefixes() map[string][]string {
	out := make(map[string][]string, len(x.byPrefix))
	for p, is := range x.byPrefix {
		for _, i := range is {
			out[p] = append(out[p], x.conditions[i].key)
		}
	}
	return out
}

// Match returns the condition keys one ICD-10 code (dotted or not, any
// case) belongs to.
func (x *ComorbidityIndex) Match(code string) []string {
	var keys []string
	for _, i := range x.match(NormaliseICD10(code)) {
		keys = append(keys, x.conditions[i].key)
	}
	return keys
}

func (x *ComorbidityIndex) match(code string) []int {
	var out []int
	for n := x.minPrefix; n <= min(len(code), x.maxPrefix); n++ {
		for _, i := range x.byPrefix[code[:n]] {
			if !slices.Contains(out, i) {
				out = append(out, i)
			}
		}
	}
	return out
}

// Score scores one person's ICD-10 codes. Codes may carry dots, spaces and
// lower case; empty codes are ignored.
func (x *ComorbidityIndex) Score(codes []string) Result {
	found := make([][]string, len(x.conditions))
	res := Result{Index: x.name, Weights: x.weights}
	for _, raw := range codes {
		c := NormaliseICD10(raw)
		if c == "" {
			continue
		}
		is := x.match(c)
		if len(is) == 0 {
			res.Unmatched = append(res.Unmatched, c)
		}
		for _, i := range is {
			if !slices.Contains(found[i], c) {
				found[i] = append(found[i], c)
			}
		}
	}
	superseded := make([]bool, len(x.conditions))
	for i, c := range x.conditions {
		if found[i] != nil {
			for _, j := range c.supersedes {
				superseded[j] = true
			}
		}
	}
	for i, c := range x.conditions {
		if found[i] == nil {
			continue
		}
		res.Unadjusted += c.weight
		if !superseded[i] {
			res.Score += c.weight
		}
		res.Conditions = append(res.Conditions, Condition{
			Key: c.key, Label: c.label, Weight: c.weight, Superseded: superseded[i], Codes: found[i],
		})
	}
	return res
}
