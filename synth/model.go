package synth

import (
	"fmt"
	"math"
	"strings"

	"github.com/pophealth/pophealth/codelists"
	"github.com/pophealth/pophealth/deprivation"
	"github.com/pophealth/pophealth/models"
)

// model is everything the workers share: the population tables with their
// calibrated scales, resolved code lists and the NHS number allocator. It
// is built once per Generate call and read-only afterwards.
type model struct {
	opts Options

	ageCum    [maxAge + 1]float64 // cumulative share of people by age
	maleShare [maxAge + 1]float64
	// deathRate is the annual probability of death by age and sex (index
	// 0 female, 1 male) for someone with no long-term condition.
	deathRate [maxAge + 1][2]float64

	conds       []condition
	condIndex   map[string]int // index in conds by name
	practiceCum []float64

	obs              map[string]codelists.Entry // by measure name
	emergencyReasons []reason
	electiveReasons  []reason

	// lsoas are the synthetic deprivation lookup's LSOAs by local
	// authority district name.
	lsoas map[string][]deprivation.Area

	nhs *nhsNumbers
	// idAdd offsets the scrambling of person indexes into local
	// identifiers, so that another seed gives other identifiers.
	idAdd uint64
	// periodYears is the length of the study period in whole years.
	periodYears int
}

// condition is a conditionShape resolved against the code lists.
type condition struct {
	conditionShape
	// scale turns byDecade into probabilities; see calibrate.
	scale float64
	// excluder is the index in model.conds of the condition that rules
	// this one out, or -1.
	excluder int
	variants []conditionVariant
	meds     []codelists.Entry
}

// conditionVariant is one way of coding a condition: a person with
// dementia has either "Dementia" (F03) or "Alzheimer's disease" (G30).
type conditionVariant struct {
	snomed, snomedTerm string
	icd, icdTerm       string // four-character ICD-10 with dot, as hospitals send
}

// reason is an admissionReason with its condition resolved.
type reason struct {
	admissionReason
	cond int // index in model.conds, or -1
}

// maxPrevalence caps the probability of any condition at any age.
const maxPrevalence = 0.9

func newModel(opts Options) (*model, error) {
	m := &model{opts: opts, idAdd: mix64(opts.Seed), periodYears: int(opts.End-opts.Start) / 365}
	m.buildAges()
	if err := m.buildConditions(); err != nil {
		return nil, err
	}
	m.buildMortality()
	cum := 0.0
	for _, p := range practices {
		cum += p.listSize
		m.practiceCum = append(m.practiceCum, cum)
	}
	m.obs = map[string]codelists.Entry{}
	for _, e := range codelists.Observations() {
		m.obs[e.Name] = e
	}
	for _, name := range []string{"hba1c", "systolic_bp", "diastolic_bp", "bmi"} {
		if _, ok := m.obs[name]; !ok {
			return nil, fmt.Errorf("synth: observation code list has no %q", name)
		}
	}
	var err error
	if m.emergencyReasons, err = m.resolveReasons(emergencyReasons[:]); err != nil {
		return nil, err
	}
	if m.electiveReasons, err = m.resolveReasons(electiveReasons[:]); err != nil {
		return nil, err
	}
	imd, err := deprivation.ReadSynthetic()
	if err != nil {
		return nil, fmt.Errorf("synth: %w", err)
	}
	m.lsoas = map[string][]deprivation.Area{}
	for _, a := range imd.Areas() {
		m.lsoas[a.District] = append(m.lsoas[a.District], a)
	}
	for _, pr := range practices {
		for _, d := range pr.districts {
			if len(m.lsoas[districtLAD(d)]) == 0 {
				return nil, fmt.Errorf("synth: postcode district %s: no LSOAs of %q in the synthetic lookup", d, districtLAD(d))
			}
		}
	}
	m.nhs = newNHSNumbers(opts.People, opts.Seed)
	return m, nil
}

// lsoaOf returns the LSOA of a postcode and its IMD decile: one of the
// LSOAs of the postcode district's local authority, chosen by a hash of
// the postcode, so that everyone at one postcode shares an LSOA (as the
// ONS postcode directory would say) without a random draw.
func (m *model) lsoaOf(postcode string) (string, int8) {
	district, _, _ := strings.Cut(postcode, " ")
	areas := m.lsoas[districtLAD(district)]
	h := uint64(0)
	for i := 0; i < len(postcode); i++ {
		h = mix64(h ^ uint64(postcode[i]))
	}
	a := areas[h%uint64(len(areas))]
	return a.Code, a.Decile
}

// districtLAD names the local authority district a postcode district of
// the synthetic ICS lies in (mostly), as the lookup names it.
func districtLAD(district string) string {
	switch district {
	case "LS29":
		return "Bradford" // Ilkley
	case "HD6":
		return "Calderdale" // Brighouse
	case "WF12", "WF13", "WF14", "WF15", "WF16", "WF17":
		return "Kirklees" // Dewsbury, Batley
	}
	switch strings.TrimRight(district, "0123456789") {
	case "BD":
		return "Bradford"
	case "HX":
		return "Calderdale"
	case "HD":
		return "Kirklees"
	case "WF":
		return "Wakefield"
	}
	return "Leeds"
}

// buildAges spreads each five-year band evenly over its years, except 90+,
// which tails off geometrically towards maxAge.
func (m *model) buildAges() {
	var weight [maxAge + 1]float64
	total := 0.0
	for _, b := range ageBands {
		if b.to == maxAge {
			const decay = 0.78
			sum := 0.0
			for a := b.from; a <= b.to; a++ {
				sum += math.Pow(decay, float64(a-b.from))
			}
			for a := b.from; a <= b.to; a++ {
				weight[a] = b.thousands * math.Pow(decay, float64(a-b.from)) / sum
			}
		} else {
			for a := b.from; a <= b.to; a++ {
				weight[a] = b.thousands / float64(b.to-b.from+1)
			}
		}
		for a := b.from; a <= b.to; a++ {
			m.maleShare[a] = b.male
		}
		total += b.thousands
	}
	cum := 0.0
	for a := range weight {
		cum += weight[a] / total
		m.ageCum[a] = cum
	}
	m.ageCum[maxAge] = 1
}

// ageShare returns the share of people aged a.
func (m *model) ageShare(a int) float64 {
	if a == 0 {
		return m.ageCum[0]
	}
	return m.ageCum[a] - m.ageCum[a-1]
}

func (m *model) buildConditions() error {
	m.condIndex = map[string]int{}
	for i, s := range conditionShapes {
		m.condIndex[s.name] = i
		m.conds = append(m.conds, condition{conditionShape: s, excluder: -1})
	}
	var snomed, icd = map[string][]codelists.Entry{}, map[string][]codelists.Entry{}
	for _, e := range codelists.LongTermConditions() {
		switch e.System {
		case models.SNOMED:
			snomed[e.Name] = append(snomed[e.Name], e)
		case models.ICD10:
			icd[e.Name] = append(icd[e.Name], e)
		}
	}
	meds := map[string][]codelists.Entry{}
	for _, e := range codelists.Medications() {
		meds[e.Name] = append(meds[e.Name], e)
	}
	for i := range m.conds {
		c := &m.conds[i]
		if c.excludedBy != "" {
			j, ok := m.condIndex[c.excludedBy]
			if !ok || j >= i {
				return fmt.Errorf("synth: condition %s is excluded by %q, which must come before it", c.name, c.excludedBy)
			}
			c.excluder = j
		}
		s, d := snomed[c.name], icd[c.name]
		if len(s) == 0 || len(d) == 0 {
			return fmt.Errorf("synth: code list lacks SNOMED or ICD-10 codes for %s", c.name)
		}
		for v := 0; v < max(len(s), len(d)); v++ {
			se, de := s[v%len(s)], d[v%len(d)]
			code, term := de.Code+".X", de.Term
			if detail, ok := icd10Detail[de.Code]; ok {
				code, term = detail[0], detail[1]
			}
			c.variants = append(c.variants, conditionVariant{se.Code, se.Term, code, term})
		}
		c.meds = meds[c.name]
		if len(c.meds) > 8 {
			return fmt.Errorf("synth: condition %s has %d medications; at most 8 are supported", c.name, len(c.meds))
		}
		if err := m.calibrate(i); err != nil {
			return err
		}
	}
	return nil
}

// decade returns the index into the by-decade tables for an age.
func decade(age int) int { return min(age/10, 9) }

// condProb returns the probability that someone of the given age (at the
// start of the study) and sex has condition c by the end of the study,
// ignoring exclusions. It is zero for people too young for the condition
// even at the end of the study.
func (m *model) condProb(c, age int, male bool) float64 {
	k := &m.conds[c]
	if age+m.periodYears < k.onsetAge {
		return 0
	}
	rr := k.female
	if male {
		rr = k.male
	}
	return min(maxPrevalence, k.scale*k.byDecade[decade(age)]*rr)
}

// calibrate finds the scale that makes condition c's expected prevalence
// over the age and sex structure equal its target, by bisection (the
// prevalence rises monotonically with the scale).
func (m *model) calibrate(c int) error {
	k := &m.conds[c]
	expected := func(scale float64) float64 {
		k.scale = scale
		sum := 0.0
		for a := 0; a <= maxAge; a++ {
			for _, male := range []bool{false, true} {
				w := m.ageShare(a) * m.maleShare[a]
				if !male {
					w = m.ageShare(a) * (1 - m.maleShare[a])
				}
				p := m.condProb(c, a, male)
				if k.excluder >= 0 {
					p *= 1 - m.condProb(k.excluder, a, male)
				}
				sum += w * p
			}
		}
		return sum
	}
	lo, hi := 0.0, 1000.0
	if expected(hi) < k.prevalence {
		return fmt.Errorf("synth: prevalence %.3f of %s is out of reach of its age curve", k.prevalence, k.name)
	}
	for range 100 {
		mid := (lo + hi) / 2
		if expected(mid) < k.prevalence {
			lo = mid
		} else {
			hi = mid
		}
	}
	k.scale = hi
	return nil
}

// buildMortality divides ONS-like death rates by the expected effect of
// long-term conditions at each age, so that people without conditions die
// less and those with them more, while the rate by age stays as published.
func (m *model) buildMortality() {
	band := 0
	for a := 0; a <= maxAge; a++ {
		for ageBands[band].to < a {
			band++
		}
		for sex, factor := range [2]float64{femaleMortality, maleMortality} {
			expected := 1.0
			for c := range m.conds {
				expected *= 1 + m.condProb(c, a, sex == 1)*(m.conds[c].deathHazard-1)
			}
			m.deathRate[a][sex] = ageBands[band].deathsPer1000 / 1000 * factor / expected
		}
	}
}

func (m *model) resolveReasons(rs []admissionReason) ([]reason, error) {
	out := make([]reason, 0, len(rs))
	for _, r := range rs {
		c := -1
		if r.condition != "" {
			i, ok := m.condIndex[r.condition]
			if !ok {
				return nil, fmt.Errorf("synth: admission reason %s names unknown condition %q", r.code, r.condition)
			}
			c = i
		}
		out = append(out, reason{r, c})
	}
	return out, nil
}

// scramble maps a person index to a number below mod that looks random but
// is unique: mul must be coprime with mod (mod is a power of ten here, so
// any odd mul not ending in 5 will do). Each kind of identifier passes its
// own mul, which also picks its own offset.
func (m *model) scramble(i int, mul, mod uint64) uint64 {
	return (mul*uint64(i) + mix64(m.idAdd^mul)%mod) % mod
}
