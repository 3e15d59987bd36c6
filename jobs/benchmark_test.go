package jobs

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/pophealth/pophealth/lake"
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
