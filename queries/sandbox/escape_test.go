package sandbox

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	duckdb "github.com/duckdb/duckdb-go/v2"
)

// escapeAttempt is one query an analyst might try in order to read, write
// or learn something outside the purpose. docs/sandbox.md lists them.
type escapeAttempt struct {
	name  string
	query string
	// want is a substring of the refusal's reason.
	want string
}

// escapeAttempts are written against newFixture: {root} is the workspace,
// {purpose} the purpose folder and {other} another purpose's folder.
var escapeAttempts = []escapeAttempt{
	// Reading files with table functions, even inside the purpose.
	{"read_parquet of a file inside the purpose", "SELECT * FROM read_parquet('{purpose}/person/part-0.parquet')", "table function read_parquet() is not allowed"},
	{"read_parquet of another purpose", "SELECT * FROM read_parquet('{other}/person/part-0.parquet')", "table function read_parquet() is not allowed"},
	{"parquet_scan alias", "SELECT * FROM parquet_scan('{other}/person/part-0.parquet')", "table function parquet_scan() is not allowed"},
	{"read_csv of the secret", "SELECT * FROM read_csv('{root}/secret.txt')", "table function read_csv() is not allowed"},
	{"read_csv_auto of the lake key", "SELECT * FROM read_csv_auto('{root}/keys/lake.key')", "table function read_csv_auto() is not allowed"},
	{"read_text of the secret", "SELECT content FROM read_text('{root}/secret.txt')", "table function read_text() is not allowed"},
	{"read_blob of the secret", "SELECT content FROM read_blob('{root}/secret.txt')", "table function read_blob() is not allowed"},
	{"read_json of the secret", "SELECT * FROM read_json('{root}/secret.txt')", "table function read_json() is not allowed"},
	{"identifiable zone by read_parquet", "SELECT nhs_number FROM read_parquet('{root}/lake/mpi/links.parquet')", "table function read_parquet() is not allowed"},
	{"parquet_metadata reveals files", "SELECT * FROM parquet_metadata('{purpose}/person/part-0.parquet')", "table function parquet_metadata() is not allowed"},
	{"glob of the workspace", "SELECT * FROM glob('{root}/**')", "table function glob() is not allowed"},
	{"glob of the purpose", "SELECT * FROM glob('{purpose}/*')", "table function glob() is not allowed"},
	{"sniff_csv of the secret", "SELECT * FROM sniff_csv('{root}/secret.txt')", "table function sniff_csv() is not allowed"},
	{"table function in a subquery", "SELECT (SELECT count(*) FROM read_text('{root}/secret.txt')) AS n", "table function read_text() is not allowed"},
	{"table function in a lateral join", "SELECT * FROM person, LATERAL (SELECT * FROM read_text('{root}/secret.txt'))", "table function read_text() is not allowed"},
	{"quoted upper-case table function", `SELECT * FROM "READ_TEXT"('{root}/secret.txt')`, "table function read_text() is not allowed"},
	{"query() runs SQL from a string", "SELECT * FROM query('SELECT * FROM duckdb_settings()')", "table function query() is not allowed"},
	{"query_table()", "SELECT * FROM query_table('person')", "table function query_table() is not allowed"},
	{"sqlite_scan attaches a file", "SELECT * FROM sqlite_scan('{root}/secret.txt', 't')", "table function sqlite_scan() is not allowed"},

	// Replacement scans: a path or glob written as a table name.
	{"file path as a table", "SELECT * FROM '{root}/secret.txt'", "looks like a file path"},
	{"relative path traversal", "SELECT * FROM '../p2/person/part-0.parquet'", "looks like a file path"},
	{"glob of the purpose as a table", "SELECT * FROM '{purpose}/person/*.parquet'", "looks like a file path"},
	{"path joined to a view", "SELECT * FROM person, '{root}/lake/mpi/links.parquet'", "looks like a file path"},

	// Writing.
	{"COPY a view to a file inside the purpose", "COPY person TO '{purpose}/person/copy.parquet'", "only a single read-only query"},
	{"COPY a query to a file outside", "COPY (SELECT 42) TO '{root}/out.csv'", "only a single read-only query"},
	{"COPY to a relative path", "COPY person TO 'escape.csv'", "only a single read-only query"},
	{"COPY FROM the secret", "COPY person FROM '{root}/secret.txt'", "only a single read-only query"},
	{"EXPORT DATABASE", "EXPORT DATABASE '{purpose}/export'", "only a single read-only query"},
	{"CREATE TABLE AS", "CREATE TABLE t AS SELECT * FROM person", "only a single read-only query"},
	{"CREATE TEMP TABLE", "CREATE TEMP TABLE t (x INT)", "only a single read-only query"},
	{"CREATE VIEW over a file", "CREATE VIEW v AS SELECT * FROM read_text('{root}/secret.txt')", "only a single read-only query"},
	{"CREATE OR REPLACE a purpose view", "CREATE OR REPLACE VIEW person AS SELECT * FROM '{other}/person/part-0.parquet'", "only a single read-only query"},
	{"INSERT", "INSERT INTO person VALUES ('x', 'F', '65+')", "only a single read-only query"},
	{"UPDATE", "UPDATE person SET sex = 'X'", "only a single read-only query"},
	{"DELETE", "DELETE FROM person", "only a single read-only query"},
	{"DROP a view", "DROP VIEW person", "only a single read-only query"},
	{"ALTER a view", "ALTER VIEW person RENAME TO p", "only a single read-only query"},
	{"CREATE SECRET", "CREATE SECRET s (TYPE s3, KEY_ID 'k', SECRET 's')", "only a single read-only query"},
	{"CHECKPOINT", "CHECKPOINT", "only a single read-only query"},

	// Attaching and extensions.
	{"ATTACH a file", "ATTACH '{root}/secret.db' AS s", "only a single read-only query"},
	{"ATTACH in memory", "ATTACH ':memory:' AS m", "only a single read-only query"},
	{"DETACH", "DETACH memory", "only a single read-only query"},
	{"USE another database", "USE system", "only a single read-only query"},
	{"INSTALL an extension", "INSTALL httpfs", "only a single read-only query"},
	{"LOAD an extension", "LOAD httpfs", "only a single read-only query"},
	{"FORCE INSTALL from a URL", "FORCE INSTALL shell FROM 'http://example.invalid'", "only a single read-only query"},

	// Settings.
	{"SET enable_external_access", "SET enable_external_access = true", "only a single read-only query"},
	{"SET lock_configuration", "SET lock_configuration = false", "only a single read-only query"},
	{"SET allowed_directories", "SET allowed_directories = ['/']", "only a single read-only query"},
	{"RESET allowed_paths", "RESET allowed_paths", "only a single read-only query"},
	{"SET VARIABLE", "SET VARIABLE x = 1", "only a single read-only query"},
	{"PRAGMA", "PRAGMA database_list", "only a single read-only query"},
	{"PRAGMA enable_profiling to a file", "PRAGMA profiling_output = '{root}/profile.json'", "only a single read-only query"},
	{"CALL a pragma function", "CALL pragma_table_info('person')", "only a single read-only query"},
	{"BEGIN a transaction", "BEGIN TRANSACTION", "only a single read-only query"},

	// Macros, prepared statements, EXPLAIN, PIVOT.
	{"CREATE MACRO", "CREATE MACRO leak() AS getenv('HOME')", "only a single read-only query"},
	{"CREATE TABLE MACRO", "CREATE MACRO f() AS TABLE SELECT * FROM read_text('{root}/secret.txt')", "only a single read-only query"},
	{"PREPARE a COPY", "PREPARE p AS COPY person TO '{root}/out.csv'", "only a single read-only query"},
	{"EXECUTE a prepared statement", "EXECUTE p", "only a single read-only query"},
	{"EXPLAIN ANALYZE", "EXPLAIN ANALYZE SELECT * FROM person", "only a single read-only query"},
	{"dynamic PIVOT creates a type", "PIVOT person ON sex USING count(*)", "only a single read-only query"},

	// Several statements and hiding places.
	{"two queries", "SELECT 1; SELECT 2", "2 statements"},
	{"query then COPY", "SELECT 1; COPY person TO '{root}/out.csv'", "only a single read-only query"},
	{"COPY hidden after a block comment", "SELECT 1 /* harmless */; COPY person TO '{purpose}/c.csv' -- done", "only a single read-only query"},
	{"statement after a string holding a semicolon", "SELECT ';'; COPY person TO '{purpose}/c.csv'", "only a single read-only query"},
	{"statement after a dollar-quoted string", "SELECT $$ ; $$; ATTACH ':memory:' AS m", "only a single read-only query"},
	{"second query after a line comment", "SELECT 1 -- note\n; SELECT * FROM read_text('{root}/secret.txt')", "2 statements"},
	{"SET after a string with an escaped quote", "SELECT 'it''s'; SET threads = 1", "only a single read-only query"},
	{"NUL byte hides a tail", "SELECT 1\x00; COPY person TO '{root}/out.csv'", "NUL character"},
	{"empty text", "  \n ", "empty"},

	// Settings, environment, catalog and paths through functions and views.
	{"getenv", "SELECT getenv('HOME')", "function getenv() is not allowed"},
	{"getenv in a lambda", "SELECT list_transform(['HOME'], x -> getenv(x))", "function getenv() is not allowed"},
	{"schema-qualified getenv", "SELECT main.getenv('HOME')", "function getenv() is not allowed"},
	{"current_setting reveals allowed paths", "SELECT current_setting('allowed_paths')", "function current_setting() is not allowed"},
	{"getvariable", "SELECT getvariable('x')", "function getvariable() is not allowed"},
	{"duckdb_settings()", "SELECT * FROM duckdb_settings()", "table function duckdb_settings() is not allowed"},
	{"duckdb_views() reveals file paths", "SELECT sql FROM duckdb_views()", "table function duckdb_views() is not allowed"},
	{"duckdb_databases()", "SELECT path FROM duckdb_databases()", "table function duckdb_databases() is not allowed"},
	{"duckdb_extensions()", "SELECT * FROM duckdb_extensions()", "table function duckdb_extensions() is not allowed"},
	{"duckdb_views system view", "SELECT sql FROM duckdb_views", `"duckdb_views" is a DuckDB system view`},
	{"information_schema.views", "SELECT view_definition FROM information_schema.views", "qualified by a schema or database"},
	{"pg_catalog.pg_settings", "SELECT * FROM pg_catalog.pg_settings", "qualified by a schema or database"},
	{"unqualified pg_views", "SELECT definition FROM pg_views", `"pg_views" is a DuckDB system view`},
	{"sqlite_master", "SELECT sql FROM sqlite_master", `"sqlite_master" is a DuckDB system view`},
	{"pg_get_viewdef", "SELECT pg_get_viewdef(0)", "function pg_get_viewdef() is not allowed"},
	{"system database qualified", "SELECT * FROM system.main.duckdb_settings", "qualified by a schema or database"},
	{"another database's view", "SELECT * FROM memory.main.person", "qualified by a schema or database"},
	{"CTE shadowing a system view", "WITH duckdb_views AS (SELECT 1) SELECT * FROM duckdb_views", "would shadow a DuckDB system view"},
	{"CTE out of scope", "SELECT * FROM (WITH q AS (SELECT 1) SELECT * FROM q), q", `there is no table "q"`},
	{"CTE named like a file", `WITH "{root}/secret.txt" AS (SELECT 1) SELECT 1`, "is not a plain identifier"},
	{"system view inside a CTE", "WITH s AS (SELECT * FROM duckdb_settings()) SELECT * FROM s", "table function duckdb_settings() is not allowed"},
	{"system view in a union", "SELECT 'x' FROM person UNION ALL SELECT sql FROM duckdb_views()", "table function duckdb_views() is not allowed"},
	{"system view in a WHERE subquery", "SELECT * FROM person WHERE sex IN (SELECT value FROM duckdb_settings())", "table function duckdb_settings() is not allowed"},
	{"SHOW TABLES", "SHOW ALL TABLES", "SHOW lists the catalog"},
	{"DESCRIBE a system function", "DESCRIBE SELECT * FROM duckdb_settings()", "table function duckdb_settings() is not allowed"},
	{"SUMMARIZE a file", "SUMMARIZE SELECT * FROM read_text('{root}/secret.txt')", "table function read_text() is not allowed"},
	{"json_execute_serialized_sql", "SELECT * FROM json_execute_serialized_sql(json_serialize_sql('SELECT 1'))", "table function json_execute_serialized_sql() is not allowed"},
	{"a table that does not exist", "SELECT * FROM mpi", `there is no table "mpi"`},
	{"write_log writes DuckDB's log", "SELECT write_log('x', level := 'error')", "function write_log() is not allowed"},
	{"enable_logging() as a table function", "SELECT * FROM enable_logging()", "table function enable_logging() is not allowed"},
	{"checkpoint() as a table function", "SELECT * FROM checkpoint()", "table function checkpoint() is not allowed"},
	{"read_duckdb of a database file", "SELECT * FROM read_duckdb('{root}/secret.txt')", "table function read_duckdb() is not allowed"},
	{"duckdb_secrets()", "SELECT * FROM duckdb_secrets()", "table function duckdb_secrets() is not allowed"},
	{"pg_sleep stalls the session", "SELECT pg_sleep(1000)", "function pg_sleep() is not allowed"},
}

func TestSandbox_RefusesEscapeAttempts(t *testing.T) {
	if len(escapeAttempts) < 40 {
		t.Fatalf("only %d escape attempts; the issue asks for at least 40", len(escapeAttempts))
	}
	f := newFixture(t)
	s := openSession(t, Config{Dir: f.purpose})
	cwd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, f.root)
	cwdBefore := snapshot(t, cwd)
	for _, tt := range escapeAttempts {
		t.Run(tt.name, func(t *testing.T) {
			q := expand(tt.query, f)
			res, err := s.Query(context.Background(), q)
			var refused *RefusedError
			if !errors.As(err, &refused) {
				t.Fatalf("Query(%q) = %+v, %v; want a refusal", q, res, err)
			}
			if !strings.Contains(refused.Reason, tt.want) {
				t.Errorf("reason %q does not say %q", refused.Reason, tt.want)
			}
			if strings.Contains(err.Error(), secretText) {
				t.Errorf("error reveals the secret: %v", err)
			}
			if after := snapshot(t, f.root); !slices.Equal(after, before) {
				t.Errorf("files changed under the workspace:\nbefore %v\nafter  %v", before, after)
			}
			if after := snapshot(t, cwd); !slices.Equal(after, cwdBefore) {
				t.Errorf("files changed in the working directory:\nbefore %v\nafter  %v", cwdBefore, after)
			}
		})
	}
	// The session still answers afterwards: nothing above broke it.
	if res, err := s.Query(context.Background(), "SELECT count(*) FROM person"); err != nil || res.Rows[0][0] != int64(40) {
		t.Fatalf("after the attempts: %+v, %v", res, err)
	}
}

// TestSandbox_DuckDBLayerHoldsWithoutTheCheck runs attempts past the
// statement check, straight on the locked-down DuckDB, to show the second
// layer holds by itself for reads outside the purpose, settings and
// extensions. (It does not hold for COPY into the purpose folder's files'
// own directory, which is why the check exists.)
func TestSandbox_DuckDBLayerHoldsWithoutTheCheck(t *testing.T) {
	f := newFixture(t)
	s := openSession(t, Config{Dir: f.purpose})
	tests := []struct{ name, query, want string }{
		{"read_text of the secret", "SELECT content FROM read_text('{root}/secret.txt')", "Permission Error"},
		{"read_parquet of another purpose", "SELECT * FROM read_parquet('{other}/person/part-0.parquet')", "Permission Error"},
		{"identifiable zone", "SELECT * FROM '{root}/lake/mpi/links.parquet'", "Permission Error"},
		{"glob of the workspace", "SELECT * FROM glob('{root}/*')", "Permission Error"},
		{"COPY outside", "COPY (SELECT 1) TO '{root}/out.csv'", "Permission Error"},
		{"SET enable_external_access", "SET enable_external_access = true", "configuration has been locked"},
		{"RESET allowed_paths", "RESET allowed_paths", "configuration has been locked"},
		{"LOAD", "LOAD httpfs", "Permission Error"},
		{"ATTACH a file", "ATTACH '{root}/x.db' AS x", "Permission Error"},
	}
	before := snapshot(t, f.root)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.db.ExecContext(context.Background(), expand(tt.query, f))
			if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), secretText) {
				t.Fatalf("raw Exec = %v, want %q", err, tt.want)
			}
		})
	}
	if after := snapshot(t, f.root); !slices.Equal(after, before) {
		t.Errorf("files changed: before %v after %v", before, after)
	}
}

// linkAttempts plant a link or a bad name in the purpose folder; Open must
// refuse the folder.
var linkAttempts = []struct {
	name  string
	plant func(f fixture) error
	want  string
}{
	{"table directory symlinked to another purpose", func(f fixture) error {
		return os.Symlink(filepath.Join(f.other, "person"), filepath.Join(f.purpose, "people"))
	}, "people is a symlink"},
	{"Parquet file symlinked to another purpose", func(f fixture) error {
		return os.Symlink(filepath.Join(f.other, "person", "part-0.parquet"), filepath.Join(f.purpose, "person", "part-1.parquet"))
	}, "outside the purpose folder"},
	{"Parquet file symlinked to the identifiable zone", func(f fixture) error {
		return os.Symlink(filepath.Join(f.root, "lake", "mpi", "links.parquet"), filepath.Join(f.purpose, "person", "x.parquet"))
	}, "outside the purpose folder"},
	{"any file symlinked to the secret", func(f fixture) error {
		return os.Symlink(filepath.Join(f.root, "secret.txt"), filepath.Join(f.purpose, "person", "notes.txt"))
	}, "outside the purpose folder"},
	{"partition directory symlinked outside", func(f fixture) error {
		return os.Symlink(filepath.Join(f.root, "lake", "mpi"), filepath.Join(f.purpose, "encounter", "year=2024"))
	}, "outside the purpose folder"},
	{"symlink climbing with ..", func(f fixture) error {
		return os.Symlink("../../../lake/mpi/links.parquet", filepath.Join(f.purpose, "person", "up.parquet"))
	}, "outside the purpose folder"},
	{"hard link to the identifiable zone", func(f fixture) error {
		return os.Link(filepath.Join(f.root, "lake", "mpi", "links.parquet"), filepath.Join(f.purpose, "person", "h.parquet"))
	}, "hard links"},
	{"table named like a system view", func(f fixture) error {
		return os.Rename(filepath.Join(f.purpose, "person"), filepath.Join(f.purpose, "duckdb_views"))
	}, "name of a DuckDB system view"},
	{"table named with SQL in it", func(f fixture) error {
		return os.Rename(filepath.Join(f.purpose, "person"), filepath.Join(f.purpose, `x" AS SELECT 1; --`))
	}, "not a lower-case SQL identifier"},
}

func TestOpen_RefusesLinksOutOfTheFolder(t *testing.T) {
	for _, tt := range linkAttempts {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			if err := tt.plant(f); err != nil {
				t.Fatal(err)
			}
			s, err := Open(context.Background(), Config{Dir: f.purpose})
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded over a planted link")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Open = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestOpen_FollowsLinksThatStayInside(t *testing.T) {
	f := newFixture(t)
	// The folder reached through a symlink, and a file linked within it.
	link := filepath.Join(f.root, "current")
	if err := os.Symlink(f.purpose, link); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("part-0.parquet", filepath.Join(f.purpose, "person", "alias.parquet")); err != nil {
		t.Fatal(err)
	}
	s := openSession(t, Config{Dir: link})
	res, err := s.Query(context.Background(), "SELECT count(*) FROM person")
	if err != nil || res.Rows[0][0] != int64(40) {
		t.Fatalf("count = %+v, %v; want 40 (the aliased file read once)", res, err)
	}
}

func expand(q string, f fixture) string {
	return strings.NewReplacer("{root}", f.root, "{purpose}", f.purpose, "{other}", f.other).Replace(q)
}

// TestPreparedSelect_RefusesWhatTheParseCheckMissed exercises the second
// opinion on its own: DuckDB's statement type for texts that the parse
// tree check would already refuse. It also records why the statement type
// alone is not enough: DuckDB rewrites a PRAGMA that returns rows into a
// SELECT from a table function, so "PRAGMA version" prepares as a SELECT.
func TestPreparedSelect_RefusesWhatTheParseCheckMissed(t *testing.T) {
	f := newFixture(t)
	s := openSession(t, Config{Dir: f.purpose})
	tests := []struct{ query, want string }{
		{"COPY person TO 'x.csv'", "Permission Error"}, // DuckDB's own sandbox refuses it while binding
		{"COPY (SELECT 1) TO '{purpose}/person/x.csv'", "Permission Error"},
		{"EXPLAIN SELECT 1", "statement type"},
		{"PRAGMA enable_profiling", "statement type"},
		{"PRAGMA version", ""}, // a SELECT to DuckDB: only the parse check refuses it
		{"SET threads = 1", "statement type"},
		{"SELECT 1; SELECT 2", "exactly one query"},
		{"SELECT 1", ""},
	}
	conn, err := s.db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, tt := range tests {
		err := conn.Raw(func(dc any) error {
			st, err := preparedSelect(dc.(*duckdb.Conn), expand(tt.query, f))
			if err == nil {
				st.Close()
			}
			return err
		})
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: %v", tt.query, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%s: %v, want an error saying %q", tt.query, err, tt.want)
		}
	}
}

// TestDuckDB_AllowedDirectoryLetsCopyWrite records why the sandbox lists
// files in allowed_paths and checks statements itself: with DuckDB's own
// sandbox fully on (external access disabled, configuration locked), a
// directory in allowed_directories can be written to with COPY. Should a
// DuckDB upgrade close this, the test fails and docs/sandbox.md needs
// updating (the statement check stays regardless).
func TestDuckDB_AllowedDirectoryLetsCopyWrite(t *testing.T) {
	dir := t.TempDir()
	db := rawDB(t)
	defer db.Close()
	for _, stmt := range []string{
		"SET allowed_directories = [" + literal(dir+"/") + "]",
		"SET enable_external_access = false",
		"SET lock_configuration = true",
		"COPY (SELECT 42 AS answer) TO " + literal(dir+"/written.csv"),
	} {
		if _, err := db.Exec(stmt); err != nil {
			t.Fatalf("%s: %v (DuckDB now refuses; update docs/sandbox.md)", stmt, err)
		}
	}
	if _, err := os.Stat(dir + "/written.csv"); err != nil {
		t.Fatalf("COPY reported success but wrote nothing: %v", err)
	}
}
