package lake

import (
	"fmt"
	"testing"

	"github.com/pophealth/pophealth/models"
)

// BenchmarkAppendCommit measures writing a batch of encounter rows spread
// over 24 monthly partitions, one row per Append call as the ingest job
// does, including Commit's fsyncs.
func BenchmarkAppendCommit(b *testing.B) {
	const rows = 200_000
	months := make([]string, 24)
	for i := range months {
		d := models.NewDate(2023, 1, 1).AddDays(i * 31)
		months[i] = PseudoDir(models.TableEncounter, models.FeedHL7, &d)
	}
	l := mustOpen(b, b.TempDir())
	n := 0
	for b.Loop() {
		n++
		id := fmt.Sprintf("B%d", n)
		batch := mustBegin(b, l, id)
		for i := range rows {
			start := models.Date(19400 + i%700)
			row := models.EncounterRow{
				PersonKey: fmt.Sprintf("%064x", i%50_000), EncounterKey: fmt.Sprintf("%064x", i),
				Source: "hl7v2", BatchID: id, Event: "A01", Class: "inpatient", AdmissionMethod: "emergency",
				StartDate: &start,
			}
			if err := Append(batch, months[i%len(months)], row); err != nil {
				b.Fatal(err)
			}
		}
		if err := batch.Commit(Manifest{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
}
