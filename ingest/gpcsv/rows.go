package gpcsv

import (
	"fmt"
	"strings"

	"github.com/pophealth/pophealth/models"
	"github.com/pophealth/pophealth/models/nhsnumber"
)

// row gives access to one CSV row's fields by column.
type row struct {
	fields []string
	index  *[numColumns]int
	// cp1252 is set when the row's bytes are not valid UTF-8: they are
	// then read as Windows-1252.
	cp1252 bool
}

// get returns column c's value, converted to UTF-8 and trimmed of
// surrounding spaces, or "" when the header has no such column.
func (r row) get(c column) string {
	i := r.index[c]
	if i < 0 {
		return ""
	}
	s := r.fields[i]
	if r.cp1252 {
		s = decode1252(s)
	}
	return strings.TrimSpace(s)
}

// date returns column c's value as a date, ok false when it is empty, or
// the reason it is not a date.
func (r row) date(c column, required bool) (d models.Date, ok bool, reason string) {
	s := r.get(c)
	if s == "" {
		if required {
			return 0, false, empty(c)
		}
		return 0, false, ""
	}
	switch d, res := parseDate(s); res {
	case notADate:
		return 0, false, fmt.Sprintf("%s: not a date %q (want YYYY-MM-DD or DD/MM/YYYY)", c, s)
	case impossibleDate:
		return 0, false, fmt.Sprintf("%s: impossible date %s", c, s)
	default:
		return d, true, ""
	}
}

// Records are allocated together with the values their pointer fields
// point to, in one allocation per row rather than up to four: allocation
// is a good part of the cost of a row.
type (
	patientAlloc struct {
		rec                                    models.PatientRecord
		birth, registered, deregistered, death models.Date
	}
	diagnosisAlloc struct {
		rec  models.Diagnosis
		date models.Date
	}
	observationAlloc struct {
		rec   models.Observation
		date  models.Date
		value float64
	}
	medicationAlloc struct {
		rec  models.Medication
		date models.Date
	}
)

// empty is the quarantine reason for a required column left empty.
func empty(c column) string { return c.String() + ": required value is empty" }

// convert turns a row of the header's width into a record, or returns the
// reason it cannot. It sets ref.RecordID to the row's identifier whenever
// it has one, so that a quarantined row keeps it too.
func (p *parser) convert(fields []string, ref *models.SourceRef, cp1252 bool) (models.Record, string) {
	r := row{fields: fields, index: &p.head.index, cp1252: cp1252}
	if p.head.kind == patientsFile {
		return p.patient(r, ref)
	}
	return event(r, ref)
}

// patient converts a row of a patients file. Checks run in the order of
// the specification's columns and the first failure is the reason.
func (p *parser) patient(r row, ref *models.SourceRef) (models.Record, string) {
	// The id and NHS number are cloned: they outlive the row in the master
	// person index, and as substrings they would keep the whole CSV record
	// alive (a third of the index's memory).
	a := &patientAlloc{rec: models.PatientRecord{LocalID: strings.Clone(r.get(colPatientID))}}
	pr := &a.rec
	ref.RecordID = pr.LocalID
	if pr.LocalID == "" {
		return nil, empty(colPatientID)
	}
	pr.NHSNumber = strings.Clone(nhsnumber.Normalise(r.get(colNHSNumber)))
	switch {
	case pr.NHSNumber == "":
		pr.NHSNumberStatus = models.NHSMissing
	case nhsnumber.Valid(pr.NHSNumber):
		pr.NHSNumberStatus = models.NHSValid
	default:
		// Kept, flagged, for probabilistic linkage and review.
		pr.NHSNumberStatus = models.NHSInvalid
	}
	pr.GivenName = r.get(colGivenName)
	pr.FamilyName = r.get(colFamilyName)

	var ok bool
	var reason string
	if a.birth, _, reason = r.date(colDateOfBirth, true); reason != "" {
		return nil, reason
	}
	if a.birth > p.latestBirth {
		return nil, fmt.Sprintf("%s: in the future: %s", colDateOfBirth, r.get(colDateOfBirth))
	}
	pr.BirthDate = &a.birth
	sex := r.get(colSex)
	if sex == "" {
		return nil, empty(colSex)
	}
	if pr.Sex, ok = parseSex(sex); !ok {
		return nil, fmt.Sprintf("%s: unknown code %q (want M, F, I, U, 1, 2 or 9)", colSex, sex)
	}
	pr.Postcode = normalisePostcode(r.get(colPostcode))
	if pr.PracticeCode = strings.ToUpper(r.get(colPracticeCode)); pr.PracticeCode == "" {
		return nil, empty(colPracticeCode)
	}
	if a.registered, _, reason = r.date(colRegistrationDate, true); reason != "" {
		return nil, reason
	}
	pr.RegisteredFrom = &a.registered
	if a.deregistered, ok, reason = r.date(colDeregistrationDate, false); reason != "" {
		return nil, reason
	} else if ok {
		pr.RegisteredTo = &a.deregistered
	}
	if a.death, ok, reason = r.date(colDateOfDeath, false); reason != "" {
		return nil, reason
	} else if ok {
		pr.DeathDate = &a.death
	}
	// Optional and not checked: a value the deprivation lookup does not
	// hold gives no decile, and ingest counts it.
	pr.LSOA = strings.ToUpper(r.get(colLSOACode))
	pr.Ref = *ref
	return pr, ""
}

// eventType is the kind of record an events row becomes.
type eventType int

const (
	problem eventType = iota + 1
	observation
	medication
)

// equalFold is strings.EqualFold for an ASCII word, quick to refuse a
// string of another length.
func equalFold(s, word string) bool {
	return s == word || (len(s) == len(word) && strings.EqualFold(s, word))
}

// event converts a row of an events file to a Diagnosis, an Observation
// or a Medication, as its event_type says.
func event(r row, ref *models.SourceRef) (models.Record, string) {
	id := r.get(colEventID)
	ref.RecordID = id
	if id == "" {
		return nil, empty(colEventID)
	}
	patient := r.get(colPatientID)
	if patient == "" {
		return nil, empty(colPatientID)
	}
	date, _, reason := r.date(colEventDate, true)
	if reason != "" {
		return nil, reason
	}
	typ, system, code := r.get(colEventType), r.get(colCodeSystem), r.get(colCode)
	switch {
	case typ == "":
		return nil, empty(colEventType)
	case system == "":
		return nil, empty(colCodeSystem)
	case code == "":
		return nil, empty(colCode)
	}
	var kind eventType
	var sys models.CodeSystem
	switch {
	case equalFold(typ, "problem"):
		kind, sys = problem, models.SNOMED
	case equalFold(typ, "observation"):
		kind, sys = observation, models.SNOMED
	case equalFold(typ, "medication"):
		kind, sys = medication, models.DMD
	}
	if kind == 0 || !equalFold(system, string(sys)) {
		return nil, fmt.Sprintf("%s/%s: %q/%q is not problem/snomed, observation/snomed or medication/dmd",
			colEventType, colCodeSystem, typ, system)
	}
	if !isConceptID(code) {
		name := "SNOMED CT"
		if sys == models.DMD {
			name = "dm+d"
		}
		return nil, fmt.Sprintf("%s: %q is not a %s id (6 to 18 digits, no leading zero)", colCode, code, name)
	}
	switch kind {
	case medication:
		a := &medicationAlloc{rec: models.Medication{Ref: *ref, PatientID: patient, System: sys, Code: code}, date: date}
		a.rec.Date = &a.date
		return &a.rec, ""
	case problem:
		a := &diagnosisAlloc{rec: models.Diagnosis{Ref: *ref, PatientID: patient, System: sys, Code: code}, date: date}
		a.rec.Date = &a.date
		return &a.rec, ""
	}
	a := &observationAlloc{
		rec:  models.Observation{Ref: *ref, PatientID: patient, System: sys, Code: code, Unit: r.get(colUnit)},
		date: date,
	}
	a.rec.Date = &a.date
	if v := r.get(colValue); v != "" {
		var ok bool
		if a.value, ok = parseValue(v); !ok {
			return nil, fmt.Sprintf("%s: not a number %q", colValue, v)
		}
		a.rec.Value = &a.value
	}
	return &a.rec, ""
}
