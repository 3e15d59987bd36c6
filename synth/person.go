package synth

import (
	"math"
	"math/rand/v2"
	"sort"
	"strconv"

	"github.com/pophealth/pophealth/models"
)

// person is one synthetic person as the truth knows them. A worker reuses
// one person value for every person of a chunk.
type person struct {
	index int
	id    string // the true person id of truth.csv
	male  bool
	age   int // whole years at the start of the study
	birth models.Date
	died  bool
	death models.Date
	// end is the last day the person is observed: death or study end.
	end models.Date

	given, family string
	nhs           string
	practice      *practice
	registered    models.Date
	address, town string
	postcode      string
	// lsoa is the LSOA of the postcode (synthetic, from package
	// deprivation's synthetic lookup) and decile its IMD decile.
	lsoa   string
	decile int8
	// A person who moved has lived at oldPostcode until moveDate.
	moved       bool
	oldPostcode string
	moveDate    models.Date

	conds  []condState // indexed like model.conds
	nconds int
}

// condState is one person's state for one condition.
type condState struct {
	has     bool
	onset   models.Date
	variant int
	// meds is a bit set over the condition's medications that the person
	// is treated with (none when untreated).
	meds uint8
}

// Share of people with a condition who are on its medication.
const treatedShare = 0.85

// worker generates chunks. Each worker owns its scratch space; nothing in
// it is shared.
type worker struct {
	m *model
	r *rand.Rand
	p person

	events []gpEvent
	issued []string // dm+d codes already prescribed to the person
	hl7    hl7Staging
	spells []spell
}

func newWorker(m *model) *worker {
	return &worker{m: m, p: person{conds: make([]condState, len(m.conds))}}
}

// chunkRand returns the random source of a chunk. Seeding per chunk, not
// per worker, makes the output independent of the number of workers.
func chunkRand(seed uint64, chunk int) *rand.Rand {
	return rand.New(rand.NewPCG(mix64(seed), mix64(seed^mix64(uint64(chunk)+1))))
}

// newPerson draws person i. The order of draws is part of the output's
// definition: changing it changes every file for a given seed.
func (w *worker) newPerson(i int) {
	m, r, p := w.m, w.r, &w.p
	start, end := m.opts.Start, m.opts.End
	*p = person{index: i, conds: p.conds}
	clear(p.conds)
	p.id = "P" + pad(uint64(i)+1, 8)

	p.age = min(sort.SearchFloat64s(m.ageCum[:], r.Float64()), maxAge)
	p.male = r.Float64() < m.maleShare[p.age]
	hi := start.Time().AddDate(-p.age, 0, 0)
	lo := start.Time().AddDate(-p.age-1, 0, 1)
	p.birth = models.DateOf(lo) + models.Date(r.IntN(int(hi.Sub(lo).Hours()/24)+1))

	for c := range m.conds {
		k := &m.conds[c]
		if k.excluder >= 0 && p.conds[k.excluder].has {
			continue
		}
		if r.Float64() < m.condProb(c, p.age, p.male) {
			p.conds[c].has = true
			p.nconds++
		}
	}

	// Death, year by year at the age-specific rate, raised by conditions.
	hazard := 1.0
	for c := range m.conds {
		if p.conds[c].has {
			hazard *= m.conds[c].deathHazard
		}
	}
	sex := 0
	if p.male {
		sex = 1
	}
	p.end = end
	for t, age := start, p.age; t <= end; t, age = t+365, age+1 {
		span := min(365, int(end-t)+1)
		q := min(0.9, m.deathRate[min(age, maxAge)][sex]*hazard)
		if r.Float64() < 1-math.Pow(1-q, float64(span)/365) {
			p.died, p.death = true, t+models.Date(r.IntN(span))
			p.end = p.death
			break
		}
	}

	// Onset of each condition: up to 20 years before the study, or during it.
	for c := range m.conds {
		s := &p.conds[c]
		if !s.has {
			continue
		}
		k := &m.conds[c]
		lo := max(p.birth+models.Date(float64(k.onsetAge)*365.25), start-models.Date(20*365))
		lo = min(lo, p.end)
		s.onset = lo + models.Date(r.IntN(int(p.end-lo)+1))
		s.variant = r.IntN(len(k.variants))
		if len(k.meds) > 0 && r.Float64() < treatedShare {
			for j := range k.meds {
				if r.Float64() < 0.7 {
					s.meds |= 1 << j
				}
			}
			if s.meds == 0 {
				s.meds = 1 << r.IntN(len(k.meds))
			}
		}
	}

	// Registration, address and names.
	p.practice = &practices[searchCum(m.practiceCum, r.Float64())]
	yearsAgo := r.ExpFloat64() * 10
	p.registered = max(p.birth, start-models.Date(yearsAgo*365.25))
	p.town = p.practice.town
	p.address = strconv.Itoa(1+r.IntN(180)) + " " + streets[r.IntN(len(streets))]
	p.postcode = w.postcode(p.practice)
	p.lsoa, p.decile = m.lsoaOf(p.postcode)
	if r.Float64() < m.opts.MovedPostcode {
		p.moved = true
		for p.oldPostcode == "" || p.oldPostcode == p.postcode {
			p.oldPostcode = w.postcode(&practices[searchCum(m.practiceCum, r.Float64())])
		}
		p.moveDate = start + models.Date(r.IntN(int(p.end-start)+1))
	}
	if p.male {
		p.given = maleGiven[r.IntN(len(maleGiven))]
	} else {
		p.given = femaleGiven[r.IntN(len(femaleGiven))]
	}
	p.family = familyNames[r.IntN(len(familyNames))]
	if r.Float64() < doubleBarrelShare {
		second := familyNames[r.IntN(len(familyNames))]
		if second != p.family {
			p.family += "-" + second
		}
	}
	p.nhs = m.nhs.of(i)
}

// postcode draws a postcode in one of the practice's districts.
func (w *worker) postcode(pr *practice) string {
	r := w.r
	d := pr.districts[0]
	if len(pr.districts) > 1 && r.Float64() >= homeDistrictShare {
		d = pr.districts[1+r.IntN(len(pr.districts)-1)]
	}
	b := make([]byte, 0, 8)
	b = append(b, d...)
	b = append(b, ' ', byte('1'+r.IntN(9)), inwardLetters[r.IntN(len(inwardLetters))], inwardLetters[r.IntN(len(inwardLetters))])
	return string(b)
}

// has reports whether the person has the named condition.
func (w *worker) has(name string) bool {
	c, ok := w.m.condIndex[name]
	return ok && w.p.conds[c].has
}

// observedYears is the length in years of the part of the study period
// the person is alive for.
func (w *worker) observedYears() float64 {
	return float64(w.p.end-w.m.opts.Start+1) / 365.25
}

// dayIn draws a day between from and to inclusive.
func (w *worker) dayIn(from, to models.Date) models.Date {
	if to <= from {
		return from
	}
	return from + models.Date(w.r.IntN(int(to-from)+1))
}

// poisson draws from a Poisson distribution by Knuth's method, which is
// exact and fast for the small means used here.
func poisson(r *rand.Rand, mean float64) int {
	if mean <= 0 {
		return 0
	}
	if mean > 30 {
		return max(0, int(math.Round(mean+math.Sqrt(mean)*r.NormFloat64())))
	}
	limit, k, prod := math.Exp(-mean), 0, r.Float64()
	for prod > limit {
		k++
		prod *= r.Float64()
	}
	return k
}

// normal draws a normally distributed value, clamped to [lo, hi].
func normal(r *rand.Rand, mean, sd, lo, hi float64) float64 {
	return min(hi, max(lo, mean+sd*r.NormFloat64()))
}

// searchCum returns the index whose slot of the cumulative weights holds
// u in [0, 1) scaled to the total.
func searchCum(cum []float64, u float64) int {
	return min(sort.SearchFloat64s(cum, u*cum[len(cum)-1]), len(cum)-1)
}

// pickWeighted returns the code of a weighted choice.
func pickWeighted(r *rand.Rand, ws []weighted) string {
	total := 0.0
	for _, w := range ws {
		total += w.weight
	}
	u := r.Float64() * total
	for _, w := range ws {
		if u < w.weight {
			return w.code
		}
		u -= w.weight
	}
	return ws[len(ws)-1].code
}

// pad formats v in decimal, zero-padded to width.
func pad(v uint64, width int) string {
	var b [24]byte
	return string(appendPadded(b[:0], int(v), width))
}
