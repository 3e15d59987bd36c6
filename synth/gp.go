package synth

import (
	"cmp"
	"slices"

	"github.com/pophealth/pophealth/models"
)

// gpEvent is one coded entry of a GP journal.
type gpEvent struct {
	date     models.Date
	kind     string // problem, observation or medication
	system   models.CodeSystem
	code     string
	value    float64
	decimals int // -1 when the entry has no value
	unit     string
}

// writeGP writes the person's GP registration and journal. Everyone is
// registered with a practice; the GP record is the clean one (identifier
// dirt goes to the other feeds), apart from malformed rows.
func (w *worker) writeGP(c *chunk) {
	m, r, p := w.m, w.r, &w.p
	gpID := "G" + pad(m.scramble(p.index, 735_632_791, 1_000_000_000), 9)
	c.addTruth(models.FeedGP, gpID, gpID, p.id)

	reason := ""
	if r.Float64() < m.opts.Malformed {
		reason = [...]string{reasonColumns, reasonDate, reasonRequired}[r.IntN(3)]
	}
	b := c.out[gpPatients]
	start := len(b)
	b = append(b, gpID...)
	b = append(b, ',')
	if r.IntN(3) > 0 {
		// GP systems often export the number as people write it.
		b = append(b, p.nhs[:3]...)
		b = append(b, ' ')
		b = append(b, p.nhs[3:6]...)
		b = append(b, ' ')
		b = append(b, p.nhs[6:]...)
	} else {
		b = append(b, p.nhs...)
	}
	b = append(b, ',')
	b = appendCSVField(b, p.given)
	b = append(b, ',')
	b = appendCSVField(b, p.family)
	b = append(b, ',')
	if reason == reasonDate {
		b = appendImpossibleDate(b, p.birth, r, '-')
	} else {
		b = appendISODate(b, p.birth)
	}
	b = append(b, ',')
	if p.male {
		b = append(b, 'M')
	} else {
		b = append(b, 'F')
	}
	b = append(b, ',')
	b = append(b, p.postcode...)
	b = append(b, ',')
	if reason != reasonRequired {
		b = append(b, p.practice.ods...)
	}
	b = append(b, ',')
	b = appendISODate(b, p.registered)
	b = append(b, ',')
	if p.died {
		b = appendISODate(b, p.death)
	}
	b = append(b, ',')
	if p.died {
		b = appendISODate(b, p.death)
	}
	b = append(b, ',')
	b = append(b, p.lsoa...)
	if reason == reasonColumns {
		b = dropLastField(b, start)
	}
	b = append(b, '\n')
	c.out[gpPatients] = b
	c.end(gpPatients, start, gpID, reason)

	w.gpJournal()
	for i := range w.events {
		w.writeGPEvent(c, gpID, &w.events[i])
	}
}

// gpJournal fills w.events with the person's problems, measurements and
// repeat prescriptions, in date order.
func (w *worker) gpJournal() {
	m, r, p := w.m, w.r, &w.p
	start := m.opts.Start
	w.events = w.events[:0]
	for c := range m.conds {
		s := &p.conds[c]
		if !s.has {
			continue
		}
		v := &m.conds[c].variants[s.variant]
		w.events = append(w.events, gpEvent{date: s.onset, kind: "problem", system: models.SNOMED, code: v.snomed, decimals: -1})
	}

	years := w.observedYears()
	hypertensive, t1, t2 := w.has("hypertension"), w.has("diabetes_t1"), w.has("diabetes_t2")
	bpRate := 0.0
	switch {
	case hypertensive:
		bpRate = 2
	case p.age >= 40:
		bpRate = 0.5
	case p.age >= 18:
		bpRate = 0.2
	}
	for range poisson(r, bpRate*years) {
		d := w.dayIn(start, p.end)
		sys, dia := w.bloodPressure(hypertensive)
		w.events = append(w.events,
			w.observation(d, "systolic_bp", sys, 0),
			w.observation(d, "diastolic_bp", dia, 0))
	}
	switch {
	case t1 || t2:
		mean := 56.0
		if t1 {
			mean = 66
		}
		for range poisson(r, 2*years) {
			w.events = append(w.events, w.observation(w.dayIn(start, p.end), "hba1c", normal(r, mean, 13, 30, 150), 0))
		}
	case p.age >= 40:
		for range poisson(r, 0.15*years) {
			w.events = append(w.events, w.observation(w.dayIn(start, p.end), "hba1c", normal(r, 37, 4, 25, 47), 0))
		}
	}
	if p.age >= 18 {
		mean := 27.3
		if t2 {
			mean += 4
		}
		for range poisson(r, 0.3*years) {
			w.events = append(w.events, w.observation(w.dayIn(start, p.end), "bmi", normal(r, mean, 5, 15, 60), 1))
		}
	}

	// Repeat prescriptions, every 28 or 56 days from diagnosis or the
	// start of the study. A drug shared by two conditions is issued once.
	w.issued = w.issued[:0]
	for c := range m.conds {
		s := &p.conds[c]
		for j, med := range m.conds[c].meds {
			if s.meds&(1<<j) == 0 || slices.Contains(w.issued, med.Code) {
				continue
			}
			w.issued = append(w.issued, med.Code)
			interval := 56
			if r.IntN(4) == 0 {
				interval = 28
			}
			for d := max(s.onset, start) + models.Date(r.IntN(interval)); d <= p.end; d += models.Date(interval - 3 + r.IntN(7)) {
				w.events = append(w.events, gpEvent{date: d, kind: "medication", system: models.DMD, code: med.Code, decimals: -1})
			}
		}
	}
	slices.SortStableFunc(w.events, func(a, b gpEvent) int { return cmp.Compare(a.date, b.date) })
}

// bloodPressure draws a systolic and diastolic reading.
func (w *worker) bloodPressure(hypertensive bool) (sys, dia float64) {
	r, p := w.r, &w.p
	sysMean, diaMean := 122+0.3*float64(max(0, p.age-40)), 76.0
	if hypertensive {
		sysMean, diaMean = sysMean+14, diaMean+8
	}
	sys = normal(r, sysMean, 13, 80, 230)
	dia = normal(r, diaMean, 9, 40, min(140, sys-15))
	return sys, dia
}

func (w *worker) observation(d models.Date, measure string, value float64, decimals int) gpEvent {
	e := w.m.obs[measure]
	return gpEvent{date: d, kind: "observation", system: models.SNOMED, code: e.Code, value: roundTo(value, decimals), decimals: decimals, unit: e.Unit}
}

func (w *worker) writeGPEvent(c *chunk, gpID string, e *gpEvent) {
	r := w.r
	reason := ""
	if r.Float64() < w.m.opts.Malformed {
		reason = [...]string{reasonColumns, reasonDate, reasonCodePair}[r.IntN(3)]
	}
	b := c.out[gpEvents]
	start := len(b)
	b = c.appendEventID(b)
	idEnd := len(b)
	b = append(b, ',')
	b = append(b, gpID...)
	b = append(b, ',')
	if reason == reasonDate {
		b = appendImpossibleDate(b, e.date, r, '-')
	} else {
		b = appendISODate(b, e.date)
	}
	b = append(b, ',')
	b = append(b, e.kind...)
	b = append(b, ',')
	switch {
	case reason != reasonCodePair:
		b = append(b, e.system...)
	case e.system == models.DMD:
		b = append(b, models.SNOMED...)
	default:
		b = append(b, models.DMD...)
	}
	b = append(b, ',')
	b = append(b, e.code...)
	b = append(b, ',')
	if e.decimals >= 0 {
		b = appendValue(b, e.value, e.decimals)
	}
	b = append(b, ',')
	b = appendCSVField(b, e.unit)
	if reason == reasonColumns {
		b = dropLastField(b, start)
	}
	b = append(b, '\n')
	c.out[gpEvents] = b
	id := ""
	if reason != "" {
		id = string(b[start:idEnd])
	}
	c.end(gpEvents, start, id, reason)
}
