package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/pophealth/pophealth/jobs"
	"github.com/pophealth/pophealth/lake"
	"github.com/pophealth/pophealth/workspace"
)

func newQuarantineCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "quarantine",
		Short: "List, inspect and replay quarantined feed records (operators only: identifiable)",
		Long: `Every source record that ingest could not accept is kept in the lake's
restricted quarantine zone with its raw bytes, its file, line and byte
offset, and the reason. These commands let an operator find such records,
look at one, fix it and ingest the corrected version.

Entries are named BATCH/ROW. Quarantine holds raw feed bytes (names, NHS
numbers): every use is recorded in the audit log.

A typical repair:
  pophealth quarantine list --reason PID-7
  pophealth quarantine show 20261122T030102Z-1a2b3c/4 --raw > fixed.hl7
  $EDITOR fixed.hl7
  pophealth quarantine replay --replaces 20261122T030102Z-1a2b3c/4 fixed.hl7`,
	}
	cmd.AddCommand(newQuarantineListCmd(g), newQuarantineShowCmd(g), newQuarantineReplayCmd(g))
	return cmd
}

// openLake opens the workspace's lake for the quarantine commands.
func openLake(g *globals) (*workspace.Workspace, *lake.Lake, error) {
	ws, err := workspace.Open(g.workspace)
	if err != nil {
		return nil, nil, err
	}
	lk, err := lake.Open(ws.LakeDir())
	return ws, lk, err
}

func newQuarantineListCmd(g *globals) *cobra.Command {
	var f jobs.QuarantineFilter
	var jsonOut bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List quarantined records by file and reason",
		Example: `  pophealth quarantine list
  pophealth quarantine list --outstanding --file adt --reason "impossible date"
  pophealth quarantine list --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ws, lk, err := openLake(g)
			if err != nil {
				return err
			}
			es, err := jobs.ListQuarantine(lk, f)
			if err != nil {
				return err
			}
			if err := appendAudit(ws, "quarantine.list", map[string]any{"entries": len(es)}); err != nil {
				return err
			}
			if jsonOut {
				type item struct {
					ID         string `json:"id"`
					Feed       string `json:"feed"`
					File       string `json:"file"`
					Line       int64  `json:"line"`
					Offset     int64  `json:"offset"`
					RecordID   string `json:"record_id,omitempty"`
					Reason     string `json:"reason"`
					Bytes      int    `json:"bytes"`
					ReplayedBy string `json:"replayed_by,omitempty"`
				}
				items := make([]item, len(es))
				for i, e := range es {
					items[i] = item{e.ID, e.Feed, e.File, e.Line, e.Offset, e.RecordID, e.Reason, len(e.Raw), e.ReplayedBy}
				}
				return writeJSON(cmd.OutOrStdout(), items)
			}
			printQuarantineList(cmd.OutOrStdout(), es)
			return nil
		},
	}
	cmd.Flags().StringVar(&f.File, "file", "", "only entries whose source file path contains `TEXT`")
	cmd.Flags().StringVar(&f.Reason, "reason", "", "only entries whose reason contains `TEXT` (any case)")
	cmd.Flags().StringVar(&f.Batch, "batch", "", "only entries from batch `ID`")
	cmd.Flags().StringVar(&f.Feed, "feed", "", "only entries from feed `NAME` (gp, fhir, hl7v2)")
	cmd.Flags().BoolVar(&f.Outstanding, "outstanding", false, "hide entries already replayed")
	cmd.Flags().BoolVar(&jsonOut, "json", false, "print the entries as JSON (without raw bytes)")
	return cmd
}

func printQuarantineList(w io.Writer, es []jobs.QuarantineEntry) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tFEED\tFILE\tLINE\tOFFSET\tSTATUS\tREASON")
	byReason := map[string]int{}
	outstanding := 0
	for _, e := range es {
		status := "outstanding"
		if e.ReplayedBy != "" {
			status = "replayed in " + e.ReplayedBy
		} else {
			outstanding++
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\t%s\n", e.ID, e.Feed, e.File, e.Line, e.Offset, status, oneLine(e.Reason, 100))
		byReason[reasonKind(e.Reason)]++
	}
	tw.Flush()
	fmt.Fprintf(w, "\n%d entries, %d outstanding\n", len(es), outstanding)
	kinds := slices.Sorted(maps.Keys(byReason))
	for _, k := range kinds {
		fmt.Fprintf(w, "  %6d  %s\n", byReason[k], k)
	}
}

// reasonKind is the part of a reason before its first colon: the segment,
// field or column at fault ("PID-7", "date_of_birth").
func reasonKind(r string) string {
	k, _, _ := strings.Cut(r, ":")
	return k
}

// oneLine makes s printable on one table row.
func oneLine(s string, max int) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) > max {
		s = string([]rune(s)[:max-1]) + "…"
	}
	return s
}

func newQuarantineShowCmd(g *globals) *cobra.Command {
	var raw, jsonOut bool
	cmd := &cobra.Command{
		Use:   "show ID",
		Short: "Show one quarantined record: position, reason and raw bytes",
		Long: `Show prints one entry with its source position, reason and raw bytes,
non-printable bytes escaped (segment terminators show as \r).

With --raw only the raw bytes are written, unchanged, so they can be saved,
corrected and replayed: for HL7 v2 one message, for FHIR one resource (an
NDJSON line), for GP CSV one row (add the file's header line before
replaying).`,
		Example: `  pophealth quarantine show 20261122T030102Z-1a2b3c/4
  pophealth quarantine show 20261122T030102Z-1a2b3c/4 --raw > fixed.hl7`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ws, lk, err := openLake(g)
			if err != nil {
				return err
			}
			e, err := jobs.GetQuarantine(lk, args[0])
			if err != nil {
				return err
			}
			if err := appendAudit(ws, "quarantine.show", map[string]any{"id": e.ID}); err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			switch {
			case raw:
				_, err = out.Write(e.Raw)
				return err
			case jsonOut:
				return writeJSON(out, e)
			}
			status := "outstanding"
			if e.ReplayedBy != "" {
				status = "replayed in batch " + e.ReplayedBy
			}
			fmt.Fprintf(out, "entry:     %s\nbatch:     %s\nfeed:      %s\nfile:      %s\nline:      %d\noffset:    %d\nrecord id: %s\nreason:    %s\nstatus:    %s\nraw (%d bytes):\n%s\n",
				e.ID, e.BatchID, e.Feed, e.File, e.Line, e.Offset, e.RecordID, e.Reason, status, len(e.Raw), printable(e.Raw))
			return nil
		},
	}
	cmd.Flags().BoolVar(&raw, "raw", false, "write only the raw bytes, unchanged")
	cmd.Flags().BoolVar(&jsonOut, "json", false, "print the entry as JSON (raw bytes in base64)")
	return cmd
}

// printable quotes control and invalid bytes so raw feed bytes cannot play
// tricks on the terminal; a CR, as HL7 ends segments, also breaks the line.
func printable(b []byte) string {
	var sb strings.Builder
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		switch {
		case r == utf8.RuneError && n <= 1:
			fmt.Fprintf(&sb, `\x%02x`, b[0])
		case r == '\r':
			sb.WriteString("\\r\n")
			if len(b) > 1 && b[1] == '\n' {
				n++
			}
		case r == '\n', r == '\t':
			sb.WriteRune(r)
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			sb.WriteString(strconv.QuoteRune(r)[1 : len(strconv.QuoteRune(r))-1])
		default:
			sb.WriteRune(r)
		}
		b = b[n:]
	}
	return sb.String()
}

func newQuarantineReplayCmd(g *globals) *cobra.Command {
	var replaces []string
	var jsonOut bool
	cmd := &cobra.Command{
		Use:   "replay --replaces ID[,ID...] FILE",
		Short: "Ingest a corrected file in place of quarantined records",
		Long: `Replay ingests FILE, which holds corrected versions of the quarantine
entries named by --replaces, one source record per entry, as a normal ingest
batch, and marks those entries replayed in the same atomic commit.

It refuses, changing nothing, when an entry does not exist or was already
replayed, when FILE was ingested before, or when FILE does not hold exactly
one source record per entry. A corrected record that is still bad is
quarantined again as a new entry: every record stays accounted for.`,
		Example: `  pophealth quarantine replay --replaces 20261122T030102Z-1a2b3c/4 fixed.hl7
  pophealth quarantine replay --replaces B/1,B/2 --json fixed.ndjson`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(replaces) == 0 {
				return fmt.Errorf("replay: --replaces names the quarantine entries FILE corrects")
			}
			ws, err := workspace.Open(g.workspace)
			if err != nil {
				return err
			}
			res, err := runIngest(cmd, g, ws, args, !jsonOut, replaces...)
			if err != nil {
				return err
			}
			if jsonOut {
				return writeJSON(cmd.OutOrStdout(), res)
			}
			printIngest(cmd.OutOrStdout(), res)
			fmt.Fprintf(cmd.OutOrStdout(), "Replayed %d quarantine entries: %s\n", len(res.Replayed), strings.Join(res.Replayed, ", "))
			return nil
		},
	}
	cmd.Flags().StringSliceVar(&replaces, "replaces", nil, "quarantine entry `IDs` that FILE corrects (comma-separated or repeated)")
	cmd.Flags().BoolVar(&jsonOut, "json", false, "print the ingest summary as JSON")
	return cmd
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
