package jobs

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pophealth/pophealth/queries"
)

// TestIngest_HL7CancellationsUndoEarlierEvents replays the shared samples'
// event sequences one message per ingest batch, as a live feed arrives,
// and checks the spell the lake shows after each message: a cancellation
// undoes the event before it, and an event sent again afterwards counts.
func TestIngest_HL7CancellationsUndoEarlierEvents(t *testing.T) {
	dir := sharedSamples(t, "hl7v2")
	type step struct {
		file  string
		spell string // "none", or "start end events" of the one spell
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"cancel admit, then admit again (UCLH)", []step{
			{"uclh-emap/Location/CancelAdmit/01_A01.txt", "2013-02-11 open 1"},
			{"uclh-emap/Location/CancelAdmit/02_A11.txt", "none"},
			{"uclh-emap/Location/CancelAdmit/03_A01.txt", "2013-02-11 open 3"},
			{"uclh-emap/Location/CancelAdmit/04_A02.txt", "2013-02-11 open 4"},
			{"uclh-emap/Location/CancelAdmit/05_A03.txt", "2013-02-11 2013-02-11 5"},
		}},
		{"cancel discharge, then discharge again (UCLH)", []step{
			{"uclh-emap/Location/CancelDischarge/01_A01.txt", "2013-02-11 open 1"},
			{"uclh-emap/Location/CancelDischarge/02_A02.txt", "2013-02-11 open 2"},
			{"uclh-emap/Location/CancelDischarge/03_A03.txt", "2013-02-11 2013-02-11 3"},
			{"uclh-emap/Location/CancelDischarge/04_A13.txt", "2013-02-11 open 4"},
			{"uclh-emap/Location/CancelDischarge/05_A03.txt", "2013-02-11 2013-02-11 5"},
		}},
		{"cancel transfer changes nothing (UCLH)", []step{
			{"uclh-emap/Location/CancelTransfer/01_A01.txt", "2013-02-11 open 1"},
			{"uclh-emap/Location/CancelTransfer/02_A02.txt", "2013-02-11 open 2"},
			{"uclh-emap/Location/CancelTransfer/03_A02.txt", "2013-02-11 open 3"},
			{"uclh-emap/Location/CancelTransfer/04_A12.txt", "2013-02-11 open 4"},
			{"uclh-emap/Location/CancelTransfer/05_A02.txt", "2013-02-11 open 5"},
			{"uclh-emap/Location/CancelTransfer/06_A03.txt", "2013-02-11 2013-02-11 6"},
		}},
		{"UK admit cancelled", []step{
			{"handmade/uk_a01_admit_icd10.hl7", "2024-01-05 open 1"},
			{"handmade/uk_a11_cancel_admit.hl7", "none"},
		}},
		{"UK discharge, cancelled, discharged later", []step{
			{"handmade/uk_a01_admit_icd10.hl7", "2024-01-05 open 1"},
			{"handmade/uk_a03_discharge_final_dx.hl7", "2024-01-05 2024-01-10 2"},
			// One file: A13 then A03 with a new discharge date.
			{"handmade/uk_a13_cancel_discharge_then_a03.hl7", "2024-01-05 2024-01-11 4"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lk, key := newLake(t)
			for _, st := range tt.steps {
				res, err := Ingest(context.Background(), lk, IngestOptions{Paths: []string{filepath.Join(dir, st.file)}, Key: key})
				if err != nil {
					t.Fatal(err)
				}
				if res.Totals.Quarantined != 0 {
					t.Fatalf("%s: quarantined %+v", st.file, res.Files)
				}
				e, err := queries.Open(context.Background(), lk)
				if err != nil {
					t.Fatal(err)
				}
				r, err := e.Query(context.Background(), `SELECT coalesce(start_date::VARCHAR, '-'), coalesce(end_date::VARCHAR, 'open'), events FROM spell WHERE source = 'hl7v2'`)
				e.Close()
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, row := range r.Rows {
					got = append(got, fmt.Sprintf("%v %v %v", row[0], row[1], row[2]))
				}
				want := []string{st.spell}
				if st.spell == "none" {
					want = nil
				}
				if strings.Join(got, "; ") != strings.Join(want, "; ") {
					t.Errorf("after %s: spells %q, want %q", filepath.Base(st.file), got, want)
				}
			}
		})
	}
}
