package suppress

import (
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/pophealth/pophealth/models"
)

// TestIdentifierNames_CoverModels keeps identifierNames in step with the
// schema: every key column of the lake (…_key) and every identifier of the
// master person index must be recognised.
func TestIdentifierNames_CoverModels(t *testing.T) {
	var want []string
	for _, row := range []any{models.PersonRow{}, models.EncounterRow{}, models.DiagnosisRow{}, models.ObservationRow{},
		models.MedicationRow{}, models.ProcedureRow{}} {
		for _, f := range parquet.SchemaOf(row).Fields() {
			if strings.HasSuffix(f.Name(), "_key") {
				want = append(want, f.Name())
			}
		}
	}
	want = append(want, "person_id", "local_id", "nhs_number") // models.LinkRow
	for _, name := range want {
		if !identifierNames[normalName(name)] {
			t.Errorf("column %q from models is not recognised as an identifier", name)
		}
	}
	if len(want) < 5 {
		t.Fatalf("found only %v in models", want)
	}
}
