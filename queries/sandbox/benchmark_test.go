package sandbox

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// benchQueries are typical analysts' queries: an aggregate join, a window
// function over every encounter, and a small lookup where the sandbox's
// fixed cost (parsing and checking the statement) weighs most.
var benchQueries = []struct{ name, query string }{
	{"join-aggregate", `SELECT p.age_band, p.sex, count(*) AS encounters, avg(e.los) AS mean_los
		FROM encounter e JOIN person p USING (pseudonym) GROUP BY ALL ORDER BY ALL`},
	{"window", `SELECT count(*) FROM (SELECT pseudonym, admitted - lag(admitted) OVER (PARTITION BY pseudonym ORDER BY admitted) AS gap
		FROM encounter) WHERE gap <= 30`},
	{"lookup", `SELECT count(*) FROM person WHERE pseudonym = 'p000042'`},
}

// benchFolder writes a purpose folder of people and encounters spread over
// 12 monthly partitions.
func benchFolder(b *testing.B, people int) string {
	b.Helper()
	dir := b.TempDir()
	stmts := []string{
		copyTo(fmt.Sprintf(`SELECT printf('p%%06d', i) AS pseudonym, CASE WHEN i %% 2 = 0 THEN 'F' ELSE 'M' END AS sex,
			['0-17','18-44','45-64','65-74','75+'][i %% 5 + 1] AS age_band FROM range(%d) t(i)`, people),
			filepath.Join(dir, "person", "part-0.parquet")),
	}
	for m := 1; m <= 12; m++ {
		part := filepath.Join(dir, "encounter", "year=2025", fmt.Sprintf("month=%02d", m))
		if err := os.MkdirAll(part, 0o755); err != nil {
			b.Fatal(err)
		}
		stmts = append(stmts, copyTo(fmt.Sprintf(`SELECT printf('p%%06d', (i * 7919) %% %d) AS pseudonym,
			DATE '2025-%02d-01' + (i %% 28)::INT AS admitted, (hash(i) %% 9)::INT AS los FROM range(%d) t(i)`, people, m, people*5/12),
			filepath.Join(part, "part-0.parquet")))
	}
	if err := os.MkdirAll(filepath.Join(dir, "person"), 0o755); err != nil {
		b.Fatal(err)
	}
	rawExec(b, stmts...)
	return dir
}

// rawSession is the reference: DuckDB with the same views over the same
// files and the same Parquet metadata cache, but no lock-down and no
// statement check.
func rawSession(b *testing.B, dir string) *sql.DB {
	b.Helper()
	f, err := scanFolder(dir)
	if err != nil {
		b.Fatal(err)
	}
	db := rawDB(b)
	if _, err := db.Exec("SET parquet_metadata_cache = true"); err != nil {
		b.Fatal(err)
	}
	for _, t := range f.tables {
		if _, err := db.Exec(viewDDL(t)); err != nil {
			b.Fatal(err)
		}
	}
	b.Cleanup(func() { db.Close() })
	return db
}

// rawQuery runs q on unrestricted DuckDB and returns every row, scanned
// as the sandbox returns them.
func rawQuery(ctx context.Context, db *sql.DB, q string) ([][]any, error) {
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	out := [][]any{}
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		out = append(out, vals)
	}
	return out, rows.Err()
}

// BenchmarkQuery compares each query in the sandbox with the same query on
// raw DuckDB in the same run, at two sizes: demo (10,000 people, 50,000
// encounters, the demo lake's scale) and large (200,000 people, 1,000,000
// encounters). Each iteration runs both, alternating which goes first, so
// that load from other processes on a shared machine falls on both alike;
// the metric sandbox/raw is the ratio of their total times, and
// BENCHMARKS.md reports it.
func BenchmarkQuery(b *testing.B) {
	for _, size := range []struct {
		name   string
		people int
	}{{"demo", 10000}, {"large", 200000}} {
		if testing.Short() && size.name == "large" {
			continue
		}
		dir := benchFolder(b, size.people)
		s, err := Open(context.Background(), Config{Dir: dir})
		if err != nil {
			b.Fatal(err)
		}
		raw := rawSession(b, dir)
		for _, q := range benchQueries {
			b.Run(size.name+"/"+q.name, func(b *testing.B) {
				var rawTime, boxTime time.Duration
				runRaw := func() {
					t0 := time.Now()
					if _, err := rawQuery(b.Context(), raw, q.query); err != nil {
						b.Fatal(err)
					}
					rawTime += time.Since(t0)
				}
				runBox := func() {
					t0 := time.Now()
					if _, err := s.Query(b.Context(), q.query); err != nil {
						b.Fatal(err)
					}
					boxTime += time.Since(t0)
				}
				i := 0
				for b.Loop() {
					if i%2 == 0 {
						runRaw()
						runBox()
					} else {
						runBox()
						runRaw()
					}
					i++
				}
				b.ReportMetric(float64(rawTime.Microseconds())/float64(i), "raw-µs/query")
				b.ReportMetric(float64(boxTime.Microseconds())/float64(i), "sandbox-µs/query")
				b.ReportMetric(float64(boxTime)/float64(rawTime), "sandbox/raw")
			})
		}
		s.Close()
	}
}

// BenchmarkCheck measures the statement check alone (parse, walk, prepare).
func BenchmarkCheck(b *testing.B) {
	dir := benchFolder(b, 1000)
	s, err := Open(context.Background(), Config{Dir: dir})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	q := strings.TrimSpace(benchQueries[0].query)
	for b.Loop() {
		if err := s.check(b.Context(), q); err != nil {
			b.Fatal(err)
		}
	}
}
