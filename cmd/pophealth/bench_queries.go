package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/pophealth/pophealth/queries"
	"github.com/pophealth/pophealth/queries/cohort"
)

// The example cohort the bench times, and the hand-written DuckDB query it
// is compared with (both in queries/cohort/examples, embedded).
const (
	benchSpec        = "examples/t2d-poor-control.yaml"
	benchHandwritten = "examples/t2d-poor-control.handwritten.sql"
)

// runQueryStages times the cohort and risk stages on the workspace ws:
// the example cohort's compiled query against the hand-written one (in one
// process, best of three each, interleaved), the whole "cohort run", then
// "risk fit" and "risk run" (Charlson, eFI and model scoring for everyone).
// Each is its own process, so its peak RSS is its own.
func runQueryStages(ctx context.Context, run func(stage string, args ...string) (stageResult, []byte, error), ws, out string) ([]stageResult, error) {
	examples := filepath.Join(out, "examples")
	if err := os.CopyFS(examples, mustSub(cohort.Examples, "examples")); err != nil {
		return nil, fmt.Errorf("bench: examples: %w", err)
	}
	spec := filepath.Join(out, benchSpec)
	var results []stageResult

	st, body, err := run("cohort query", "bench", "cohort", "--workspace", ws, spec, filepath.Join(out, benchHandwritten))
	if err != nil {
		return nil, err
	}
	var q cohortTiming
	if err := json.Unmarshal(body, &q); err != nil {
		return nil, fmt.Errorf("bench: cohort timing: %w", err)
	}
	if q.Members != q.HandwrittenMembers {
		return nil, fmt.Errorf("bench: the compiled cohort has %d rows, the hand-written one %d", q.Members, q.HandwrittenMembers)
	}
	st.Seconds, st.Records = q.CompiledSeconds, q.Members
	st.Reference = &stageResult{Stage: "hand-written DuckDB", Seconds: q.HandwrittenSeconds, Records: q.HandwrittenMembers, PeakRSSMB: st.PeakRSSMB}
	st.Ratio = q.HandwrittenSeconds / q.CompiledSeconds
	results = append(results, st)

	cr, _, err := run("cohort run", "cohort", "run", "--workspace", ws, "--json", spec)
	if err != nil {
		return nil, err
	}
	results = append(results, cr)
	fit, _, err := run("risk fit", "risk", "fit", "--workspace", ws, "--json")
	if err != nil {
		return nil, err
	}
	results = append(results, fit)
	score, body, err := run("risk run (score everyone)", "risk", "run", "--workspace", ws, "--json")
	if err != nil {
		return nil, err
	}
	var reports []struct {
		Rows [][]any `json:"rows"`
	}
	if err := json.Unmarshal(body, &reports); err == nil && len(reports) > 0 {
		for _, row := range reports[0].Rows {
			if len(row) > 1 {
				if n, ok := row[1].(float64); ok {
					score.Records += int64(n) // tier sizes, rounded to 5
				}
			}
		}
	}
	results = append(results, score)
	return results, nil
}

func mustSub(fsys fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(fsys, dir)
	if err != nil {
		panic(err) // the embedded directory is fixed at build time
	}
	return sub
}

// cohortTiming is what "bench cohort" prints.
type cohortTiming struct {
	CompiledSeconds    float64 `json:"compiled_seconds"`
	HandwrittenSeconds float64 `json:"handwritten_seconds"`
	Members            int64   `json:"members"`
	HandwrittenMembers int64   `json:"handwritten_members"`
}

// newBenchCohortCmd times a compiled cohort spec against a hand-written
// query for the same cohort on one engine: the cohort language's overhead.
func newBenchCohortCmd(g *globals) *cobra.Command {
	var runs int
	cmd := &cobra.Command{
		Use:    "cohort SPEC HANDWRITTEN.sql",
		Short:  "Time a compiled cohort against a hand-written DuckDB query for it (best of --runs each)",
		Hidden: true,
		Args:   cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			_, q, err := loadCompiled(cmd, args[0])
			if err != nil {
				return err
			}
			hand, err := os.ReadFile(args[1])
			if err != nil {
				return err
			}
			_, _, eng, err := openEngine(ctx, g)
			if err != nil {
				return err
			}
			defer eng.Close()
			compiled := "SELECT person_key, index_date, exit_date FROM (" + q.Members() + ") ORDER BY person_key"
			var t cohortTiming
			for i := range runs {
				c, n, err := timeQuery(ctx, eng, compiled)
				if err != nil {
					return err
				}
				h, m, err := timeQuery(ctx, eng, string(hand))
				if err != nil {
					return err
				}
				if i == 0 || c < t.CompiledSeconds {
					t.CompiledSeconds = c
				}
				if i == 0 || h < t.HandwrittenSeconds {
					t.HandwrittenSeconds = h
				}
				t.Members, t.HandwrittenMembers = n, m
			}
			return writeJSON(cmd.OutOrStdout(), t)
		},
	}
	cmd.Flags().IntVar(&runs, "runs", 3, "runs of each query; the fastest counts")
	return cmd
}

func timeQuery(ctx context.Context, eng *queries.Engine, sql string) (float64, int64, error) {
	start := time.Now()
	res, err := eng.Query(ctx, sql)
	if err != nil {
		return 0, 0, err
	}
	return time.Since(start).Seconds(), int64(len(res.Rows)), nil
}
