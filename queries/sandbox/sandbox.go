package sandbox

import (
	"bytes"
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"
)

// Defaults for the zero values of Config.
const (
	DefaultMaxRows     = 10000
	DefaultTimeout     = 60 * time.Second
	DefaultMemoryLimit = "1GB"
)

// maxQueryBytes bounds the text of one query: analysts' SQL is short, and a
// huge text is either a mistake or an attempt to exhaust the parser.
const maxQueryBytes = 1 << 20

// Config describes one session.
type Config struct {
	// Dir is the purpose's materialised folder: each subdirectory is a
	// table, every *.parquet file below it (any depth, Hive partitions
	// included) a part of that table.
	Dir string
	// MaxRows is the most rows a query returns; more are cut and
	// Result.Truncated is set. Zero means DefaultMaxRows.
	MaxRows int
	// MemoryLimit is DuckDB's memory_limit ("512MB", "2GB"). Nothing spills
	// to disk, so a query that needs more fails. Empty means
	// DefaultMemoryLimit.
	MemoryLimit string
	// Threads is DuckDB's thread count; zero leaves DuckDB's default (the
	// number of cores).
	Threads int
	// Timeout stops a query that runs longer. Zero means DefaultTimeout.
	Timeout time.Duration
}

var memoryLimitRe = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?\s*(B|[KMGT]i?B)$`)

// withDefaults fills zero values and rejects impossible ones.
func (c Config) withDefaults() (Config, error) {
	if c.Dir == "" {
		return c, errors.New("sandbox: no purpose folder given")
	}
	if c.MaxRows == 0 {
		c.MaxRows = DefaultMaxRows
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.MemoryLimit == "" {
		c.MemoryLimit = DefaultMemoryLimit
	}
	switch {
	case c.MaxRows < 0:
		return c, fmt.Errorf("sandbox: MaxRows %d is negative", c.MaxRows)
	case c.Timeout < 0:
		return c, fmt.Errorf("sandbox: Timeout %s is negative", c.Timeout)
	case c.Threads < 0:
		return c, fmt.Errorf("sandbox: Threads %d is negative", c.Threads)
	case !memoryLimitRe.MatchString(c.MemoryLimit):
		return c, fmt.Errorf("sandbox: MemoryLimit %q is not a size such as 512MB or 2GiB", c.MemoryLimit)
	}
	return c, nil
}

// RefusedError is returned by Query for a query the sandbox will not run
// (or stopped): Reason says why in words an analyst can act on. Errors that
// are not refusals (a syntax error, a misspelt column) come back as DuckDB
// reports them.
type RefusedError struct {
	Reason string
}

func (e *RefusedError) Error() string { return "sandbox: query refused: " + e.Reason }

func refuse(format string, args ...any) error {
	return &RefusedError{Reason: fmt.Sprintf(format, args...)}
}

// Result is a query's outcome: column names and DuckDB type names, and the
// rows as the DuckDB driver returns values (string, int64, float64, bool,
// time.Time, []byte, nil for NULL, ...).
type Result struct {
	Columns []string
	Types   []string
	Rows    [][]any
	// Truncated is set when the query had more than Config.MaxRows rows and
	// only the first MaxRows are in Rows.
	Truncated bool
}

// Session is a locked-down DuckDB database over one purpose folder. It is
// safe for concurrent use; every query sees the files found at Open.
type Session struct {
	db     *sql.DB
	cfg    Config
	tables []string // view names, sorted
	policy policy
	// serialize is serializeSQL, prepared once.
	serialize *sql.Stmt
}

// Open builds a session over cfg.Dir: it resolves the folder, finds its
// tables and their Parquet files (refusing a folder in which a symlink or
// hard link leads outside it), creates one view per table and then locks
// DuckDB down. The error names the offending path when the folder is
// unsafe.
func Open(ctx context.Context, cfg Config) (*Session, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	folder, err := scanFolder(cfg.Dir)
	if err != nil {
		return nil, err
	}
	connector, err := duckdb.NewConnector("", nil)
	if err != nil {
		return nil, fmt.Errorf("sandbox: open DuckDB: %w", err)
	}
	s := &Session{db: sql.OpenDB(connector), cfg: cfg}
	if err := s.build(ctx, folder); err != nil {
		s.db.Close()
		return nil, err
	}
	return s, nil
}

// Tables returns the names of the views a query may read, sorted.
func (s *Session) Tables() []string { return slices.Clone(s.tables) }

// Close releases the database.
func (s *Session) Close() error {
	if s.serialize != nil {
		s.serialize.Close()
	}
	return s.db.Close()
}

func (s *Session) build(ctx context.Context, f *folder) error {
	system, err := s.systemNames(ctx)
	if err != nil {
		return err
	}
	var readable []string
	for _, t := range f.tables {
		if system[t.name] {
			return fmt.Errorf("sandbox: purpose folder %s: table directory %q has the name of a DuckDB system view", f.root, t.name)
		}
		if _, err := s.db.ExecContext(ctx, viewDDL(t)); err != nil {
			return fmt.Errorf("sandbox: view %s over %d files in %s: %w", t.name, len(t.files), f.root, err)
		}
		s.tables = append(s.tables, t.name)
		readable = append(readable, t.files...)
	}
	s.policy = policy{views: setOf(s.tables), system: system}
	if s.serialize, err = s.db.PrepareContext(ctx, serializeSQL); err != nil {
		return fmt.Errorf("sandbox: prepare the statement check: %w", err)
	}
	return s.lockDown(ctx, readable)
}

// systemNames lists DuckDB's own tables and views (duckdb_settings,
// information_schema.tables, pg_catalog.pg_views, ...), which reveal
// settings and file paths. A query may neither read them nor shadow them
// with a common table expression of the same name.
func (s *Session) systemNames(ctx context.Context) (map[string]bool, error) {
	rows, err := s.db.QueryContext(ctx,
		"SELECT lower(view_name) FROM duckdb_views() UNION SELECT lower(table_name) FROM duckdb_tables()")
	if err != nil {
		return nil, fmt.Errorf("sandbox: list system views: %w", err)
	}
	defer rows.Close()
	names := map[string]bool{}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, fmt.Errorf("sandbox: list system views: %w", err)
		}
		names[n] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sandbox: list system views: %w", err)
	}
	return names, nil
}

func viewDDL(t table) string {
	quoted := make([]string, len(t.files))
	for i, f := range t.files {
		quoted[i] = literal(f)
	}
	return fmt.Sprintf("CREATE VIEW %s AS SELECT * FROM read_parquet([%s])", ident(t.name), strings.Join(quoted, ", "))
}

// lockDown confines DuckDB to the view files. allowed_paths lists files,
// never directories: DuckDB lets COPY ... TO write into an allowed
// directory. The configuration is locked last, so no later statement can
// undo any of it.
func (s *Session) lockDown(ctx context.Context, readable []string) error {
	quoted := make([]string, len(readable))
	for i, f := range readable {
		quoted[i] = literal(f)
	}
	stmts := []string{
		"SET autoinstall_known_extensions = false",
		"SET autoload_known_extensions = false",
		"SET parquet_metadata_cache = true",
		"SET disabled_filesystems = 'HTTPFileSystem'",
		"SET temp_directory = ''",
		"SET memory_limit = " + literal(s.cfg.MemoryLimit),
	}
	if s.cfg.Threads > 0 {
		stmts = append(stmts, fmt.Sprintf("SET threads = %d", s.cfg.Threads))
	}
	stmts = append(stmts,
		"SET allowed_paths = ["+strings.Join(quoted, ", ")+"]",
		"SET enable_external_access = false",
		"SET lock_configuration = true",
	)
	for _, stmt := range stmts {
		if _, err := s.db.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("sandbox: %s: %w", strings.SplitN(stmt, "=", 2)[0], err)
		}
	}
	return nil
}

// Query checks sqlText (see the package comment) and, if it is allowed,
// runs it with the session's timeout and returns at most MaxRows rows. A
// refusal is a *RefusedError and nothing of the query has run.
func (s *Session) Query(ctx context.Context, sqlText string) (*Result, error) {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	defer conn.Close()
	if err := s.check(ctx, sqlText); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	var res *Result
	err = conn.Raw(func(driverConn any) error {
		c, ok := driverConn.(*duckdb.Conn)
		if !ok {
			return fmt.Errorf("sandbox: unexpected driver connection %T", driverConn)
		}
		st, err := preparedSelect(c, sqlText)
		if err != nil {
			return err
		}
		defer st.Close()
		res, err = s.run(ctx, st)
		return err
	})
	var refused *RefusedError
	if err != nil && !errors.As(err, &refused) && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return nil, refuse("the query ran longer than the %s limit and was stopped", s.cfg.Timeout)
	}
	return res, err
}

// preparedSelect prepares sqlText and requires one statement of type
// SELECT: DuckDB's own classification of the text, the second opinion
// after the parse-tree check. The driver's context-aware prepare would run
// all but the last of several statements, so this uses the plain one,
// which refuses more than one. The statement that was checked is the one
// that runs.
func preparedSelect(c *duckdb.Conn, sqlText string) (*duckdb.Stmt, error) {
	ds, err := c.Prepare(sqlText)
	if err != nil {
		if _, isSQL := errors.AsType[*duckdb.Error](err); isSQL {
			return nil, fmt.Errorf("sandbox: %w", err)
		}
		return nil, refuse("exactly one query may run at a time: %v", err)
	}
	st := ds.(*duckdb.Stmt)
	typ, err := st.StatementType()
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	if typ != duckdb.STATEMENT_TYPE_SELECT {
		st.Close()
		return nil, refuse("only a read-only query may run (DuckDB classifies this one as statement type %d)", typ)
	}
	return st, nil
}

// run executes the checked statement and reads at most MaxRows rows.
func (s *Session) run(ctx context.Context, st *duckdb.Stmt) (*Result, error) {
	rows, err := st.QueryContext(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	defer rows.Close()
	cols := rows.Columns()
	res := &Result{Columns: cols, Types: make([]string, len(cols)), Rows: [][]any{}}
	if typed, ok := rows.(driver.RowsColumnTypeDatabaseTypeName); ok {
		for i := range cols {
			res.Types[i] = typed.ColumnTypeDatabaseTypeName(i)
		}
	}
	for {
		vals := make([]driver.Value, len(cols))
		err := rows.Next(vals)
		if errors.Is(err, io.EOF) {
			return res, nil
		}
		if err != nil {
			return nil, fmt.Errorf("sandbox: %w", err)
		}
		if len(res.Rows) == s.cfg.MaxRows {
			res.Truncated = true
			return res, nil
		}
		row := make([]any, len(vals))
		for i, v := range vals {
			if b, ok := v.([]byte); ok {
				v = bytes.Clone(b)
			}
			row[i] = v
		}
		res.Rows = append(res.Rows, row)
	}
}

// ident quotes a DuckDB identifier.
func ident(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// literal quotes a DuckDB string literal.
func literal(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func setOf(names []string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}
