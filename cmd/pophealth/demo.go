package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/pophealth/pophealth/jobs"
	"github.com/pophealth/pophealth/queries"
	"github.com/pophealth/pophealth/synth"
	"github.com/pophealth/pophealth/workspace"
)

func newDemoCmd(g *globals) *cobra.Command {
	var (
		people int
		seed   uint64
	)
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the whole pipeline on a synthetic population: init, synth, ingest, link, pseudonymise, report",
		Long: `demo shows pophealth end to end in one command. It creates the workspace if
needed, generates a synthetic population and its three exchange feeds into
WORKSPACE/feeds, writes the demo's job specs (WORKSPACE/jobs/demo.yaml, from
jobs/examples/demo.yaml) and three web accounts, and runs the jobs through
the scheduler's runner: ingest (validation, quarantine, linkage on NHS
number, pseudonymisation, atomic Parquet commit), linkage of the records
into people ("pophealth link"), then the sample reports and the risk model
that run after it. It prints the runs' timings and the
sample reports. "pophealth serve" on the workspace then runs the same jobs
on their schedules and serves the web front.

Run it twice to see idempotent ingest: the second run finds nothing new.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out := cmd.OutOrStdout()
			total := time.Now()
			step := func(name string) func() {
				start := time.Now()
				fmt.Fprintf(out, "==> %s\n", name)
				return func() { fmt.Fprintf(out, "    (%s in %.1fs)\n\n", name, time.Since(start).Seconds()) }
			}

			done := step("workspace " + g.workspace)
			ws, err := workspace.Open(g.workspace)
			if errors.Is(err, workspace.ErrNotInitialised) {
				ws, err = workspace.Init(g.workspace)
				if err == nil {
					err = appendAudit(ws, "init", map[string]any{"workspace": ws.Dir})
				}
				fmt.Fprintf(out, "    created, with a new lake key in %s (mode 0600)\n", ws.LakeKeyPath())
			} else if err == nil {
				fmt.Fprintln(out, "    exists: reusing it and its key")
			}
			if err != nil {
				return err
			}
			done()

			done = step(fmt.Sprintf("synth: %d synthetic people, seed %d", people, seed))
			opts := synth.DefaultOptions()
			opts.People, opts.Seed, opts.OutDir = people, seed, filepath.Join(ws.Dir, "feeds")
			sum, err := synth.Generate(cmd.Context(), opts, nil)
			if err != nil {
				return err
			}
			printSynthFiles(out, opts.OutDir, sum)
			done()

			done = step("jobs: the demo's job specs and web accounts")
			if err := writeDemoJobs(out, ws); err != nil {
				return err
			}
			if err := addDemoUsers(out, ws); err != nil {
				return err
			}
			done()

			done = step("run the jobs: ingest (parse, validate, link, pseudonymise, commit Parquet), then what runs after it")
			_, runner, err := openRunner(g, nil)
			if err != nil {
				return err
			}
			first := runner.Jobs().Job(demoIngestJob)
			if first == nil {
				return fmt.Errorf("the workspace's job files have no job %q to start the demo with", demoIngestJob)
			}
			runs, err := runner.RunChain(cmd.Context(), first, jobs.Trigger{Reason: "manual", Manual: true})
			var buf strings.Builder
			printRuns(&buf, runs)
			writeIndented(out, buf.String())
			if err != nil {
				return err
			}
			for _, x := range runs {
				switch {
				case x.Status == jobs.Succeeded:
				case x.Job == demoIngestJob || x.Job == demoLinkJob || x.Job == demoReportJob:
					return fmt.Errorf("demo job %s %s: %s", x.Job, x.Status, x.Error)
				default: // a risk model may not fit a very small population
					fmt.Fprintf(out, "    note: %s %s; the demo goes on without it\n", x.Job, x.Status)
				}
			}
			fmt.Fprintf(out, "    History: pophealth --workspace %s jobs history\n", ws.Dir)
			done()

			done = step("report: DuckDB over the lake, small numbers suppressed (published by job " + demoReportJob + ")")
			reports, err := publishedBy(runner, demoReportJob)
			if err != nil {
				return err
			}
			if err := writeReports(out, &queries.Page{Reports: reports}, "text"); err != nil {
				return err
			}
			html := filepath.Join(ws.Dir, "reports", "demo.html")
			if err := os.MkdirAll(filepath.Dir(html), 0o755); err != nil {
				return err
			}
			if err := writeReportFiles(html, &queries.Page{Title: "pophealth reports", Generated: time.Now(), Reports: reports}, "html"); err != nil {
				return err
			}
			fmt.Fprintf(out, "The same reports with charts: %s\n", html)
			done()

			fmt.Fprintf(out, "Demo finished in %.1fs. The lake is in %s:\n", time.Since(total).Seconds(), ws.LakeDir())
			fmt.Fprintf(out, "  duckdb -c \"select count(*) from read_parquet('%s/pseudo/**/*.parquet', union_by_name=true)\"\n", ws.LakeDir())
			fmt.Fprintf(out, "Next: pophealth --workspace %s serve   # the jobs on their schedules, and the web front on http://127.0.0.1:8080\n", ws.Dir)
			return nil
		},
	}
	cmd.Flags().IntVar(&people, "people", 10000, "size of the synthetic population")
	cmd.Flags().Uint64Var(&seed, "seed", 1, "random seed (same seed, same feeds)")
	return cmd
}

// writeIndented writes text with every line indented by four spaces.
func writeIndented(w io.Writer, text string) {
	for _, line := range strings.SplitAfter(text, "\n") {
		if line != "" {
			fmt.Fprint(w, "    "+line)
		}
	}
}
