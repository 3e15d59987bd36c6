package models

// Feed names the kind of exchange feed a record came from. It is also the
// value of the lake's source= partition.
type Feed string

// The feeds pophealth reads.
const (
	FeedGP   Feed = "gp"    // GP system extract, CSV (docs/feeds/gp-extract.md)
	FeedFHIR Feed = "fhir"  // FHIR R4 Bulk Data NDJSON
	FeedHL7  Feed = "hl7v2" // HL7 v2 ADT messages
)

// Sex is the administrative sex of a person, normalised across feeds.
type Sex string

// Normalised values of Sex. Feeds' own codes (HL7 M/F/U/O, FHIR
// male/female/other/unknown, GP 1/2/9) map onto these.
const (
	SexMale    Sex = "male"
	SexFemale  Sex = "female"
	SexOther   Sex = "other"
	SexUnknown Sex = "unknown"
)

// CodeSystem names a clinical terminology.
type CodeSystem string

// The terminologies pophealth understands. GP systems code in SNOMED CT,
// hospitals code diagnoses in ICD-10, prescribing uses dm+d, and
// laboratory results sent as FHIR are often coded in LOINC.
const (
	SNOMED CodeSystem = "snomed"
	ICD10  CodeSystem = "icd10"
	DMD    CodeSystem = "dmd"
	LOINC  CodeSystem = "loinc"
)

// NHSNumberStatus says how far an NHS number can be trusted as a linkage key.
type NHSNumberStatus string

// Values of NHSNumberStatus. Only Valid and Verified numbers may ever become
// a person key on their own; an Invalid number is kept for probabilistic
// linkage and review but never used as a key.
const (
	NHSMissing  NHSNumberStatus = "missing"
	NHSInvalid  NHSNumberStatus = "invalid"  // present but fails format or Modulus 11
	NHSValid    NHSNumberStatus = "valid"    // passes Modulus 11, not verified by the sender
	NHSVerified NHSNumberStatus = "verified" // passes Modulus 11 and the sender says it was traced
)

// SourceRef locates a record in the file it came from, so that any row, in
// the lake or in quarantine, can be traced back to its bytes.
type SourceRef struct {
	Feed Feed
	// File is the path as given to ingest.
	File string
	// Line is the 1-based line of the record's first byte (for HL7, the
	// line of its MSH segment).
	Line int64
	// Offset is the byte offset of the record's first byte in the file.
	Offset int64
	// RecordID is the source's own identifier for the record where it has
	// one (FHIR resource id, HL7 MSH-10 message control id, CSV row key).
	RecordID string
}

// Record is implemented by every source record type. The ingest pipeline
// dispatches on the concrete type.
type Record interface {
	// Source returns where the record came from.
	Source() *SourceRef
	// Subject returns the source's own identifier of the person the record
	// is about: the local patient id that linkage resolves to a person.
	Subject() string
}

// PatientRecord is one source's description of a person: the input to
// linkage. Several PatientRecords (from different feeds, or updates in one
// feed) may describe the same person.
type PatientRecord struct {
	Ref SourceRef
	// LocalID is the source's patient identifier: GP patient id, FHIR
	// Patient.id, or the hospital number (HL7 PID-3 type MR).
	LocalID         string
	NHSNumber       string // digits only, as sent, possibly invalid
	NHSNumberStatus NHSNumberStatus
	GivenName       string
	FamilyName      string
	BirthDate       *Date
	Sex             Sex
	Postcode        string // upper case, single space before the inward code
	PracticeCode    string // ODS code of the registered GP practice
	RegisteredFrom  *Date
	// RegisteredTo is the end of the registration (moved away, died), or
	// nil while the person is registered.
	RegisteredTo *Date
	DeathDate    *Date
	// LSOA is the ONS code of the Lower-layer Super Output Area of the
	// usual address (GP extract only). It is a quasi-identifier: the
	// pseudonymised lake keeps its deprivation decile instead.
	LSOA string
}

// Source implements Record.
func (p *PatientRecord) Source() *SourceRef { return &p.Ref }

// Subject implements Record.
func (p *PatientRecord) Subject() string { return p.LocalID }

// Encounter is a contact with a service: a hospital spell (from HL7 ADT),
// an A&E attendance, an outpatient or community contact. HL7 sends a spell
// as several events (admit, update, discharge); each event is one Encounter
// and the lake's spell view folds them by EncounterID.
type Encounter struct {
	Ref         SourceRef
	PatientID   string // the source's LocalID of the patient
	EncounterID string // visit number or FHIR Encounter.id
	// Event is the HL7 trigger event (A01, A03, A08, ...) or "" for
	// sources that send the encounter's current state.
	Event string
	// Class is inpatient, emergency (A&E), outpatient, community or other.
	Class string
	// AdmissionMethod is emergency, elective, maternity, transfer or other;
	// "" when the source does not say.
	AdmissionMethod string
	Start           *Date
	End             *Date
	// Cancelled marks an event that undoes an earlier one (HL7 A11/A12/A13).
	Cancelled bool
}

// Source implements Record.
func (e *Encounter) Source() *SourceRef { return &e.Ref }

// Subject implements Record.
func (e *Encounter) Subject() string { return e.PatientID }

// Diagnosis is a coded condition: a GP problem, a FHIR Condition or an HL7
// DG1 segment.
type Diagnosis struct {
	Ref         SourceRef
	PatientID   string
	EncounterID string // "" when not recorded against an encounter
	System      CodeSystem
	Code        string // ICD-10 codes without the dot, e.g. E119
	Date        *Date  // onset or recorded date
}

// Source implements Record.
func (d *Diagnosis) Source() *SourceRef { return &d.Ref }

// Subject implements Record.
func (d *Diagnosis) Subject() string { return d.PatientID }

// Observation is a coded measurement (HbA1c, blood pressure, BMI, ...).
type Observation struct {
	Ref       SourceRef
	PatientID string
	System    CodeSystem
	Code      string
	Value     *float64
	Unit      string
	Date      *Date
}

// Source implements Record.
func (o *Observation) Source() *SourceRef { return &o.Ref }

// Subject implements Record.
func (o *Observation) Subject() string { return o.PatientID }

// Medication is a prescription or medication statement, coded in dm+d.
type Medication struct {
	Ref       SourceRef
	PatientID string
	System    CodeSystem
	Code      string
	Date      *Date // authored or issue date
}

// Source implements Record.
func (m *Medication) Source() *SourceRef { return &m.Ref }

// Subject implements Record.
func (m *Medication) Subject() string { return m.PatientID }

// Procedure is a coded procedure or intervention performed on a person
// (FHIR Procedure), in SNOMED CT.
type Procedure struct {
	Ref         SourceRef
	PatientID   string
	EncounterID string // "" when not recorded against an encounter
	System      CodeSystem
	Code        string
	Date        *Date // performed date, or start of the performed period
}

// Source implements Record.
func (p *Procedure) Source() *SourceRef { return &p.Ref }

// Subject implements Record.
func (p *Procedure) Subject() string { return p.PatientID }

// Merge says that a source has merged two of its patient records into one
// (HL7 v2 A40, "merge patient – patient identifier list"): RetiredID is no
// longer used and its records belong to PatientID from now on. It is an
// input to linkage, which must resolve the retired identifier to the
// surviving patient's person (link/), and never reaches the pseudonymised
// lake: it is stored as a MergeRow in the restricted zone.
type Merge struct {
	Ref SourceRef
	// PatientID is the surviving patient's LocalID (chosen from PID-3 as
	// for PatientRecord).
	PatientID string
	// RetiredID is the retired patient's local identifier, chosen from
	// MRG-1 by the same rule; "" when MRG-1 holds only an NHS number.
	RetiredID string
	// RetiredNHSNumber is an NHS number sent in MRG-1, if any, digits only.
	RetiredNHSNumber string
}

// Source implements Record.
func (m *Merge) Source() *SourceRef { return &m.Ref }

// Subject implements Record: the surviving patient.
func (m *Merge) Subject() string { return m.PatientID }

// Unread is an accepted source record that pophealth does not map to a
// canonical record, such as an HL7 v2 event it has no meaning for (A17
// bed swap, A29 delete person, an ORU). It is kept whole, with its raw
// bytes, so that nothing a feed sent is lost and it can be read again when
// support comes. Like Quarantined it is identifiable and lives only in the
// restricted zone (UnreadRow).
type Unread struct {
	Ref SourceRef
	// Kind is the Stats.Skipped kind it was counted under, e.g. "event:A17".
	Kind string
	Raw  []byte
}

// Source implements Record.
func (u *Unread) Source() *SourceRef { return &u.Ref }

// Subject implements Record: an unread record is not tied to a patient.
func (u *Unread) Subject() string { return "" }

// Quarantined is a source record that could not be accepted. It keeps the
// raw bytes so that an operator can fix and replay it; it is identifiable
// and lives only in the restricted zone.
type Quarantined struct {
	Ref    SourceRef
	Reason string
	Raw    []byte
}
