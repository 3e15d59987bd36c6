package synth

import (
	"slices"

	"github.com/pophealth/pophealth/models"
)

// The community trust that sends FHIR, and the systems its resources use.
const (
	communityTrustODS   = "RY6"
	fhirNHSNumberSystem = "https://fhir.nhs.uk/Id/nhs-number"
	fhirODSSystem       = "https://fhir.nhs.uk/Id/ods-organization-code"
	fhirLocalIDSystem   = "https://fhir.ry6.nhs.uk/Id/local-patient-number"
	fhirVerificationURL = "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-NHSNumberVerificationStatus"
	fhirVerificationCS  = "https://fhir.hl7.org.uk/CodeSystem/UKCore-NHSNumberVerificationStatus"
	fhirSNOMEDSystem    = "http://snomed.info/sct"
	fhirDMDSystem       = "https://dmd.nhs.uk"
	fhirUCUMSystem      = "http://unitsofmeasure.org"
	fhirActCodeSystem   = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
	fhirClinicalStatus  = "http://terminology.hl7.org/CodeSystem/condition-clinical"
	fhirVerStatus       = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
	fhirConditionCat    = "http://terminology.hl7.org/CodeSystem/condition-category"
	fhirObservationCat  = "http://terminology.hl7.org/CodeSystem/observation-category"
)

// The chance that the community trust knows a person is fhirBaseShare plus
// fhirPerConditionRise per long-term condition, at most fhirMaxShare.
const (
	fhirBaseShare        = 0.32
	fhirPerConditionRise = 0.12
	fhirMaxShare         = 0.85
)

// writeFHIR writes the person's resources if the community trust knows
// them: more likely the more long-term conditions they have, about 40% of
// people overall.
func (w *worker) writeFHIR(c *chunk) {
	m, r, p := w.m, w.r, &w.p
	if r.Float64() >= min(fhirMaxShare, fhirBaseShare+fhirPerConditionRise*float64(p.nconds)) {
		return
	}
	c.stats.fhirPatients++
	patientID := w.uuid()
	c.addTruth(models.FeedFHIR, patientID, patientID, p.id)
	id := w.dirtyIdentity(&c.stats.fhirDirt)
	postcode := p.postcode
	if p.moved {
		// The trust's record predates the move.
		postcode = p.oldPostcode
		c.stats.fhirDirt.OldPostcode++
	}

	b := c.out[fhirPatient]
	start := len(b)
	b = append(b, `{"resourceType":"Patient","id":`...)
	b = appendJSONString(b, patientID)
	b = append(b, `,"identifier":[`...)
	if id.nhs != "" {
		status, display := "01", "Number present and verified"
		if !id.traced {
			status, display = "02", "Number present but not traced"
		}
		b = append(b, `{"system":"`+fhirNHSNumberSystem+`","value":`...)
		b = appendJSONString(b, id.nhs)
		b = append(b, `,"extension":[{"url":"`+fhirVerificationURL+`","valueCodeableConcept":{"coding":[`...)
		b = appendCoding(b, fhirVerificationCS, status, display)
		b = append(b, `]}}]},`...)
	}
	b = append(b, `{"system":"`+fhirLocalIDSystem+`","value":"C`...)
	b = append(b, pad(m.scramble(p.index, 16_807_129, 100_000_000), 8)...)
	b = append(b, `"}],"name":[{"use":"official","family":`...)
	b = appendJSONString(b, id.family)
	b = append(b, `,"given":[`...)
	b = appendJSONString(b, id.given)
	b = append(b, `]}],"gender":`...)
	if p.male {
		b = append(b, `"male"`...)
	} else {
		b = append(b, `"female"`...)
	}
	b = append(b, `,"birthDate":"`...)
	b = appendISODate(b, p.birth)
	b = append(b, '"')
	if p.died {
		b = append(b, `,"deceasedDateTime":"`...)
		b = appendISODate(b, p.death)
		b = append(b, '"')
	}
	b = append(b, `,"address":[{"use":"home","line":[`...)
	b = appendJSONString(b, p.address)
	b = append(b, `],"city":`...)
	b = appendJSONString(b, p.town)
	b = append(b, `,"postalCode":`...)
	b = appendJSONString(b, postcode)
	b = append(b, `}],"generalPractitioner":[{"identifier":{"system":"`+fhirODSSystem+`","value":`...)
	b = appendJSONString(b, p.practice.ods)
	b = append(b, `}}]}`...)
	c.out[fhirPatient] = b
	w.endLine(c, fhirPatient, start, patientID)

	w.fhirEncounters(c, patientID)
	w.fhirConditions(c, patientID)
	w.fhirMedications(c, patientID)
}

// fhirEncounters writes outpatient, home and virtual contacts, with the
// measurements taken at some of them.
func (w *worker) fhirEncounters(c *chunk, patientID string) {
	m, r, p := w.m, w.r, &w.p
	diabetic := w.has("diabetes_t1") || w.has("diabetes_t2")
	hypertensive := w.has("hypertension")
	for range poisson(r, (0.3+0.35*float64(p.nconds))*w.observedYears()) {
		encID := w.uuid()
		at := momentOf(w.dayIn(m.opts.Start, p.end), 8+r.IntN(9), 15*r.IntN(4))
		class, display := "AMB", "ambulatory"
		switch u := r.Float64(); {
		case p.age >= 75 && u < 0.35, p.age < 75 && u < 0.05:
			class, display = "HH", "home health"
		case u > 0.88:
			class, display = "VR", "virtual"
		}
		b := c.out[fhirEncounter]
		start := len(b)
		b = append(b, `{"resourceType":"Encounter","id":`...)
		b = appendJSONString(b, encID)
		b = append(b, `,"status":"finished","class":`...)
		b = appendCoding(b, fhirActCodeSystem, class, display)
		b = append(b, `,"subject":{"reference":"Patient/`...)
		b = append(b, patientID...)
		b = append(b, `"},"period":{"start":"`...)
		b = appendFHIRTime(b, at)
		b = append(b, `","end":"`...)
		b = appendFHIRTime(b, at+moment(60*(15+15*r.IntN(4))))
		b = append(b, `"},"serviceProvider":{"identifier":{"system":"`+fhirODSSystem+`","value":"`+communityTrustODS+`"}}}`...)
		c.out[fhirEncounter] = b
		w.endLine(c, fhirEncounter, start, encID)

		if p.age >= 18 && r.Float64() < 0.4 {
			sys, dia := w.bloodPressure(hypertensive)
			w.fhirObservation(c, patientID, encID, at, "systolic_bp", "vital-signs", sys, 0)
			w.fhirObservation(c, patientID, encID, at, "diastolic_bp", "vital-signs", dia, 0)
		}
		if diabetic && r.Float64() < 0.3 {
			w.fhirObservation(c, patientID, encID, at, "hba1c", "laboratory", normal(r, 58, 13, 30, 150), 0)
		}
	}
}

func (w *worker) fhirObservation(c *chunk, patientID, encID string, at moment, measure, category string, value float64, decimals int) {
	e := w.m.obs[measure]
	id := w.uuid()
	b := c.out[fhirObservation]
	start := len(b)
	b = append(b, `{"resourceType":"Observation","id":`...)
	b = appendJSONString(b, id)
	b = append(b, `,"status":"final","category":[{"coding":[`...)
	b = appendCoding(b, fhirObservationCat, category, "")
	b = append(b, `]}],"code":{"coding":[`...)
	b = appendCoding(b, fhirSNOMEDSystem, e.Code, e.Term)
	b = append(b, `]},"subject":{"reference":"Patient/`...)
	b = append(b, patientID...)
	b = append(b, `"},"encounter":{"reference":"Encounter/`...)
	b = append(b, encID...)
	b = append(b, `"},"effectiveDateTime":"`...)
	b = appendFHIRTime(b, at)
	b = append(b, `","valueQuantity":{"value":`...)
	b = appendValue(b, value, decimals)
	b = append(b, `,"unit":`...)
	b = appendJSONString(b, e.Unit)
	b = append(b, `,"system":"`+fhirUCUMSystem+`","code":`...)
	b = appendJSONString(b, e.Unit)
	b = append(b, `}}`...)
	c.out[fhirObservation] = b
	w.endLine(c, fhirObservation, start, id)
}

// fhirConditions writes the person's problem list: the same diagnoses the
// GP holds, coded in SNOMED CT.
func (w *worker) fhirConditions(c *chunk, patientID string) {
	m, p := w.m, &w.p
	for k := range m.conds {
		s := &p.conds[k]
		if !s.has {
			continue
		}
		v := &m.conds[k].variants[s.variant]
		id := w.uuid()
		b := c.out[fhirCondition]
		start := len(b)
		b = append(b, `{"resourceType":"Condition","id":`...)
		b = appendJSONString(b, id)
		b = append(b, `,"clinicalStatus":{"coding":[`...)
		b = appendCoding(b, fhirClinicalStatus, "active", "")
		b = append(b, `]},"verificationStatus":{"coding":[`...)
		b = appendCoding(b, fhirVerStatus, "confirmed", "")
		b = append(b, `]},"category":[{"coding":[`...)
		b = appendCoding(b, fhirConditionCat, "problem-list-item", "")
		b = append(b, `]}],"code":{"coding":[`...)
		b = appendCoding(b, fhirSNOMEDSystem, v.snomed, v.snomedTerm)
		b = append(b, `]},"subject":{"reference":"Patient/`...)
		b = append(b, patientID...)
		b = append(b, `"},"onsetDateTime":"`...)
		b = appendISODate(b, s.onset)
		b = append(b, `","recordedDate":"`...)
		b = appendISODate(b, s.onset)
		b = append(b, `"}`...)
		c.out[fhirCondition] = b
		w.endLine(c, fhirCondition, start, id)
	}
}

// fhirMedications writes prescriptions the trust issued for the person's
// treated conditions.
func (w *worker) fhirMedications(c *chunk, patientID string) {
	m, r, p := w.m, w.r, &w.p
	w.issued = w.issued[:0]
	for k := range m.conds {
		s := &p.conds[k]
		for j, med := range m.conds[k].meds {
			if s.meds&(1<<j) == 0 || slices.Contains(w.issued, med.Code) {
				continue
			}
			w.issued = append(w.issued, med.Code)
			from := max(s.onset, m.opts.Start)
			for range poisson(r, 0.7*float64(p.end-from+1)/365.25) {
				id := w.uuid()
				b := c.out[fhirMedicationRequest]
				start := len(b)
				b = append(b, `{"resourceType":"MedicationRequest","id":`...)
				b = appendJSONString(b, id)
				b = append(b, `,"status":"active","intent":"order","medicationCodeableConcept":{"coding":[`...)
				b = appendCoding(b, fhirDMDSystem, med.Code, med.Term)
				b = append(b, `]},"subject":{"reference":"Patient/`...)
				b = append(b, patientID...)
				b = append(b, `"},"authoredOn":"`...)
				b = appendISODate(b, w.dayIn(from, p.end))
				b = append(b, `"}`...)
				c.out[fhirMedicationRequest] = b
				w.endLine(c, fhirMedicationRequest, start, id)
			}
		}
	}
}

// endLine ends an NDJSON line that started at start, first breaking it if
// it is drawn to be malformed: either cut short or with an unquoted key.
// Both make the line invalid JSON.
func (w *worker) endLine(c *chunk, f fileID, start int, id string) {
	r := w.r
	b := c.out[f]
	reason := ""
	if r.Float64() < w.m.opts.Malformed {
		if r.IntN(2) == 0 {
			reason = reasonTruncated
			b = b[:start+1+r.IntN(len(b)-start-1)]
		} else {
			// {"resourceType": becomes {resourceType":
			reason = reasonSyntax
			b = append(b[:start+1], b[start+2:]...)
		}
	}
	c.out[f] = append(b, '\n')
	c.end(f, start, id, reason)
}

// appendCoding appends a FHIR Coding; display is left out when empty.
func appendCoding(b []byte, system, code, display string) []byte {
	b = append(b, `{"system":`...)
	b = appendJSONString(b, system)
	b = append(b, `,"code":`...)
	b = appendJSONString(b, code)
	if display != "" {
		b = append(b, `,"display":`...)
		b = appendJSONString(b, display)
	}
	return append(b, '}')
}

// uuid draws a random resource id.
func (w *worker) uuid() string {
	var b [36]byte
	return string(appendUUID(b[:0], w.r.Uint64(), w.r.Uint64()))
}
