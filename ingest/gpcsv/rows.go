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

// date returns column c's value as a date, nil when it is empty, or the
// reason it is not a date.
func (r row) date(c column, required bool) (*models.Date, string) {
	s := r.get(c)
	if s == "" {
		if required {
			return nil, empty(c)
		}
		return nil, ""
	}
	switch d, res := parseDate(s); res {
	case notADate:
		return nil, fmt.Sprintf("%s: not a date %q (want YYYY-MM-DD or DD/MM/YYYY)", c, s)
	case impossibleDate:
		return nil, fmt.Sprintf("%s: impossible date %s", c, s)
	default:
		return &d, ""
	}
}

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
	pr := &models.PatientRecord{LocalID: r.get(colPatientID)}
	ref.RecordID = pr.LocalID
	if pr.LocalID == "" {
		return nil, empty(colPatientID)
	}
	pr.NHSNumber = nhsnumber.Normalise(r.get(colNHSNumber))
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

	var reason string
	if pr.BirthDate, reason = r.date(colDateOfBirth, true); reason != "" {
		return nil, reason
	}
	if *pr.BirthDate > p.latestBirth {
		return nil, fmt.Sprintf("%s: in the future: %s", colDateOfBirth, r.get(colDateOfBirth))
	}
	sex := r.get(colSex)
	if sex == "" {
		return nil, empty(colSex)
	}
	var ok bool
	if pr.Sex, ok = parseSex(sex); !ok {
		return nil, fmt.Sprintf("%s: unknown code %q (want M, F, I, U, 1, 2 or 9)", colSex, sex)
	}
	pr.Postcode = normalisePostcode(r.get(colPostcode))
	if pr.PracticeCode = strings.ToUpper(r.get(colPracticeCode)); pr.PracticeCode == "" {
		return nil, empty(colPracticeCode)
	}
	if pr.RegisteredFrom, reason = r.date(colRegistrationDate, true); reason != "" {
		return nil, reason
	}
	if _, reason = r.date(colDeregistrationDate, false); reason != "" {
		return nil, reason
	}
	if pr.DeathDate, reason = r.date(colDateOfDeath, false); reason != "" {
		return nil, reason
	}
	pr.Ref = *ref
	return pr, ""
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
	date, reason := r.date(colEventDate, true)
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
	var sys models.CodeSystem
	switch {
	case strings.EqualFold(system, string(models.SNOMED)) &&
		(strings.EqualFold(typ, "problem") || strings.EqualFold(typ, "observation")):
		sys = models.SNOMED
	case strings.EqualFold(system, string(models.DMD)) && strings.EqualFold(typ, "medication"):
		sys = models.DMD
	default:
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
	switch {
	case sys == models.DMD:
		return &models.Medication{Ref: *ref, PatientID: patient, System: sys, Code: code, Date: date}, ""
	case strings.EqualFold(typ, "problem"):
		return &models.Diagnosis{Ref: *ref, PatientID: patient, System: sys, Code: code, Date: date}, ""
	}
	o := &models.Observation{Ref: *ref, PatientID: patient, System: sys, Code: code, Unit: r.get(colUnit), Date: date}
	if v := r.get(colValue); v != "" {
		f, ok := parseValue(v)
		if !ok {
			return nil, fmt.Sprintf("%s: not a number %q", colValue, v)
		}
		o.Value = &f
	}
	return o, ""
}
