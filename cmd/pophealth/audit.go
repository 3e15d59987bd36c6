package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/pophealth/pophealth/audit"
	"github.com/pophealth/pophealth/workspace"
)

func newAuditCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Verify and read the tamper-evident audit log",
		Long: `Every approval, revocation, run, query and output is appended to the
workspace's hash-chained audit log (audit/audit.log). Each entry holds the
hash of the one before it, and a head file beside the log records the last
one, so an edited, reordered, inserted or removed entry breaks the chain.

  pophealth audit verify            # exit status 1 and the first broken line if tampered
  pophealth audit show --purpose t2dm-phm --since 2026-12-01`,
	}
	cmd.AddCommand(newAuditVerifyCmd(g), newAuditShowCmd(g))
	return cmd
}

func openAuditLog(g *globals) (*audit.Log, error) {
	ws, err := workspace.Open(g.workspace)
	if err != nil {
		return nil, err
	}
	return audit.Open(ws.AuditLogPath())
}

// errTampered makes a broken chain exit with status 3, apart from other
// failures, so that a monitoring script can raise the right alarm.
type errTampered struct{ error }

func (errTampered) ExitCode() int { return 3 }

func (e errTampered) Unwrap() error { return e.error }

func verifyError(err error) error {
	if errors.Is(err, audit.ErrTampered) {
		return errTampered{err}
	}
	return err
}

func newAuditVerifyCmd(g *globals) *cobra.Command {
	var jsonOut bool
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Check that no audit entry was edited, reordered, inserted or removed",
		Long: `Verify recomputes the hash chain of the whole log and compares its end with
the head file. On success it prints the number of entries and the head hash:
keep that hash somewhere the workspace's operators cannot write (a ticket, an
e-mail) and a later rewrite of both the log and its head will not match it.

Exit status: 0 intact, 3 tampered (the message names the first broken line),
1 for any other error.`,
		Example: `  pophealth audit verify
  pophealth audit verify --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := openAuditLog(g)
			if err != nil {
				return err
			}
			n, head, err := log.Head()
			if jsonOut {
				out := struct {
					OK      bool   `json:"ok"`
					Entries int64  `json:"entries"`
					Head    string `json:"head,omitempty"`
					Error   string `json:"error,omitempty"`
				}{OK: err == nil, Entries: n, Head: head}
				if err != nil {
					out.Error = err.Error()
				}
				if werr := writeJSON(cmd.OutOrStdout(), out); werr != nil {
					return werr
				}
				return verifyError(err)
			}
			if err != nil {
				return verifyError(err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "audit log intact: %d entries, head %s\n", n, head)
			return nil
		},
	}
	cmd.Flags().BoolVar(&jsonOut, "json", false, "print {ok, entries, head, error} as JSON")
	return cmd
}

func newAuditShowCmd(g *globals) *cobra.Command {
	var purpose, user, since, until string
	var jsonOut bool
	cmd := &cobra.Command{
		Use:   "show",
		Short: "List audit entries, filtered by purpose, user and date",
		Long: `Show lists audit entries oldest first: sequence number, time (UTC), user,
action and details. --since and --until take a day (YYYY-MM-DD, local time,
both days included) or an RFC 3339 instant. The log is verified as well; a
broken chain is reported after the listing and the command exits with
status 3.`,
		Example: `  pophealth audit show
  pophealth audit show --purpose t2dm-phm --user alice --since 2026-12-01 --until 2026-12-03
  pophealth audit show --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f := audit.Filter{Purpose: purpose, User: user}
			var err error
			if f.Since, err = parseWhen(since, false); err != nil {
				return fmt.Errorf("--since: %w", err)
			}
			if f.Until, err = parseWhen(until, true); err != nil {
				return fmt.Errorf("--until: %w", err)
			}
			log, err := openAuditLog(g)
			if err != nil {
				return err
			}
			entries, err := log.Entries()
			if err != nil {
				return verifyError(err)
			}
			shown := []audit.Entry{}
			for _, e := range entries {
				if f.Match(e) {
					shown = append(shown, e)
				}
			}
			if jsonOut {
				err = writeJSON(cmd.OutOrStdout(), shown)
			} else {
				err = writeAuditTable(cmd.OutOrStdout(), shown)
			}
			if err != nil {
				return err
			}
			if _, err := log.Verify(); err != nil {
				return verifyError(fmt.Errorf("the entries above are not trustworthy: %w", err))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&purpose, "purpose", "", "only entries about purpose `ID`")
	cmd.Flags().StringVar(&user, "user", "", "only entries by `NAME`")
	cmd.Flags().StringVar(&since, "since", "", "only entries on or after `DATE` (YYYY-MM-DD or RFC 3339)")
	cmd.Flags().StringVar(&until, "until", "", "only entries on or before `DATE` (YYYY-MM-DD, the whole day, or RFC 3339)")
	cmd.Flags().BoolVar(&jsonOut, "json", false, "print the entries as a JSON array (seq, time, actor, action, detail, prev, hash)")
	return cmd
}

// parseWhen reads a day in local time or an RFC 3339 instant. A day given
// as an upper bound means the end of that day.
func parseWhen(s string, endOfDay bool) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.ParseInLocation(time.DateOnly, s, time.Local); err == nil {
		if endOfDay {
			t = t.AddDate(0, 0, 1)
		}
		return t, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither YYYY-MM-DD nor an RFC 3339 time", s)
	}
	if endOfDay {
		t = t.Add(time.Nanosecond) // an instant bound is inclusive too
	}
	return t, nil
}

func writeAuditTable(w io.Writer, entries []audit.Entry) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SEQ\tTIME (UTC)\tUSER\tACTION\tDETAIL")
	for _, e := range entries {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", e.Seq, e.Time.UTC().Format(time.DateTime), e.Actor, e.Action, detailText(e.Detail))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "%d entries\n", len(entries))
	return err
}

// detailText writes an entry's detail as key=value pairs in key order,
// values that are not plain words in JSON quotes, on one line.
func detailText(d map[string]any) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(d)) {
		v := fmt.Sprint(d[k])
		if s, ok := d[k].(string); !ok || s == "" || strings.ContainsAny(s, " \t\n\"=") {
			if b, err := json.Marshal(d[k]); err == nil {
				v = string(b)
			}
		}
		parts = append(parts, k+"="+v)
	}
	return strings.Join(parts, " ")
}
