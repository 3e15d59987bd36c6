package main

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/pophealth/pophealth/jobs"
	"github.com/pophealth/pophealth/workspace"
)

func newIngestCmd(g *globals) *cobra.Command {
	var jsonOut bool
	var memoryLimit string
	cmd := &cobra.Command{
		Use:   "ingest PATH...",
		Short: "Ingest feed files into the lake: parse, validate, link, pseudonymise, commit",
		Long: `Ingest reads GP extract CSV (.csv), FHIR R4 NDJSON (.ndjson, .json) and HL7 v2
ADT (.hl7) files, or directories of them, and commits them to the workspace's
lake as one atomic batch.

Every record read is either accepted or quarantined (with file, line and
reason, in the lake's restricted zone); the summary shows read = accepted +
quarantined for each file. A file whose content (SHA-256) was ingested before
is skipped, so running ingest twice on the same files adds nothing.

With --json the same summary is printed as JSON on stdout.

Memory is bounded by ingest's buffers, whatever the size of the feeds, plus
a small cost per patient for the master person index (docs/ingest.md).
--memory-limit sets the Go runtime's soft memory limit (default 320MiB, or
GOMEMLIMIT when that is set), which makes the garbage collector run earlier
rather than let the heap grow to twice what is live; "off" removes it.`,
		Example: `  pophealth ingest feeds/
  pophealth ingest --json feeds/gp/patients.csv feeds/hl7v2/adt.hl7`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := setMemoryLimit(memoryLimit, defaultIngestMemoryLimit); err != nil {
				return err
			}
			ws, err := workspace.Open(g.workspace)
			if err != nil {
				return err
			}
			res, err := runIngest(cmd, g, ws, args, !jsonOut)
			if err != nil {
				return err
			}
			if jsonOut {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(res)
			}
			printIngest(cmd.OutOrStdout(), res)
			return nil
		},
	}
	cmd.Flags().BoolVar(&jsonOut, "json", false, "print the summary as JSON")
	cmd.Flags().StringVar(&memoryLimit, "memory-limit", "", "soft memory `limit` of the Go runtime, e.g. 256MiB or 1GiB, or off (default "+defaultIngestMemoryLimit+", or GOMEMLIMIT when set)")
	return cmd
}

// runIngest runs the ingest job on a workspace and records it in the audit
// log. replaces names the quarantine entries the one input corrects
// ("quarantine replay"), or is nil.
func runIngest(cmd *cobra.Command, g *globals, ws *workspace.Workspace, paths []string, progress bool, replaces ...string) (jobs.IngestResult, error) {
	lk, opts, err := jobs.WorkspaceIngest(ws)
	if err != nil {
		return jobs.IngestResult{}, err
	}
	opts.Paths, opts.Logger, opts.Replaces = paths, g.logger, replaces
	if progress {
		var bar interface {
			Set64(int64) error
			Describe(string)
			Finish() error
		}
		start := time.Now()
		opts.Progress = func(p jobs.Progress) {
			if bar == nil {
				b := newProgressBar(cmd.ErrOrStderr(), p.TotalBytes, "ingest")
				if b == nil {
					return
				}
				bar = b
			}
			if s := time.Since(start).Seconds(); s > 0 {
				bar.Describe(fmt.Sprintf("ingest %.0f records/s", float64(p.Records)/s))
			}
			_ = bar.Set64(p.DoneBytes)
		}
		defer func() {
			if bar != nil {
				_ = bar.Finish()
			}
		}()
	}
	res, err := jobs.Ingest(cmd.Context(), lk, opts)
	if err != nil {
		return res, err
	}
	files := make([]map[string]any, 0, len(res.Files))
	for _, f := range res.Files {
		files = append(files, map[string]any{
			"path": f.Path, "sha256": f.SHA256, "status": f.Status,
			"read": f.Read, "accepted": f.Accepted, "quarantined": f.Quarantined,
		})
	}
	event := map[string]any{"batch_id": res.BatchID, "files": files, "rows": res.Rows}
	if len(res.Replayed) > 0 {
		event["replayed"] = res.Replayed
	}
	err = appendAudit(ws, "ingest", event)
	return res, err
}

func printIngest(w io.Writer, res jobs.IngestResult) {
	if res.BatchID != "" {
		fmt.Fprintf(w, "Batch %s committed in %.1fs\n\n", res.BatchID, res.Seconds)
	} else {
		fmt.Fprintf(w, "Nothing new to ingest (%.1fs)\n\n", res.Seconds)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "feed\tfile\tstatus\tread\taccepted\tquarantined\t")
	for _, f := range res.Files {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t\n", f.Feed, f.Path, f.Status, f.Read, f.Accepted, f.Quarantined)
	}
	t := res.Totals
	fmt.Fprintf(tw, "total\t%d files\t%d new\t%d\t%d\t%d\t\n", t.Files, t.Ingested, t.Read, t.Accepted, t.Quarantined)
	tw.Flush()
	for _, p := range res.Ignored {
		fmt.Fprintf(w, "ignored (not a feed file): %s\n", p)
	}
	if res.BatchID == "" {
		return
	}
	l := res.Link
	fmt.Fprintf(w, "\nLinkage (deterministic, NHS number): %d patient records -> %d joined by NHS number, %d already known, %d new people, %d without a usable NHS number\n",
		l.Records, l.ByNHSNumber, l.KnownSource, l.NewPeople, l.Unmatched)
	if l.NHSConflicts > 0 {
		fmt.Fprintf(w, "  %d records carried an NHS number already linked to someone else (kept apart, for review)\n", l.NHSConflicts)
	}
	if d := res.Deprivation; d.WithLSOA > 0 {
		fmt.Fprintf(w, "Deprivation: %d patient records with an LSOA, %d given an IMD decile, %d not in the lookup (no decile)\n",
			d.WithLSOA, d.Matched, d.Unmatched)
	}
	tables := make([]string, 0, len(res.Rows))
	for t := range res.Rows {
		tables = append(tables, t)
	}
	sort.Strings(tables)
	fmt.Fprint(w, "Rows written:")
	for _, t := range tables {
		fmt.Fprintf(w, " %s=%d", t, res.Rows[t])
	}
	fmt.Fprintln(w)
}
