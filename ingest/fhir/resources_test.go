package fhir

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pophealth/pophealth/models"
)

func date(y int, m time.Month, d int) *models.Date { return models.NewDate(y, m, d).Ptr() }

func formatValue(v *float64) string {
	if v == nil {
		return "nil"
	}
	return strconv.FormatFloat(*v, 'g', -1, 64)
}

// parseLine parses one resource that must be accepted, and returns what it
// yielded and the kind it was skipped as, if any.
func parseLine(t *testing.T, line string) ([]models.Record, string) {
	t.Helper()
	stats, c := parseBytes(t, []byte(line+"\n"))
	if stats.Quarantined != 0 {
		t.Fatalf("quarantined: %s", c.quarantined[0].Reason)
	}
	skip := ""
	for kind := range stats.Skipped {
		skip = kind
	}
	return c.records, skip
}

func TestParse_MapsPatient(t *testing.T) {
	const nhs = `"system":"https://fhir.nhs.uk/Id/nhs-number"`
	const verified = `"extension":[{"url":"https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-NHSNumberVerificationStatus","valueCodeableConcept":{"coding":[{"code":"01"}]}}]`
	tests := []struct {
		name    string
		members string
		want    models.PatientRecord
	}{
		{"NHS number with spaces, not verified",
			`"identifier":[{` + nhs + `,"value":"943 476 5919"}]`,
			models.PatientRecord{NHSNumber: "9434765919", NHSNumberStatus: models.NHSValid}},
		{"verified NHS number",
			`"identifier":[{` + nhs + `,"value":"9434765919",` + verified + `}]`,
			models.PatientRecord{NHSNumber: "9434765919", NHSNumberStatus: models.NHSVerified}},
		{"verification status other than 01 leaves the number valid",
			`"identifier":[{` + nhs + `,"value":"9434765919",` + strings.Replace(verified, `"01"`, `"02"`, 1) + `}]`,
			models.PatientRecord{NHSNumber: "9434765919", NHSNumberStatus: models.NHSValid}},
		{"number failing Modulus 11 is kept and flagged, even if said verified",
			`"identifier":[{` + nhs + `,"value":"9434765918",` + verified + `}]`,
			models.PatientRecord{NHSNumber: "9434765918", NHSNumberStatus: models.NHSInvalid}},
		{"valid number preferred to an invalid one",
			`"identifier":[{` + nhs + `,"value":"1234"},{` + nhs + `,"value":"9000000009"}]`,
			models.PatientRecord{NHSNumber: "9000000009", NHSNumberStatus: models.NHSValid}},
		{"identifiers of other systems ignored",
			`"identifier":[{"system":"http://hl7.org/fhir/sid/us-ssn","value":"9434765919"}]`,
			models.PatientRecord{NHSNumberStatus: models.NHSMissing}},
		{"official name preferred to usual and maiden",
			`"name":[{"use":"maiden","family":"Windsor","given":["Peta"]},{"use":"usual","given":["Jim"]},{"use":"official","family":" Chalmers ","given":["Peter","James"]}]`,
			models.PatientRecord{NHSNumberStatus: models.NHSMissing, GivenName: "Peter", FamilyName: "Chalmers"}},
		{"current name preferred to an ended official one",
			`"name":[{"use":"official","family":"Josh","given":["Stanley"],"period":{"start":"1924-10-10","end":"1924-10-15"}},{"use":"usual","family":"Everyman","given":["Adam"]}]`,
			models.PatientRecord{NHSNumberStatus: models.NHSMissing, GivenName: "Adam", FamilyName: "Everyman"}},
		{"home postcode preferred, written with one space",
			`"address":[{"use":"work","postalCode":"LS1 4AP"},{"use":"home","postalCode":" ls16ae "}]`,
			models.PatientRecord{NHSNumberStatus: models.NHSMissing, Postcode: "LS1 6AE"}},
		{"current address preferred to an ended home one",
			`"address":[{"use":"home","postalCode":"DN17 4RF","period":{"end":"2001-01-01"}},{"use":"temp","postalCode":"SM5 9PX","period":{"start":"2001-01-01","end":"2999-12-31"}}]`,
			models.PatientRecord{NHSNumberStatus: models.NHSMissing, Postcode: "SM5 9PX"}},
		{"address without a postcode ignored",
			`"address":[{"use":"home","line":["1 High Street"]},{"use":"old","postalCode":"B1 1AA"}]`,
			models.PatientRecord{NHSNumberStatus: models.NHSMissing, Postcode: "B1 1AA"}},
		{"GP practice by ODS code, registered from its period",
			`"generalPractitioner":[{"reference":"Practitioner/1"},{"identifier":{"system":"https://fhir.nhs.uk/Id/ods-organization-code","value":"y12345","period":{"start":"2020-01-01"}}}]`,
			models.PatientRecord{NHSNumberStatus: models.NHSMissing, PracticeCode: "Y12345", RegisteredFrom: date(2020, 1, 1)}},
		{"gender other", `"gender":"other"`,
			models.PatientRecord{NHSNumberStatus: models.NHSMissing, Sex: models.SexOther}},
		{"birth date of month precision", `"birthDate":"1980-07","gender":"male"`,
			models.PatientRecord{NHSNumberStatus: models.NHSMissing, Sex: models.SexMale, BirthDate: date(1980, 7, 1)}},
		{"birth date of year precision", `"birthDate":"1980"`,
			models.PatientRecord{NHSNumberStatus: models.NHSMissing, BirthDate: date(1980, 1, 1)}},
		{"death date in its own zone", `"birthDate":"1927-05-21","deceasedDateTime":"1989-05-09T20:35:22-04:00"`,
			models.PatientRecord{NHSNumberStatus: models.NHSMissing, BirthDate: date(1927, 5, 21), DeathDate: date(1989, 5, 9)}},
		{"death in the year of birth, known to the year only", `"birthDate":"2019-05-01","deceasedDateTime":"2019"`,
			models.PatientRecord{NHSNumberStatus: models.NHSMissing, BirthDate: date(2019, 5, 1), DeathDate: date(2019, 1, 1)}},
		{"deceasedBoolean has no date", `"deceasedBoolean":true`,
			models.PatientRecord{NHSNumberStatus: models.NHSMissing}},
		{"null members read as absent", `"name":null,"gender":null,"address":[{"postalCode":null}]`,
			models.PatientRecord{NHSNumberStatus: models.NHSMissing}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs, _ := parseLine(t, `{"resourceType":"Patient","id":"p1",`+tt.members+`}`)
			if len(recs) != 1 {
				t.Fatalf("got %d records, want 1", len(recs))
			}
			got := *recs[0].(*models.PatientRecord)
			got.Ref = models.SourceRef{}
			tt.want.LocalID = "p1"
			if tt.want.Sex == "" {
				tt.want.Sex = models.SexUnknown
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestParse_FindsResourceTypeAnywhere(t *testing.T) {
	// PDS writes members in alphabetical order; a name may be escaped.
	recs, _ := parseLine(t, `{"gender":"female","id":"p1","resourceType":"Pat\u0069ent"}`)
	if len(recs) != 1 || recs[0].Subject() != "p1" || recs[0].(*models.PatientRecord).Sex != models.SexFemale {
		t.Errorf("got %+v, want female Patient p1", recs)
	}
}

func TestParse_MapsEncounter(t *testing.T) {
	tests := []struct {
		name    string
		members string
		want    models.Encounter
	}{
		{"inpatient", `"class":{"code":"IMP"}`, models.Encounter{Class: "inpatient"}},
		{"acute inpatient", `"class":{"code":"ACUTE"}`, models.Encounter{Class: "inpatient"}},
		{"non-acute inpatient", `"class":{"code":"NONAC"}`, models.Encounter{Class: "inpatient"}},
		{"emergency", `"class":{"code":"EMER"}`, models.Encounter{Class: "emergency"}},
		{"ambulatory", `"class":{"code":"AMB"}`, models.Encounter{Class: "outpatient"}},
		{"home health", `"class":{"code":"HH"}`, models.Encounter{Class: "community"}},
		{"virtual", `"class":{"code":"VR"}`, models.Encounter{Class: "community"}},
		{"pre-admission", `"class":{"code":"PRENC"}`, models.Encounter{Class: "other"}},
		{"no class", ``, models.Encounter{Class: "other"}},
		{"R5 class list", `"class":[{"coding":[{"code":"EMER"}]}]`, models.Encounter{Class: "emergency"}},
		{"period dates", `"class":{"code":"IMP"},"period":{"start":"2024-02-10T23:15:00+00:00","end":"2024-02-14"}`,
			models.Encounter{Class: "inpatient", Start: date(2024, 2, 10), End: date(2024, 2, 14)}},
		{"cancelled", `"status":"cancelled"`, models.Encounter{Class: "other", Cancelled: true}},
		{"entered in error", `"status":"entered-in-error"`, models.Encounter{Class: "other", Cancelled: true}},
		{"UK Core admission method: emergency via A&E", admittedBy("21"), models.Encounter{Class: "inpatient", AdmissionMethod: "emergency"}},
		{"UK Core admission method: elective from waiting list", admittedBy("11"), models.Encounter{Class: "inpatient", AdmissionMethod: "elective"}},
		{"UK Core admission method: maternity", admittedBy("31"), models.Encounter{Class: "inpatient", AdmissionMethod: "maternity"}},
		{"UK Core admission method: transfer", admittedBy("81"), models.Encounter{Class: "inpatient", AdmissionMethod: "transfer"}},
		{"UK Core admission method: baby born here", admittedBy("82"), models.Encounter{Class: "inpatient", AdmissionMethod: "other"}},
		{"UK Core admission method on the Encounter itself",
			`"extension":[` + ukCoreAdmission("2A") + `]`,
			models.Encounter{Class: "other", AdmissionMethod: "emergency"}},
		{"admit source: emergency department", `"hospitalization":{"admitSource":{"coding":[{"code":"emd"}]}}`,
			models.Encounter{Class: "other", AdmissionMethod: "emergency"}},
		{"admit source: transfer", `"hospitalization":{"admitSource":{"coding":[{"code":"hosp-trans"}]}}`,
			models.Encounter{Class: "other", AdmissionMethod: "transfer"}},
		{"admit source: GP referral says nothing more", `"hospitalization":{"admitSource":{"coding":[{"code":"gp"}]}}`,
			models.Encounter{Class: "other", AdmissionMethod: "other"}},
		{"extension preferred to admit source",
			`"hospitalization":{"admitSource":{"coding":[{"code":"hosp-trans"}]},"extension":[` + ukCoreAdmission("12") + `]}`,
			models.Encounter{Class: "other", AdmissionMethod: "elective"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			members := tt.members
			if members != "" {
				members = "," + members
			}
			recs, _ := parseLine(t, `{"resourceType":"Encounter","id":"e1","subject":{"reference":"urn:uuid:p1"}`+members+`}`)
			if len(recs) != 1 {
				t.Fatalf("got %d records, want 1", len(recs))
			}
			got := *recs[0].(*models.Encounter)
			got.Ref = models.SourceRef{}
			tt.want.PatientID, tt.want.EncounterID = "p1", "e1"
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// admittedBy is the members of an inpatient Encounter with a UK Core
// admission method.
func admittedBy(code string) string {
	return `"class":{"code":"IMP"},"hospitalization":{"extension":[` + ukCoreAdmission(code) + `]}`
}

// ukCoreAdmission is a UK Core AdmissionMethod extension.
func ukCoreAdmission(code string) string {
	return `{"url":"https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-AdmissionMethod","valueCodeableConcept":{"coding":[{"system":"https://fhir.hl7.org.uk/CodeSystem/UKCore-AdmissionMethodEngland","code":"` + code + `"}]}}`
}

func TestParse_MapsCondition(t *testing.T) {
	const subject = `"subject":{"reference":"Patient/p1"}`
	tests := []struct {
		name    string
		members string
		want    []string // system code date encounter
		skip    string
	}{
		{"SNOMED CT and ICD-10: one diagnosis each, ICD-10 without its dot",
			`"code":{"coding":[{"system":"http://snomed.info/sct","code":"44054006"},{"system":"http://hl7.org/fhir/sid/icd-10","code":"E11.9"},{"system":"http://snomed.info/sct","code":"44054006"}]},"recordedDate":"2024-02-10"`,
			[]string{"snomed 44054006 2024-02-10 -", "icd10 E119 2024-02-10 -"}, ""},
		{"ICD-10 UK edition",
			`"code":{"coding":[{"system":"http://hl7.org/fhir/sid/icd-10-uk","code":"i10"}]}`,
			[]string{"icd10 I10 - -"}, ""},
		{"recorded date preferred to onset",
			`"code":{"coding":[{"system":"http://snomed.info/sct","code":"38341003"}]},"onsetDateTime":"2010-01-01","recordedDate":"2012-03-04T10:00:00Z"`,
			[]string{"snomed 38341003 2012-03-04 -"}, ""},
		{"onset date when nothing was recorded",
			`"code":{"coding":[{"system":"http://snomed.info/sct","code":"38341003"}]},"onsetDateTime":"2010-01"`,
			[]string{"snomed 38341003 2010-01-01 -"}, ""},
		{"encounter reference",
			`"code":{"coding":[{"system":"http://snomed.info/sct","code":"38341003"}]},"encounter":{"reference":"Encounter/e9"}`,
			[]string{"snomed 38341003 - e9"}, ""},
		{"unresolvable encounter reference dropped",
			`"code":{"coding":[{"system":"http://snomed.info/sct","code":"38341003"}]},"encounter":{"reference":"Encounter?identifier=x|1"}`,
			[]string{"snomed 38341003 - -"}, ""},
		{"no code in a known system",
			`"code":{"coding":[{"system":"http://read.info/ctv3","code":"C10F."}],"text":"Type 2 diabetes"}`,
			nil, "Condition:unknown-code-system"},
		{"refuted",
			`"verificationStatus":{"coding":[{"code":"refuted"}]},"code":{"coding":[{"system":"http://snomed.info/sct","code":"38341003"}]}`,
			nil, "Condition:refuted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs, skip := parseLine(t, `{"resourceType":"Condition","id":"c1",`+subject+`,`+tt.members+`}`)
			var got []string
			for _, r := range recs {
				d := r.(*models.Diagnosis)
				if d.PatientID != "p1" {
					t.Errorf("PatientID %q, want p1", d.PatientID)
				}
				got = append(got, fmt.Sprintf("%s %s %s %s", d.System, d.Code, orDash(d.Date), orDash(d.EncounterID)))
			}
			if !reflect.DeepEqual(got, tt.want) || skip != tt.skip {
				t.Errorf("got %q, skipped %q; want %q, skipped %q", got, skip, tt.want, tt.skip)
			}
		})
	}
}

func TestParse_MapsObservation(t *testing.T) {
	const subject = `"subject":{"reference":"Patient/p1"}`
	const snomed, loinc = `{"system":"http://snomed.info/sct","code":"271649006"}`, `{"system":"http://loinc.org","code":"8480-6"}`
	tests := []struct {
		name    string
		members string
		want    []string // system code value unit date
		skip    string
	}{
		{"UCUM code preferred to the display unit",
			`"code":{"coding":[` + loinc + `]},"valueQuantity":{"value":120.5,"unit":"mmHg","system":"http://unitsofmeasure.org","code":"mm[Hg]"},"effectiveDateTime":"2024-02-10T09:00:00+00:00"`,
			[]string{"loinc 8480-6 120.5 mm[Hg] 2024-02-10"}, ""},
		{"unit as sent when not UCUM",
			`"code":{"coding":[` + loinc + `]},"valueQuantity":{"value":120,"unit":"mmHg"}`,
			[]string{"loinc 8480-6 120 mmHg -"}, ""},
		{"SNOMED CT preferred to LOINC",
			`"code":{"coding":[` + loinc + `,` + snomed + `]},"valueQuantity":{"value":120}`,
			[]string{"snomed 271649006 120  -"}, ""},
		{"coded finding without a quantity",
			`"code":{"coding":[{"system":"http://snomed.info/sct","code":"77176002"}]},"valueCodeableConcept":{"text":"smoker"},"effectivePeriod":{"start":"2023-05-01"}`,
			[]string{"snomed 77176002 nil  2023-05-01"}, ""},
		{"effective instant",
			`"code":{"coding":[` + loinc + `]},"effectiveInstant":"2023-05-01T10:00:00.123Z"`,
			[]string{"loinc 8480-6 nil  2023-05-01"}, ""},
		{"panel with a value of its own and components",
			`"code":{"coding":[{"system":"http://loinc.org","code":"X"}]},"valueQuantity":{"value":1},"component":[{"code":{"coding":[` + loinc + `]},"valueQuantity":{"value":2}},{"code":{"coding":[{"system":"http://example.org","code":"Y"}]},"valueQuantity":{"value":3}}]`,
			[]string{"loinc X 1  -", "loinc 8480-6 2  -"}, ""},
		{"no code in a known system",
			`"code":{"coding":[{"system":"http://example.org","code":"X"}]},"valueQuantity":{"value":1}`,
			nil, "Observation:unknown-code-system"},
		{"entered in error",
			`"status":"entered-in-error","code":{"coding":[` + loinc + `]},"valueQuantity":{"value":1}`,
			nil, "Observation:entered-in-error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs, skip := parseLine(t, `{"resourceType":"Observation","id":"o1",`+subject+`,`+tt.members+`}`)
			var got []string
			for _, r := range recs {
				o := r.(*models.Observation)
				got = append(got, fmt.Sprintf("%s %s %s %s %s", o.System, o.Code, formatValue(o.Value), o.Unit, orDash(o.Date)))
			}
			if !reflect.DeepEqual(got, tt.want) || skip != tt.skip {
				t.Errorf("got %q, skipped %q; want %q, skipped %q", got, skip, tt.want, tt.skip)
			}
		})
	}
}

func TestParse_MapsMedication(t *testing.T) {
	const subject = `"subject":{"reference":"Patient/p1"}`
	tests := []struct {
		name, line string
		want       string // code date
		skip       string
	}{
		{"dm+d prescription",
			`{"resourceType":"MedicationRequest","id":"m1",` + subject + `,"medicationCodeableConcept":{"coding":[{"system":"https://dmd.nhs.uk","code":"325278002"}]},"authoredOn":"2024-02-10T10:00:00Z"}`,
			"325278002 2024-02-10", ""},
		{"SNOMED CT coding read as dm+d",
			`{"resourceType":"MedicationRequest","id":"m1",` + subject + `,"medicationCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":"318135005"}]}}`,
			"318135005 -", ""},
		{"dm+d preferred to SNOMED CT",
			`{"resourceType":"MedicationRequest","id":"m1",` + subject + `,"medicationCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":"1"},{"system":"https://dmd.nhs.uk","code":"2"}]}}`,
			"2 -", ""},
		{"statement dated by its effective period",
			`{"resourceType":"MedicationStatement","id":"m1",` + subject + `,"medicationCodeableConcept":{"coding":[{"system":"https://dmd.nhs.uk","code":"325278002"}]},"effectivePeriod":{"start":"2023-01-05"},"dateAsserted":"2023-02-01"}`,
			"325278002 2023-01-05", ""},
		{"statement dated when asserted",
			`{"resourceType":"MedicationStatement","id":"m1",` + subject + `,"medicationCodeableConcept":{"coding":[{"system":"https://dmd.nhs.uk","code":"325278002"}]},"dateAsserted":"2023-02-01"}`,
			"325278002 2023-02-01", ""},
		{"RxNorm only, as Synthea sends",
			`{"resourceType":"MedicationRequest","id":"m1",` + subject + `,"medicationCodeableConcept":{"coding":[{"system":"http://www.nlm.nih.gov/research/umls/rxnorm","code":"351109"}]}}`,
			"", "MedicationRequest:rxnorm-only"},
		{"medication by reference",
			`{"resourceType":"MedicationRequest","id":"m1",` + subject + `,"medicationReference":{"reference":"Medication/x"}}`,
			"", "MedicationRequest:medication-reference"},
		{"no code in a known system",
			`{"resourceType":"MedicationStatement","id":"m1",` + subject + `,"medicationCodeableConcept":{"text":"aspirin"}}`,
			"", "MedicationStatement:unknown-code-system"},
		{"not taken",
			`{"resourceType":"MedicationStatement","id":"m1","status":"not-taken",` + subject + `,"medicationCodeableConcept":{"coding":[{"system":"https://dmd.nhs.uk","code":"325278002"}]}}`,
			"", "MedicationStatement:not-taken"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs, skip := parseLine(t, tt.line)
			got := ""
			for _, r := range recs {
				m := r.(*models.Medication)
				if m.PatientID != "p1" || m.System != models.DMD {
					t.Errorf("got %+v, want dm+d for p1", m)
				}
				got += fmt.Sprintf("%s %s", m.Code, orDash(m.Date))
			}
			if got != tt.want || skip != tt.skip {
				t.Errorf("got %q, skipped %q; want %q, skipped %q", got, skip, tt.want, tt.skip)
			}
		})
	}
}

func TestParse_CountsUnmappedResourceTypes(t *testing.T) {
	input := `{"resourceType":"Immunization","id":"x1","patient":{"reference":"Patient/p1"}}` + "\n" +
		`{"resourceType":"AllergyIntolerance","id":"x2"}` + "\n" +
		`{"resourceType":"Immunization","id":"x3","vaccineCode":{"coding":"not checked"}}` + "\n" +
		`{"resourceType":"Immunization"}` + "\n"
	stats, c := parseBytes(t, []byte(input))
	if stats.Read != 4 || stats.Accepted != 3 || stats.Emitted != 0 ||
		stats.Skipped["resource:Immunization"] != 2 || stats.Skipped["resource:AllergyIntolerance"] != 1 {
		t.Errorf("stats %+v", stats)
	}
	if len(c.quarantined) != 1 || c.quarantined[0].Reason != "Immunization has no id" {
		t.Errorf("quarantined %+v, want the Immunization without an id", c.quarantined)
	}
}

func TestParse_MapsProcedure(t *testing.T) {
	const subject = `"subject":{"reference":"Patient/p1"},"encounter":{"reference":"urn:uuid:e1"}`
	const snomed = `"code":{"coding":[{"system":"http://snomed.info/sct","code":"430193006"}]}`
	tests := []struct {
		name, line string
		want       string // code date
		skip       string
		reason     string // quarantine reason, when quarantined
	}{
		{"performed period (Synthea)",
			`{"resourceType":"Procedure","id":"x1","status":"completed",` + subject + `,` + snomed + `,"performedPeriod":{"start":"2022-06-22T12:31:08-04:00","end":"2022-06-22T12:46:08-04:00"}}`,
			"430193006 2022-06-22", "", ""},
		{"performed date time",
			`{"resourceType":"Procedure","id":"x1",` + subject + `,` + snomed + `,"performedDateTime":"2021-03-04"}`,
			"430193006 2021-03-04", "", ""},
		{"SNOMED CT chosen among codings",
			`{"resourceType":"Procedure","id":"x1",` + subject + `,"code":{"coding":[{"system":"http://example.org/opcs4","code":"H22.9"},{"system":"http://snomed.info/sct","code":"73761001"}]}}`,
			"73761001 -", "", ""},
		{"OPCS-4 only",
			`{"resourceType":"Procedure","id":"x1",` + subject + `,"code":{"coding":[{"system":"http://example.org/opcs4","code":"H22.9"}]}}`,
			"", "Procedure:unknown-code-system", ""},
		{"not done",
			`{"resourceType":"Procedure","id":"x1","status":"not-done",` + subject + `,` + snomed + `}`,
			"", "Procedure:not-done", ""},
		{"entered in error",
			`{"resourceType":"Procedure","id":"x1","status":"entered-in-error",` + subject + `,` + snomed + `}`,
			"", "Procedure:entered-in-error", ""},
		{"no subject",
			`{"resourceType":"Procedure","id":"x1",` + snomed + `}`,
			"", "", "Procedure has no subject"},
		{"impossible date",
			`{"resourceType":"Procedure","id":"x1",` + subject + `,` + snomed + `,"performedDateTime":"2021-02-30"}`,
			"", "", "Procedure.performedDateTime: impossible date"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.reason != "" {
				stats, c := parseBytes(t, []byte(tt.line+"\n"))
				if stats.Quarantined != 1 || !strings.HasPrefix(c.quarantined[0].Reason, tt.reason) {
					t.Fatalf("stats %+v quarantined %+v; want reason %q", stats, c.quarantined, tt.reason)
				}
				return
			}
			recs, skip := parseLine(t, tt.line)
			got := ""
			for _, r := range recs {
				p := r.(*models.Procedure)
				if p.PatientID != "p1" || p.EncounterID != "e1" || p.System != models.SNOMED || p.Ref.RecordID != "x1" {
					t.Errorf("got %+v, want SNOMED CT for p1 in e1", p)
				}
				got += fmt.Sprintf("%s %s", p.Code, orDash(p.Date))
			}
			if got != tt.want || skip != tt.skip {
				t.Errorf("got %q, skipped %q; want %q, skipped %q", got, skip, tt.want, tt.skip)
			}
		})
	}
}

// orDash formats an optional date or string, "-" when absent.
func orDash(v any) string {
	switch v := v.(type) {
	case *models.Date:
		if v != nil {
			return v.String()
		}
	case string:
		if v != "" {
			return v
		}
	}
	return "-"
}

func TestParse_NamesTheMemberOfTheWrongType(t *testing.T) {
	tests := []struct {
		line, reason string
	}{
		{`{"resourceType":"Patient","id":"p1","identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":9434765919}]}`,
			"Patient.identifier[0].value: want string, got number"},
		{`{"resourceType":"Patient","id":"p1","name":[{"given":"Jane"}]}`,
			"Patient.name[0].given: want array, got string"},
		{`{"resourceType":"Patient","id":"p1","name":[{},{"given":["Jane",7]}]}`,
			"Patient.name[1].given[1]: want string, got number"},
		{`{"resourceType":"Encounter","id":"e1","subject":"Patient/p1"}`,
			"Encounter.subject: want object, got string"},
		{`{"resourceType":"Observation","id":"o1","valueQuantity":{"value":true}}`,
			"Observation.valueQuantity.value: want number, got boolean"},
		{`{"resourceType":"Condition","id":"c1","code":{"coding":{"code":"x"}}}`,
			"Condition.code.coding: want array, got object"},
	}
	for _, tt := range tests {
		stats, c := parseBytes(t, []byte(tt.line))
		if stats.Quarantined != 1 || c.quarantined[0].Reason != tt.reason {
			t.Errorf("%s: quarantined %+v, want reason %q", tt.line, c.quarantined, tt.reason)
		}
	}
}

func TestParse_ResolvesReferencesByFullURLWithinABundle(t *testing.T) {
	const bundle = `{"resourceType":"Bundle","type":"transaction","entry":[
  {"fullUrl":"urn:uuid:c-1","resource":{"resourceType":"Condition","id":"c1","subject":{"reference":"urn:uuid:aaa"},"encounter":{"reference":"urn:uuid:bbb"},
    "code":{"coding":[{"system":"http://snomed.info/sct","code":"44054006"}]}}},
  {"fullUrl":"urn:uuid:aaa","resource":{"resourceType":"Patient","id":"p1"}},
  {"fullUrl":"urn:uuid:bbb","resource":{"resourceType":"Encounter","id":"e1","subject":{"reference":"urn:uuid:aaa"}}},
  {"fullUrl":"urn:uuid:ccc","resource":{"resourceType":"Procedure","subject":{"reference":"Patient/p1"},
    "code":{"coding":[{"system":"http://snomed.info/sct","code":"430193006"}]}}},
  {"fullUrl":"urn:uuid:ddd","resource":{"resourceType":"Observation","id":"o1","subject":{"reference":"urn:uuid:zzz"},
    "code":{"coding":[{"system":"http://loinc.org","code":"4548-4"}]}}}
]}`
	stats, c := parseBytes(t, []byte(bundle))
	if stats.Read != 5 || stats.Quarantined != 0 {
		t.Fatalf("stats %+v, quarantined %+v", stats, c.quarantined)
	}
	got := map[string]string{}
	for _, r := range c.records {
		got[fmt.Sprintf("%T %s", r, r.Source().RecordID)] = r.Subject()
		if d, ok := r.(*models.Diagnosis); ok && d.EncounterID != "e1" {
			t.Errorf("Condition's encounter %q, want e1 (by fullUrl)", d.EncounterID)
		}
	}
	want := map[string]string{
		"*models.Diagnosis c1":     "p1", // by fullUrl urn:uuid:aaa
		"*models.PatientRecord p1": "p1",
		"*models.Encounter e1":     "p1",
		"*models.Procedure ccc":    "p1",  // id taken from the fullUrl
		"*models.Observation o1":   "zzz", // no such entry: left for the batch to resolve
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("subjects %v, want %v", got, want)
	}
}
