// Package models is the one source of truth for pophealth's record shapes.
//
// Two families of types live here, matching the two sides of the
// pseudonymisation boundary:
//
//   - Source records (PatientRecord, Encounter, Diagnosis, Observation,
//     Medication, Procedure, and for linkage and the record of what was
//     sent, Merge and Unread) are what the ingest parsers produce from
//     exchange feeds. They carry identifiers (NHS number, names, full date
//     of birth, postcode, local patient and visit numbers) and exist only
//     in memory and in the restricted zone (restricted.go: quarantine,
//     master person index, merges, unread messages).
//
//   - Lake rows (PersonRow, EncounterRow, DiagnosisRow, ObservationRow,
//     MedicationRow, ProcedureRow) are what lands in the pseudonymised lake
//     as Parquet.
//     They carry a keyed person key instead of any identifier and only
//     generalised quasi-identifiers. Their parquet struct tags are the lake
//     schema: DuckDB views, docs and tests derive column names from them.
//
// Keeping both here means a reviewer can check in one file that no
// identifying field crosses into the lake.
package models
