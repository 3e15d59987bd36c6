package models

// Table names a pseudonymised lake table; it is the directory name under
// lake/pseudo/ and the name of the DuckDB view over it.
type Table string

// The lake's pseudonymised tables.
const (
	TablePerson      Table = "person"
	TableEncounter   Table = "encounter"
	TableDiagnosis   Table = "diagnosis"
	TableObservation Table = "observation"
	TableMedication  Table = "medication"
	TableProcedure   Table = "procedure"
)

// Tables lists every lake table in a stable order.
var Tables = []Table{TablePerson, TableEncounter, TableDiagnosis, TableObservation, TableMedication, TableProcedure}

// PersonRow is a pseudonymised PatientRecord: one source's view of a
// person. The lake keeps one row per source record; the person view picks
// the most recent per person_key.
//
// Deliberately absent: NHS number, local ids, names, full date of birth,
// full postcode, LSOA. Month of birth and postcode district are the finest
// quasi-identifiers kept; purposes generalise further. The LSOA becomes its
// deprivation decile at ingest (docs/deprivation.md).
type PersonRow struct {
	PersonKey        string `parquet:"person_key"`
	Source           string `parquet:"source"`
	BatchID          string `parquet:"batch_id"`
	YearOfBirth      int16  `parquet:"year_of_birth,optional"`
	MonthOfBirth     int8   `parquet:"month_of_birth,optional"`
	Sex              string `parquet:"sex"`
	PostcodeDistrict string `parquet:"postcode_district,optional"`
	PracticeCode     string `parquet:"practice_code,optional"`
	RegisteredFrom   *Date  `parquet:"registered_from,date,optional"`
	// RegisteredTo is the end of the registration, when it has ended.
	RegisteredTo *Date `parquet:"registered_to,date,optional"`
	// DeprivationDecile is the English IMD decile of the person's LSOA (1
	// most deprived, 10 least) from the workspace's deprivation lookup; 0
	// (null) when the feed sent no LSOA or the lookup does not hold it.
	DeprivationDecile int8 `parquet:"deprivation_decile,optional"`
	// DeathMonth is the first day of the month of death.
	DeathMonth *Date `parquet:"death_month,date,optional"`
	// NHSNumberStatus records how the person was linked (verified, valid,
	// invalid, missing) without the number itself: analysts need to know
	// how much of a cohort rests on weaker links.
	NHSNumberStatus string `parquet:"nhs_number_status"`
}

// EncounterRow is a pseudonymised Encounter event.
type EncounterRow struct {
	PersonKey string `parquet:"person_key"`
	// EncounterKey is a keyed hash of the source's visit number, so events
	// of one spell can be folded without revealing the number.
	EncounterKey    string `parquet:"encounter_key"`
	Source          string `parquet:"source"`
	BatchID         string `parquet:"batch_id"`
	Event           string `parquet:"event,optional"`
	Class           string `parquet:"class"`
	AdmissionMethod string `parquet:"admission_method,optional"`
	StartDate       *Date  `parquet:"start_date,date,optional"`
	EndDate         *Date  `parquet:"end_date,date,optional"`
	Cancelled       bool   `parquet:"cancelled"`
	// Seq orders events by arrival, across batches: the batch's start time
	// in Unix nanoseconds plus the event's position in the batch (feeds'
	// files in path order, records in file order). HL7 v2 cancellations
	// (A11, A13) undo the events before them, so the spell view folds
	// events in this order. Batches never overlap (the lake has one
	// writer), so later batches' events sort later.
	Seq int64 `parquet:"seq"`
}

// DiagnosisRow is a pseudonymised Diagnosis.
type DiagnosisRow struct {
	PersonKey    string `parquet:"person_key"`
	EncounterKey string `parquet:"encounter_key,optional"`
	Source       string `parquet:"source"`
	BatchID      string `parquet:"batch_id"`
	CodeSystem   string `parquet:"code_system"`
	Code         string `parquet:"code"`
	RecordedDate *Date  `parquet:"recorded_date,date,optional"`
}

// ObservationRow is a pseudonymised Observation.
type ObservationRow struct {
	PersonKey     string   `parquet:"person_key"`
	Source        string   `parquet:"source"`
	BatchID       string   `parquet:"batch_id"`
	CodeSystem    string   `parquet:"code_system"`
	Code          string   `parquet:"code"`
	Value         *float64 `parquet:"value,optional"`
	Unit          string   `parquet:"unit,optional"`
	EffectiveDate *Date    `parquet:"effective_date,date,optional"`
}

// MedicationRow is a pseudonymised Medication.
type MedicationRow struct {
	PersonKey    string `parquet:"person_key"`
	Source       string `parquet:"source"`
	BatchID      string `parquet:"batch_id"`
	CodeSystem   string `parquet:"code_system"`
	Code         string `parquet:"code"`
	AuthoredDate *Date  `parquet:"authored_date,date,optional"`
}

// ProcedureRow is a pseudonymised Procedure.
type ProcedureRow struct {
	PersonKey     string `parquet:"person_key"`
	EncounterKey  string `parquet:"encounter_key,optional"`
	Source        string `parquet:"source"`
	BatchID       string `parquet:"batch_id"`
	CodeSystem    string `parquet:"code_system"`
	Code          string `parquet:"code"`
	PerformedDate *Date  `parquet:"performed_date,date,optional"`
}

// PersonKeyMapRow maps the pseudonym a lake row was written under to the
// pseudonym of the person linkage later found it belongs to
// (lake/pseudo/person_key_map). Nothing already written is rewritten: the
// query views apply the map. The latest row per FromKey, by BatchID, is in
// force; a row mapping a key to itself undoes an earlier mapping.
type PersonKeyMapRow struct {
	FromKey string `parquet:"from_key"`
	ToKey   string `parquet:"to_key"`
	BatchID string `parquet:"batch_id"`
}
