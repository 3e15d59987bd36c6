package fhir

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pophealth/pophealth/models"
)

// Code system and identifier system URIs that the mapping recognises.
const (
	systemNHSNumber = "https://fhir.nhs.uk/Id/nhs-number"
	systemODS       = "https://fhir.nhs.uk/Id/ods-organization-code"
	systemSNOMED    = "http://snomed.info/sct"
	systemICD10     = "http://hl7.org/fhir/sid/icd-10"
	systemICD10UK   = "http://hl7.org/fhir/sid/icd-10-uk"
	systemLOINC     = "http://loinc.org"
	systemDMD       = "https://dmd.nhs.uk"
	systemRxNorm    = "http://www.nlm.nih.gov/research/umls/rxnorm"
	systemUCUM      = "http://unitsofmeasure.org"

	extNHSNumberVerification = "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-NHSNumberVerificationStatus"
	extAdmissionMethod       = "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-AdmissionMethod"

	// verifiedCode is the NHS number verification status "Number present
	// and verified": the sender traced the number against PDS.
	verifiedCode = "01"
)

// parseDate reads a FHIR date, dateTime or instant and returns the calendar
// date as written, ignoring the time and zone: "2013-04-02T23:30:00-05:00"
// is 2013-04-02, never shifted to UTC. A partial date (YYYY or YYYY-MM)
// stands for the first day of the year or month it names. It rejects
// malformed text and impossible dates such as 2023-02-30.
func parseDate(s string) (models.Date, error) {
	if len(s) < 4 || !digits(s[:4]) || s[:4] == "0000" {
		return 0, fmt.Errorf("invalid date %q", s)
	}
	year := atoi(s[:4])
	month, day := 1, 1
	rest := s[4:]
	if rest != "" {
		if len(rest) < 3 || rest[0] != '-' || !digits(rest[1:3]) {
			return 0, fmt.Errorf("invalid date %q", s)
		}
		month, rest = atoi(rest[1:3]), rest[3:]
		if rest != "" {
			if len(rest) < 3 || rest[0] != '-' || !digits(rest[1:3]) {
				return 0, fmt.Errorf("invalid date %q", s)
			}
			day, rest = atoi(rest[1:3]), rest[3:]
		}
	}
	if month < 1 || month > 12 || day < 1 || day > daysIn(year, time.Month(month)) {
		return 0, fmt.Errorf("impossible date %s", s[:len(s)-len(rest)])
	}
	if rest != "" && !validTime(rest) {
		return 0, fmt.Errorf("invalid dateTime %q", s)
	}
	return models.NewDate(year, time.Month(month), day), nil
}

// validTime checks the time part of a dateTime: "T" hh:mm:ss, optional
// fraction, optional zone (Z or ±hh:mm). The zone is optional although
// FHIR requires it, because exporters omit it.
func validTime(s string) bool {
	if len(s) < 9 || s[0] != 'T' || s[3] != ':' || s[6] != ':' ||
		!digits(s[1:3]) || !digits(s[4:6]) || !digits(s[7:9]) {
		return false
	}
	if atoi(s[1:3]) > 23 || atoi(s[4:6]) > 59 || atoi(s[7:9]) > 60 {
		return false
	}
	s = s[9:]
	if s != "" && s[0] == '.' {
		n := 1
		for n < len(s) && s[n] >= '0' && s[n] <= '9' {
			n++
		}
		if n == 1 {
			return false
		}
		s = s[n:]
	}
	switch {
	case s == "" || s == "Z":
		return true
	case len(s) == 6 && (s[0] == '+' || s[0] == '-') && s[3] == ':' && digits(s[1:3]) && digits(s[4:6]):
		return atoi(s[1:3]) <= 14 && atoi(s[4:6]) <= 59
	}
	return false
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// atoi converts a short run of ASCII digits already checked by digits.
func atoi(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}

func daysIn(year int, m time.Month) int {
	switch m {
	case time.February:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case time.April, time.June, time.September, time.November:
		return 30
	}
	return 31
}

// dateField parses an optional date field of a resource, naming the field
// in the error so the quarantine reason points at it.
func dateField(path, s string) (*models.Date, error) {
	if s == "" {
		return nil, nil
	}
	d, err := parseDate(s)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &d, nil
}

// dateMember is a date member of a resource: its path, for the error
// message, and its value.
type dateMember struct {
	path, value string
}

// firstDate returns the first present one of several candidate dates,
// after checking that every one that is present is a valid date.
func firstDate(members ...dateMember) (*models.Date, error) {
	var first *models.Date
	for _, m := range members {
		d, err := dateField(m.path, m.value)
		if err != nil {
			return nil, err
		}
		if first == nil {
			first = d
		}
	}
	return first, nil
}

// copyDate gives each record its own date, as the sink owns what it is
// given.
func copyDate(d *models.Date) *models.Date {
	if d == nil {
		return nil
	}
	return d.Ptr()
}

// errNoReference reports a reference element that is absent or empty.
var errNoReference = errors.New("no reference")

// referenceID resolves a literal reference to the id of a resource of type
// typ: "Patient/123", "Patient/123/_history/2", an absolute URL ending in
// "Patient/123", or "urn:uuid:123" (the form Bundles use between entries)
// all give "123". Conditional ("Patient?identifier=…"), contained ("#p1")
// and other-type references cannot be resolved to an id.
func referenceID(ref, typ string) (string, error) {
	ref = strings.TrimSpace(ref)
	if ref == "" {
		return "", errNoReference
	}
	if id, ok := strings.CutPrefix(ref, "urn:uuid:"); ok && id != "" {
		return id, nil
	}
	if strings.ContainsAny(ref, "?#") || strings.HasPrefix(ref, "urn:") {
		return "", fmt.Errorf("cannot resolve reference %q to a %s id", ref, typ)
	}
	if i := strings.Index(ref, "/_history/"); i >= 0 {
		ref = ref[:i]
	}
	i := strings.LastIndexByte(ref, '/')
	if i < 0 || ref[i+1:] == "" {
		return "", fmt.Errorf("cannot resolve reference %q to a %s id", ref, typ)
	}
	id, head := ref[i+1:], ref[:i]
	if head[strings.LastIndexByte(head, '/')+1:] != typ {
		return "", fmt.Errorf("reference %q is not to a %s", ref, typ)
	}
	return id, nil
}

// subjectID resolves the patient reference of a clinical resource, which
// every resource pophealth keeps must have: a record without one cannot be
// linked to a person.
func subjectID(resourceType string, r reference) (string, error) {
	id, err := referenceID(r.Reference, "Patient")
	if errors.Is(err, errNoReference) {
		return "", fmt.Errorf("%s has no subject", resourceType)
	}
	if err != nil {
		return "", fmt.Errorf("%s.subject: %w", resourceType, err)
	}
	return id, nil
}

// encounterID resolves an optional encounter reference; one that cannot be
// resolved is dropped rather than failing the record, as the link to an
// encounter is secondary to the clinical fact.
func encounterID(r reference) string {
	id, err := referenceID(r.Reference, "Encounter")
	if err != nil {
		return ""
	}
	return id
}

// normalisePostcode upper-cases a UK postcode and puts a single space
// before the inward code (a digit and two letters), the form
// models.PatientRecord keeps. Text of another shape, such as a US ZIP
// code, is kept as sent, trimmed and upper-cased, for review.
func normalisePostcode(s string) string {
	compact := strings.ToUpper(strings.Join(strings.Fields(s), ""))
	n := len(compact)
	if n < 5 || n > 7 || !isUpper(compact[0]) ||
		!digits(compact[n-3:n-2]) || !isUpper(compact[n-2]) || !isUpper(compact[n-1]) {
		return strings.ToUpper(strings.TrimSpace(s))
	}
	return compact[:n-3] + " " + compact[n-3:]
}

func isUpper(c byte) bool { return c >= 'A' && c <= 'Z' }

// sexOf maps FHIR administrative gender onto models.Sex. The value set is
// closed (required binding), so any other code is an error.
func sexOf(gender string) (models.Sex, error) {
	switch gender {
	case "male":
		return models.SexMale, nil
	case "female":
		return models.SexFemale, nil
	case "other":
		return models.SexOther, nil
	case "unknown", "":
		return models.SexUnknown, nil
	}
	return "", fmt.Errorf("Patient.gender: unknown code %q", gender)
}

// encounterClass maps a v3 ActCode encounter class onto the classes of
// models.Encounter.
func encounterClass(code string) string {
	switch code {
	case "IMP", "ACUTE", "NONAC":
		return "inpatient"
	case "EMER":
		return "emergency"
	case "AMB":
		return "outpatient"
	case "HH", "VR":
		return "community"
	}
	return "other"
}

// admissionMethodNHS maps an NHS Data Dictionary admission method code
// (the UK Core AdmissionMethod extension): 1x elective, 2x emergency, 3x
// maternity, 81 transfer from another provider, anything else other.
func admissionMethodNHS(code string) string {
	switch {
	case code == "":
		return ""
	case code[0] == '1':
		return "elective"
	case code[0] == '2':
		return "emergency"
	case code[0] == '3':
		return "maternity"
	case code == "81":
		return "transfer"
	}
	return "other"
}

// admissionMethodSource maps a FHIR admit-source code
// (http://terminology.hl7.org/CodeSystem/admit-source) onto an admission
// method: emergency department, born in hospital (maternity), or a
// transfer from another facility; other sources say nothing more
// specific than "other".
func admissionMethodSource(code string) string {
	switch code {
	case "":
		return ""
	case "emd":
		return "emergency"
	case "born":
		return "maternity"
	case "hosp-trans", "nursing", "psych", "rehab":
		return "transfer"
	}
	return "other"
}

// icd10Code writes an ICD-10 code the way the lake and code lists keep it:
// upper case, without the dot or spaces ("E11.9" -> "E119").
func icd10Code(code string) string {
	return strings.ToUpper(strings.Map(func(r rune) rune {
		if r == '.' || r == ' ' {
			return -1
		}
		return r
	}, code))
}
