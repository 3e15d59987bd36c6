package purpose

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pophealth/pophealth/jobs"
	"github.com/pophealth/pophealth/lake"
	"github.com/pophealth/pophealth/models"
	"github.com/pophealth/pophealth/queries/sandbox"
	"github.com/pophealth/pophealth/synth"
	"github.com/pophealth/pophealth/workspace"
)

// benchQueries are typical analyst queries on smi-research's data.
var benchQueries = map[string]string{
	"count": "SELECT sex, year_of_birth // 10 * 10 AS decade, count(*) AS people FROM person GROUP BY ALL ORDER BY ALL",
	"join": `SELECT d.code, count(DISTINCT d.person_key) AS people
		FROM diagnosis d JOIN medication m USING (person_key)
		WHERE d.code_system = 'icd10' GROUP BY d.code ORDER BY people DESC, d.code LIMIT 20`,
	"rows": "SELECT person_key, code, value, effective_date FROM observation WHERE value > 48 ORDER BY effective_date, person_key LIMIT 2000",
}

// BenchmarkSandboxOverhead runs each query on the purpose's materialised
// data twice per iteration, in a plain DuckDB with views over the same
// files (the reference) and in the analysts' sandbox (statement check,
// locked settings), both single-threaded with the same memory limit and
// reading every row into Go values. It reports both times and the
// sandbox's overhead in percent.
//
// The data is smi-research materialised from the demo lake: the
// workspace in POPHEALTH_BENCH_WORKSPACE (e.g. ./pophealth-demo after
// make demo) or, without it, a fresh one of 10,000 synthetic people built
// as "pophealth demo" does.
func BenchmarkSandboxOverhead(b *testing.B) {
	ctx := b.Context()
	dir := benchPurposeData(b)
	raw, err := sql.Open("duckdb", "")
	if err != nil {
		b.Fatal(err)
	}
	defer raw.Close()
	raw.SetMaxOpenConns(1)
	for _, s := range []string{"SET threads = 1", "SET memory_limit = '1GB'"} {
		if _, err := raw.ExecContext(ctx, s); err != nil {
			b.Fatal(err)
		}
	}
	for _, t := range []string{"person", "diagnosis", "observation", "medication", "encounter"} {
		if _, err := raw.ExecContext(ctx, fmt.Sprintf("CREATE VIEW %s AS SELECT * FROM read_parquet(%s)", t, sqlString(filepath.Join(dir, t, "part-0.parquet")))); err != nil {
			b.Fatal(err)
		}
	}
	box, err := sandbox.Open(ctx, sandbox.Config{Dir: dir, MaxRows: 1_000_000, MemoryLimit: "1GB", Threads: 1, Timeout: time.Minute})
	if err != nil {
		b.Fatal(err)
	}
	defer box.Close()
	for _, name := range []string{"count", "join", "rows"} {
		q := benchQueries[name]
		b.Run(name, func(b *testing.B) {
			var rawTime, boxTime time.Duration
			for b.Loop() {
				t0 := time.Now()
				got, err := scanAll(ctx, raw, q)
				n := len(got)
				t1 := time.Now()
				res, err2 := box.Query(ctx, q)
				t2 := time.Now()
				if err != nil || err2 != nil {
					b.Fatal(err, err2)
				}
				if n != len(res.Rows) || n == 0 {
					b.Fatalf("raw %d rows, sandbox %d", n, len(res.Rows))
				}
				rawTime += t1.Sub(t0)
				boxTime += t2.Sub(t1)
			}
			b.ReportMetric(float64(rawTime.Microseconds())/float64(b.N)/1000, "raw-ms/op")
			b.ReportMetric(float64(boxTime.Microseconds())/float64(b.N)/1000, "sandbox-ms/op")
			b.ReportMetric(100*(float64(boxTime)/float64(rawTime)-1), "overhead-%")
		})
	}
}

// benchPurposeData returns the directory of smi-research's data on the
// demo lake (see benchWorkspace).
func benchPurposeData(b *testing.B) string {
	b.Helper()
	ws, now := benchWorkspace(b)
	run, err := Materialise(b.Context(), ws, "smi-research", MaterialiseOptions{Actor: "bench", Now: now})
	if err != nil {
		b.Fatal(err)
	}
	return run.Dir
}

// BenchmarkMaterialise materialises smi-research from the demo lake (five
// tables, opt-outs through the MPI, sensitive codes, pseudonyms) and, as
// the reference, has a plain DuckDB copy the same columns of the same lake
// files to Parquet with nothing filtered, joined or re-keyed.
func BenchmarkMaterialise(b *testing.B) {
	ws, now := benchWorkspace(b)
	ap, err := Check(ws, "smi-research", now)
	if err != nil {
		b.Fatal(err)
	}
	lk, err := lake.Open(ws.LakeDir())
	if err != nil {
		b.Fatal(err)
	}
	out := b.TempDir()
	reference := func() {
		db, err := sql.Open("duckdb", "")
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		for _, d := range ap.Config.Datasets {
			files, err := lk.Files("pseudo/" + string(d.Table))
			if err != nil {
				b.Fatal(err)
			}
			quoted := make([]string, len(files))
			for i, f := range files {
				quoted[i] = sqlString(f)
			}
			cols := make([]string, len(d.Columns))
			for i, c := range d.Columns {
				cols[i] = ident(c)
			}
			q := fmt.Sprintf("COPY (SELECT %s FROM read_parquet([%s], union_by_name = true)) TO %s (FORMAT parquet, COMPRESSION zstd)",
				strings.Join(cols, ", "), strings.Join(quoted, ", "), sqlString(filepath.Join(out, string(d.Table)+".parquet")))
			if _, err := db.ExecContext(b.Context(), q); err != nil {
				b.Fatal(err)
			}
		}
	}
	var ours, ref time.Duration
	var rows int64
	for b.Loop() {
		t0 := time.Now()
		run, err := Materialise(b.Context(), ws, "smi-research", MaterialiseOptions{Actor: "bench", Now: now})
		if err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		reference()
		ref += time.Since(t1)
		ours += t1.Sub(t0)
		rows = 0
		for _, n := range run.Tables {
			rows += n
		}
	}
	b.ReportMetric(float64(ours.Milliseconds())/float64(b.N), "ms/materialise")
	b.ReportMetric(float64(ref.Milliseconds())/float64(b.N), "ms/duckdb-copy")
	b.ReportMetric(float64(ref)/float64(ours), "ratio")
	b.ReportMetric(float64(rows)*float64(b.N)/ours.Seconds(), "rows/s")
}

// benchWorkspace returns the demo workspace with smi-research approved and
// both registers installed (a cleared list of every NHS number; no Type 1
// opt-outs), configured to keep everything the benchmark writes in a
// scratch directory.
func benchWorkspace(b *testing.B) (*workspace.Workspace, time.Time) {
	b.Helper()
	var ws *workspace.Workspace
	var err error
	if dir := os.Getenv("POPHEALTH_BENCH_WORKSPACE"); dir != "" {
		ws, err = workspace.Open(dir)
	} else {
		ws, err = buildDemoWorkspace(b.Context(), b.TempDir(), 10000)
	}
	if err != nil {
		b.Fatal(err)
	}
	// Keep the benchmark's approvals, keys, registers and purpose data out
	// of the workspace given: they go to a scratch directory, whose lake
	// links to the workspace's committed zones.
	scratch := b.TempDir()
	for _, zone := range []string{"manifest", "pseudo", "mpi", "quarantine"} {
		os.MkdirAll(filepath.Join(scratch, "lake"), 0o750)
		if err := os.Symlink(filepath.Join(ws.LakeDir(), zone), filepath.Join(scratch, "lake", zone)); err != nil {
			b.Fatal(err)
		}
	}
	ws.Config.Lake = filepath.Join(scratch, "lake")
	ws.Config.Purposes.Dir = filepath.Join(scratch, "purposes")
	ws.Config.Purposes.Keys = filepath.Join(scratch, "keys")
	ws.Config.OptOuts.National = filepath.Join(scratch, "national.dat")
	ws.Config.OptOuts.Type1 = filepath.Join(scratch, "type1.dat")
	ws.Config.AuditLog = filepath.Join(scratch, "audit.log")
	os.MkdirAll(ws.PurposesDir(), 0o750)
	file := filepath.Join(ws.PurposesDir(), "smi-research.yaml")
	if err := os.WriteFile(file, []byte(readExample(b, "smi-research.yaml")), 0o640); err != nil {
		b.Fatal(err)
	}
	l, err := OpenLedger(ws)
	if err != nil {
		b.Fatal(err)
	}
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	if _, err := l.Approve(file, "bench", nil, now); err != nil {
		b.Fatal(err)
	}
	var numbers bytes.Buffer
	if _, err := ExportNHSNumbers(b.Context(), ws, &numbers); err != nil {
		b.Fatal(err)
	}
	src := filepath.Join(scratch, "returned.dat")
	os.WriteFile(src, numbers.Bytes(), 0o600)
	for _, kind := range []string{RegisterNational, RegisterType1} {
		list := ListCleared
		if kind == RegisterType1 {
			os.WriteFile(src, nil, 0o600)
			list = ListOptedOut
		}
		if _, err := ImportRegister(ws, src, kind, list, models.DateOf(now)); err != nil {
			b.Fatal(err)
		}
	}
	return ws, now
}

// buildDemoWorkspace makes what "pophealth demo" makes: a workspace with
// a synthetic population (seed 1) ingested.
func buildDemoWorkspace(ctx context.Context, dir string, people int) (*workspace.Workspace, error) {
	ws, err := workspace.Init(filepath.Join(dir, "ws"))
	if err != nil {
		return nil, err
	}
	opts := synth.DefaultOptions()
	opts.People, opts.Seed, opts.OutDir = people, 1, filepath.Join(dir, "feeds")
	if _, err := synth.Generate(ctx, opts, nil); err != nil {
		return nil, err
	}
	key, err := ws.LakeKey()
	if err != nil {
		return nil, err
	}
	l, err := lake.Open(ws.LakeDir())
	if err != nil {
		return nil, err
	}
	if _, err := jobs.Ingest(ctx, l, jobs.IngestOptions{Paths: []string{opts.OutDir}, Key: key}); err != nil {
		return nil, err
	}
	return ws, nil
}
