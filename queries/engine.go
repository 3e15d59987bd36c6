package queries

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/pophealth/pophealth/codelists"
	"github.com/pophealth/pophealth/lake"
	"github.com/pophealth/pophealth/models"
)

//go:embed sql/*.sql
var sqlFiles embed.FS

// ErrNotReadOnly is returned by Query for any statement other than a single
// read-only query.
var ErrNotReadOnly = errors.New("queries: only a single SELECT statement may be run")

// Engine is an in-memory DuckDB database whose views read the lake's
// committed pseudonymised files. It is safe for concurrent use.
//
// The engine sees the lake as it was at Open: batches committed later
// appear only in an engine opened after them. It can read the files its
// views name and nothing else: no other file (the restricted zones, the
// feeds, the keys), no network, no extension, and its settings are locked.
type Engine struct {
	db *sql.DB
	// present holds, for an engine over a purpose's folder (OpenFolder),
	// the columns each table's files really have; nil for the lake, whose
	// files have every column.
	present map[models.Table]map[string]bool
}

// Open builds an engine over the lake: one view per lake table
// (models.Tables) over the files the manifests list, the code lists as
// tables ltc_codes, observation_codes and medication_codes, and the views
// and macros of sql/views.sql (person_at, spell, ltc_at, age_band).
func Open(ctx context.Context, l *lake.Lake) (*Engine, error) {
	connector, err := duckdb.NewConnector("", nil)
	if err != nil {
		return nil, fmt.Errorf("queries: open DuckDB: %w", err)
	}
	e := &Engine{db: sql.OpenDB(connector)}
	files := func(t models.Table) ([]string, error) { return l.Files("pseudo/" + string(t)) }
	if err := e.build(ctx, l, files); err != nil {
		e.db.Close()
		return nil, err
	}
	return e, nil
}

// OpenFolder builds an engine like Open's over a purpose's materialised
// data instead of the lake: each table's view reads the Parquet files of
// dir/<table>/ (purpose.DataDir) and nothing else. The lake is read only
// for its batch list (lake_batch, which dates the data). A table the
// folder lacks is an empty view, and a column its files lack reads as
// NULL, so that every query binds; Missing says which columns those are,
// for callers that must refuse rather than count NULLs.
func OpenFolder(ctx context.Context, l *lake.Lake, dir string) (*Engine, error) {
	connector, err := duckdb.NewConnector("", nil)
	if err != nil {
		return nil, fmt.Errorf("queries: open DuckDB: %w", err)
	}
	e := &Engine{db: sql.OpenDB(connector), present: map[models.Table]map[string]bool{}}
	files := func(t models.Table) ([]string, error) {
		found, err := filepath.Glob(filepath.Join(dir, string(t), "*.parquet"))
		if err != nil || len(found) == 0 {
			return nil, err
		}
		if e.present[t], err = e.fileColumns(ctx, found); err != nil {
			return nil, fmt.Errorf("%s: %w", filepath.Join(dir, string(t)), err)
		}
		return found, nil
	}
	if err := e.build(ctx, l, files); err != nil {
		e.db.Close()
		return nil, err
	}
	return e, nil
}

// fileColumns returns the names of the columns the Parquet files hold.
func (e *Engine) fileColumns(ctx context.Context, files []string) (map[string]bool, error) {
	quoted := make([]string, len(files))
	for i, f := range files {
		quoted[i] = literal(f)
	}
	rows, err := e.db.QueryContext(ctx, "SELECT DISTINCT name FROM parquet_schema(["+strings.Join(quoted, ", ")+"]) WHERE num_children IS NULL")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, err
		}
		out[name] = true
	}
	return out, rows.Err()
}

// Missing returns those of table t's columns that the engine's data does
// not hold, in the order given: none over the lake; over a purpose's
// folder (OpenFolder), those the purpose leaves out or generalises away
// (an age band instead of year and month of birth), and every column of
// a table the purpose does not have.
func (e *Engine) Missing(t models.Table, columns ...string) []string {
	if e.present == nil {
		return nil
	}
	var out []string
	for _, c := range columns {
		if !e.present[t][c] {
			out = append(out, c)
		}
	}
	return out
}

// Close releases the database.
func (e *Engine) Close() error { return e.db.Close() }

// build creates the views over the files tableFiles lists for each table,
// the lake's batches, the code lists and views.sql, then locks down.
func (e *Engine) build(ctx context.Context, l *lake.Lake, tableFiles func(models.Table) ([]string, error)) error {
	var readable []string
	remap, err := e.loadKeyMap(ctx, l)
	if err != nil {
		return err
	}
	for _, t := range models.Tables {
		cols, err := tableColumns(t)
		if err != nil {
			return err
		}
		files, err := tableFiles(t)
		if err != nil {
			return fmt.Errorf("queries: table %s: %w", t, err)
		}
		if _, err := e.db.ExecContext(ctx, remappedViewDDL(t, cols, files, remap)); err != nil {
			return fmt.Errorf("queries: view %s over %d files: %w", t, len(files), err)
		}
		readable = append(readable, files...)
	}
	if err := e.loadBatches(ctx, l); err != nil {
		return err
	}
	if err := e.loadCodelists(ctx); err != nil {
		return err
	}
	if err := e.execFile(ctx, "views.sql"); err != nil {
		return err
	}
	return e.lockDown(ctx, readable)
}

// loadBatches creates lake_batch, which person_at uses to order a person's
// rows by recency.
func (e *Engine) loadBatches(ctx context.Context, l *lake.Lake) error {
	ms, err := l.Manifests()
	if err != nil {
		return fmt.Errorf("queries: %w", err)
	}
	rows := make([][]any, len(ms))
	for i, m := range ms {
		rows[i] = []any{m.BatchID, m.CommittedAt}
	}
	return e.createTable(ctx, "lake_batch", "batch_id VARCHAR, committed_at TIMESTAMP", rows)
}

// loadCodelists creates a table per embedded code list.
func (e *Engine) loadCodelists(ctx context.Context) error {
	lists := []struct {
		table   string
		columns string
		entries []codelists.Entry
		measure bool
	}{
		{"ltc_codes", "condition VARCHAR, code_system VARCHAR, code VARCHAR, term VARCHAR", codelists.LongTermConditions(), false},
		{"observation_codes", "measure VARCHAR, code_system VARCHAR, code VARCHAR, unit VARCHAR, term VARCHAR", codelists.Observations(), true},
		{"medication_codes", "condition VARCHAR, code_system VARCHAR, code VARCHAR, term VARCHAR", codelists.Medications(), false},
	}
	for _, list := range lists {
		rows := make([][]any, len(list.entries))
		for i, c := range list.entries {
			if list.measure {
				rows[i] = []any{c.Name, string(c.System), c.Code, c.Unit, c.Term}
			} else {
				rows[i] = []any{c.Name, string(c.System), c.Code, c.Term}
			}
		}
		if err := e.createTable(ctx, list.table, list.columns, rows); err != nil {
			return err
		}
	}
	return nil
}

// createTable creates a table and fills it with rows in one transaction.
func (e *Engine) createTable(ctx context.Context, name, columns string, rows [][]any) error {
	tx, err := e.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("queries: table %s: %w", name, err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("CREATE TABLE %s (%s)", ident(name), columns)); err != nil {
		return fmt.Errorf("queries: table %s: %w", name, err)
	}
	if len(rows) > 0 {
		marks := strings.TrimSuffix(strings.Repeat("?, ", len(rows[0])), ", ")
		stmt, err := tx.PrepareContext(ctx, fmt.Sprintf("INSERT INTO %s VALUES (%s)", ident(name), marks))
		if err != nil {
			return fmt.Errorf("queries: table %s: %w", name, err)
		}
		defer stmt.Close()
		for _, r := range rows {
			if _, err := stmt.ExecContext(ctx, r...); err != nil {
				return fmt.Errorf("queries: table %s: %w", name, err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("queries: table %s: %w", name, err)
	}
	return nil
}

// execFile runs the statements of an embedded SQL file.
func (e *Engine) execFile(ctx context.Context, name string) error {
	body, err := sqlFiles.ReadFile("sql/" + name)
	if err != nil {
		return fmt.Errorf("queries: %w", err)
	}
	if _, err := e.db.ExecContext(ctx, string(body)); err != nil {
		return fmt.Errorf("queries: sql/%s: %w", name, err)
	}
	return nil
}

// lockDown confines the database to the listed files: DuckDB refuses every
// other file system access (reading the restricted zones, writing with
// COPY, globbing) and network access, loads no extension, and no statement
// can change these settings afterwards.
func (e *Engine) lockDown(ctx context.Context, readable []string) error {
	return LockDown(ctx, e.db, readable)
}

// LockDown applies the engine's confinement to another DuckDB database or
// connection: only the readable files may be read and only below the
// writable directories may anything be written (COPY), with no network,
// no extension and the configuration locked. Other packages that read the
// lake with their own DuckDB (purpose materialisation) use it so that one
// place says how a pophealth DuckDB is locked.
func LockDown(ctx context.Context, db interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}, readable []string, writable ...string) error {
	quoted := make([]string, len(readable))
	for i, f := range readable {
		quoted[i] = literal(f)
	}
	stmts := []string{
		"SET autoinstall_known_extensions = false",
		"SET parquet_metadata_cache = true",
		"SET autoload_known_extensions = false",
		"SET allowed_paths = [" + strings.Join(quoted, ", ") + "]",
	}
	if len(writable) > 0 {
		dirs := make([]string, len(writable))
		for i, d := range writable {
			dirs[i] = literal(d)
		}
		stmts = append(stmts, "SET allowed_directories = ["+strings.Join(dirs, ", ")+"]")
	}
	stmts = append(stmts, "SET enable_external_access = false", "SET lock_configuration = true")
	for _, stmt := range stmts {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("queries: %s: %w", strings.SplitN(stmt, "=", 2)[0], err)
		}
	}
	return nil
}

// Result is the outcome of Query: column names and rows of values as the
// DuckDB driver returns them (string, int64, float64, bool, time.Time,
// []byte, nil for NULL, ...).
type Result struct {
	Columns []string
	Rows    [][]any
}

// Query runs one read-only statement (SELECT, WITH ... SELECT, FROM ...,
// VALUES, DESCRIBE, SHOW, SUMMARIZE) and returns all its rows. Anything
// else, including several statements at once, fails with ErrNotReadOnly
// before any of it runs. args bind to ? or $n placeholders.
//
// Query returns rows as they are, without suppression: it is for analysts
// working under a purpose, not for reports to commissioners.
func (e *Engine) Query(ctx context.Context, sqlText string, args ...any) (*Result, error) {
	res := &Result{}
	cols, err := e.Each(ctx, sqlText, func(row []any) error {
		res.Rows = append(res.Rows, row)
		return nil
	}, args...)
	if err != nil {
		return nil, err
	}
	res.Columns = cols
	return res, nil
}

// Each is Query one row at a time: fn gets each row as it is read (a fresh
// slice each time, which fn may keep), so that a caller turning rows into
// its own values does not hold the whole result twice. It returns the
// column names. An error from fn stops the query and is returned.
func (e *Engine) Each(ctx context.Context, sqlText string, fn func(row []any) error, args ...any) ([]string, error) {
	conn, err := e.db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("queries: %w", err)
	}
	defer conn.Close()
	if err := checkReadOnly(conn, sqlText); err != nil {
		return nil, err
	}
	rows, err := conn.QueryContext(ctx, sqlText, args...)
	if err != nil {
		return nil, fmt.Errorf("queries: %w", err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, fmt.Errorf("queries: %w", err)
	}
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, fmt.Errorf("queries: %w", err)
		}
		if err := fn(vals); err != nil {
			return nil, err
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("queries: %w", err)
	}
	return cols, nil
}

// checkReadOnly prepares sqlText without running it and accepts it only if
// it is exactly one SELECT-type statement. The driver's context-aware
// prepare would run all but the last of several statements, so this uses
// the plain one, which refuses more than one.
func checkReadOnly(conn *sql.Conn, sqlText string) error {
	return conn.Raw(func(driverConn any) error {
		c, ok := driverConn.(*duckdb.Conn)
		if !ok {
			return fmt.Errorf("queries: unexpected driver connection %T", driverConn)
		}
		s, err := c.Prepare(sqlText)
		if err != nil {
			// DuckDB's own errors (syntax, binding) go back as they are; the
			// driver's refusals are about the number of statements.
			if _, isSQL := errors.AsType[*duckdb.Error](err); isSQL {
				return fmt.Errorf("queries: %w", err)
			}
			return fmt.Errorf("%w: %v", ErrNotReadOnly, err)
		}
		defer s.Close()
		typ, err := s.(*duckdb.Stmt).StatementType()
		if err != nil {
			return fmt.Errorf("queries: %w", err)
		}
		if typ != duckdb.STATEMENT_TYPE_SELECT {
			return ErrNotReadOnly
		}
		return nil
	})
}

// query runs one of the embedded report queries with the as-of date and
// hands each row to scan.
func (e *Engine) query(ctx context.Context, name string, asOf models.Date, scan func(*sql.Rows) error) error {
	body, err := sqlFiles.ReadFile("sql/" + name)
	if err != nil {
		return fmt.Errorf("queries: %w", err)
	}
	rows, err := e.db.QueryContext(ctx, string(body), asOf.Time())
	if err != nil {
		return fmt.Errorf("queries: sql/%s: %w", name, err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return fmt.Errorf("queries: sql/%s: %w", name, err)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("queries: sql/%s: %w", name, err)
	}
	return nil
}
