// Package fhir reads FHIR R4 feeds into pophealth's canonical records. Its
// one entry point, Parse, implements feed.Parser.
//
// # Input
//
// A file is either FHIR Bulk Data NDJSON — one resource per line, a file
// per resource type or mixed types — or one JSON document, typically a
// Bundle (collection, transaction, searchset, batch-response, ...) or a
// single resource, compact or pretty-printed over many lines. Parse tells
// them apart from the first lines: an NDJSON line is a whole object, while
// the first line of a pretty-printed document is not.
//
// A source record is one NDJSON line, or one entry of a Bundle (wherever
// the Bundle appears). Blank lines are not records. Each record is either
// accepted, yielding zero or more records, or quarantined with its raw
// bytes, a reason, its Line and byte Offset in the file and, when it can
// be found, the resource id as RecordID. For a Bundle entry, Line, Offset
// and the raw bytes are those of its resource (of the entry when it has no
// resource), so a quarantined resource can be fixed and replayed as an
// NDJSON line.
//
// Exporters' habits are tolerated: a UTF-8 byte-order mark (also at the
// start of a line, as left by concatenating files), CRLF line ends, blank
// lines, members and extensions pophealth does not read, and R5's list
// form of Encounter.class. A resource with no id takes it from its Bundle
// entry's fullUrl ("urn:uuid:…" or a URL ending in the id).
//
// Memory is bounded: NDJSON is streamed line by line, and a line longer
// than 16 MiB is quarantined without being held whole. A document is read
// whole, because a Bundle's members come in any order (PDS puts "entry"
// before "resourceType"), so it is limited to 64 MiB; a larger one is
// quarantined as one record and must be exported as NDJSON. Quarantine
// keeps the first 64 KiB of such oversized records.
//
// # Mapping
//
//	resource                      record                 fields
//	Patient                       models.PatientRecord   LocalID = id
//	                                                     NHSNumber, NHSNumberStatus: identifier of system
//	                                                       https://fhir.nhs.uk/Id/nhs-number, spaces removed;
//	                                                       fails Modulus 11 => invalid (kept, flagged);
//	                                                       UK Core NHSNumberVerificationStatus code 01 => verified;
//	                                                       otherwise valid; none => missing
//	                                                     GivenName, FamilyName: the name in use now (period not
//	                                                       ended) before an ended one, then official, usual,
//	                                                       unlabelled, others, old/maiden; first given name
//	                                                     BirthDate = birthDate; Sex = gender
//	                                                     Postcode: the address in use now before an ended one,
//	                                                       then home, unlabelled, temp, others, old; UK
//	                                                       postcodes written "LS1 6AE", other text kept as sent
//	                                                     DeathDate = deceasedDateTime (deceasedBoolean has no
//	                                                       date, and the record no flag to keep it in)
//	                                                     PracticeCode, RegisteredFrom: the first
//	                                                       generalPractitioner identified by an ODS code
//	                                                       (https://fhir.nhs.uk/Id/ods-organization-code) and
//	                                                       the start of its identifier.period
//	Encounter                     models.Encounter       EncounterID = id; PatientID from subject
//	                                                     Class from class code: IMP, ACUTE, NONAC => inpatient;
//	                                                       EMER => emergency; AMB => outpatient;
//	                                                       HH, VR => community; anything else => other
//	                                                     AdmissionMethod from the UK Core AdmissionMethod
//	                                                       extension (NHS Data Dictionary codes: 1x elective,
//	                                                       2x emergency, 3x maternity, 81 transfer, else other),
//	                                                       else hospitalization.admitSource (emd => emergency,
//	                                                       born => maternity, hosp-trans, nursing, psych,
//	                                                       rehab => transfer, else other), else ""
//	                                                     Start, End = period.start, period.end
//	                                                     Cancelled: status cancelled or entered-in-error
//	Condition                     models.Diagnosis       one per distinct coding in SNOMED CT
//	                                                       (http://snomed.info/sct) or ICD-10
//	                                                       (http://hl7.org/fhir/sid/icd-10, …/icd-10-uk; the
//	                                                       dot removed: E11.9 => E119), so that a condition
//	                                                       coded in both matches code lists in either
//	                                                     Date = recordedDate, else onsetDateTime
//	                                                     EncounterID from encounter, "" if unresolvable
//	Observation                   models.Observation     one per component (blood pressure panels), and one
//	                                                       for the Observation itself unless it is a panel
//	                                                       without a value of its own; code SNOMED CT, else
//	                                                       LOINC (http://loinc.org): one record per
//	                                                       measurement, so values are not counted twice
//	                                                     Value = valueQuantity.value (nil for other value
//	                                                       types); Unit = valueQuantity.code when the system
//	                                                       is UCUM, else valueQuantity.unit
//	                                                     Date = effectiveDateTime, else effectivePeriod.start,
//	                                                       else effectiveInstant
//	MedicationRequest,            models.Medication      Code from medicationCodeableConcept: dm+d
//	MedicationStatement                                    (https://dmd.nhs.uk), else SNOMED CT, read as dm+d
//	                                                       (dm+d ids are SNOMED CT concept ids)
//	                                                     Date = authoredOn (request); effectiveDateTime, else
//	                                                       effectivePeriod.start, else dateAsserted (statement)
//	Procedure                     models.Procedure       Code: the first SNOMED CT coding; Date =
//	                                                       performedDateTime, else performedPeriod.start;
//	                                                       EncounterID from encounter
//	Bundle                        its entries            each entry is a source record
//	any other R4 resource type    none                   accepted, counted in Stats.Skipped
//
// Every clinical resource's subject must resolve to a Patient id:
// "Patient/123", "Patient/123/_history/2", an absolute URL ending in
// "Patient/123", and "urn:uuid:123" all give "123".
// Inside a Bundle, a reference equal to another entry's fullUrl
// ("urn:uuid:…", as transaction Bundles link entries) resolves to that
// entry's resource id when it has its own, different one; this holds for
// subjects and encounters alike. References to resources in other files
// of the same export are resolved by the ingest job, which holds a
// clinical record until its Patient has been read.
//
// Dates (date, dateTime, instant) are taken as the calendar date written,
// never shifted across time zones: "2013-04-02T23:30:00-05:00" is
// 2013-04-02. A partial date stands for the first day of its year or
// month ("1980" is 1980-01-01). Every date read is checked, whichever one
// is used; a birth date after today (local time) and, between full dates,
// a death before birth are rejected.
//
// # Accepted but unused
//
// Stats.Skipped counts, by kind, records accepted without yielding a
// record, so that nothing is lost silently:
//
//	resource:<Type>                      a resource type pophealth does not map
//	Condition:unknown-code-system        no SNOMED CT or ICD-10 coding
//	Condition:refuted, Condition:entered-in-error   (verificationStatus)
//	Observation:unknown-code-system      no SNOMED CT or LOINC coding
//	Observation:cancelled, Observation:entered-in-error   (status)
//	<Medication…>:rxnorm-only            only RxNorm codings (US exports such as Synthea)
//	<Medication…>:unknown-code-system    no dm+d, SNOMED CT or RxNorm coding
//	<Medication…>:medication-reference   the medication is a reference, not a code
//	<Medication…>:cancelled, :entered-in-error, :not-taken   (status)
//	Procedure:unknown-code-system        no SNOMED CT coding (OPCS-4 alone, say)
//	Procedure:not-done, Procedure:entered-in-error   (status)
//
// # Quarantine reasons
//
//   - invalid JSON (syntax, truncated line, invalid UTF-8, duplicate member
//     names, data after the object), or a member of the wrong JSON type,
//     named by its path ("Patient.birthDate: want string, got number");
//   - missing resourceType, or one that is not an R4 resource type;
//   - no id ("Patient has no id");
//   - a clinical resource without a subject ("Condition has no subject") or
//     with one that is not a Patient reference;
//   - an impossible or malformed date, named by its path
//     ("Patient.birthDate: impossible date 2023-02-30"), a birth date in
//     the future, a death before birth;
//   - a gender outside the FHIR value set;
//   - a Bundle entry without a resource, a Bundle whose structure cannot be
//     read (quarantined whole), a line longer than 16 MiB, a document
//     larger than 64 MiB.
//
// # Decoding
//
// Each resource is first checked as JSON by the jsontext package of
// github.com/go-json-experiment/json (the future encoding/json/v2):
// syntax, UTF-8, unique member names. Then a hand-written projection reads
// only the members the mapping needs from the checked bytes and skips the
// rest without building it. BenchmarkDecode measures this against
// decoding the same projection by reflection with that package and with
// encoding/json; BenchmarkParse measures Parse on Synthea-shaped
// Observations and UK Patients:
//
//	go test -run='^$' -bench=. -benchmem ./ingest/fhir/
package fhir
