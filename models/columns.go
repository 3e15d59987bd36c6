package models

import "fmt"

// RowOf returns the zero value of table t's lake row type (PersonRow for
// TablePerson, ...), from which the Parquet schema, DuckDB views and
// purpose column checks derive the table's columns.
func RowOf(t Table) (any, error) {
	switch t {
	case TablePerson:
		return PersonRow{}, nil
	case TableEncounter:
		return EncounterRow{}, nil
	case TableDiagnosis:
		return DiagnosisRow{}, nil
	case TableObservation:
		return ObservationRow{}, nil
	case TableMedication:
		return MedicationRow{}, nil
	case TableProcedure:
		return ProcedureRow{}, nil
	}
	return nil, fmt.Errorf("models: lake table %q has no row type", t)
}
