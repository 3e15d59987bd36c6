package hl7v2

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/pophealth/pophealth/models"
	"github.com/pophealth/pophealth/models/nhsnumber"
)

// minBirthYear is the earliest birth year accepted in PID-7. An earlier
// year is a keying or conversion error (a sample feed has 10131113), and
// a person born before 1850 cannot appear in current care records.
const minBirthYear = 1850

// converter turns blocks into canonical records. One converter serves one
// file; its slices are recycled from message to message.
type converter struct {
	file string
	// latestBirth is the latest acceptable date of birth: tomorrow in UTC,
	// so that a baby born today anywhere is not taken for a future birth.
	latestBirth models.Date

	m       message
	records []models.Record // emitted when the message is accepted
	skips   []string        // Stats.Skip kinds counted when it is accepted
}

// convert reads one block. On success c.records and c.skips hold what the
// message yields; otherwise the error is the quarantine reason, naming the
// segment and field at fault. The returned SourceRef is filled either way.
func (c *converter) convert(b *block) (models.SourceRef, error) {
	c.records, c.skips = c.records[:0], c.skips[:0]
	ref := models.SourceRef{Feed: models.FeedHL7, File: c.file, Line: b.line, Offset: b.offset}
	if !b.headed {
		first := b.bytes()
		if len(b.segs) > 0 {
			first = b.raw[b.segs[0].start:b.segs[0].end]
		}
		return ref, fmt.Errorf("no MSH segment: block starts %q", truncate(first, 16))
	}
	m := &c.m
	m.reset(b.raw, b.segs)
	if err := m.readDelimiters(); err != nil {
		return ref, err
	}
	if err := m.readCharset(); err != nil {
		return ref, err
	}
	id, err := m.text(m.mshField(10))
	switch {
	case err != nil:
		return ref, fmt.Errorf("MSH-10: %w", err)
	case id == "":
		return ref, errors.New("MSH-10: missing message control ID")
	}
	ref.RecordID = id
	if b.tooLarge {
		return ref, fmt.Errorf("message is larger than %d bytes (kept truncated)", maxMessageSize)
	}
	if err := m.checkSegmentIDs(); err != nil {
		return ref, err
	}
	legacy, err := m.checkVersion()
	if err != nil {
		return ref, err
	}
	if ts := value(m.component(m.mshField(7), 1)); len(ts) > 0 {
		if _, err := parseDate(ts); err != nil {
			return ref, fmt.Errorf("MSH-7: %w", err)
		}
	}

	msgType := value(m.component(m.mshField(9), 1))
	switch {
	case len(msgType) == 0:
		return ref, errors.New("MSH-9: missing message type")
	case len(msgType) != 3 || !isSegmentIDChar(msgType[0]) || !isSegmentIDChar(msgType[1]) || !isSegmentIDChar(msgType[2]):
		return ref, fmt.Errorf("MSH-9: malformed message type %q", truncate(msgType, 16))
	case string(msgType) != "ADT":
		// Not an ADT message (an ORU result, an ACK): accepted and
		// counted, since pophealth reads nothing else from this feed.
		c.keep(ref, b, "message:"+string(msgType))
		return ref, nil
	}
	event, eventField := value(m.component(m.mshField(9), 2)), "MSH-9"
	if len(event) == 0 { // v2.2 senders may put the trigger in EVN-1 only
		if evn := m.find("EVN"); evn >= 0 {
			event, eventField = value(m.fieldOf(m.seg(evn), 1)), "EVN-1"
		}
	}
	trig, handled, defined := lookupTrigger(event)
	switch {
	case len(event) == 0:
		return ref, errors.New("MSH-9: missing trigger event")
	case !defined:
		return ref, fmt.Errorf("%s: unknown ADT trigger event %q", eventField, truncate(event, 16))
	case !handled:
		c.keep(ref, b, "event:"+string(event))
		return ref, nil
	}
	if trig.merge {
		return ref, c.merge(ref, trig, legacy)
	}
	return ref, c.adt(ref, trig, legacy)
}

// merge reads a merge event (A40): one or more groups of a PID, an
// optional PD1 and an MRG, each saying that the patient identified in MRG-1
// is retired into the patient of PID. Each group yields the surviving
// patient's PatientRecord and a models.Merge.
func (c *converter) merge(ref models.SourceRef, trig trigger, legacy bool) error {
	m := &c.m
	pid, pd1, groups := -1, -1, 0
	for i := 1; i < len(m.segs); i++ {
		switch string(m.seg(i)[:3]) {
		case "PID":
			if pid >= 0 {
				return fmt.Errorf("MRG: missing after PID group %d of %s", groups+1, trig.event)
			}
			pid, pd1 = i, -1
		case "PD1":
			if pid >= 0 && pd1 < 0 {
				pd1 = i
			}
		case "MRG":
			if pid < 0 {
				return fmt.Errorf("MRG: segment %d has no PID before it", i+1)
			}
			p, err := c.patient(ref, m.seg(pid), m.optionalSeg(pd1), legacy)
			if err != nil {
				return err
			}
			retired, retiredNHS, err := m.identifierList(m.fieldOf(m.seg(i), 1), "MRG-1")
			if err != nil {
				return err
			}
			if retired == "" && retiredNHS == "" {
				return errors.New("MRG-1: no prior patient identifier")
			}
			c.records = append(c.records, p, &models.Merge{
				Ref: ref, PatientID: p.LocalID, RetiredID: retired, RetiredNHSNumber: retiredNHS,
			})
			pid = -1
			groups++
		}
	}
	switch {
	case pid >= 0:
		return fmt.Errorf("MRG: missing after PID group %d of %s", groups+1, trig.event)
	case groups == 0:
		return errors.New("PID: missing segment")
	}
	return nil
}

// keep accepts a message pophealth does not map: it is counted under kind
// and passed on whole as a models.Unread, so that nothing is lost.
func (c *converter) keep(ref models.SourceRef, b *block, kind string) {
	c.skips = append(c.skips, kind)
	c.records = append(c.records, &models.Unread{Ref: ref, Kind: kind, Raw: bytes.Clone(b.bytes())})
}

// adt reads an ADT message whose trigger pophealth handles.
func (c *converter) adt(ref models.SourceRef, trig trigger, legacy bool) error {
	m := &c.m
	pid, pd1, pv1 := -1, -1, -1
	for i := 1; i < len(m.segs); i++ {
		switch string(m.seg(i)[:3]) {
		case "PID":
			if pid >= 0 {
				return fmt.Errorf("PID: repeated; %s carries one patient", trig.event)
			}
			pid = i
		case "PD1":
			if pd1 < 0 {
				pd1 = i
			}
		case "PV1":
			if pv1 < 0 {
				pv1 = i
			}
		}
	}
	if pid < 0 {
		return errors.New("PID: missing segment")
	}
	p, err := c.patient(ref, m.seg(pid), m.optionalSeg(pd1), legacy)
	if err != nil {
		return err
	}
	c.records = append(c.records, p)

	encounterID := ""
	switch {
	case pv1 < 0 && trig.visit == visitRequired:
		return fmt.Errorf("PV1: missing segment (required for %s)", trig.event)
	case pv1 >= 0 && trig.visit != noVisit:
		e, err := c.encounter(ref, trig, m.seg(pv1), p.LocalID)
		if err != nil {
			return err
		}
		if e != nil {
			c.records = append(c.records, e)
			encounterID = e.EncounterID
		}
	}

	for i := 1; i < len(m.segs); i++ {
		if s := m.seg(i); string(s[:3]) == "DG1" {
			d, skip, err := c.diagnosis(ref, s, p.LocalID, encounterID)
			if err != nil {
				return err
			}
			if skip != "" {
				c.skips = append(c.skips, skip)
				continue
			}
			c.records = append(c.records, d)
		}
	}
	return nil
}

// patient reads PID and PD1 into a PatientRecord.
func (c *converter) patient(ref models.SourceRef, pid, pd1 []byte, legacy bool) (*models.PatientRecord, error) {
	m := &c.m
	p := &models.PatientRecord{Ref: ref}
	var err error
	if p.LocalID, p.NHSNumber, err = m.identifiers(pid, legacy); err != nil {
		return nil, err
	}
	switch {
	case p.NHSNumber == "":
		p.NHSNumberStatus = models.NHSMissing
	case !nhsnumber.Valid(p.NHSNumber):
		p.NHSNumberStatus = models.NHSInvalid
	case m.traced(m.fieldOf(pid, 32)):
		p.NHSNumberStatus = models.NHSVerified
	default:
		p.NHSNumberStatus = models.NHSValid
	}

	name := m.preferredName(m.fieldOf(pid, 5))
	if p.FamilyName, err = m.text(m.subcomponent(m.component(name, 1), 1)); err != nil {
		return nil, fmt.Errorf("PID-5: %w", err)
	}
	if p.GivenName, err = m.text(m.component(name, 2)); err != nil {
		return nil, fmt.Errorf("PID-5: %w", err)
	}

	if p.BirthDate, err = m.date(pid, "PID", 7); err != nil {
		return nil, err
	}
	if d := p.BirthDate; d != nil {
		switch {
		case *d > c.latestBirth:
			return nil, fmt.Errorf("PID-7: birth date %s is in the future", d)
		case d.Year() < minBirthYear:
			return nil, fmt.Errorf("PID-7: implausible birth date %s (before %d)", d, minBirthYear)
		}
	}
	p.Sex = sexOf(value(m.component(m.fieldOf(pid, 8), 1)))

	pc, err := m.postcode(m.fieldOf(pid, 11))
	if err != nil {
		return nil, err
	}
	if pc != "" {
		if uk, ok := normalisePostcode(pc); ok {
			p.Postcode = uk
		} else {
			c.skips = append(c.skips, "pid-11:not-uk-postcode")
		}
	}

	if p.DeathDate, err = m.date(pid, "PID", 29); err != nil {
		return nil, err
	}
	if pd1 != nil {
		if p.PracticeCode, err = m.practice(m.fieldOf(pd1, 3)); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// identifiers picks the hospital number and the NHS number from PID-3.
//
// The NHS number is the repetition whose identifier type (CX-5) is NH or
// whose assigning authority (CX-4) is NHS; trusts differ (UCLH sends type
// HN with authority NHS). The hospital number is the repetition of type
// MR, or failing that the first repetition that is not the NHS number;
// a patient known only by NHS number gets the local ID "nhs:" followed by
// the number, prefixed so that it can never collide with a hospital
// number.
//
// v2.1 and v2.2 UK interfaces sent the NHS number unqualified in PID-2
// (Patient ID, external), so for those versions a ten-digit PID-2 is taken
// as the NHS number when PID-3 has none; from v2.3 PID-2 counts only when
// it is qualified as NHS.
func (m *message) identifiers(pid []byte, legacy bool) (local, nhs string, err error) {
	mr, nhsID := m.pickIdentifiers(m.fieldOf(pid, 3))
	if nhsID == nil {
		pid2 := m.fieldOf(pid, 2)
		id := value(m.component(pid2, 1))
		if m.isNHS(pid2) || legacy && len(nhsnumber.Normalise(string(id))) == 10 {
			nhsID = id
		}
	}
	if local, nhs, err = m.identifierTexts(mr, nhsID, "PID-3"); err != nil {
		return "", "", err
	}
	switch {
	case local != "":
	case nhs != "":
		local = "nhs:" + nhs
	default:
		return "", "", errors.New("PID-3: no patient identifier")
	}
	return local, nhs, nil
}

// identifierList reads a CX list other than PID-3 (MRG-1) by PID-3's rule:
// the local identifier and the NHS number, either possibly "".
func (m *message) identifierList(field []byte, name string) (local, nhs string, err error) {
	mr, nhsID := m.pickIdentifiers(field)
	return m.identifierTexts(mr, nhsID, name)
}

// pickIdentifiers returns, from a repeating CX field, the hospital number
// (type MR, else the first repetition that is not an NHS number) and the
// NHS number, each nil when absent.
func (m *message) pickIdentifiers(field []byte) (mr, nhsID []byte) {
	var first []byte
	for rest, more := field, true; more; {
		var rep []byte
		rep, rest, more = m.nextRepetition(rest)
		id := value(m.component(rep, 1))
		if len(id) == 0 {
			continue
		}
		typ := value(m.component(rep, 5))
		switch {
		case m.isNHS(rep):
			if nhsID == nil {
				nhsID = id
			}
		case string(typ) == "MR" && mr == nil:
			mr = id
		case first == nil:
			first = id
		}
	}
	if mr == nil {
		mr = first
	}
	return mr, nhsID
}

// identifierTexts decodes the identifiers picked from a CX field.
func (m *message) identifierTexts(mr, nhsID []byte, name string) (local, nhs string, err error) {
	if nhs, err = m.text(nhsID); err != nil {
		return "", "", fmt.Errorf("%s: %w", name, err)
	}
	if local, err = m.text(mr); err != nil {
		return "", "", fmt.Errorf("%s: %w", name, err)
	}
	return local, nhsnumber.Normalise(nhs), nil
}

// isNHS reports whether a CX identifier is an NHS number by its type code
// or assigning authority.
func (m *message) isNHS(cx []byte) bool {
	return string(value(m.component(cx, 5))) == "NH" ||
		string(value(m.subcomponent(m.component(cx, 4), 1))) == "NHS"
}

// traced reports whether PID-32 (Identity Reliability Code) says the NHS
// number was verified against the national Personal Demographics Service.
// UK ITK HL7 v2 sends the NHS Number Status Indicator there: NSTS01
// "number present and verified", sometimes as the bare code 01. Every
// other status (02 present but not traced, 03 trace required, ...) leaves
// a valid number at models.NHSValid.
func (m *message) traced(pid32 []byte) bool {
	for rest, more := pid32, true; more; {
		var rep []byte
		rep, rest, more = m.nextRepetition(rest)
		switch string(value(m.component(rep, 1))) {
		case "NSTS01", "01":
			return true
		}
	}
	return false
}

// preferredName returns the PID-5 repetition to keep: the legal name
// (XPN-7 L) when one is marked, otherwise the first, which senders use
// for the current name (later repetitions carry maiden or previous names).
func (m *message) preferredName(pid5 []byte) []byte {
	first := m.repetition(pid5, 1)
	for rest, more := pid5, true; more; {
		var rep []byte
		rep, rest, more = m.nextRepetition(rest)
		if string(value(m.component(rep, 7))) == "L" {
			return rep
		}
	}
	return first
}

// postcode returns XAD-5 of the first PID-11 repetition that has one.
func (m *message) postcode(pid11 []byte) (string, error) {
	for rest, more := pid11, true; more; {
		var rep []byte
		rep, rest, more = m.nextRepetition(rest)
		if zip := value(m.component(rep, 5)); len(zip) > 0 {
			s, err := m.text(zip)
			if err != nil {
				return "", fmt.Errorf("PID-11: %w", err)
			}
			return s, nil
		}
	}
	return "", nil
}

// practice returns the ODS code of the registered GP practice from PD1-3
// (XON): the organisation identifier XON-10 where v2.5+ senders put it,
// else XON-3 (ID number), where UK ITK and Epic feeds put it.
func (m *message) practice(pd13 []byte) (string, error) {
	for rest, more := pd13, true; more; {
		var rep []byte
		rep, rest, more = m.nextRepetition(rest)
		code := value(m.component(rep, 10))
		if len(code) == 0 {
			code = value(m.component(rep, 3))
		}
		if len(code) > 0 {
			s, err := m.text(code)
			if err != nil {
				return "", fmt.Errorf("PD1-3: %w", err)
			}
			return strings.ToUpper(s), nil
		}
	}
	return "", nil
}

// date reads the date in the first component of field n of seg (a TS in
// v2.3–2.5.1 is DTM^precision), or nil when the field is empty.
func (m *message) date(seg []byte, segID string, n int) (*models.Date, error) {
	ts := value(m.component(m.fieldOf(seg, n), 1))
	if len(ts) == 0 {
		return nil, nil
	}
	d, err := parseDate(ts)
	if err != nil {
		return nil, fmt.Errorf("%s-%d: %w", segID, n, err)
	}
	return &d, nil
}

// encounter reads PV1 into an Encounter. It returns nil for an A08 whose
// PV1 describes no visit (patient class N, "not applicable"), as UK PAS
// systems send on demographic-only updates.
func (c *converter) encounter(ref models.SourceRef, trig trigger, pv1 []byte, patientID string) (*models.Encounter, error) {
	m := &c.m
	class := value(m.component(m.fieldOf(pv1, 2), 1))
	if trig.visit == visitIfPresent && (len(class) == 0 || string(class) == "N") {
		return nil, nil
	}
	e := &models.Encounter{
		Ref:             ref,
		PatientID:       patientID,
		Event:           trig.event,
		Class:           classOf(class),
		AdmissionMethod: admissionMethod(value(m.component(m.fieldOf(pv1, 4), 1))),
		Cancelled:       trig.cancelled,
	}
	var err error
	if e.EncounterID, err = m.text(m.component(m.fieldOf(pv1, 19), 1)); err != nil {
		return nil, fmt.Errorf("PV1-19: %w", err)
	}
	if e.EncounterID == "" {
		// No visit number: the event still counts, as its own encounter.
		e.EncounterID = "msh-10:" + ref.RecordID
	}
	if e.Start, err = m.date(pv1, "PV1", 44); err != nil {
		return nil, err
	}
	if e.End, err = m.date(pv1, "PV1", 45); err != nil {
		return nil, err
	}
	return e, nil
}

// diagnosis reads one DG1 segment. A diagnosis whose code system
// pophealth does not hold, or whose code is malformed, is not an error:
// it is dropped and counted under the returned skip kind.
func (c *converter) diagnosis(ref models.SourceRef, dg1 []byte, patientID, encounterID string) (*models.Diagnosis, string, error) {
	m := &c.m
	ce := m.fieldOf(dg1, 3)
	system := value(m.component(ce, 3))
	if len(system) == 0 {
		system = value(m.component(m.fieldOf(dg1, 2), 1)) // DG1-2, diagnosis coding method (v2.3 and earlier)
	}
	cs, ok := codeSystemOf(system)
	if !ok {
		return nil, "dg1:unknown-system", nil
	}
	raw, err := m.text(m.component(ce, 1))
	if err != nil {
		return nil, "", fmt.Errorf("DG1-3: %w", err)
	}
	code, ok := normaliseCode(cs, raw)
	if !ok {
		return nil, "dg1:invalid-code", nil
	}
	date, err := m.date(dg1, "DG1", 5)
	if err != nil {
		return nil, "", err
	}
	return &models.Diagnosis{
		Ref:         ref,
		PatientID:   patientID,
		EncounterID: encounterID,
		System:      cs,
		Code:        code,
		Date:        date,
	}, "", nil
}

// optionalSeg returns segment i, or nil when i is -1 (not present).
func (m *message) optionalSeg(i int) []byte {
	if i < 0 {
		return nil
	}
	return m.seg(i)
}

// find returns the index of the first segment with the given ID, or -1.
func (m *message) find(id string) int {
	for i := 1; i < len(m.segs); i++ {
		if string(m.seg(i)[:3]) == id {
			return i
		}
	}
	return -1
}

// readCharset reads MSH-18. Unset means UTF-8 (pophealth's default, and a
// superset of the ASCII most senders use); 8859/1 is converted to UTF-8 as
// text is kept. Any other declared set is quarantined rather than
// misread.
func (m *message) readCharset() error {
	cs := value(m.repetition(m.mshField(18), 1))
	switch string(cs) {
	case "", "ASCII", "UNICODE UTF-8", "UTF-8":
		m.latin1 = false
	case "8859/1":
		m.latin1 = true
	default:
		return fmt.Errorf("MSH-18: unsupported character set %q", truncate(cs, 32))
	}
	return nil
}

// checkVersion reads MSH-12. pophealth is written to v2.3–2.5.1, whose
// PID, PD1, PV1 and DG1 fields it reads keep their positions from v2.2 to
// v2.8, so any 2.x version is read; legacy reports v2.1–2.2, where the NHS
// number may sit unqualified in PID-2. A missing or non-2.x version is
// quarantined: the message's layout is then unknown.
func (m *message) checkVersion() (legacy bool, err error) {
	v := value(m.component(m.mshField(12), 1))
	if len(v) == 0 {
		return false, errors.New("MSH-12: missing version")
	}
	if len(v) < 3 || v[0] != '2' || v[1] != '.' || !isDigit(v[2]) {
		return false, fmt.Errorf("MSH-12: unsupported version %q", truncate(v, 16))
	}
	minor := v[2:]
	if i := bytes.IndexByte(minor, '.'); i >= 0 {
		minor = minor[:i]
	}
	return string(minor) == "1" || string(minor) == "2", nil
}
