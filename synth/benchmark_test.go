package synth

import (
	"context"
	"strconv"
	"testing"
)

// BenchmarkGenerate measures whole runs, files included. Run the 100,000
// people case once with
//
//	go test -run='^$' -bench='Generate/people=100000' -benchtime=1x ./synth/
func BenchmarkGenerate(b *testing.B) {
	for _, people := range []int{10_000, 100_000} {
		b.Run("people="+strconv.Itoa(people), func(b *testing.B) {
			opts := DefaultOptions()
			opts.People, opts.OutDir = people, b.TempDir()
			var sum Summary
			for b.Loop() {
				var err error
				if sum, err = Generate(context.Background(), opts, nil); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(people*b.N)/b.Elapsed().Seconds(), "people/s")
			records := int64(0)
			for _, f := range sum.Files {
				records += f.Records
			}
			b.ReportMetric(float64(records*int64(b.N))/b.Elapsed().Seconds(), "records/s")
		})
	}
}
