package hl7v2

import "github.com/pophealth/pophealth/models"

// visitRule says whether a trigger event describes a visit.
type visitRule int

const (
	noVisit        visitRule = iota // person-level event: PatientRecord only
	visitRequired                   // PV1 must be present; an Encounter is emitted
	visitIfPresent                  // an Encounter when PV1 describes a visit
)

// trigger says what pophealth takes from one ADT trigger event.
type trigger struct {
	event     string // the event code, e.g. "A01", kept as a constant string
	visit     visitRule
	cancelled bool // the event undoes an earlier one
	merge     bool // PID/MRG groups: the MRG patient is merged into the PID one
}

// lookupTrigger classifies an ADT trigger event (MSH-9.2). handled events
// yield records; defined but unhandled ones (A06, A17, ...) are
// accepted and counted as skipped; anything else is not an ADT event of
// HL7 v2 table 0003 (A01–A62) and is quarantined.
func lookupTrigger(ev []byte) (t trigger, handled, defined bool) {
	switch string(ev) {
	case "A01":
		return trigger{"A01", visitRequired, false, false}, true, true
	case "A02":
		return trigger{"A02", visitRequired, false, false}, true, true
	case "A03":
		return trigger{"A03", visitRequired, false, false}, true, true
	case "A04":
		return trigger{"A04", visitRequired, false, false}, true, true
	case "A05":
		return trigger{"A05", visitRequired, false, false}, true, true
	case "A08":
		return trigger{"A08", visitIfPresent, false, false}, true, true
	case "A11":
		return trigger{"A11", visitRequired, true, false}, true, true
	case "A12":
		return trigger{"A12", visitRequired, true, false}, true, true
	case "A13":
		return trigger{"A13", visitRequired, true, false}, true, true
	case "A28":
		return trigger{"A28", noVisit, false, false}, true, true
	case "A40":
		return trigger{"A40", noVisit, false, true}, true, true
	case "A31":
		return trigger{"A31", noVisit, false, false}, true, true
	}
	if len(ev) == 3 && ev[0] == 'A' && isDigit(ev[1]) && isDigit(ev[2]) {
		n := atoi(ev[1:])
		return trigger{}, false, n >= 1 && n <= 62
	}
	return trigger{}, false, false
}

// sexOf maps PID-8 (HL7 table 0001) to models.Sex: A (ambiguous) counts
// as other; N (not applicable), absent and unrecognised codes as unknown.
func sexOf(code []byte) models.Sex {
	switch string(code) {
	case "M":
		return models.SexMale
	case "F":
		return models.SexFemale
	case "O", "A":
		return models.SexOther
	}
	return models.SexUnknown
}

// Encounter classes, as documented on models.Encounter.Class.
const (
	classInpatient  = "inpatient"
	classEmergency  = "emergency"
	classOutpatient = "outpatient"
	classOther      = "other"
)

// classOf maps PV1-2 patient class (HL7 table 0004): I inpatient,
// E emergency, O outpatient; every other class (P preadmit, R recurring,
// B obstetrics, ...) is other.
func classOf(code []byte) string {
	switch string(code) {
	case "I":
		return classInpatient
	case "E":
		return classEmergency
	case "O":
		return classOutpatient
	}
	return classOther
}

// Admission methods, as documented on models.Encounter.AdmissionMethod.
const (
	admitEmergency = "emergency"
	admitElective  = "elective"
	admitMaternity = "maternity"
	admitTransfer  = "transfer"
	admitOther     = "other"
)

// admissionMethod maps PV1-4 admission type to an admission method, from
// HL7 table 0007 or NHS Data Dictionary admission method codes; the
// mapping is documented in the package comment.
func admissionMethod(code []byte) string {
	switch string(code) {
	case "", "99":
		return ""
	case "E", "EM", "A", "U",
		"21", "22", "23", "24", "25", "26", "27", "28", "2A", "2B", "2C", "2D":
		return admitEmergency
	case "C", "R", "11", "12", "13":
		return admitElective
	case "L", "31", "32":
		return admitMaternity
	case "81":
		return admitTransfer
	}
	return admitOther
}

// codeSystemOf maps the coding system of DG1-3 (CE-3, or DG1-2 when CE-3
// is empty) to a models.CodeSystem. Hospitals code diagnoses in ICD-10
// (HL7 table 0396 I10, also written ICD10 or ICD-10); some send SNOMED CT
// (SCT). ICD-9 (I9) is deliberately not accepted: its codes are not ICD-10
// codes, and reading them as such would corrupt cohorts.
func codeSystemOf(system []byte) (models.CodeSystem, bool) {
	var buf [24]byte
	if len(system) > len(buf) {
		return "", false
	}
	upper := buf[:len(system)]
	for i, c := range system {
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		upper[i] = c
	}
	switch string(upper) {
	case "I10", "ICD10", "ICD-10", "2.16.840.1.113883.6.3":
		return models.ICD10, true
	case "SCT", "SNOMED", "SNOMEDCT", "SNOMED CT", "SNOMED-CT", "2.16.840.1.113883.6.96":
		return models.SNOMED, true
	}
	return "", false
}

// normaliseCode returns a code in the form the lake keeps: ICD-10 upper
// case without the dot (E11.9 -> E119, I10.X -> I10X), SNOMED CT as its
// digits. ok is false when the code cannot belong to the system.
func normaliseCode(cs models.CodeSystem, code string) (string, bool) {
	switch cs {
	case models.ICD10:
		var buf [8]byte
		b := buf[:0]
		for i := 0; i < len(code); i++ {
			c := code[i]
			if c == '.' {
				continue
			}
			if len(b) == len(buf) {
				return "", false
			}
			if 'a' <= c && c <= 'z' {
				c -= 'a' - 'A'
			}
			b = append(b, c)
		}
		// A letter, two digits, then up to four characters for the
		// subcategory, the UK X filler and dagger/asterisk suffixes.
		if len(b) < 3 || len(b) > 7 || b[0] < 'A' || b[0] > 'Z' || !isDigit(b[1]) || !isSegmentIDChar(b[2]) {
			return "", false
		}
		for _, c := range b[3:] {
			if !isSegmentIDChar(c) {
				return "", false
			}
		}
		return string(b), true
	case models.SNOMED:
		if len(code) < 6 || len(code) > 18 || !allDigits([]byte(code)) {
			return "", false
		}
		return code, true
	}
	return "", false
}

// normalisePostcode returns a UK postcode in the lake's form, upper case
// with one space before the three-character inward code, and false for
// anything not shaped like one (US ZIP codes, Australian postcodes).
// Pseudo-postcodes such as ZZ99 3VZ (no fixed abode) are shaped like
// postcodes and kept: they mean something to analysts.
func normalisePostcode(s string) (string, bool) {
	var b [8]byte
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ':
			continue
		case 'a' <= c && c <= 'z':
			c -= 'a' - 'A'
		case !isSegmentIDChar(c):
			return "", false
		}
		if n == len(b) {
			return "", false
		}
		b[n] = c
		n++
	}
	if n < 5 || n > 7 {
		return "", false
	}
	out, in := b[:n-3], b[n-3:n]
	if !isDigit(in[0]) || !isLetter(in[1]) || !isLetter(in[2]) {
		return "", false
	}
	// Outward code: A9, A99, A9A, AA9, AA99 or AA9A.
	i := 1
	if !isLetter(out[0]) {
		return "", false
	}
	if isLetter(out[i]) {
		i++
	}
	if i >= len(out) || !isDigit(out[i]) {
		return "", false
	}
	if rest := len(out) - i - 1; rest > 1 {
		return "", false
	}
	copy(b[len(out)+1:], in)
	b[len(out)] = ' '
	return string(b[:n+1]), true
}

func isLetter(c byte) bool { return 'A' <= c && c <= 'Z' }
