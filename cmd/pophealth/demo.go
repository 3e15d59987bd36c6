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

	"github.com/pophealth/pophealth/queries"
	"github.com/pophealth/pophealth/lake"
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
WORKSPACE/feeds, ingests them (validation, quarantine, linkage on NHS number,
pseudonymisation, atomic Parquet commit), links the records into people
("pophealth link") and prints the sample reports.

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

			done = step("ingest: parse, validate, link on NHS number, pseudonymise, commit Parquet")
			res, err := runIngest(cmd, g, ws, []string{opts.OutDir}, false)
			if err != nil {
				return err
			}
			var buf strings.Builder
			printIngest(&buf, res)
			writeIndented(out, buf.String())
			done()

			done = step("link: NHS number first, Fellegi-Sunter for the rest, stable person ids")
			lk, err := lake.Open(ws.LakeDir())
			if err != nil {
				return err
			}
			linked, err := runLink(cmd, g, ws, lk, false, false)
			if err != nil {
				return err
			}
			buf.Reset()
			printLink(&buf, linked)
			writeIndented(out, buf.String())
			done()

			done = step("report: DuckDB over the lake, small numbers suppressed")
			reports, err := runReports(cmd.Context(), ws, nil)
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
			fmt.Fprintf(out, "Next: pophealth --workspace %s report --help\n", ws.Dir)
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
