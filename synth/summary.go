package synth

import "github.com/pophealth/pophealth/models"

// Names of the files Generate writes under Options.OutDir besides the feeds.
const (
	// SummaryFile holds the Summary as JSON.
	SummaryFile = "synth.json"
	// TruthFile maps every person-bearing record to its true person, with
	// columns feed,record_id,local_id,person_id.
	TruthFile = "truth.csv"
	// MalformedFile lists every deliberately broken record, with columns
	// feed,file,line,offset,record_id,reason, so that a test can check
	// that ingest quarantines exactly these.
	MalformedFile = "malformed.csv"
)

// Summary describes what Generate wrote. It is also written to
// OutDir/synth.json, so that tests downstream can assert exact counts
// (records and malformed records per file) and approximate ones
// (prevalence, deaths) without re-reading the feeds.
type Summary struct {
	// Options are the options that determine the output; OutDir and
	// Workers, which do not, are left zero.
	Options Options `json:"options"`
	People  int     `json:"people"`
	// Deaths counts people who died during the study period.
	Deaths int `json:"deaths"`
	// Conditions counts people with each long-term condition (by its
	// codelists name) by the end of the study period or their death.
	Conditions map[string]int `json:"conditions"`
	// FHIRPatients counts people known to the community trust.
	FHIRPatients int `json:"fhir_patients"`
	// AdmittedPeople counts people with at least one hospital spell.
	AdmittedPeople  int `json:"admitted_people"`
	EmergencySpells int `json:"emergency_spells"`
	ElectiveSpells  int `json:"elective_spells"`
	// MovedPeople counts people who moved house (MovedPostcode).
	MovedPeople int `json:"moved_people"`
	// Files counts records per feed file, keyed by the path relative to
	// OutDir with forward slashes (e.g. "gp/patients.csv").
	Files map[string]FileCounts `json:"files"`
	// Dirt counts the identifier dirt applied to each non-GP feed.
	Dirt map[models.Feed]DirtCounts `json:"dirt"`
	// TruthRecords counts the rows of truth.csv.
	TruthRecords int64 `json:"truth_records"`
}

// FileCounts counts the source records of one feed file: CSV data rows,
// NDJSON lines or HL7 messages.
type FileCounts struct {
	Feed    models.Feed `json:"feed"`
	Records int64       `json:"records"`
	// Malformed counts the records deliberately broken, all of which
	// ingest must quarantine; the rest must be accepted.
	Malformed int64 `json:"malformed"`
}

// DirtCounts counts dirty person records in one feed: a FHIR Patient, or
// the hospital PAS record that every HL7 message about the person repeats.
// Dirt is applied to the feed's copy only; truth.csv still maps the record
// to the right person.
type DirtCounts struct {
	// PersonRecords counts the feed's person records, dirty or not.
	PersonRecords int `json:"person_records"`
	MissingNHS    int `json:"missing_nhs"`
	WrongNHS      int `json:"wrong_nhs"`
	// WrongNHSValid counts wrong numbers that pass Modulus 11: a single
	// digit typo or adjacent transposition never does, so these are
	// numbers picked from the wrong person.
	WrongNHSValid int `json:"wrong_nhs_valid"`
	// WrongNHSOtherPerson counts the valid wrong numbers that belong to
	// another generated person (the rest belong to nobody).
	WrongNHSOtherPerson int `json:"wrong_nhs_other_person"`
	Nickname            int `json:"nickname"`
	NameTypo            int `json:"name_typo"`
	SurnameVariant      int `json:"surname_variant"`
	// OldPostcode counts person records with a moved person's previous
	// postcode (for HL7, until an A08 updates the address).
	OldPostcode int `json:"old_postcode"`
}

func (d *DirtCounts) add(o DirtCounts) {
	d.PersonRecords += o.PersonRecords
	d.MissingNHS += o.MissingNHS
	d.WrongNHS += o.WrongNHS
	d.WrongNHSValid += o.WrongNHSValid
	d.WrongNHSOtherPerson += o.WrongNHSOtherPerson
	d.Nickname += o.Nickname
	d.NameTypo += o.NameTypo
	d.SurnameVariant += o.SurnameVariant
	d.OldPostcode += o.OldPostcode
}
