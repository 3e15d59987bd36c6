// Command pophealth is the one binary of the pophealth pipeline: it creates a
// workspace, generates synthetic feeds, ingests and links them into a
// pseudonymised Parquet lake and runs reports with DuckDB.
//
// Run "pophealth --help" for the commands; docs/ARCHITECTURE.md explains the
// data flow.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	_ "time/tzdata" // job schedules name IANA zones; secure hosts may lack zoneinfo

	"github.com/spf13/cobra"
)

// globals holds the flags every command shares.
type globals struct {
	workspace string
	logLevel  string
	logger    *slog.Logger
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := newRootCmd().ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "pophealth:", err)
		var ec exitCoder
		if errors.As(err, &ec) {
			os.Exit(ec.ExitCode())
		}
		os.Exit(1)
	}
}

// exitCoder lets a command choose its exit status (for example 2 for
// "ran, but some records were quarantined" in scripts).
type exitCoder interface{ ExitCode() int }

func newRootCmd() *cobra.Command {
	g := &globals{}
	root := &cobra.Command{
		Use:   "pophealth",
		Short: "Population-health analytics on linked, pseudonymised NHS exchange feeds",
		Long: `pophealth ingests exchange feeds (GP extract CSV, FHIR R4 NDJSON, HL7 v2 ADT),
links records into people, pseudonymises them into a Parquet lake and runs
suppressed cohort and risk reports with DuckDB.

Everything lives in one workspace directory (--workspace, default
./pophealth-data): configuration, keys, the lake and the audit log.

Quick start:
  pophealth demo                                   # everything below, on 10,000 synthetic people
  pophealth init                                   # create the workspace and its keys
  pophealth synth --people 10000 --seed 1 --out feeds
  pophealth ingest feeds                           # parse, link, pseudonymise, write the lake
  pophealth report                                 # sample cohort and risk ranking
  pophealth serve                                  # jobs on their schedules, web front on 127.0.0.1:8080`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			var level slog.Level
			if err := level.UnmarshalText([]byte(g.logLevel)); err != nil {
				return fmt.Errorf("--log-level: %w", err)
			}
			g.logger = slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: level}))
			return nil
		},
	}
	root.PersistentFlags().StringVar(&g.workspace, "workspace", "./pophealth-data", "workspace `DIR` holding config, keys, lake and audit log")
	root.PersistentFlags().StringVar(&g.logLevel, "log-level", "warn", "log level: debug, info, warn or error")
	root.AddCommand(
		newInitCmd(g),
		newSynthCmd(g),
		newIngestCmd(g),
		newReportCmd(g),
		newDemoCmd(g),
		newBenchCmd(g),
		newQuarantineCmd(g),
		newRiskCmd(g),
		newCohortCmd(g),
		newMLLPCmd(g),
		newPurposeCmd(g),
		newOptOutCmd(g),
		newSQLCmd(g),
		newAuditCmd(g),
		newLinkCmd(g),
		newJobsCmd(g),
		newServeCmd(g),
		newUsersCmd(g),
	)
	return root
}
