package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/pophealth/pophealth/audit"
	"github.com/pophealth/pophealth/purpose"
	"github.com/pophealth/pophealth/queries/sandbox"
	"github.com/pophealth/pophealth/queries/suppress"
	"github.com/pophealth/pophealth/workspace"
)

func newSQLCmd(g *globals) *cobra.Command {
	var (
		purposeID, querySQL, file, as string
		jsonOut, csvOut               bool
		maxRows                       int
		timeout                       time.Duration
	)
	cmd := &cobra.Command{
		Use:   "sql --purpose ID [-q SQL | -f FILE]",
		Short: "Run DuckDB SQL on one approved purpose's data, in a sandbox; every query is audited",
		Long: `sql runs read-only DuckDB SQL against the materialised data of one purpose
(lake/purposes/ID/), one view per table: person, diagnosis, ... with the
purpose's columns and pseudonyms. Nothing else is readable and nothing can
be written, attached, installed or changed (docs/sandbox.md).

The purpose must be approved, unchanged since approval, in date and name
you (--as, default $USER) among its users or roles. Every query is recorded
in the audit log with its text, row count and duration, refusals too, under
the --as name and the operating-system account that ran it.

For an aggregates-only purpose every result passes the suppression gate:
results holding a pseudonym are refused, counts are suppressed with the
purpose's profile (nhsd or opensafely), and cells that would reveal a
suppressed one through totals are withheld too.

With neither -q nor -f, statements are read from standard input, each
ending with ";" at the end of a line (an interactive shell on a terminal).

Examples:
  pophealth sql --purpose smi-research -q "SELECT count(*) FROM person"
  pophealth sql --purpose diabetes-phm -f counts.sql --csv
  pophealth sql --purpose smi-research`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if querySQL != "" && file != "" {
				return errors.New("give -q or -f, not both")
			}
			if jsonOut && csvOut {
				return errors.New("give --json or --csv, not both")
			}
			ws, err := workspace.Open(g.workspace)
			if err != nil {
				return err
			}
			a := &analyst{ws: ws, user: as, out: cmd.OutOrStdout(), errOut: cmd.ErrOrStderr(), format: "text"}
			if jsonOut {
				a.format = "json"
			} else if csvOut {
				a.format = "csv"
			}
			if err := a.open(cmd.Context(), purposeID, sandbox.Config{MaxRows: maxRows, Timeout: timeout, Threads: 1}); err != nil {
				return err
			}
			defer a.session.Close()
			switch {
			case querySQL != "":
				return a.run(cmd.Context(), querySQL)
			case file != "":
				f, err := os.Open(file)
				if err != nil {
					return err
				}
				defer f.Close()
				return a.statements(cmd.Context(), f, false)
			default:
				in := cmd.InOrStdin()
				f, ok := in.(*os.File)
				return a.statements(cmd.Context(), in, ok && term.IsTerminal(int(f.Fd())))
			}
		},
	}
	cmd.Flags().StringVar(&purposeID, "purpose", "", "purpose `ID` whose data to query (required)")
	cmd.Flags().StringVarP(&querySQL, "query", "q", "", "run one `SQL` statement")
	cmd.Flags().StringVarP(&file, "file", "f", "", "run the statements in `FILE`, each ending with \";\"")
	asFlag(cmd, &as)
	cmd.Flags().BoolVar(&jsonOut, "json", false, "print each result as JSON")
	cmd.Flags().BoolVar(&csvOut, "csv", false, "print each result as CSV")
	cmd.Flags().IntVar(&maxRows, "max-rows", sandbox.DefaultMaxRows, "most rows a query returns; more are cut and marked truncated")
	cmd.Flags().DurationVar(&timeout, "timeout", sandbox.DefaultTimeout, "stop a query that runs longer")
	cmd.MarkFlagRequired("purpose")
	return cmd
}

// analyst is one sql session: a user, an authorised purpose and its
// sandbox.
type analyst struct {
	ws      *workspace.Workspace
	user    string
	out     io.Writer
	errOut  io.Writer
	format  string
	ap      *purpose.Approved
	session *sandbox.Session
}

func (a *analyst) open(ctx context.Context, id string, cfg sandbox.Config) error {
	ap, dir, err := authorisePurpose(a.ws, id, a.user, "sql.refused")
	if err != nil {
		return err
	}
	cfg.Dir = dir
	if a.session, err = sandbox.Open(ctx, cfg); err != nil {
		return err
	}
	a.ap = ap
	return nil
}

// authorisePurpose is the gate of every command a user runs under a
// purpose (sql, cohort run): purpose.Authorise for user now, then the
// directory of the purpose's data (purpose.DataDir). A refusal is audited
// as refusedAction, since refused attempts are part of the audit trail.
func authorisePurpose(ws *workspace.Workspace, id, user, refusedAction string) (*purpose.Approved, string, error) {
	ap, err := purpose.Authorise(ws, id, user, time.Now())
	if err != nil {
		if errors.Is(err, purpose.ErrRefused) {
			if aerr := purpose.Audit(ws, user, refusedAction, map[string]any{"purpose": id, "reason": err.Error(), "os_user": audit.CurrentActor()}); aerr != nil {
				return nil, "", errors.Join(err, aerr)
			}
		}
		return nil, "", err
	}
	dir, err := purpose.DataDir(ws, ap)
	if err != nil {
		return nil, "", err
	}
	return ap, dir, nil
}

// asFlag adds --as, the name a user runs a purpose as, defaulting to $USER.
func asFlag(cmd *cobra.Command, as *string) {
	cmd.Flags().StringVar(as, "as", os.Getenv("USER"), "the `NAME` you use the purpose as (checked against its users and roles)")
}

// statements runs each statement of r: lines are gathered until one ends
// with ";". With prompt set (a terminal), it prompts and keeps going after
// a failed statement.
func (a *analyst) statements(ctx context.Context, r io.Reader, prompt bool) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	var stmt strings.Builder
	show := func() {
		if prompt {
			p := a.ap.Config.ID + "> "
			if stmt.Len() > 0 {
				p = strings.Repeat(" ", len(a.ap.Config.ID)) + "> "
			}
			fmt.Fprint(a.errOut, p)
		}
	}
	show()
	for sc.Scan() {
		line := sc.Text()
		if stmt.Len() == 0 && (strings.TrimSpace(line) == `\q` || strings.TrimSpace(line) == ".quit") {
			break
		}
		stmt.WriteString(line)
		stmt.WriteByte('\n')
		if strings.HasSuffix(strings.TrimSpace(line), ";") {
			if err := a.run(ctx, stmt.String()); err != nil {
				if !prompt {
					return err
				}
				fmt.Fprintln(a.errOut, "error:", err)
			}
			stmt.Reset()
		}
		show()
	}
	if err := sc.Err(); err != nil {
		return err
	}
	if strings.TrimSpace(stmt.String()) != "" {
		return a.run(ctx, stmt.String())
	}
	if prompt {
		fmt.Fprintln(a.errOut)
	}
	return nil
}

// run runs one statement, passes its result through the gate the purpose
// calls for, prints it and audits it, refused or not.
func (a *analyst) run(ctx context.Context, text string) error {
	text = strings.TrimSpace(text)
	start := time.Now()
	res, err := a.session.Query(ctx, text)
	var table *suppress.Table
	if err == nil && a.ap.Config.Rows == purpose.RowsAggregates {
		table, err = suppress.Gate(suppress.Profile(a.ap.Config.Suppression), res.Columns, res.Types, res.Rows)
	}
	detail := map[string]any{"purpose": a.ap.Config.ID, "query": text, "seconds": time.Since(start).Seconds(), "os_user": audit.CurrentActor()}
	switch {
	case err == nil:
		detail["outcome"], detail["rows"], detail["truncated"] = "ok", len(res.Rows), res.Truncated
	case isRefusal(err):
		detail["outcome"], detail["reason"] = "refused", err.Error()
	default:
		detail["outcome"], detail["reason"] = "error", err.Error()
	}
	if aerr := purpose.Audit(a.ws, a.user, "sql.query", detail); aerr != nil {
		return errors.Join(err, fmt.Errorf("query not audited: %w", aerr))
	}
	if err != nil {
		return err
	}
	if table != nil {
		return a.print(table.Columns, cellRows(table), res.Truncated, table.Notes)
	}
	return a.print(res.Columns, res.Rows, res.Truncated, nil)
}

func isRefusal(err error) bool {
	_, sandboxed := errors.AsType[*sandbox.RefusedError](err)
	_, gated := errors.AsType[*suppress.RefusedError](err)
	return sandboxed || gated
}

func cellRows(t *suppress.Table) [][]any {
	out := make([][]any, len(t.Rows))
	for i, r := range t.Rows {
		out[i] = make([]any, len(r))
		for j, c := range r {
			out[i][j] = c
		}
	}
	return out
}

// print writes one result in the chosen format.
func (a *analyst) print(columns []string, rows [][]any, truncated bool, notes []string) error {
	switch a.format {
	case "json":
		return writeJSON(a.out, struct {
			Columns   []string `json:"columns"`
			Rows      [][]any  `json:"rows"`
			Truncated bool     `json:"truncated"`
			Notes     []string `json:"notes,omitempty"`
		}{columns, rows, truncated, notes})
	case "csv":
		w := csv.NewWriter(a.out)
		w.Write(columns)
		for _, r := range rows {
			rec := make([]string, len(r))
			for i, v := range r {
				rec[i] = formatValue(v)
			}
			w.Write(rec)
		}
		w.Flush()
		return w.Error()
	}
	tw := tabwriter.NewWriter(a.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(columns, "\t"))
	for _, r := range rows {
		rec := make([]string, len(r))
		for i, v := range r {
			rec[i] = formatValue(v)
		}
		fmt.Fprintln(tw, strings.Join(rec, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(a.errOut, "(%d rows", len(rows))
	if truncated {
		fmt.Fprint(a.errOut, ", truncated: raise --max-rows or aggregate")
	}
	fmt.Fprintln(a.errOut, ")")
	for _, n := range notes {
		fmt.Fprintln(a.errOut, "note:", n)
	}
	return nil
}

func formatValue(v any) string {
	switch x := v.(type) {
	case nil:
		return "NULL"
	case time.Time:
		if x.Hour() == 0 && x.Minute() == 0 && x.Second() == 0 && x.Nanosecond() == 0 {
			return x.Format(time.DateOnly)
		}
		return x.Format(time.RFC3339)
	case []byte:
		return fmt.Sprintf("\\x%x", x)
	}
	return fmt.Sprint(v)
}
