package sandbox

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// rawResult runs query on unrestricted DuckDB with the same views over the
// same files, as the reference a sandboxed query must agree with.
func rawResult(t *testing.T, f fixture, query string) [][]any {
	t.Helper()
	db := rawDB(t)
	defer db.Close()
	for _, v := range []string{
		"CREATE VIEW person AS SELECT * FROM read_parquet(" + literal(f.purpose+"/person/*.parquet") + ")",
		"CREATE VIEW encounter AS SELECT * FROM read_parquet(" + literal(f.purpose+"/encounter/**/*.parquet") + ")",
	} {
		if _, err := db.Exec(v); err != nil {
			t.Fatal(err)
		}
	}
	out, err := rawQuery(context.Background(), db, query)
	if err != nil {
		t.Fatalf("raw %s: %v", query, err)
	}
	return out
}

func TestOpen_ViewPerTableDirectory(t *testing.T) {
	f := newFixture(t)
	s := openSession(t, Config{Dir: f.purpose})
	if got, want := s.Tables(), []string{"encounter", "person"}; !slices.Equal(got, want) {
		t.Fatalf("Tables() = %v, want %v", got, want)
	}
	res, err := s.Query(context.Background(), "SELECT count(*) AS n, count(DISTINCT month) AS months FROM encounter")
	if err != nil {
		t.Fatal(err)
	}
	// 0+1+2 encounters per three people over 40 people in January (39),
	// and one each for 10 people in February; month is a Hive partition.
	if want := [][]any{{int64(49), int64(2)}}; !reflect.DeepEqual(res.Rows, want) {
		t.Fatalf("rows = %v, want %v", res.Rows, want)
	}
	if !slices.Equal(res.Columns, []string{"n", "months"}) || !slices.Equal(res.Types, []string{"BIGINT", "BIGINT"}) {
		t.Fatalf("columns %v types %v", res.Columns, res.Types)
	}
}

func TestQuery_AnalyticSQLMatchesRawDuckDB(t *testing.T) {
	f := newFixture(t)
	s := openSession(t, Config{Dir: f.purpose})
	tests := []struct{ name, query string }{
		{"aggregate", "SELECT sex, age_band, count(*) AS n FROM person GROUP BY ALL ORDER BY ALL"},
		{"join", `SELECT p.sex, count(*) AS encounters, sum(e.los) AS bed_days
			FROM person p JOIN encounter e USING (pseudonym) GROUP BY p.sex ORDER BY p.sex`},
		{"left join with nulls", `SELECT p.pseudonym, count(e.admitted) AS n FROM person p
			LEFT JOIN encounter e USING (pseudonym) GROUP BY 1 ORDER BY 2, 1 LIMIT 5`},
		{"window", `SELECT pseudonym, admitted, row_number() OVER (PARTITION BY pseudonym ORDER BY admitted) AS k,
			lag(admitted) OVER (PARTITION BY pseudonym ORDER BY admitted) AS previous FROM encounter ORDER BY 1, 2`},
		{"cte", `WITH busy AS (SELECT pseudonym, count(*) AS n FROM encounter GROUP BY 1 HAVING count(*) > 1)
			SELECT p.age_band, count(*) FROM busy JOIN person p USING (pseudonym) GROUP BY 1 ORDER BY 1`},
		{"nested cte in subquery", `SELECT * FROM (WITH x AS (SELECT los FROM encounter) SELECT max(los) AS m FROM x)`},
		{"recursive cte", `WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t WHERE n < 10) SELECT sum(n) FROM t`},
		{"from first", "FROM person SELECT count(*) WHERE sex = 'F'"},
		{"upper-case names", "SELECT COUNT(*) FROM PERSON"},
		{"union and values", "SELECT 1 AS x UNION ALL SELECT * FROM (VALUES (2), (3)) ORDER BY x"},
		{"generate_series and unnest", "SELECT sum(g), (SELECT sum(u) FROM unnest([1, 2, 3]) t(u)) FROM generate_series(1, 4) s(g)"},
		{"range", "SELECT count(*) FROM range(100)"},
		{"string holding SQL words", "SELECT 'COPY person TO ''x''; ATTACH' AS s, ';' AS semi"},
		{"qualify and filter", `SELECT pseudonym, los FROM encounter QUALIFY row_number() OVER (ORDER BY los DESC, pseudonym) <= 3`},
		{"aggregates", `SELECT avg(los), median(los), quantile_cont(los, 0.9), stddev_samp(los), count(*) FILTER (WHERE los > 2),
			string_agg(DISTINCT sex, ',' ORDER BY sex) FROM encounter JOIN person USING (pseudonym)`},
		{"date arithmetic", "SELECT date_trunc('month', admitted) AS m, count(*) FROM encounter GROUP BY 1 ORDER BY 1"},
		{"comments", "-- a note\nSELECT /* inline */ count(*) FROM person -- trailing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := s.Query(context.Background(), tt.query)
			if err != nil {
				t.Fatalf("Query: %v", err)
			}
			if want := rawResult(t, f, tt.query); !reflect.DeepEqual(res.Rows, want) {
				t.Fatalf("sandbox rows %v\nraw DuckDB rows %v", res.Rows, want)
			}
			if res.Truncated || len(res.Rows) == 0 {
				t.Fatalf("truncated %v, %d rows", res.Truncated, len(res.Rows))
			}
		})
	}
}

func TestQuery_DescribeAndSummarizeAView(t *testing.T) {
	f := newFixture(t)
	s := openSession(t, Config{Dir: f.purpose})
	res, err := s.Query(context.Background(), "DESCRIBE person")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range res.Rows {
		names = append(names, r[0].(string))
	}
	if want := []string{"pseudonym", "sex", "age_band"}; !slices.Equal(names, want) {
		t.Fatalf("DESCRIBE columns = %v, want %v", names, want)
	}
	if _, err := s.Query(context.Background(), "SUMMARIZE SELECT los FROM encounter"); err != nil {
		t.Fatal(err)
	}
}

func TestQuery_CutsLargeResultsAtMaxRows(t *testing.T) {
	f := newFixture(t)
	s := openSession(t, Config{Dir: f.purpose, MaxRows: 25})
	tests := []struct {
		query     string
		rows      int
		truncated bool
	}{
		{"SELECT * FROM range(100000000)", 25, true},
		{"SELECT * FROM person p1, person p2, person p3", 25, true},
		{"SELECT * FROM person LIMIT 25", 25, false},
		{"SELECT * FROM person LIMIT 24", 24, false},
	}
	for _, tt := range tests {
		res, err := s.Query(context.Background(), tt.query)
		if err != nil {
			t.Fatalf("%s: %v", tt.query, err)
		}
		if len(res.Rows) != tt.rows || res.Truncated != tt.truncated {
			t.Errorf("%s: %d rows, truncated %v; want %d, %v", tt.query, len(res.Rows), res.Truncated, tt.rows, tt.truncated)
		}
	}
}

func TestQuery_StopsAtTimeout(t *testing.T) {
	f := newFixture(t)
	s := openSession(t, Config{Dir: f.purpose, Timeout: 200 * time.Millisecond})
	_, err := s.Query(context.Background(), "SELECT count(*) FROM range(1000000000000) a WHERE hash(a.range) % 7 = 3")
	var refused *RefusedError
	if !errors.As(err, &refused) || !strings.Contains(refused.Reason, "longer than the 200ms limit") {
		t.Fatalf("Query = %v, want a refusal for running past the time limit", err)
	}
	// The session is still usable afterwards.
	if _, err := s.Query(context.Background(), "SELECT 1"); err != nil {
		t.Fatalf("after a timeout: %v", err)
	}
}

func TestQuery_SyntaxErrorIsNotARefusal(t *testing.T) {
	f := newFixture(t)
	s := openSession(t, Config{Dir: f.purpose})
	_, err := s.Query(context.Background(), "SELEC 1")
	var refused *RefusedError
	if err == nil || errors.As(err, &refused) || !strings.Contains(err.Error(), "syntax error") {
		t.Fatalf("Query = %v, want DuckDB's syntax error", err)
	}
}

func TestConfig_RejectsBadValues(t *testing.T) {
	tests := []struct {
		cfg  Config
		want string
	}{
		{Config{}, "no purpose folder"},
		{Config{Dir: "x", MaxRows: -1}, "MaxRows -1"},
		{Config{Dir: "x", Timeout: -time.Second}, "Timeout -1s"},
		{Config{Dir: "x", Threads: -2}, "Threads -2"},
		{Config{Dir: "x", MemoryLimit: "1GB'; SET x=1; --"}, "is not a size"},
	}
	for _, tt := range tests {
		_, err := Open(context.Background(), tt.cfg)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Open(%+v) = %v, want %q", tt.cfg, err, tt.want)
		}
	}
}

func ExampleSession_Query() {
	dir, cleanup := exampleFolder()
	defer cleanup()
	ctx := context.Background()
	s, err := Open(ctx, Config{Dir: dir, MaxRows: 100})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()
	res, err := s.Query(ctx, "SELECT sex, count(*) AS n FROM person GROUP BY sex ORDER BY sex")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.Columns, res.Rows)
	_, err = s.Query(ctx, "COPY person TO 'person.csv'")
	fmt.Println(err)
	// Output:
	// [sex n] [[F 2] [M 1]]
	// sandbox: query refused: only a single read-only query (SELECT, WITH ... SELECT, FROM, VALUES, DESCRIBE, SUMMARIZE) may run; the text holds a statement that writes, copies, attaches, loads, changes settings or is not a query
}

func TestSession_ConcurrentQueriesAndRefusals(t *testing.T) {
	f := newFixture(t)
	s := openSession(t, Config{Dir: f.purpose})
	errs := make(chan error, 16)
	for i := range 16 {
		go func() {
			if i%2 == 0 {
				res, err := s.Query(context.Background(), "SELECT count(*) FROM person JOIN encounter USING (pseudonym)")
				if err == nil && res.Rows[0][0] != int64(49) {
					err = fmt.Errorf("count = %v, want 49", res.Rows[0][0])
				}
				errs <- err
				return
			}
			_, err := s.Query(context.Background(), "COPY person TO 'x.csv'")
			if _, ok := errors.AsType[*RefusedError](err); !ok {
				errs <- fmt.Errorf("COPY = %v, want a refusal", err)
				return
			}
			errs <- nil
		}()
	}
	for range 16 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

func TestOpen_EmptyFolderHasNoTables(t *testing.T) {
	s := openSession(t, Config{Dir: t.TempDir()})
	if got := s.Tables(); len(got) != 0 {
		t.Fatalf("Tables() = %v", got)
	}
	if _, err := s.Query(context.Background(), "SELECT * FROM person"); err == nil || !strings.Contains(err.Error(), `there is no table "person"`) {
		t.Fatalf("Query = %v", err)
	}
	if _, err := Open(context.Background(), Config{Dir: filepath.Join(t.TempDir(), "missing")}); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Fatalf("Open(missing) = %v", err)
	}
}
