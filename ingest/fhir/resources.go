package fhir

import (
	"fmt"
	"strings"
	"time"

	"github.com/pophealth/pophealth/models"
	"github.com/pophealth/pophealth/models/nhsnumber"
)

// setRecordID sets ref.RecordID to the resource's id, keeping the one taken
// from a Bundle entry's fullUrl for a resource without its own, and fails
// when there is neither.
func setRecordID(typ, id string, ref *models.SourceRef) error {
	if id != "" {
		ref.RecordID = id
	}
	if ref.RecordID == "" {
		return fmt.Errorf("%s has no id", typ)
	}
	return nil
}

// patient maps a Patient onto a PatientRecord.
func (p *parser) patient(raw []byte, ref *models.SourceRef) (string, error) {
	var r patientResource
	if err := p.r.decode(raw, "Patient", r.read); err != nil {
		return "", err
	}
	if err := setRecordID("Patient", r.ID, ref); err != nil {
		return "", err
	}
	rec := &models.PatientRecord{Ref: *ref, LocalID: ref.RecordID, NHSNumberStatus: models.NHSMissing}
	rec.NHSNumber, rec.NHSNumberStatus = nhsNumber(r.Identifier)

	// The name comes from the best HumanName: a current one before an
	// ended one, then by use; the first wins a tie.
	bestRank := -1
	for i, n := range r.Name {
		rank, err := p.periodRank(nameRank(n.Use), n.Period)
		if err != nil {
			return "", fmt.Errorf("Patient.name[%d].%w", i, err)
		}
		if bestRank < 0 || rank < bestRank {
			bestRank = rank
			rec.FamilyName, rec.GivenName = strings.TrimSpace(n.Family), ""
			if len(n.Given) > 0 {
				rec.GivenName = strings.TrimSpace(n.Given[0])
			}
		}
	}

	var err error
	if rec.Sex, err = sexOf(r.Gender); err != nil {
		return "", err
	}
	if rec.BirthDate, err = dateField("Patient.birthDate", r.BirthDate); err != nil {
		return "", err
	}
	if rec.BirthDate != nil && *rec.BirthDate > p.today {
		return "", fmt.Errorf("Patient.birthDate: %s is in the future", r.BirthDate)
	}
	if rec.DeathDate, err = dateField("Patient.deceasedDateTime", r.DeceasedDateTime); err != nil {
		return "", err
	}
	// A partial date stands for the first day of its period, so only
	// full dates can show a death before birth.
	if rec.BirthDate != nil && rec.DeathDate != nil && *rec.DeathDate < *rec.BirthDate &&
		len(r.BirthDate) >= len(time.DateOnly) && len(r.DeceasedDateTime) >= len(time.DateOnly) {
		return "", fmt.Errorf("Patient.deceasedDateTime: %s is before birthDate %s", r.DeceasedDateTime, r.BirthDate)
	}

	// The postcode comes from the best address: a current one before an
	// ended one, then home before other uses; the first wins a tie.
	bestRank = -1
	for i, a := range r.Address {
		if strings.TrimSpace(a.PostalCode) == "" {
			continue
		}
		rank, err := p.periodRank(addressRank(a.Use), a.Period)
		if err != nil {
			return "", fmt.Errorf("Patient.address[%d].%w", i, err)
		}
		if bestRank < 0 || rank < bestRank {
			bestRank, rec.Postcode = rank, normalisePostcode(a.PostalCode)
		}
	}

	for i, gp := range r.GeneralPractitioner {
		if gp.Identifier.System != systemODS || strings.TrimSpace(gp.Identifier.Value) == "" {
			continue
		}
		rec.PracticeCode = strings.ToUpper(strings.TrimSpace(gp.Identifier.Value))
		if rec.RegisteredFrom, err = dateField("identifier.period.start", gp.Identifier.Period.Start); err != nil {
			return "", fmt.Errorf("Patient.generalPractitioner[%d].%w", i, err)
		}
		break
	}
	p.out = append(p.out, rec)
	return "", nil
}

// periodRank ranks an element with a period (a name, an address) after
// every current one when its period has ended, so that rank orders by
// currency first and use second. It checks the period's dates.
func (p *parser) periodRank(rank int, per period) (int, error) {
	if _, err := dateField("period.start", per.Start); err != nil {
		return 0, err
	}
	end, err := dateField("period.end", per.End)
	if err != nil {
		return 0, err
	}
	if end != nil && *end < p.today {
		rank += 10
	}
	return rank, nil
}

// nhsNumber finds the NHS number among a Patient's identifiers and says how
// far it can be trusted. A number that passes Modulus 11 is preferred to one
// that does not; an invalid one is still returned, flagged, for review and
// probabilistic linkage.
func nhsNumber(ids []identifier) (string, models.NHSNumberStatus) {
	number, status := "", models.NHSMissing
	for _, id := range ids {
		if id.System != systemNHSNumber {
			continue
		}
		n := nhsnumber.Normalise(id.Value)
		if n == "" {
			continue
		}
		if !nhsnumber.Valid(n) {
			if status == models.NHSMissing {
				number, status = n, models.NHSInvalid
			}
			continue
		}
		if verified(id.Extension) {
			return n, models.NHSVerified
		}
		if status != models.NHSValid {
			number, status = n, models.NHSValid
		}
	}
	return number, status
}

// verified reports whether a UK Core NHSNumberVerificationStatus extension
// says "01": number present and verified.
func verified(exts []extension) bool {
	for _, e := range exts {
		if e.URL != extNHSNumberVerification {
			continue
		}
		for _, c := range e.ValueCodeableConcept.Coding {
			if c.Code == verifiedCode {
				return true
			}
		}
	}
	return false
}

// nameRank orders HumanName.use: the official name first, then the one in
// everyday use, then an unlabelled one; superseded names last.
func nameRank(use string) int {
	switch use {
	case "official":
		return 0
	case "usual":
		return 1
	case "":
		return 2
	case "old", "maiden":
		return 4
	}
	return 3
}

// addressRank orders Address.use: home first, then unlabelled, temporary,
// work and billing; old addresses last.
func addressRank(use string) int {
	switch use {
	case "home":
		return 0
	case "":
		return 1
	case "temp":
		return 2
	case "old":
		return 4
	}
	return 3
}

// encounter maps an Encounter onto a models.Encounter.
func (p *parser) encounter(raw []byte, ref *models.SourceRef) (string, error) {
	var r encounterResource
	if err := p.r.decode(raw, "Encounter", r.read); err != nil {
		return "", err
	}
	if err := setRecordID("Encounter", r.ID, ref); err != nil {
		return "", err
	}
	patient, err := subjectID("Encounter", p.alias(r.Subject))
	if err != nil {
		return "", err
	}
	rec := &models.Encounter{
		Ref:         *ref,
		PatientID:   patient,
		EncounterID: ref.RecordID,
		Class:       encounterClass(r.ClassCode),
		Cancelled:   r.Status == "cancelled" || r.Status == "entered-in-error",
	}
	if rec.Start, err = dateField("Encounter.period.start", r.Period.Start); err != nil {
		return "", err
	}
	if rec.End, err = dateField("Encounter.period.end", r.Period.End); err != nil {
		return "", err
	}
	rec.AdmissionMethod = admissionMethodNHS(extensionCode(r.HospitalizationExtension, extAdmissionMethod))
	if rec.AdmissionMethod == "" {
		rec.AdmissionMethod = admissionMethodNHS(extensionCode(r.Extension, extAdmissionMethod))
	}
	if rec.AdmissionMethod == "" {
		for _, c := range r.AdmitSource.Coding {
			if rec.AdmissionMethod = admissionMethodSource(c.Code); rec.AdmissionMethod != "" {
				break
			}
		}
	}
	p.out = append(p.out, rec)
	return "", nil
}

// extensionCode returns the first code of the first extension with the
// given URL.
func extensionCode(exts []extension, url string) string {
	for _, e := range exts {
		if e.URL != url {
			continue
		}
		for _, c := range e.ValueCodeableConcept.Coding {
			if c.Code != "" {
				return c.Code
			}
		}
	}
	return ""
}

// condition maps a Condition onto one Diagnosis per distinct coding in a
// system pophealth reads (SNOMED CT, ICD-10), so that a condition coded in
// both matches code lists in either.
func (p *parser) condition(raw []byte, ref *models.SourceRef) (string, error) {
	var r conditionResource
	if err := p.r.decode(raw, "Condition", r.read); err != nil {
		return "", err
	}
	if err := setRecordID("Condition", r.ID, ref); err != nil {
		return "", err
	}
	patient, err := subjectID("Condition", p.alias(r.Subject))
	if err != nil {
		return "", err
	}
	date, err := firstDate(
		dateMember{"Condition.recordedDate", r.RecordedDate},
		dateMember{"Condition.onsetDateTime", r.OnsetDateTime})
	if err != nil {
		return "", err
	}
	for _, c := range r.VerificationStatus.Coding {
		if c.Code == "refuted" || c.Code == "entered-in-error" {
			return "Condition:" + c.Code, nil
		}
	}
	encounter := encounterID(p.alias(r.Encounter))
	n := len(p.out)
	for _, c := range r.Code.Coding {
		system, code := conditionCode(c)
		if system == "" || emitted(p.out[n:], system, code) {
			continue
		}
		p.out = append(p.out, &models.Diagnosis{
			Ref: *ref, PatientID: patient, EncounterID: encounter,
			System: system, Code: code, Date: copyDate(date),
		})
	}
	if len(p.out) == n {
		return "Condition:unknown-code-system", nil
	}
	return "", nil
}

func conditionCode(c coding) (models.CodeSystem, string) {
	code := strings.TrimSpace(c.Code)
	if code == "" {
		return "", ""
	}
	switch c.System {
	case systemSNOMED:
		return models.SNOMED, code
	case systemICD10, systemICD10UK:
		return models.ICD10, icd10Code(code)
	}
	return "", ""
}

// emitted reports whether recs already hold a diagnosis with this code.
func emitted(recs []models.Record, system models.CodeSystem, code string) bool {
	for _, r := range recs {
		if d, ok := r.(*models.Diagnosis); ok && d.System == system && d.Code == code {
			return true
		}
	}
	return false
}

// observation maps an Observation onto models.Observations: one for the
// Observation itself, or, for a panel such as blood pressure, one per
// component. A measurement coded in both SNOMED CT and LOINC yields one
// record, SNOMED CT preferred, so that values are never counted twice.
func (p *parser) observation(raw []byte, ref *models.SourceRef) (string, error) {
	var r observationResource
	if err := p.r.decode(raw, "Observation", r.read); err != nil {
		return "", err
	}
	if err := setRecordID("Observation", r.ID, ref); err != nil {
		return "", err
	}
	patient, err := subjectID("Observation", p.alias(r.Subject))
	if err != nil {
		return "", err
	}
	date, err := firstDate(
		dateMember{"Observation.effectiveDateTime", r.EffectiveDateTime},
		dateMember{"Observation.effectivePeriod.start", r.EffectivePeriod.Start},
		dateMember{"Observation.effectiveInstant", r.EffectiveInstant})
	if err != nil {
		return "", err
	}
	if r.Status == "cancelled" || r.Status == "entered-in-error" {
		return "Observation:" + r.Status, nil
	}
	n := len(p.out)
	add := func(cc codeableConcept, q *quantity) {
		system, code := observationCode(cc)
		if system == "" {
			return
		}
		o := &models.Observation{Ref: *ref, PatientID: patient, System: system, Code: code, Date: copyDate(date)}
		if q != nil && q.Value != nil {
			v := *q.Value
			o.Value = &v
			o.Unit = q.Unit
			if q.System == systemUCUM && q.Code != "" {
				o.Unit = q.Code
			}
		}
		p.out = append(p.out, o)
	}
	if len(r.Component) == 0 || r.ValueQuantity != nil {
		add(r.Code, r.ValueQuantity)
	}
	for _, c := range r.Component {
		add(c.Code, c.ValueQuantity)
	}
	if len(p.out) == n {
		return "Observation:unknown-code-system", nil
	}
	return "", nil
}

func observationCode(cc codeableConcept) (models.CodeSystem, string) {
	var system models.CodeSystem
	var code string
	for _, c := range cc.Coding {
		v := strings.TrimSpace(c.Code)
		if v == "" {
			continue
		}
		switch c.System {
		case systemSNOMED:
			return models.SNOMED, v
		case systemLOINC:
			if system == "" {
				system, code = models.LOINC, v
			}
		}
	}
	return system, code
}

// medication maps a MedicationRequest or MedicationStatement onto a
// models.Medication coded in dm+d. dm+d identifiers are SNOMED CT concept
// ids, so a SNOMED CT coding is read as dm+d when no dm+d system coding is
// present.
func (p *parser) medication(raw []byte, typ string, ref *models.SourceRef) (string, error) {
	var r medicationResource
	if err := p.r.decode(raw, typ, r.read); err != nil {
		return "", err
	}
	if err := setRecordID(typ, r.ID, ref); err != nil {
		return "", err
	}
	patient, err := subjectID(typ, p.alias(r.Subject))
	if err != nil {
		return "", err
	}
	var date *models.Date
	if typ == "MedicationRequest" {
		date, err = dateField("MedicationRequest.authoredOn", r.AuthoredOn)
	} else {
		date, err = firstDate(
			dateMember{"MedicationStatement.effectiveDateTime", r.EffectiveDateTime},
			dateMember{"MedicationStatement.effectivePeriod.start", r.EffectivePeriod.Start},
			dateMember{"MedicationStatement.dateAsserted", r.DateAsserted})
	}
	if err != nil {
		return "", err
	}
	switch r.Status {
	case "cancelled", "entered-in-error", "not-taken":
		return typ + ":" + r.Status, nil
	}
	if r.MedicationCodeableConcept == nil {
		if r.HasMedicationReference {
			return typ + ":medication-reference", nil
		}
		return typ + ":unknown-code-system", nil
	}
	var code, snomed string
	rxnorm := false
	for _, c := range r.MedicationCodeableConcept.Coding {
		v := strings.TrimSpace(c.Code)
		switch {
		case v == "":
		case c.System == systemDMD && code == "":
			code = v
		case c.System == systemSNOMED && snomed == "":
			snomed = v
		case c.System == systemRxNorm:
			rxnorm = true
		}
	}
	if code == "" {
		code = snomed
	}
	switch {
	case code != "":
		p.out = append(p.out, &models.Medication{Ref: *ref, PatientID: patient, System: models.DMD, Code: code, Date: date})
		return "", nil
	case rxnorm:
		return typ + ":rxnorm-only", nil
	}
	return typ + ":unknown-code-system", nil
}

// other accepts a resource of a type pophealth does not map, once its JSON
// is known to be valid and it has an id, and counts it as skipped.
func (p *parser) other(raw []byte, typ string, ref *models.SourceRef) (string, error) {
	var h header
	if err := p.r.decode(raw, typ, h.read); err != nil {
		return "", err
	}
	if err := setRecordID(typ, h.ID, ref); err != nil {
		return "", err
	}
	return "resource:" + typ, nil
}

// procedure maps a Procedure onto a models.Procedure coded in SNOMED CT.
// Procedures not done or entered in error, and those without a SNOMED CT
// coding (OPCS-4 alone, say), are accepted and counted as skipped.
func (p *parser) procedure(raw []byte, ref *models.SourceRef) (string, error) {
	var r procedureResource
	if err := p.r.decode(raw, "Procedure", r.read); err != nil {
		return "", err
	}
	if err := setRecordID("Procedure", r.ID, ref); err != nil {
		return "", err
	}
	patient, err := subjectID("Procedure", p.alias(r.Subject))
	if err != nil {
		return "", err
	}
	date, err := firstDate(
		dateMember{"Procedure.performedDateTime", r.PerformedDateTime},
		dateMember{"Procedure.performedPeriod.start", r.PerformedPeriod.Start})
	if err != nil {
		return "", err
	}
	switch r.Status {
	case "not-done", "entered-in-error":
		return "Procedure:" + r.Status, nil
	}
	for _, c := range r.Code.Coding {
		if code := strings.TrimSpace(c.Code); c.System == systemSNOMED && code != "" {
			p.out = append(p.out, &models.Procedure{
				Ref: *ref, PatientID: patient, EncounterID: encounterID(p.alias(r.Encounter)),
				System: models.SNOMED, Code: code, Date: date,
			})
			return "", nil
		}
	}
	return "Procedure:unknown-code-system", nil
}
