package main

import (
	"bytes"
	"cmp"
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	_ "github.com/duckdb/duckdb-go/v2" // DuckDB driver for the reference runs
	"github.com/spf13/cobra"
)

// stageResult is one timed stage of the bench harness.
type stageResult struct {
	Stage   string  `json:"stage"`
	Records int64   `json:"records"`
	Bytes   int64   `json:"bytes"`
	Seconds float64 `json:"seconds"`
	// CPUSeconds is user plus system time: on a shared machine it shows
	// what a stage costs when wall time is stretched by other work.
	CPUSeconds float64 `json:"cpu_seconds"`
	PeakRSSMB  float64 `json:"peak_rss_mb"`
	// Reference is DuckDB's own time for the same input, run in the same
	// harness invocation, and Ratio is our throughput over DuckDB's
	// (above 1: faster than DuckDB).
	Reference *stageResult `json:"reference,omitempty"`
	Ratio     float64      `json:"ratio,omitempty"`
	// Runs is the number of times the stage and its reference ran, in
	// turn (--repeat); Seconds and Reference are then the median runs,
	// Ratio the ratio of the medians, and RatioMin and RatioMax the
	// range of the runs' own ratios, to show how noisy the machine was.
	Runs     int     `json:"runs,omitempty"`
	RatioMin float64 `json:"ratio_min,omitempty"`
	RatioMax float64 `json:"ratio_max,omitempty"`
}

func (s stageResult) recordsPerSecond() float64 { return float64(s.Records) / s.Seconds }

func newBenchCmd(g *globals) *cobra.Command {
	var (
		people   int
		bigGB    float64
		out      string
		existing string
		jsonOut  bool
		bigOnly  bool
		repeat   int
	)
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Time each pipeline stage on a synthetic population, with DuckDB as the reference",
		Long: `bench generates a synthetic population, then runs each stage as its own process
(synth, ingest per feed, re-ingest, link, report, the query stages, and a GP
extract of --big-gb gigabytes for bounded memory) and reports records/s, MB/s
and peak resident memory. Next to each ingest stage it runs DuckDB's own reader on
the same files (read_csv / read_ndjson -> COPY ... TO parquet) in a separate
process and prints the ratio, so results compare like with like on a shared
machine whose absolute speed drifts. Those two ingest stages and their
references run --repeat times in turn (default 3; the repeats go into a
scratch workspace) and the table shows the medians, with the range of the
runs' ratios.

Then it times the query stages on the lake it built: the example cohort
(queries/cohort/examples/t2d-poor-control.yaml) compiled against the same
cohort written by hand in DuckDB SQL (ratio above 1: the compiled query is
faster), the whole "cohort run", "risk fit" and "risk run" (Charlson, eFI
and model scoring for everyone, with the risk pyramid).

--existing WORKSPACE skips synth and ingest and runs only the query stages
on a workspace already built, for a lake too large to rebuild every run.

Results go to OUT/bench.json; BENCHMARKS.md records them with the command.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var results []stageResult
			var err error
			if existing != "" {
				results, err = runQueryBench(cmd.Context(), cmd.ErrOrStderr(), existing, out)
			} else {
				results, err = runBench(cmd.Context(), cmd.ErrOrStderr(), people, repeat, bigGB, bigOnly, out)
			}
			if err != nil {
				return err
			}
			summary := map[string]any{"people": people, "stages": results}
			heading := fmt.Sprintf("%d synthetic people", people)
			if bigOnly && existing == "" {
				summary = map[string]any{"big_gb": bigGB, "stages": results}
				heading = fmt.Sprintf("bounded-memory stage only (%.1f GB GP extract)", bigGB)
			}
			if existing != "" {
				summary = map[string]any{"workspace": existing, "stages": results}
				heading = "query stages on workspace " + existing
			}
			data, err := json.MarshalIndent(summary, "", "  ")
			if err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(out, "bench.json"), append(data, '\n'), 0o644); err != nil {
				return err
			}
			if jsonOut {
				_, err = cmd.OutOrStdout().Write(append(data, '\n'))
				return err
			}
			printBench(cmd.OutOrStdout(), heading, results)
			return nil
		},
	}
	cmd.Flags().IntVar(&people, "people", 100000, "size of the synthetic population")
	cmd.Flags().IntVar(&repeat, "repeat", 3, "run each ingest stage that has a DuckDB reference, and the reference, this many times in turn and report the medians (the big stage runs once)")
	cmd.Flags().Float64Var(&bigGB, "big-gb", 2, "size in GB of the GP extract of the bounded-memory stage (0: skip it)")
	cmd.Flags().StringVar(&out, "out", "bench-out", "directory for feeds, workspace and results (replaced)")
	cmd.Flags().StringVar(&existing, "existing", "", "run only the query stages on this existing `WORKSPACE`")
	cmd.Flags().BoolVar(&jsonOut, "json", false, "print results as JSON")
	cmd.Flags().BoolVar(&bigOnly, "big-only", false, "run only the bounded-memory stage (the --big-gb GP extract and DuckDB's reference on it)")
	cmd.AddCommand(newBenchReferenceCmd(), newBenchCohortCmd(g))
	return cmd
}

// runBench runs every stage and its reference.
func runBench(ctx context.Context, progress io.Writer, people, repeat int, bigGB float64, bigOnly bool, out string) ([]stageResult, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	if err := os.RemoveAll(out); err != nil {
		return nil, err
	}
	feeds, ws := filepath.Join(out, "feeds"), filepath.Join(out, "workspace")
	run := childRunner(ctx, progress, self)
	if bigOnly {
		if bigGB <= 0 {
			return nil, fmt.Errorf("bench: --big-only needs --big-gb above 0")
		}
		st, err := benchBig(run, out, bigGB)
		if err != nil {
			return nil, err
		}
		return []stageResult{st}, nil
	}

	var results []stageResult
	synth, synthOut, err := run("synth", "synth", "--people", fmt.Sprint(people), "--seed", "1", "--out", feeds, "--json")
	if err != nil {
		return nil, err
	}
	var summary struct {
		Files map[string]struct {
			Records int64 `json:"records"`
		} `json:"files"`
	}
	if err := json.Unmarshal(synthOut, &summary); err != nil {
		return nil, fmt.Errorf("bench: synth summary: %w", err)
	}
	for _, f := range summary.Files {
		synth.Records += f.Records
	}
	synth.Bytes = dirSize(feeds)
	results = append(results, synth)

	if _, _, err := run("init", "init", "--workspace", ws); err != nil {
		return nil, err
	}
	ingest := func(stage, ws, dir string, reference bool) (stageResult, error) {
		return benchIngest(run, out, stage, ws, dir, reference, repeat)
	}
	// One process per feed, in the order an operator would load them, so
	// each feed's speed and memory are measured on their own.
	for _, feed := range []string{"gp", "fhir", "hl7v2"} {
		st, err := ingest("ingest "+feed, ws, filepath.Join(feeds, feed), feed != "hl7v2")
		if err != nil {
			return nil, err
		}
		results = append(results, st)
	}
	again, _, err := run("re-ingest (no-op)", "ingest", "--workspace", ws, "--json", feeds)
	if err != nil {
		return nil, err
	}
	results = append(results, again)
	linked, body, err := run("link", "link", "--workspace", ws, "--json")
	if err != nil {
		return nil, err
	}
	var lr struct {
		Sources int64 `json:"sources"`
	}
	if err := json.Unmarshal(body, &lr); err != nil {
		return nil, fmt.Errorf("bench: link summary: %w", err)
	}
	linked.Records = lr.Sources
	results = append(results, linked)
	report, _, err := run("report", "report", "--workspace", ws, "--json")
	if err != nil {
		return nil, err
	}
	results = append(results, report)
	qs, err := runQueryStages(ctx, run, ws, out)
	if err != nil {
		return nil, err
	}
	results = append(results, qs...)
	if bigGB > 0 {
		st, err := benchBig(run, out, bigGB)
		if err != nil {
			return nil, err
		}
		results = append(results, st)
	}
	return results, nil
}

// benchIngest times one ingest process on dir and, unless it is HL7 v2
// (DuckDB has no reader for it), DuckDB's conversion of the same files.
//
// With repeat above 1 (and a reference) both run repeat times, in turn:
// the first ingest into ws, the others into a scratch workspace made
// afresh each time, so that every run does the same work. On a shared
// machine a single pair can differ by a factor of two either way.
func benchIngest(run stageRunner, out, stage, ws, dir string, reference bool, repeat int) (stageResult, error) {
	if !reference {
		repeat = 1
	}
	var ours, refs []stageResult
	for i := range max(1, repeat) {
		target := ws
		if i > 0 {
			target = filepath.Join(out, "scratch-workspace")
			if err := os.RemoveAll(target); err != nil {
				return stageResult{}, err
			}
			if _, _, err := run("init (scratch)", "init", "--workspace", target); err != nil {
				return stageResult{}, err
			}
		}
		st, body, err := run(stage, "ingest", "--workspace", target, "--json", dir)
		if err != nil {
			return st, err
		}
		var res struct {
			Totals struct {
				Read int64 `json:"read"`
			} `json:"totals"`
		}
		if err := json.Unmarshal(body, &res); err != nil {
			return st, fmt.Errorf("bench: ingest summary: %w", err)
		}
		st.Records, st.Bytes = res.Totals.Read, dirSize(dir)
		ours = append(ours, st)
		if !reference {
			break
		}
		ref, _, err := run("duckdb: "+stage, "bench", "reference", "--out", filepath.Join(out, "reference", filepath.Base(dir)), dir)
		if err != nil {
			return st, err
		}
		ref.Records, ref.Bytes = st.Records, st.Bytes
		refs = append(refs, ref)
	}
	if err := os.RemoveAll(filepath.Join(out, "scratch-workspace")); err != nil {
		return stageResult{}, err
	}
	st := medianRun(ours)
	if reference {
		ref := medianRun(refs)
		st.Reference = &ref
		st.Ratio = ref.Seconds / st.Seconds
		if len(ours) > 1 {
			st.Runs, st.RatioMin, st.RatioMax = len(ours), math.Inf(1), 0
			for i := range ours {
				r := refs[i].Seconds / ours[i].Seconds
				st.RatioMin, st.RatioMax = min(st.RatioMin, r), max(st.RatioMax, r)
			}
		}
	}
	return st, nil
}

// medianRun returns the run with the median wall time (the lower middle
// one of an even number).
func medianRun(runs []stageResult) stageResult {
	sorted := slices.Clone(runs)
	slices.SortFunc(sorted, func(a, b stageResult) int { return cmp.Compare(a.Seconds, b.Seconds) })
	return sorted[(len(sorted)-1)/2]
}

// benchBig is the bounded-memory stage: one GP extract of about bigGB
// gigabytes (a longer study period, so that the events file grows faster
// than the population and its index), into a workspace of its own, with
// DuckDB's reference on the same files.
func benchBig(run stageRunner, out string, bigGB float64) (stageResult, error) {
	bigFeeds, bigWS := filepath.Join(out, "big-feeds"), filepath.Join(out, "big-workspace")
	n := int(bigGB * 1e9 / gpEventBytesPerPerson)
	if _, _, err := run("synth (big)", "synth", "--people", fmt.Sprint(n), "--seed", "2", "--start", bigStart, "--out", bigFeeds, "--json"); err != nil {
		return stageResult{}, err
	}
	if _, _, err := run("init (big)", "init", "--workspace", bigWS); err != nil {
		return stageResult{}, err
	}
	dir := filepath.Join(bigFeeds, "gp")
	st, err := benchIngest(run, out, fmt.Sprintf("ingest gp %.1f GB", float64(dirSize(dir))/1e9), bigWS, dir, true, 1)
	if err != nil {
		return st, err
	}
	// Gigabytes of feeds and lake are not worth keeping.
	for _, d := range []string{bigFeeds, bigWS, filepath.Join(out, "reference", "gp")} {
		if err := os.RemoveAll(d); err != nil {
			return st, err
		}
	}
	return st, nil
}

// runQueryBench runs only the query stages, on an existing workspace.
func runQueryBench(ctx context.Context, progress io.Writer, ws, out string) ([]stageResult, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	if err := os.RemoveAll(out); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, err
	}
	return runQueryStages(ctx, childRunner(ctx, progress, self), ws, out)
}

// stageRunner runs one stage as a child process (childRunner).
type stageRunner = func(stage string, args ...string) (stageResult, []byte, error)

// childRunner returns a function that runs one stage as a child process
// of the binary self, saying so on progress.
func childRunner(ctx context.Context, progress io.Writer, self string) func(stage string, args ...string) (stageResult, []byte, error) {
	return func(stage string, args ...string) (stageResult, []byte, error) {
		fmt.Fprintf(progress, "bench: %s ...\n", stage)
		return timeChild(ctx, stage, self, args...)
	}
}

// The big GP extract: synth with a study period from bigStart writes about
// gpEventBytesPerPerson bytes of events.csv per person (measured: 1.51 GB
// for 250,000 people from 2000-01-01 to 2026-03-31).
const (
	bigStart              = "2000-01-01"
	gpEventBytesPerPerson = 6030
)

// timeChild runs the binary with args and returns its wall time, peak RSS
// and standard output.
func timeChild(ctx context.Context, stage, bin string, args ...string) (stageResult, []byte, error) {
	var stdout, stderr bytes.Buffer
	c := exec.CommandContext(ctx, bin, args...)
	c.Stdout, c.Stderr = &stdout, &stderr
	start := time.Now()
	err := c.Run()
	elapsed := time.Since(start).Seconds()
	if err != nil {
		return stageResult{}, nil, fmt.Errorf("bench %s: %s %s: %w\n%s", stage, bin, strings.Join(args, " "), err, stderr.String())
	}
	r := stageResult{Stage: stage, Seconds: elapsed}
	if ru, ok := c.ProcessState.SysUsage().(*syscall.Rusage); ok {
		r.PeakRSSMB = float64(ru.Maxrss) / 1024 // Linux reports KiB
		r.CPUSeconds = time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
	}
	return r, stdout.Bytes(), nil
}

func dirSize(dir string) int64 {
	var n int64
	_ = filepath.Walk(dir, func(_ string, info os.FileInfo, err error) error {
		if err == nil && info.Mode().IsRegular() {
			n += info.Size()
		}
		return nil
	})
	return n
}

func printBench(w io.Writer, heading string, results []stageResult) {
	fmt.Fprintf(w, "pophealth bench: %s\n\n", heading)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "stage\trecords\tseconds\tCPU s\trecords/s\tMB/s\tpeak RSS MB\tDuckDB s\tDuckDB CPU s\tDuckDB RSS MB\tratio (DuckDB time / ours)\t")
	for _, r := range results {
		rate, mbps := "", ""
		if r.Records > 0 {
			rate = fmt.Sprintf("%.0f", r.recordsPerSecond())
		}
		if r.Bytes > 0 {
			mbps = fmt.Sprintf("%.1f", float64(r.Bytes)/1e6/r.Seconds)
		}
		ref, refCPU, refRSS, ratio := "", "", "", ""
		if r.Reference != nil {
			ref = fmt.Sprintf("%.2f", r.Reference.Seconds)
			refCPU = fmt.Sprintf("%.2f", r.Reference.CPUSeconds)
			refRSS = fmt.Sprintf("%.0f", r.Reference.PeakRSSMB)
			ratio = fmt.Sprintf("%.2fx", r.Ratio)
			if r.Runs > 1 {
				ratio += fmt.Sprintf(" (median of %d, %.2f-%.2fx)", r.Runs, r.RatioMin, r.RatioMax)
			}
		}
		fmt.Fprintf(tw, "%s\t%d\t%.2f\t%.2f\t%s\t%s\t%.0f\t%s\t%s\t%s\t%s\t\n", r.Stage, r.Records, r.Seconds, r.CPUSeconds, rate, mbps, r.PeakRSSMB, ref, refCPU, refRSS, ratio)
	}
	tw.Flush()
}

// benchSQL holds the reference conversions, one per feed file kind: a CSV
// file, or an NDJSON file named for its FHIR resource type, which selects
// the members ingest reads ("the same fields", as issue 3 asks).
//
//go:embed benchsql/*.sql
var benchSQL embed.FS

// referenceSQL returns the DuckDB statement converting file to Parquet at
// dst, and false for a file that is not a CSV or NDJSON feed file.
func referenceSQL(file, dst string) (string, bool, error) {
	var name string
	switch filepath.Ext(file) {
	case ".csv":
		name = "csv"
	case ".ndjson":
		name = strings.TrimSuffix(filepath.Base(file), ".ndjson")
		if _, err := fs.Stat(benchSQL, "benchsql/"+name+".sql"); err != nil {
			name = "ndjson"
		}
	default:
		return "", false, nil
	}
	body, err := benchSQL.ReadFile("benchsql/" + name + ".sql")
	if err != nil {
		return "", false, err
	}
	quote := func(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
	q := strings.NewReplacer("{{input}}", quote(file), "{{output}}", quote(dst)).Replace(string(body))
	return q, true, nil
}

// newBenchReferenceCmd is the DuckDB reference run: it converts each CSV and
// NDJSON file under the given directory to Parquet with DuckDB's own readers.
func newBenchReferenceCmd() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:    "reference DIR",
		Short:  "DuckDB reference: read_csv/read_ndjson -> COPY TO parquet for each file in DIR",
		Hidden: true,
		Args:   cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := os.MkdirAll(out, 0o755); err != nil {
				return err
			}
			db, err := sql.Open("duckdb", "")
			if err != nil {
				return err
			}
			defer db.Close()
			files, err := filepath.Glob(filepath.Join(args[0], "*"))
			if err != nil {
				return err
			}
			for i, f := range files {
				q, ok, err := referenceSQL(f, filepath.Join(out, fmt.Sprintf("%d.parquet", i)))
				if err != nil {
					return err
				}
				if !ok {
					continue
				}
				if _, err := db.ExecContext(cmd.Context(), q); err != nil {
					return fmt.Errorf("duckdb reference %s: %w", f, err)
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "directory for the Parquet files DuckDB writes")
	_ = cmd.MarkFlagRequired("out")
	return cmd
}
