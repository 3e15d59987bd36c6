package jobs

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/pophealth/pophealth/lake"
	"github.com/pophealth/pophealth/models"
	"github.com/pophealth/pophealth/pseudonymise"
	"github.com/pophealth/pophealth/synth"
)

// BenchmarkIngest times the whole ingest job per feed (parse, link,
// pseudonymise, write Parquet, commit) on a synthetic population, each
// iteration into a fresh lake. Profile it with
//
//	go test -run='^$' -bench=Ingest/hl7v2 -cpuprofile=cpu.out ./jobs
//
// The stage harness ("pophealth bench") measures the same work as separate
// processes, with DuckDB as the reference and peak RSS.
func BenchmarkIngest(b *testing.B) {
	dir := b.TempDir()
	opts := synth.DefaultOptions()
	opts.People, opts.Seed, opts.OutDir = 20000, 1, filepath.Join(dir, "feeds")
	sum, err := synth.Generate(context.Background(), opts, nil)
	if err != nil {
		b.Fatal(err)
	}
	key, err := pseudonymise.NewKey()
	if err != nil {
		b.Fatal(err)
	}
	for _, feed := range []string{"gp", "fhir", "hl7v2"} {
		b.Run(feed, func(b *testing.B) {
			var records, bytes int64
			for rel, f := range sum.Files {
				if filepath.Dir(rel) != feed {
					continue
				}
				info, err := os.Stat(filepath.Join(opts.OutDir, rel))
				if err != nil {
					b.Fatal(err)
				}
				records += f.Records
				bytes += info.Size()
			}
			b.SetBytes(bytes)
			for b.Loop() {
				lk, err := lake.Open(filepath.Join(b.TempDir(), "lake"))
				if err != nil {
					b.Fatal(err)
				}
				res, err := Ingest(context.Background(), lk, IngestOptions{Paths: []string{filepath.Join(opts.OutDir, feed)}, Key: key})
				if err != nil {
					b.Fatal(err)
				}
				if res.Totals.Read != records {
					b.Fatalf("read %d records, synth wrote %d", res.Totals.Read, records)
				}
			}
			b.ReportMetric(float64(records)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}

// BenchmarkLoadIndex times reading the master person index that earlier
// batches committed (200,000 entries in two batches), which every ingest
// does before its first record.
func BenchmarkLoadIndex(b *testing.B) {
	const entries = 200_000
	lk, err := lake.Open(filepath.Join(b.TempDir(), "lake"))
	if err != nil {
		b.Fatal(err)
	}
	born := models.NewDate(1970, 1, 2)
	for batch := range 2 {
		id := fmt.Sprintf("20261203T000000Z-00000%d", batch)
		lb, err := lk.Begin(id)
		if err != nil {
			b.Fatal(err)
		}
		for i := range entries / 2 {
			row := models.LinkRow{
				Feed: "gp", LocalID: fmt.Sprintf("G%09d", batch*entries+i), PersonID: fmt.Sprintf("P%024x", batch*entries+i),
				NHSNumber: fmt.Sprintf("9%09d", batch*entries+i), NHSNumberStatus: string(models.NHSValid), Method: models.LinkNew,
				BatchID: id, GivenName: "Ann", FamilyName: "Smith", BirthDate: &born, Sex: "F", Postcode: "LS1 4AP",
			}
			if err := lake.Append(lb, mpiDir, row); err != nil {
				b.Fatal(err)
			}
		}
		if err := lb.Commit(lake.Manifest{}); err != nil {
			b.Fatal(err)
		}
	}
	for b.Loop() {
		ix, err := loadIndex(lk)
		if err != nil {
			b.Fatal(err)
		}
		if n := ix.Stats().IndexedSources; n != entries {
			b.Fatalf("loaded %d entries, want %d", n, entries)
		}
	}
	b.ReportMetric(float64(entries)*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
}
