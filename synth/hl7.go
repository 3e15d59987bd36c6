package synth

import (
	"cmp"
	"math"
	"slices"
	"strings"

	"github.com/pophealth/pophealth/models"
)

// The acute trust that sends HL7 v2 ADT.
const (
	hospitalODS = "RR8"
	// inHospitalDeathShare is the share of deaths that end an emergency
	// spell (about 45% of deaths in England happen in hospital).
	inHospitalDeathShare = 0.45
	// updateShare is the share of spells with an A08 update.
	updateShare = 0.1
)

// spell is a hospital stay from admission to discharge.
type spell struct {
	emergency bool
	admit     moment
	// discharge is valid only when discharged.
	discharge  moment
	discharged bool
	died       bool
	los        int // nights
	reason     *reason
	method     string // NHS admission method code (PV1-4)
	visit      string
	update     bool // send an A08 during the stay
}

// hl7Staging collects one chunk's messages so they can be written in time
// order with ascending control ids.
type hl7Staging struct {
	buf  []byte
	msgs []stagedMessage
}

type stagedMessage struct {
	at         moment
	start, end int // bytes in hl7Staging.buf
	ctrlPos    int // offset of the control id placeholder within the message
	mrn        string
	personID   string
	reason     string // malformed reason or ""
}

// ctrlWidth is the width of MSH-10, the message control id, which is
// written as a placeholder and filled in once the chunk is in time order.
const (
	ctrlWidth       = 12
	ctrlPlaceholder = "000000000000"
)

// pasRecord is the hospital's patient administration record of a person,
// as every message repeats it.
type pasRecord struct {
	mrn           string
	nhs           string
	family, given string // upper case, as PAS systems send
	town          string // upper case
	postcode      string
	// knowsNewAddr is false for a person who moved until an A08 updates
	// the address; stalePostcode records that a message sent after the
	// move still had the old one.
	knowsNewAddr  bool
	stalePostcode bool
	practiceName  string
	practiceCode  string
	deathRecorded bool
	deathAt       moment
}

// writeHL7 stages the person's admissions, if any.
func (w *worker) writeHL7(c *chunk) {
	m, r, p := w.m, w.r, &w.p
	w.planSpells()
	if len(w.spells) == 0 {
		return
	}
	c.stats.admitted++
	id := w.dirtyIdentity(&c.stats.hl7Dirt)
	pas := pasRecord{
		mrn:          "M" + pad(m.scramble(p.index, 48_271_263, 100_000_000), 8),
		nhs:          id.nhs,
		family:       strings.ToUpper(id.family),
		given:        strings.ToUpper(id.given),
		town:         strings.ToUpper(p.town),
		postcode:     p.postcode,
		knowsNewAddr: !p.moved,
		practiceName: p.practice.name,
		practiceCode: p.practice.ods,
	}
	if p.moved {
		pas.postcode = p.oldPostcode
	}
	for i := range w.spells {
		s := &w.spells[i]
		s.visit = c.nextVisitNumber()
		if s.emergency {
			c.stats.emergency++
		} else {
			c.stats.elective++
		}
		// The first stay after a move finds the address out of date and
		// corrects it with an A08.
		if !pas.knowsNewAddr && s.admit.date() >= p.moveDate {
			s.update = true
		}
		w.stage(c, &pas, s, "A01", s.admit)
		if s.update {
			until := s.admit + moment(4*3600)
			if s.discharged {
				until = s.discharge
			}
			span := int64(until - s.admit)
			at := s.admit + moment(span/4+r.Int64N(span/2+1))
			if !pas.knowsNewAddr && at.date() >= p.moveDate {
				pas.postcode, pas.knowsNewAddr = p.postcode, true
			}
			w.stage(c, &pas, s, "A08", at)
		}
		if s.discharged {
			if s.died {
				pas.deathRecorded, pas.deathAt = true, s.discharge
			}
			w.stage(c, &pas, s, "A03", s.discharge)
		}
	}
	if pas.stalePostcode {
		c.stats.hl7Dirt.OldPostcode++
	}
}

// planSpells fills w.spells with the person's hospital stays in date
// order, without overlaps. Emergency admissions rise with age, with each
// long-term condition and with deprivation, and vary between otherwise
// alike people (a personal frailty multiplier), so a risk model has signal
// to find and past admissions predict future ones as they do in life.
func (w *worker) planSpells() {
	m, r, p := w.m, w.r, &w.p
	start := m.opts.Start
	w.spells = w.spells[:0]
	years := w.observedYears()
	dec, n := decade(p.age), float64(p.nconds)
	frailty := math.Exp(emergencyFrailtySD*r.NormFloat64() - emergencyFrailtySD*emergencyFrailtySD/2)
	emergency := emergencyRate[dec] * (1 + emergencyPerCondition*n) * deprivationEffect(p.decile) * frailty
	for range poisson(r, emergency*years) {
		w.spells = append(w.spells, w.newSpell(true, w.dayIn(start, p.end)))
	}
	for range poisson(r, electiveRate[dec]*(1+electivePerCondition*n)*years) {
		w.spells = append(w.spells, w.newSpell(false, w.dayIn(start, p.end)))
	}
	var terminal *spell
	if p.died && r.Float64() < inHospitalDeathShare {
		t := w.newSpell(true, max(start, p.death-models.Date(r.IntN(15))))
		t.los = int(p.death - t.admit.date())
		t.discharge = w.dischargeTime(t.admit, t.los)
		t.discharged, t.died = true, true
		terminal = &t
	}
	slices.SortStableFunc(w.spells, func(a, b spell) int { return cmp.Compare(a.admit, b.admit) })

	limit := p.end
	if terminal != nil {
		limit = terminal.admit.date() - 1
	}
	kept := w.spells[:0]
	free := start // first day a new stay may start
	for _, s := range w.spells {
		if d := s.admit.date(); d < free {
			s.admit += moment(int64(free-d+models.Date(r.IntN(30))) * 86400)
		}
		if s.admit.date() > limit {
			continue
		}
		out := s.admit.date() + models.Date(s.los)
		switch {
		case out <= limit:
			s.discharge, s.discharged = w.dischargeTime(s.admit, s.los), true
		case terminal != nil:
			continue // would run into the final stay
		case p.died:
			// Dies during this stay.
			s.los = int(p.death - s.admit.date())
			s.discharge, s.discharged, s.died = w.dischargeTime(s.admit, s.los), true, true
		}
		kept = append(kept, s)
		if !s.discharged || s.died {
			break // still in hospital at the end of the study, or dead
		}
		free = out + 1
	}
	w.spells = kept
	if terminal != nil {
		w.spells = append(w.spells, *terminal)
	}
}

// newSpell draws a stay admitted on day d.
func (w *worker) newSpell(emergency bool, d models.Date) spell {
	m, r, p := w.m, w.r, &w.p
	s := spell{emergency: emergency, update: r.Float64() < updateShare}
	if emergency {
		s.method = pickWeighted(r, emergencyMethods[:])
		latest := 20 // a same-day stay starts early enough to end that day
		if r.Float64() >= 0.25 {
			mean := 2 + float64(p.age)/12
			s.los = 1 + int(r.ExpFloat64()*mean)
			latest = 24
		}
		s.admit = momentOf(d, r.IntN(latest), r.IntN(60))
		s.reason = w.pickReason(m.emergencyReasons)
	} else {
		s.admit = momentOf(d, 7+r.IntN(4), 15*r.IntN(4))
		s.method = pickWeighted(r, electiveMethods[:])
		if r.Float64() >= 0.6 {
			s.los = 1 + r.IntN(5)
		}
		s.reason = w.pickReason(m.electiveReasons)
	}
	return s
}

// dischargeTime returns the moment of discharge after los nights: later
// the same day for a day case, otherwise during the day.
func (w *worker) dischargeTime(admit moment, los int) moment {
	r := w.r
	if los == 0 {
		h, mi, _ := admit.clock()
		left := 24*60 - (h*60 + mi) - 1 // minutes to midnight
		return admit + moment(60*min(left, 120+r.IntN(480)))
	}
	return momentOf(admit.date()+models.Date(los), 10+r.IntN(9), r.IntN(60))
}

// pickReason draws a primary diagnosis fitting the person's age, sex and
// conditions; condition-specific reasons weigh heavily for those who have
// the condition.
func (w *worker) pickReason(rs []reason) *reason {
	r, p := w.r, &w.p
	eligible := func(x *reason) bool {
		if p.age < x.minAge || p.age > x.maxAge {
			return false
		}
		if x.sex == "male" && !p.male || x.sex == "female" && p.male {
			return false
		}
		return x.cond < 0 || p.conds[x.cond].has
	}
	total := 0.0
	for i := range rs {
		if eligible(&rs[i]) {
			total += rs[i].weight
		}
	}
	u := r.Float64() * total
	var last *reason
	for i := range rs {
		if !eligible(&rs[i]) {
			continue
		}
		last = &rs[i]
		if u < rs[i].weight {
			break
		}
		u -= rs[i].weight
	}
	if last == nil {
		return &rs[0] // the first reason of each list fits everyone
	}
	return last
}

// stage encodes one message into the staging buffer.
func (w *worker) stage(c *chunk, pas *pasRecord, s *spell, event string, at moment) {
	r, p := w.r, &w.p
	reason := ""
	if r.Float64() < w.m.opts.Malformed {
		reason = [...]string{reasonNoPID, reasonDOB}[r.IntN(2)]
	}
	if pas.postcode == p.oldPostcode && p.moved && at.date() >= p.moveDate {
		pas.stalePostcode = true
	}
	b := w.hl7.buf
	start := len(b)

	b = append(b, "MSH|^~\\&|PAS|"+hospitalODS+"|PHLAKE|WYICB|"...)
	b = appendHL7Time(b, at, true)
	b = append(b, "||ADT^"...)
	b = append(b, event...)
	b = append(b, "^ADT_"...)
	if event == "A03" {
		b = append(b, "A03|"...)
	} else {
		b = append(b, "A01|"...)
	}
	ctrlPos := len(b) - start
	b = append(b, ctrlPlaceholder...)
	b = append(b, "|P|2.4|||AL|NE|GBR\r"...)

	b = append(b, "EVN|"...)
	b = append(b, event...)
	b = append(b, '|')
	b = appendHL7Time(b, at, true)
	b = append(b, '\r')

	if reason != reasonNoPID {
		b = append(b, "PID|1||"...)
		b = appendHL7Text(b, pas.mrn)
		b = append(b, "^^^"+hospitalODS+"^MR"...)
		if pas.nhs != "" {
			b = append(b, '~')
			b = appendHL7Text(b, pas.nhs)
			b = append(b, "^^^NHS^NH"...)
		}
		b = append(b, "||"...)
		b = appendHL7Text(b, pas.family)
		b = append(b, '^')
		b = appendHL7Text(b, pas.given)
		b = append(b, "||"...)
		if reason == reasonDOB {
			b = appendImpossibleDate(b, p.birth, r, 0)
		} else {
			b = appendHL7Date(b, p.birth)
		}
		if p.male {
			b = append(b, "|M|||"...)
		} else {
			b = append(b, "|F|||"...)
		}
		b = appendHL7Text(b, p.address)
		b = append(b, "^^"...)
		b = appendHL7Text(b, pas.town)
		b = append(b, "^^"...)
		b = appendHL7Text(b, pas.postcode)
		b = append(b, "^GBR^H"...)
		if pas.deathRecorded {
			b = append(b, "||||||||||||||||||"...) // to PID-29
			b = appendHL7Time(b, pas.deathAt, false)
			b = append(b, "|Y"...)
		}
		b = append(b, '\r')
	}

	b = append(b, "PD1|||"...)
	b = appendHL7Text(b, pas.practiceName)
	b = append(b, "^^"...)
	b = appendHL7Text(b, pas.practiceCode)
	b = append(b, '\r')

	b = w.appendPV1(b, s, event)

	switch event {
	case "A01":
		b = appendDG1(b, 1, s.reason.code, s.reason.term, s.admit, "A")
	case "A03":
		b = appendDG1(b, 1, s.reason.code, s.reason.term, s.discharge, "F")
		n := 1
		for k := range w.m.conds {
			st := &p.conds[k]
			if st.has && st.onset <= s.admit.date() {
				v := &w.m.conds[k].variants[st.variant]
				n++
				b = appendDG1(b, n, v.icd, v.icdTerm, s.discharge, "F")
			}
		}
	}
	b = append(b, '\n')
	w.hl7.buf = b
	w.hl7.msgs = append(w.hl7.msgs, stagedMessage{at: at, start: start, end: len(b), ctrlPos: ctrlPos, mrn: pas.mrn, personID: p.id, reason: reason})
}

// appendPV1 appends the visit segment: PV1-2 patient class (I inpatient,
// E for an emergency stay that ends the same day), PV1-4 NHS admission
// method, PV1-10 treatment function, PV1-14 admission source, PV1-19 visit
// number, PV1-36 discharge method (1 discharged, 4 died), PV1-44 admitted
// and PV1-45 discharged.
func (w *worker) appendPV1(b []byte, s *spell, event string) []byte {
	class := byte('I')
	if s.emergency && s.los == 0 {
		class = 'E'
	}
	b = append(b, "PV1|1|"...)
	b = append(b, class)
	b = append(b, "||"...)
	b = append(b, s.method...)
	b = append(b, "||||||"...) // to PV1-10
	specialty := s.reason.specialty
	if specialty == "300" && w.p.age < 16 {
		specialty = "420" // paediatrics
	}
	b = append(b, specialty...)
	b = append(b, "||||19|||||"...) // to PV1-19
	b = appendHL7Text(b, s.visit)
	discharged := event == "A03"
	if discharged {
		b = append(b, "|||||||||||||||||"...) // to PV1-36
		if s.died {
			b = append(b, '4')
		} else {
			b = append(b, '1')
		}
		b = append(b, "||||||||"...) // to PV1-44
	} else {
		b = append(b, "|||||||||||||||||||||||||"...) // to PV1-44
	}
	b = appendHL7Time(b, s.admit, false)
	if discharged {
		b = append(b, '|')
		b = appendHL7Time(b, s.discharge, false)
	}
	return append(b, '\r')
}

// appendDG1 appends a diagnosis segment: DG1-3 the ICD-10 code, DG1-5 its
// time, DG1-6 type (A admitting, F final) and DG1-15 priority (1 primary).
func appendDG1(b []byte, n int, code, term string, at moment, typ string) []byte {
	b = append(b, "DG1|"...)
	b = appendPadded(b, n, 1)
	b = append(b, "|I10|"...)
	b = appendHL7Text(b, code)
	b = append(b, '^')
	b = appendHL7Text(b, term)
	b = append(b, "^I10||"...)
	b = appendHL7Time(b, at, true)
	b = append(b, '|')
	b = append(b, typ...)
	b = append(b, "|||||||||"...) // to DG1-15
	b = appendPadded(b, n, 1)
	return append(b, '\r')
}

// flushHL7 moves the chunk's staged messages into the chunk in time order,
// numbering them, and writes their truth rows.
func (w *worker) flushHL7(c *chunk) {
	msgs := w.hl7.msgs
	slices.SortStableFunc(msgs, func(a, b stagedMessage) int { return cmp.Compare(a.at, b.at) })
	for k, msg := range msgs {
		ctrl := pad(uint64(c.index)*messagesPerChunk+uint64(k)+1, ctrlWidth)
		start := c.begin(hl7ADT)
		c.out[hl7ADT] = append(c.out[hl7ADT], w.hl7.buf[msg.start:msg.end]...)
		copy(c.out[hl7ADT][start+msg.ctrlPos:], ctrl)
		c.end(hl7ADT, start, ctrl, msg.reason)
		c.addTruth(models.FeedHL7, ctrl, msg.mrn, msg.personID)
	}
	w.hl7.buf = w.hl7.buf[:0]
	w.hl7.msgs = w.hl7.msgs[:0]
}
