package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/duckdb/duckdb-go/v2"

	"github.com/pophealth/pophealth/jobs"
	"github.com/pophealth/pophealth/lake"
)

// asBinaryEnv makes the test binary behave as the pophealth binary, so
// commands that start child processes of themselves (bench) can be tested.
const asBinaryEnv = "POPHEALTH_TEST_AS_BINARY"

func TestMain(m *testing.M) {
	if os.Getenv(asBinaryEnv) == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// runCLI runs the pophealth command line with args in this process and
// returns what it printed on stdout.
func runCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := newRootCmd()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(io.Discard)
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	return out.String(), err
}

func TestDemoEndToEnd(t *testing.T) {
	ws := filepath.Join(t.TempDir(), "ws")
	out, err := runCLI(t, "--workspace", ws, "demo", "--people", "400", "--seed", "7")
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, out)
	}
	for _, want := range []string{
		"People with type 2 diabetes and at least one other long-term condition",
		"Risk stratification",
		"ingest-feeds succeeded in",   // the demo's jobs ran through the runner
		"link-people succeeded in",    // linkage after the ingest
		"sample-reports succeeded in", // after the linkage
		"web accounts alice (commissioner)",
		"Demo finished in",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q:\n%s", want, out)
		}
	}

	// Re-ingesting the same feeds adds nothing.
	out, err = runCLI(t, "--workspace", ws, "ingest", "--json", filepath.Join(ws, "feeds"))
	if err != nil {
		t.Fatalf("re-ingest: %v\n%s", err, out)
	}
	var again jobs.IngestResult
	if err := json.Unmarshal([]byte(out), &again); err != nil {
		t.Fatalf("ingest --json is not an IngestResult: %v\n%s", err, out)
	}
	if again.Totals.Ingested != 0 || again.Totals.Files == 0 || again.Totals.Unchanged != again.Totals.Files || len(again.Rows) != 0 {
		t.Errorf("re-ingest changed the lake: totals %+v rows %v", again.Totals, again.Rows)
	}

	// The demo leaves the HTML report; report writes the other formats.
	if page, err := os.ReadFile(filepath.Join(ws, "reports", "demo.html")); err != nil || !bytes.Contains(page, []byte("<svg")) {
		t.Errorf("demo.html: %v (%d bytes, want a page with charts)", err, len(page))
	}
	csvDir := filepath.Join(t.TempDir(), "csv")
	if out, err := runCLI(t, "--workspace", ws, "report", "--format", "csv", "--out", csvDir); err != nil {
		t.Fatalf("report --format csv: %v\n%s", err, out)
	}
	if files, _ := filepath.Glob(filepath.Join(csvDir, "*.csv")); len(files) != 2 {
		t.Errorf("report --format csv wrote %v, want one file per report", files)
	}
	if _, err := runCLI(t, "--workspace", ws, "report", "--format", "pdf"); err == nil || !strings.Contains(err.Error(), "want one of") {
		t.Errorf("report --format pdf: %v, want an error listing the formats", err)
	}

	// The lake opens in a plain DuckDB, as the README promises.
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int64
	glob := filepath.Join(ws, "lake", "pseudo", "**", "*.parquet")
	if err := db.QueryRow("select count(*) from read_parquet(?, union_by_name = true)", glob).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Error("the pseudonymised lake is empty")
	}

	// The ingest job applied the workspace's deprivation lookup, as
	// "pophealth ingest" does: GP people carry a decile.
	var withDecile, gpPeople int64
	people := filepath.Join(ws, "lake", "pseudo", "person", "source=gp", "*.parquet")
	if err := db.QueryRow("select count(deprivation_decile), count(*) from read_parquet(?)", people).Scan(&withDecile, &gpPeople); err != nil {
		t.Fatal(err)
	}
	if gpPeople == 0 || withDecile < gpPeople*9/10 {
		t.Errorf("%d of %d GP people have a deprivation decile, want nearly all", withDecile, gpPeople)
	}
}

func TestBenchHarnessRunsEveryStageWithDuckDBReference(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a dozen child processes")
	}
	t.Setenv(asBinaryEnv, "1")
	out := filepath.Join(t.TempDir(), "bench")
	results, err := runBench(context.Background(), io.Discard, 2000, 2, 0.001, false, out) // enough people for the risk model to converge
	if err != nil {
		t.Fatal(err)
	}
	stages := map[string]stageResult{}
	for _, r := range results {
		if strings.HasPrefix(r.Stage, "ingest gp ") && strings.HasSuffix(r.Stage, " GB") {
			r.Stage = "ingest gp (big)"
		}
		stages[r.Stage] = r
	}
	for _, name := range []string{"synth", "ingest gp", "ingest fhir", "ingest hl7v2", "re-ingest (no-op)", "link", "report",
		"cohort query", "cohort run", "risk fit", "risk run (score everyone)"} {
		r, ok := stages[name]
		if !ok {
			t.Errorf("no %q stage in %v", name, results)
			continue
		}
		if r.Seconds <= 0 || r.PeakRSSMB <= 0 {
			t.Errorf("%s: not timed: %+v", name, r)
		}
	}
	for _, name := range []string{"ingest gp", "ingest fhir", "ingest gp (big)"} {
		r := stages[name]
		if r.Records == 0 || r.Reference == nil || r.Ratio <= 0 {
			t.Errorf("%s: no records or no DuckDB reference: %+v", name, r)
		}
	}
	for _, name := range []string{"ingest gp", "ingest fhir"} {
		if r := stages[name]; r.Runs != 2 || r.RatioMin <= 0 || r.RatioMin > r.RatioMax {
			t.Errorf("%s: want 2 runs with their ratios' range: %+v", name, r)
		}
	}
	if r := stages["ingest gp (big)"]; r.Runs != 0 {
		t.Errorf("the big stage ran %d times, want once", r.Runs)
	}
	lk, err := lake.Open(filepath.Join(out, "workspace", "lake"))
	if err != nil {
		t.Fatal(err)
	}
	ms, err := lk.Manifests()
	if err != nil {
		t.Fatal(err)
	}
	gpBatches := 0
	for _, m := range ms {
		if len(m.Inputs) > 0 && m.Inputs[0].Feed == "gp" {
			gpBatches++
		}
	}
	if gpBatches != 1 {
		t.Errorf("the benchmark's workspace holds %d GP batches, want 1: repeated runs must go elsewhere", gpBatches)
	}
	if _, err := os.Stat(filepath.Join(out, "scratch-workspace")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("scratch workspace left behind: %v", err)
	}
	if r := stages["cohort query"]; r.Reference == nil || r.Reference.Records != r.Records || r.Ratio <= 0 {
		t.Errorf("cohort query: no hand-written reference selecting the same rows: %+v", r)
	}
	var buf bytes.Buffer
	printBench(&buf, "2000 synthetic people", results)
	if !strings.Contains(buf.String(), "ratio (DuckDB time / ours)") {
		t.Errorf("bench table lacks the ratio column:\n%s", buf.String())
	}
}

func TestBenchHarness_BigOnlyRunsTheBoundedMemoryStageAlone(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	t.Setenv(asBinaryEnv, "1")
	results, err := runBench(context.Background(), io.Discard, 2000, 1, 0.001, true, filepath.Join(t.TempDir(), "bench"))
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != 1 || !strings.HasPrefix(results[0].Stage, "ingest gp ") || results[0].Records == 0 ||
		results[0].PeakRSSMB <= 0 || results[0].Reference == nil {
		t.Errorf("want the one big GP stage, timed, with its DuckDB reference: %+v", results)
	}
	if _, err := runBench(context.Background(), io.Discard, 2000, 1, 0, true, filepath.Join(t.TempDir(), "bench")); err == nil {
		t.Error("--big-only with --big-gb 0 ran nothing and did not say so")
	}
}
