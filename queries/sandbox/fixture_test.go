package sandbox

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"

	duckdb "github.com/duckdb/duckdb-go/v2"
)

// secretText is the content of files outside the purpose folder; no query
// may ever return it or put it in an error message.
const secretText = "TOP-SECRET-lake-key-6f1d"

// fixture is a workspace with two purposes and restricted files beside
// them:
//
//	root/secret.txt, root/keys/lake.key        secrets
//	root/lake/mpi/links.parquet                identifiable zone
//	root/purposes/p1/person/part-0.parquet     40 people p00..p39
//	root/purposes/p1/encounter/year=2025/month=0{1,2}/part-0.parquet
//	root/purposes/p2/person/part-0.parquet     another purpose's people
type fixture struct {
	root, purpose, other string
}

func newFixture(t testing.TB) fixture {
	t.Helper()
	root := t.TempDir()
	f := fixture{
		root:    root,
		purpose: filepath.Join(root, "purposes", "p1"),
		other:   filepath.Join(root, "purposes", "p2"),
	}
	for _, d := range []string{
		"keys", "lake/mpi", "purposes/p1/person", "purposes/p1/encounter/year=2025/month=01",
		"purposes/p1/encounter/year=2025/month=02", "purposes/p2/person",
	} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []string{"secret.txt", "keys/lake.key"} {
		if err := os.WriteFile(filepath.Join(root, p), []byte(secretText+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	rawExec(t,
		// person: pseudonym p00..p39, sex F for even i, age band by i % 4.
		copyTo(`SELECT printf('p%02d', i) AS pseudonym, CASE WHEN i % 2 = 0 THEN 'F' ELSE 'M' END AS sex,
			['0-17','18-44','45-64','65+'][i % 4 + 1] AS age_band FROM range(40) t(i)`, f.purpose+"/person/part-0.parquet"),
		// encounter: person i has i % 3 encounters in January (days 1..), and
		// people 0..9 one more in February; length of stay = i % 5 days.
		copyTo(`SELECT printf('p%02d', i) AS pseudonym, DATE '2025-01-01' + j::INT AS admitted, i % 5 AS los
			FROM range(40) t(i), range(3) u(j) WHERE j < i % 3`, f.purpose+"/encounter/year=2025/month=01/part-0.parquet"),
		copyTo(`SELECT printf('p%02d', i) AS pseudonym, DATE '2025-02-01' AS admitted, i % 5 AS los
			FROM range(10) t(i)`, f.purpose+"/encounter/year=2025/month=02/part-0.parquet"),
		copyTo(`SELECT printf('q%02d', i) AS pseudonym, 'F' AS sex, '65+' AS age_band FROM range(5) t(i)`,
			f.other+"/person/part-0.parquet"),
		copyTo(`SELECT '9434765919' AS nhs_number, 'SMITH' AS surname, 'p00' AS pseudonym`,
			root+"/lake/mpi/links.parquet"),
	)
	return f
}

func copyTo(query, path string) string {
	return "COPY (" + query + ") TO " + literal(path) + " (FORMAT parquet)"
}

// rawExec runs statements on a fresh, unrestricted DuckDB.
func rawExec(t testing.TB, stmts ...string) {
	t.Helper()
	db := rawDB(t)
	defer db.Close()
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

func rawDB(t testing.TB) *sql.DB {
	t.Helper()
	c, err := duckdb.NewConnector("", nil)
	if err != nil {
		t.Fatal(err)
	}
	return sql.OpenDB(c)
}

func openSession(t testing.TB, cfg Config) *Session {
	t.Helper()
	s, err := Open(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Open(%+v): %v", cfg, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// exampleFolder writes a purpose folder with a three-person table for the
// examples, which have no testing.T.
func exampleFolder() (dir string, cleanup func()) {
	dir, err := os.MkdirTemp("", "sandbox-example")
	if err != nil {
		panic(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "person"), 0o755); err != nil {
		panic(err)
	}
	c, err := duckdb.NewConnector("", nil)
	if err != nil {
		panic(err)
	}
	db := sql.OpenDB(c)
	defer db.Close()
	q := copyTo("SELECT * FROM (VALUES ('a1', 'F'), ('b2', 'M'), ('c3', 'F')) t(pseudonym, sex)", filepath.Join(dir, "person", "part-0.parquet"))
	if _, err := db.Exec(q); err != nil {
		panic(err)
	}
	return dir, func() { os.RemoveAll(dir) }
}
