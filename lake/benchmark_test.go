package lake

import (
	"fmt"
	"io"
	"reflect"
	"testing"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/zstd"

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

// BenchmarkSpillCodec measures the spill's row encoding, which a batch
// pays twice (encode, then decode at Commit) for every row of a directory
// past the open-file bound, against parquet-go encoding the same rows.
func BenchmarkSpillCodec(b *testing.B) {
	rows := make([]models.ObservationRow, 4096)
	for i := range rows {
		d, v := models.Date(19000+i%900), float64(i%300)/7
		rows[i] = models.ObservationRow{
			PersonKey: fmt.Sprintf("%064x", i/12), Source: "gp", BatchID: "20261203T171538Z-3c1ca5",
			CodeSystem: "snomed", Code: fmt.Sprint(1000000 + i%500), Value: &v, Unit: "mmol/L", EffectiveDate: &d,
		}
	}
	c, err := codecFor[models.ObservationRow]()
	if err != nil {
		b.Fatal(err)
	}
	b.Run("encode+decode", func(b *testing.B) {
		var be blockEncoder
		var out []models.ObservationRow
		for b.Loop() {
			be.reset()
			for i := range rows {
				c.encode(&be, reflect.ValueOf(&rows[i]).Elem())
			}
			if out, err = decodeBlock(c, be.buf, be.rows, out[:0]); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(len(be.buf))/float64(len(rows)), "bytes/row")
		b.ReportMetric(b.Elapsed().Seconds()*1e9/float64(b.N*len(rows)), "ns/row")
	})
	b.Run("parquet-go", func(b *testing.B) {
		for b.Loop() {
			w := parquet.NewGenericWriter[models.ObservationRow](io.Discard, parquet.Compression(&zstd.Codec{Level: zstd.SpeedFastest}))
			if _, err := w.Write(rows); err != nil {
				b.Fatal(err)
			}
			if err := w.Close(); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(b.Elapsed().Seconds()*1e9/float64(b.N*len(rows)), "ns/row")
	})
}
