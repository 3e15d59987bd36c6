package purpose

import (
	"context"
	"database/sql"
	"database/sql/driver"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"
	"golang.org/x/sys/unix"

	"github.com/pophealth/pophealth/codelists"
	"github.com/pophealth/pophealth/lake"
	"github.com/pophealth/pophealth/models"
	"github.com/pophealth/pophealth/pseudonymise"
	"github.com/pophealth/pophealth/queries"
	"github.com/pophealth/pophealth/workspace"
)

//go:embed sql/materialise.sql
var materialiseSQL string

// Pseudonym domains: a purpose's person and encounter pseudonyms are
// HMAC-SHA-256 under the purpose key of the lake key, domain-separated.
const (
	domainPerson    = "purpose-person"
	domainEncounter = "purpose-encounter"
)

// ManifestFile is the name of the file in a purpose's directory that
// describes its data (no keys, no exact opt-out counts).
const ManifestFile = "_manifest.json"

// MaterialiseOptions adjusts a run of Materialise.
type MaterialiseOptions struct {
	// Actor is who runs it, for the audit log (an operator, the scheduler).
	Actor string
	// Now is the run's time: the day the approval, the validity and the
	// registers' age are judged on, and the day age bands are computed for.
	Now time.Time
	// Log receives progress; nil discards it.
	Log *slog.Logger
	// Progress, when set, is called as each step finishes (the population,
	// then each table) with the steps done and the total.
	Progress func(step string, done, total int)

	// key, when set, replaces the purpose's key (key rotation).
	key *pseudonymise.Key
}

// Run describes one materialisation.
type Run struct {
	Purpose      string                    `json:"purpose"`
	ConfigSHA256 string                    `json:"config_sha256"`
	Dir          string                    `json:"-"`
	AsOf         string                    `json:"as_of"`
	Tables       map[models.Table]int64    `json:"tables"`
	Columns      map[models.Table][]string `json:"columns"`
	People       int64                     `json:"people"`
	// OptOutsApplied is false for direct care.
	OptOutsApplied bool `json:"opt_outs_applied"`
	// RemovedByOptOut is the number of people left out by the registers,
	// rounded to the nearest 5 so that no run reports an exact small count.
	RemovedByOptOut int `json:"removed_by_opt_out_rounded"`
	// Unverifiable is the number of people kept without a valid NHS number
	// to check against the registers, rounded to the nearest 5.
	Unverifiable int            `json:"without_nhs_number_rounded"`
	Registers    []RegisterInfo `json:"registers,omitempty"`
	Seconds      float64        `json:"seconds"`
}

// RegisterInfo names a register a run applied.
type RegisterInfo struct {
	Kind string `json:"kind"`
	File string `json:"file"`
	AsOf string `json:"as_of"`
	List string `json:"list"`
}

// Dir returns the directory of purpose id's data in the lake.
func Dir(lakeRoot, id string) string { return filepath.Join(lakeRoot, "purposes", id) }

// Materialise writes purpose id's data into lake/purposes/<id>/, one
// directory per table holding part-0.parquet, and _manifest.json. It runs
// only for a purpose that passes Check, and only when the opt-out registers
// the purpose needs are present and fresh. The new data replaces the old in
// one atomic directory exchange, so readers see the old or the new, never
// a mixture. Each run is appended to the audit log.
func Materialise(ctx context.Context, ws *workspace.Workspace, id string, opts MaterialiseOptions) (*Run, error) {
	unlock, err := lockPurpose(ws, id)
	if err != nil {
		return nil, err
	}
	defer unlock()
	return materialise(ctx, ws, id, opts)
}

// lockPurpose takes the purpose's materialisation lock
// (lake/purposes/.<id>.lock), failing at once if another process holds it:
// two runs would remove each other's temporary directories.
func lockPurpose(ws *workspace.Workspace, id string) (unlock func(), err error) {
	if !ValidID(id) {
		return nil, fmt.Errorf("purpose %q: not a purpose id", id)
	}
	parent := filepath.Join(ws.LakeDir(), "purposes")
	if err := os.MkdirAll(parent, 0o750); err != nil {
		return nil, fmt.Errorf("materialise %s: %w", id, err)
	}
	f, err := os.OpenFile(filepath.Join(parent, "."+id+".lock"), os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("materialise %s: %w", id, err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("materialise %s: another materialisation or key rotation of it is running", id)
	}
	return func() { unix.Flock(int(f.Fd()), unix.LOCK_UN); f.Close() }, nil
}

func materialise(ctx context.Context, ws *workspace.Workspace, id string, opts MaterialiseOptions) (*Run, error) {
	start := time.Now()
	if opts.Now.IsZero() {
		opts.Now = start
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	ap, err := Check(ws, id, opts.Now)
	if err != nil {
		return nil, err
	}
	c := ap.Config
	run := &Run{Purpose: id, ConfigSHA256: ap.Approval.SHA256, AsOf: models.DateOf(opts.Now).String(),
		Tables: map[models.Table]int64{}, Columns: map[models.Table][]string{}, OptOutsApplied: c.AppliesOptOuts()}
	var registers []*Register
	if c.AppliesOptOuts() {
		for _, kind := range []string{RegisterNational, RegisterType1} {
			r, err := LoadRegister(ws.OptOutRegisterPath(kind), kind, ws.Config.OptOuts.MaxAgeDays, opts.Now)
			if err != nil {
				return nil, fmt.Errorf("materialise %s: %w", id, err)
			}
			registers = append(registers, r)
			run.Registers = append(run.Registers, RegisterInfo{Kind: kind, File: r.File, AsOf: r.AsOf.String(), List: r.List})
		}
	}
	key := opts.key
	if key == nil {
		k, err := purposeKey(ws, id)
		if err != nil {
			return nil, fmt.Errorf("materialise %s: %w", id, err)
		}
		key = &k
	}
	lakeKey, err := ws.LakeKey()
	if err != nil {
		return nil, fmt.Errorf("materialise %s: %w", id, err)
	}
	lk, err := lake.Open(ws.LakeDir())
	if err != nil {
		return nil, fmt.Errorf("materialise %s: %w", id, err)
	}
	parent := filepath.Join(lk.Root(), "purposes")
	if err := os.MkdirAll(parent, 0o750); err != nil {
		return nil, fmt.Errorf("materialise %s: %w", id, err)
	}
	removeStale(parent, id, opts.Log)
	// Ids hold no dots, so ".tmp-<id>." names this purpose's directories
	// and no other's ("smi" is not a prefix of "smi-research." here).
	tmp, err := os.MkdirTemp(parent, ".tmp-"+id+".")
	if err != nil {
		return nil, fmt.Errorf("materialise %s: %w", id, err)
	}
	defer os.RemoveAll(tmp) // after the exchange it holds the old data
	// DuckDB spills here, not into the working directory: spilled pages
	// hold the lake-key-to-pseudonym table, so they live and die with the run.
	spill, err := os.MkdirTemp(parent, ".tmp-"+id+".spill-")
	if err != nil {
		return nil, fmt.Errorf("materialise %s: %w", id, err)
	}
	defer os.RemoveAll(spill)

	m := &materialiser{cfg: c, run: run, lake: lk, tmp: tmp, spill: spill, log: opts.Log, asOf: models.DateOf(opts.Now), progress: opts.Progress}
	if m.progress == nil {
		m.progress = func(string, int, int) {}
	}
	if err := m.write(ctx, lakeKey, *key, registers); err != nil {
		return nil, fmt.Errorf("materialise %s: %w", id, err)
	}
	run.Seconds = time.Since(start).Seconds()
	if err := writeManifest(tmp, run); err != nil {
		return nil, fmt.Errorf("materialise %s: %w", id, err)
	}
	run.Dir = Dir(lk.Root(), id)
	if err := swapInto(tmp, run.Dir); err != nil {
		return nil, fmt.Errorf("materialise %s: %w", id, err)
	}
	detail := map[string]any{"purpose": id, "config_sha256": run.ConfigSHA256, "people": run.People,
		"removed_by_opt_out_rounded": run.RemovedByOptOut, "opt_outs_applied": run.OptOutsApplied, "seconds": run.Seconds}
	tables := map[string]any{}
	for t, n := range run.Tables {
		tables[string(t)] = n
	}
	detail["tables"] = tables
	for _, r := range run.Registers {
		detail[r.Kind+"_register_as_of"] = r.AsOf
	}
	if err := Audit(ws, opts.Actor, "purpose.materialise", detail); err != nil {
		return nil, fmt.Errorf("materialise %s: written, but not audited: %w", id, err)
	}
	return run, nil
}

// removeStale deletes temporary directories a crashed run of id left.
func removeStale(parent, id string, log *slog.Logger) {
	stale, _ := filepath.Glob(filepath.Join(parent, ".tmp-"+id+".*"))
	for _, d := range stale {
		log.Info("removing a crashed materialisation", "dir", d)
		os.RemoveAll(d)
	}
}

type materialiser struct {
	cfg   *Config
	run   *Run
	lake  *lake.Lake
	tmp   string
	spill string
	log   *slog.Logger
	asOf  models.Date
	// progress reports finished steps (see MaterialiseOptions.Progress).
	progress func(step string, done, total int)
	db       *sql.DB
	conn     *sql.Conn
	// checked holds the lake person keys that have a valid NHS number in
	// the master person index, so the registers could be applied to them.
	checked map[string]bool
}

func (m *materialiser) write(ctx context.Context, lakeKey, purposeKey pseudonymise.Key, registers []*Register) error {
	connector, err := duckdb.NewConnector("", nil)
	if err != nil {
		return fmt.Errorf("open DuckDB: %w", err)
	}
	m.db = sql.OpenDB(connector)
	defer m.db.Close()
	// One connection: the tables below are created on it and the appender
	// needs its driver connection.
	if m.conn, err = m.db.Conn(ctx); err != nil {
		return err
	}
	defer m.conn.Close()
	if _, err := m.conn.ExecContext(ctx, "SET temp_directory = "+sqlString(m.spill)); err != nil {
		return fmt.Errorf("temp_directory: %w", err)
	}
	stmts, readable, err := queries.LakeViews(m.lake)
	if err != nil {
		return err
	}
	for _, s := range stmts {
		if _, err := m.conn.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("lake views: %w", err)
		}
	}
	m.log.Debug("lake views created", "purpose", m.cfg.ID)
	excluded, err := m.optedOut(ctx, lakeKey, registers)
	if err != nil {
		return err
	}
	m.log.Debug("opt-outs matched through the master person index", "purpose", m.cfg.ID)
	if err := m.population(ctx, purposeKey, excluded); err != nil {
		return err
	}
	m.log.Info("population ready", "purpose", m.cfg.ID, "people", m.run.People)
	steps := 1 + len(m.cfg.Datasets)
	m.progress("population", 1, steps)
	if err := m.excludedCodes(ctx); err != nil {
		return err
	}
	if _, err := m.conn.ExecContext(ctx, materialiseSQL); err != nil {
		return fmt.Errorf("sql/materialise.sql: %w", err)
	}
	// From here the session may read only the lake's pseudonymised files
	// and write only into the temporary directory.
	if err := queries.LockDown(ctx, m.conn, readable, m.tmp+string(filepath.Separator)); err != nil {
		return err
	}
	for i, d := range m.cfg.Datasets {
		if err := m.copyTable(ctx, d); err != nil {
			return err
		}
		m.progress(string(d.Table), 2+i, steps)
	}
	return syncTree(m.tmp)
}

// optedOut returns the lake person keys of people the registers leave out,
// matched through the master person index (NHS number -> person id ->
// lake person key), and counts people with no valid number to match.
func (m *materialiser) optedOut(ctx context.Context, lakeKey pseudonymise.Key, registers []*Register) (map[string]bool, error) {
	out := map[string]bool{}
	if len(registers) == 0 {
		return out, nil
	}
	files, err := m.lake.Files("mpi/links")
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return out, nil
	}
	quoted := make([]string, len(files))
	for i, f := range files {
		quoted[i] = sqlString(f)
	}
	rows, err := m.conn.QueryContext(ctx, `SELECT person_id, list(DISTINCT nhs_number ORDER BY nhs_number)
		FROM read_parquet([`+strings.Join(quoted, ", ")+`])
		WHERE nhs_number_status IN ('valid', 'verified') AND nhs_number IS NOT NULL
		GROUP BY person_id`)
	if err != nil {
		return nil, fmt.Errorf("master person index: %w", err)
	}
	defer rows.Close()
	ps := pseudonymise.New(lakeKey)
	checked := map[string]bool{}
	for rows.Next() {
		var id string
		var numbers duckdb.Composite[[]string]
		if err := rows.Scan(&id, &numbers); err != nil {
			return nil, fmt.Errorf("master person index: %w", err)
		}
		pk := ps.PersonKey(id)
		checked[pk] = true
		for _, r := range registers {
			if r.excludes(numbers.Get()) {
				out[pk] = true
			}
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("master person index: %w", err)
	}
	m.checked = checked
	if err := m.followKeyMap(ctx, out); err != nil {
		return nil, err
	}
	return out, nil
}

// keyMapDir is where linkage records that rows written under one person
// key belong to another person (lake/pseudo/person_key_map: from_key,
// to_key, batch_id; the latest row per from_key is in force, and a row
// mapping a key to itself undoes an earlier one).
const keyMapDir = "pseudo/person_key_map"

// followKeyMap widens the excluded keys to whole linked people: the key
// an excluded key maps to, and every key mapping to an excluded key. So a
// record linked to an opted-out person only by probabilistic linkage (no
// NHS number of its own) is left out too, whether or not the lake's views
// apply the map.
func (m *materialiser) followKeyMap(ctx context.Context, excluded map[string]bool) error {
	files, err := m.lake.Files(keyMapDir)
	if err != nil || len(files) == 0 {
		return err
	}
	quoted := make([]string, len(files))
	for i, f := range files {
		quoted[i] = sqlString(f)
	}
	rows, err := m.conn.QueryContext(ctx, `SELECT from_key, to_key FROM (
		SELECT from_key, arg_max(to_key, batch_id) AS to_key FROM read_parquet([`+strings.Join(quoted, ", ")+`]) GROUP BY from_key)
		WHERE from_key <> to_key`)
	if err != nil {
		return fmt.Errorf("person key map: %w", err)
	}
	defer rows.Close()
	to := map[string]string{}
	for rows.Next() {
		var f, t string
		if err := rows.Scan(&f, &t); err != nil {
			return fmt.Errorf("person key map: %w", err)
		}
		to[f] = t
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("person key map: %w", err)
	}
	for f := range excluded {
		if t, ok := to[f]; ok {
			excluded[t] = true
		}
	}
	for f, t := range to {
		if excluded[t] {
			excluded[f] = true
		}
	}
	return nil
}

// population creates population(person_key, pseudonym): everyone in the
// purpose's tables except the opted-out, with their purpose pseudonyms.
func (m *materialiser) population(ctx context.Context, purposeKey pseudonymise.Key, excluded map[string]bool) error {
	var parts []string
	for _, t := range append([]models.Table{models.TablePerson}, m.tables()...) {
		if part := "SELECT person_key FROM " + ident(string(t)); !slices.Contains(parts, part) {
			parts = append(parts, part)
		}
	}
	keys, err := m.strings(ctx, "SELECT DISTINCT person_key FROM ("+strings.Join(parts, " UNION ALL ")+") WHERE person_key IS NOT NULL")
	if err != nil {
		return fmt.Errorf("population: %w", err)
	}
	ps := pseudonymise.New(purposeKey)
	var removed, unverifiable int
	pairs := make([][2]string, 0, len(keys))
	for _, k := range keys {
		if excluded[k] {
			removed++
			continue
		}
		if m.run.OptOutsApplied && !m.checked[k] {
			unverifiable++
		}
		pairs = append(pairs, [2]string{k, ps.Derive(domainPerson, k)})
	}
	m.run.People = int64(len(pairs))
	m.run.RemovedByOptOut, m.run.Unverifiable = roundTo5(removed), roundTo5(unverifiable)
	if err := m.fill(ctx, "population", "person_key VARCHAR PRIMARY KEY, pseudonym VARCHAR", pairs); err != nil {
		return err
	}
	var encTables []string
	for _, t := range m.tables() {
		if d, _ := m.cfg.Dataset(t); slices.Contains(d.Columns, "encounter_key") {
			encTables = append(encTables, "SELECT encounter_key FROM "+ident(string(t))+" t JOIN population p USING (person_key)")
		}
	}
	pairs = pairs[:0]
	if len(encTables) > 0 {
		encs, err := m.strings(ctx, "SELECT DISTINCT encounter_key FROM ("+strings.Join(encTables, " UNION ALL ")+") WHERE encounter_key IS NOT NULL")
		if err != nil {
			return fmt.Errorf("encounters: %w", err)
		}
		for _, e := range encs {
			pairs = append(pairs, [2]string{e, ps.Derive(domainEncounter, e)})
		}
	}
	return m.fill(ctx, "encounter_map", "encounter_key VARCHAR PRIMARY KEY, pseudonym VARCHAR", pairs)
}

func (m *materialiser) tables() []models.Table {
	out := make([]models.Table, len(m.cfg.Datasets))
	for i, d := range m.cfg.Datasets {
		out[i] = d.Table
	}
	return out
}

// excludedCodes creates excluded_code with the codes of every sensitive
// category the purpose does not admit.
func (m *materialiser) excludedCodes(ctx context.Context) error {
	var pairs [][2]string
	for _, e := range codelists.Sensitive() {
		if !m.cfg.Admits(Sensitive(e.Name)) {
			pairs = append(pairs, [2]string{string(e.System), e.Code})
		}
	}
	return m.fill(ctx, "excluded_code", "code_system VARCHAR, code VARCHAR", pairs)
}

// strings runs a query of one string column.
func (m *materialiser) strings(ctx context.Context, q string) ([]string, error) {
	rows, err := m.conn.QueryContext(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// fill creates a table of two string columns and appends rows with
// DuckDB's appender.
func (m *materialiser) fill(ctx context.Context, table, columns string, rows [][2]string) error {
	if _, err := m.conn.ExecContext(ctx, fmt.Sprintf("CREATE TABLE %s (%s)", table, columns)); err != nil {
		return fmt.Errorf("table %s: %w", table, err)
	}
	return m.conn.Raw(func(dc any) error {
		a, err := duckdb.NewAppenderFromConn(dc.(driver.Conn), "", table)
		if err != nil {
			return fmt.Errorf("table %s: %w", table, err)
		}
		for _, r := range rows {
			if err := a.AppendRow(r[0], r[1]); err != nil {
				a.Close()
				return fmt.Errorf("table %s: %w", table, err)
			}
		}
		if err := a.Close(); err != nil {
			return fmt.Errorf("table %s: %w", table, err)
		}
		return nil
	})
}

// copyTable writes one table of the purpose.
func (m *materialiser) copyTable(ctx context.Context, d Dataset) error {
	cols, out := m.projection(d)
	from := ident(string(d.Table)) + " t JOIN population p ON p.person_key = t.person_key"
	if slices.Contains(d.Columns, "encounter_key") {
		from += " LEFT JOIN encounter_map em ON em.encounter_key = t.encounter_key"
	}
	var where []string
	switch d.Table {
	case models.TableDiagnosis, models.TableObservation, models.TableMedication, models.TableProcedure:
		where = append(where, "NOT is_excluded(t.code_system, t.code)")
	case models.TableEncounter:
		where = append(where, "NOT EXISTS (SELECT 1 FROM excluded_encounter x WHERE x.person_key = t.person_key AND x.encounter_key = t.encounter_key)")
	}
	q := "SELECT " + strings.Join(cols, ", ") + " FROM " + from
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	dir := filepath.Join(m.tmp, string(d.Table))
	if err := os.Mkdir(dir, 0o750); err != nil {
		return err
	}
	res, err := m.conn.ExecContext(ctx, fmt.Sprintf("COPY (%s) TO %s (FORMAT parquet, COMPRESSION zstd)", q, sqlString(filepath.Join(dir, "part-0.parquet"))))
	if err != nil {
		return fmt.Errorf("table %s: %w", d.Table, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("table %s: %w", d.Table, err)
	}
	m.run.Tables[d.Table], m.run.Columns[d.Table] = n, out
	m.log.Info("purpose table written", "purpose", m.cfg.ID, "table", d.Table, "rows", n)
	return nil
}

// projection returns the SELECT list for a dataset and the output column
// names: pseudonyms replace keys, and quasi-identifiers are generalised.
func (m *materialiser) projection(d Dataset) (sel, names []string) {
	add := func(expr, name string) {
		sel = append(sel, expr+" AS "+ident(name))
		names = append(names, name)
	}
	asOf := sqlString(m.asOf.String())
	for _, c := range d.Columns {
		switch {
		case c == "person_key":
			add("p.pseudonym", c)
		case c == "encounter_key":
			add("em.pseudonym", c)
		case (c == "year_of_birth" || c == "month_of_birth") && m.cfg.DateOfBirth == DOBAgeBand:
			if !slices.Contains(names, "age_band") {
				add("age_band5(t.year_of_birth, t.month_of_birth, DATE "+asOf+")", "age_band")
			}
		case c == "month_of_birth" && m.cfg.DateOfBirth == DOBYear:
			// Validation refuses this combination; never pass the month.
		case c == "postcode_district" && m.cfg.Postcode == PostcodeArea:
			add("postcode_area(t.postcode_district)", "postcode_area")
		default:
			add("t."+ident(c), c)
		}
	}
	return sel, names
}

func writeManifest(dir string, run *Run) error {
	b, err := json.MarshalIndent(run, "", "  ")
	if err != nil {
		return err
	}
	path := filepath.Join(dir, ManifestFile)
	if err := os.WriteFile(path, append(b, '\n'), 0o640); err != nil {
		return err
	}
	return syncPath(path)
}

// swapInto makes the directory tmp the directory final: by an atomic
// exchange (renameat2 RENAME_EXCHANGE) when final exists, leaving the old
// data in tmp for the caller to delete, else by a rename.
func swapInto(tmp, final string) error {
	err := unix.Renameat2(unix.AT_FDCWD, tmp, unix.AT_FDCWD, final, unix.RENAME_EXCHANGE)
	switch {
	case err == nil:
	case errors.Is(err, unix.ENOENT):
		if err := os.Rename(tmp, final); err != nil {
			return err
		}
	default:
		return fmt.Errorf("exchange %s and %s: %w", tmp, final, err)
	}
	return syncPath(filepath.Dir(final))
}

// syncTree fsyncs every file and directory under root.
func syncTree(root string) error {
	return filepath.WalkDir(root, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return syncPath(p)
	})
}

func syncPath(p string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// RotateKey gives purpose id a new key and materialises its data under it,
// so every pseudonym changes and outputs made before cannot be joined to
// those made after. The new key replaces the old only once the new data is
// in place. A key supplied by environment variable cannot be rotated here.
func RotateKey(ctx context.Context, ws *workspace.Workspace, id string, opts MaterialiseOptions) (*Run, error) {
	if v, ok := os.LookupEnv(KeyEnv(id)); ok && v != "" {
		return nil, fmt.Errorf("rotate %s: the key comes from %s; rotate it where that variable is set", id, KeyEnv(id))
	}
	unlock, err := lockPurpose(ws, id)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if err := checkKeysOutsideLake(ws); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(ws.PurposeKeysDir(), 0o700); err != nil {
		return nil, fmt.Errorf("rotate %s: %w", id, err)
	}
	k, err := pseudonymise.NewKey()
	if err != nil {
		return nil, err
	}
	next := keyPath(ws, id) + ".new"
	os.Remove(next) // left by a rotation that failed
	if err := pseudonymise.WriteKeyFile(next, k); err != nil {
		return nil, fmt.Errorf("rotate %s: %w", id, err)
	}
	opts.key = &k
	run, err := materialise(ctx, ws, id, opts)
	if err != nil {
		os.Remove(next)
		return nil, err
	}
	if err := os.Rename(next, keyPath(ws, id)); err != nil {
		return nil, fmt.Errorf("rotate %s: data re-keyed but the new key is still %s: %w", id, next, err)
	}
	if err := syncPath(ws.PurposeKeysDir()); err != nil {
		return nil, err
	}
	if err := Audit(ws, opts.Actor, "purpose.rotate-key", map[string]any{"purpose": id, "config_sha256": run.ConfigSHA256}); err != nil {
		return nil, err
	}
	return run, nil
}

// sqlString quotes s as an SQL string literal.
func sqlString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// ident quotes s as an SQL identifier.
func ident(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// DataDir returns the directory of an approved purpose's materialised
// data. It refuses data that is missing or that was made under another
// approval than the one in force (after a re-approval changed the config,
// the old data may hold columns or people the new config does not allow).
func DataDir(ws *workspace.Workspace, ap *Approved) (string, error) {
	dir := Dir(ws.LakeDir(), ap.Config.ID)
	b, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("purpose %s has no data yet: run pophealth purpose materialise %s", ap.Config.ID, ap.Config.ID)
	}
	if err != nil {
		return "", fmt.Errorf("purpose %s data: %w", ap.Config.ID, err)
	}
	var run Run
	if err := json.Unmarshal(b, &run); err != nil {
		return "", fmt.Errorf("purpose %s data: %s: %w", ap.Config.ID, ManifestFile, err)
	}
	if run.ConfigSHA256 != ap.Approval.SHA256 {
		return "", fmt.Errorf("purpose %s data was made under an earlier approval (config %.12s…, approved now %.12s…): run pophealth purpose materialise %s",
			ap.Config.ID, run.ConfigSHA256, ap.Approval.SHA256, ap.Config.ID)
	}
	return dir, nil
}
