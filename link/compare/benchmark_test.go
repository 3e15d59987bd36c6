package compare

import (
	"testing"
	"time"
)

// The benchmark compares the same pairs here and in DuckDB (one SQL
// aggregate over a table of the pairs, single-threaded, so DuckDB's
// per-row cost without result transfer).

func benchPairs() [][2]string {
	ps := pairs()
	for len(ps) < 100_000 {
		ps = append(ps, ps...)
	}
	return ps[:100_000]
}

// BenchmarkRatio times both comparators and DuckDB's functions over the
// same pairs in alternating rounds and reports, per comparator, DuckDB's
// best time over ours (above 1: ours is faster). Alternating and taking
// the best of each cancels most of the noise of a shared machine.
func BenchmarkRatio(b *testing.B) {
	ps := benchPairs()
	db := duckDB(b)
	loadPairs(b, db, ps)
	if _, err := db.Exec(`SET threads = 1`); err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		ours  func()
		query string
	}{
		{"jaro_winkler", func() {
			var sum float64
			for _, p := range ps {
				sum += JaroWinkler(p[0], p[1])
			}
		}, `SELECT sum(jaro_winkler_similarity(a, b)) FROM pairs`},
		{"damerau_levenshtein", func() {
			sum := 0
			for _, p := range ps {
				sum += DamerauLevenshtein(p[0], p[1])
			}
		}, `SELECT sum(damerau_levenshtein(a, b)) FROM pairs`},
	} {
		b.Run(c.name, func(b *testing.B) {
			bestOurs, bestDuck := time.Duration(1<<62), time.Duration(1<<62)
			for b.Loop() {
				for range 5 {
					start := time.Now()
					c.ours()
					bestOurs = min(bestOurs, time.Since(start))
					start = time.Now()
					var sum float64
					if err := db.QueryRow(c.query).Scan(&sum); err != nil {
						b.Fatal(err)
					}
					bestDuck = min(bestDuck, time.Since(start))
				}
			}
			b.ReportMetric(float64(len(ps))/bestOurs.Seconds(), "ours-pairs/s")
			b.ReportMetric(float64(len(ps))/bestDuck.Seconds(), "duckdb-pairs/s")
			b.ReportMetric(bestDuck.Seconds()/bestOurs.Seconds(), "ratio")
		})
	}
}
