package compare

import "testing"

// The benchmarks compare the same pairs here and in DuckDB (one SQL
// aggregate over a table of the pairs, so DuckDB's per-row cost without
// result transfer); the pairs/s metrics of the two sub-benchmarks give the
// ratio BENCHMARKS.md reports.

func benchPairs() [][2]string {
	ps := pairs()
	for len(ps) < 100_000 {
		ps = append(ps, ps...)
	}
	return ps[:100_000]
}

func BenchmarkJaroWinkler(b *testing.B) {
	ps := benchPairs()
	b.Run("ours", func(b *testing.B) {
		var sum float64
		for b.Loop() {
			for _, p := range ps {
				sum += JaroWinkler(p[0], p[1])
			}
		}
		b.ReportMetric(float64(b.N*len(ps))/b.Elapsed().Seconds(), "pairs/s")
	})
	b.Run("duckdb", func(b *testing.B) {
		benchDuckDB(b, ps, `SELECT sum(jaro_winkler_similarity(a, b)) FROM pairs`)
	})
}

func BenchmarkDamerauLevenshtein(b *testing.B) {
	ps := benchPairs()
	b.Run("ours", func(b *testing.B) {
		sum := 0
		for b.Loop() {
			for _, p := range ps {
				sum += DamerauLevenshtein(p[0], p[1])
			}
		}
		b.ReportMetric(float64(b.N*len(ps))/b.Elapsed().Seconds(), "pairs/s")
	})
	b.Run("duckdb", func(b *testing.B) {
		benchDuckDB(b, ps, `SELECT sum(damerau_levenshtein(a, b)) FROM pairs`)
	})
}

func benchDuckDB(b *testing.B, ps [][2]string, query string) {
	db := duckDB(b)
	loadPairs(b, db, ps)
	// One thread, as the Go loop above runs on one core.
	if _, err := db.Exec(`SET threads = 1`); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		var sum float64
		if err := db.QueryRow(query).Scan(&sum); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(ps))/b.Elapsed().Seconds(), "pairs/s")
}
