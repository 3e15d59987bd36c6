package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/pophealth/pophealth/jobs"
	"github.com/pophealth/pophealth/workspace"
)

func newJobsCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "jobs",
		Short: "List, run and inspect the workspace's scheduled jobs",
		Long: `jobs works with the job specs in WORKSPACE/jobs/*.yaml (docs/jobs.md; examples
in jobs/examples/) and their run history in WORKSPACE/runs/.

  pophealth jobs list            the jobs, their kinds, schedules and dependencies
  pophealth jobs run NAME        run a job now, then the jobs that run after it
  pophealth jobs history [NAME]  past runs, newest first
  pophealth jobs status          each job's last run, next run and recent failures

"pophealth serve" runs the jobs on their schedules. A job runs once at a
time across every process on the workspace: "jobs run" while serve is
running the same job records a skipped run instead of a second one.`,
	}
	cmd.AddCommand(newJobsListCmd(g), newJobsRunCmd(g), newJobsHistoryCmd(g), newJobsStatusCmd(g))
	return cmd
}

// openRunner opens the workspace, its job files and its run history.
func openRunner(g *globals, metrics *jobs.Metrics) (*workspace.Workspace, *jobs.Runner, error) {
	ws, err := workspace.Open(g.workspace)
	if err != nil {
		return nil, nil, err
	}
	set, err := loadJobs(ws.Dir)
	if err != nil {
		return nil, nil, err
	}
	r, err := jobs.NewRunner(ws, set, metrics, g.logger)
	if err != nil {
		return nil, nil, err
	}
	return ws, r, nil
}

func newJobsListCmd(g *globals) *cobra.Command {
	var jsonOut bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the jobs defined in WORKSPACE/jobs/*.yaml",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, r, err := openRunner(g, nil)
			if err != nil {
				return err
			}
			out := []jobs.JobInfo{}
			for _, j := range r.Jobs().Jobs {
				out = append(out, j.Info())
			}
			if jsonOut {
				return writeJSON(cmd.OutOrStdout(), out)
			}
			if len(out) == 0 {
				fmt.Fprintf(cmd.OutOrStdout(), "No jobs: add job files to %s/%s (see docs/jobs.md)\n", g.workspace, jobs.SpecDir)
				return nil
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "JOB\tKIND\tSCHEDULE\tPURPOSE\tTIMEOUT\tRETRIES")
			for _, j := range out {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\n", j.Name, j.Kind, j.Schedule, dash(j.Purpose), j.Timeout, j.Retries)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&jsonOut, "json", false, "print the jobs as JSON")
	return cmd
}

// failedRuns is the error of "jobs run" when a run did not succeed, with
// exit status 3 so scripts can tell it from a usage error.
type failedRuns []string

func (f failedRuns) Error() string { return "runs not successful: " + strings.Join(f, "; ") }

// ExitCode is 3: the command ran, a job did not succeed.
func (f failedRuns) ExitCode() int { return 3 }

func newJobsRunCmd(g *globals) *cobra.Command {
	var (
		jsonOut, alone bool
	)
	cmd := &cobra.Command{
		Use:   "run NAME",
		Short: "Run a job now, then the jobs that depend on it",
		Long: `run runs the job NAME now in this process, with its timeout and retries, and
records it in the run history; then it runs the jobs listed "after" it (and
theirs), unless the job found nothing new or --alone is given. The job's
own dependencies are not checked: an operator asked for this run.

It exits with status 3 if any run did not succeed (failed, aborted or
skipped because the job is running elsewhere).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, r, err := openRunner(g, nil)
			if err != nil {
				return err
			}
			j := r.Jobs().Job(args[0])
			if j == nil {
				return fmt.Errorf("no job called %q (pophealth jobs list)", args[0])
			}
			tr := jobs.Trigger{Reason: "manual", Manual: true}
			var runs []jobs.Run
			if alone {
				rec, _, err := r.Run(cmd.Context(), j, tr)
				runs = append(runs, rec)
				if err != nil {
					return err
				}
			} else if runs, err = r.RunChain(cmd.Context(), j, tr); err != nil {
				return err
			}
			if jsonOut {
				if err := writeJSON(cmd.OutOrStdout(), runs); err != nil {
					return err
				}
			} else {
				printRuns(cmd.OutOrStdout(), runs)
			}
			var bad failedRuns
			for _, x := range runs {
				if x.Status != jobs.Succeeded {
					bad = append(bad, x.Job+" "+string(x.Status))
				}
			}
			if len(bad) > 0 {
				return bad
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&jsonOut, "json", false, "print the run records as JSON")
	cmd.Flags().BoolVar(&alone, "alone", false, "run only NAME, not the jobs that run after it")
	return cmd
}

// printRuns writes one line per run.
func printRuns(w io.Writer, runs []jobs.Run) {
	for _, x := range runs {
		fmt.Fprintf(w, "%s %s in %.1fs (%s, attempts %d): %d records in, %d out", x.Job, x.Status, x.Seconds(), x.Trigger, x.Attempts, x.RecordsIn, x.RecordsOut)
		if len(x.Reports) > 0 {
			fmt.Fprintf(w, ", %d reports published", len(x.Reports))
		}
		if x.Error != "" {
			fmt.Fprintf(w, "\n    %s", x.Error)
		}
		fmt.Fprintln(w)
	}
}

func newJobsHistoryCmd(g *globals) *cobra.Command {
	var (
		jsonOut bool
		limit   int
	)
	cmd := &cobra.Command{
		Use:   "history [NAME]",
		Short: "Show past runs, newest first: start, end, status, records in and out, error",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, r, err := openRunner(g, nil)
			if err != nil {
				return err
			}
			runs, err := r.History().Runs()
			if err != nil {
				return err
			}
			out := []jobs.Run{}
			for _, x := range slices.Backward(runs) {
				if len(args) == 1 && x.Job != args[0] {
					continue
				}
				if limit > 0 && len(out) == limit {
					break
				}
				out = append(out, x)
			}
			if jsonOut {
				return writeJSON(cmd.OutOrStdout(), out)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "START\tJOB\tSTATUS\tTRIGGER\tSECONDS\tIN\tOUT\tERROR")
			for _, x := range out {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%.1f\t%d\t%d\t%s\n", x.Start.Local().Format("2006-01-02 15:04:05"), x.Job, x.Status, x.Trigger,
					x.Seconds(), x.RecordsIn, x.RecordsOut, firstLine(x.Error))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&jsonOut, "json", false, "print the runs as JSON")
	cmd.Flags().IntVar(&limit, "limit", 50, "show at most `N` runs (0: all)")
	return cmd
}

func newJobsStatusCmd(g *globals) *cobra.Command {
	var jsonOut bool
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show each job's last run, last success, next run and failures in the last 7 days",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, r, err := openRunner(g, nil)
			if err != nil {
				return err
			}
			st, err := r.Statuses(time.Now())
			if err != nil {
				return err
			}
			if jsonOut {
				return writeJSON(cmd.OutOrStdout(), st)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "JOB\tKIND\tSCHEDULE\tLAST RUN\tSTATUS\tLAST SUCCESS\tNEXT RUN\tFAILURES (7d)")
			for _, s := range st {
				last, status, ok := "-", "never run", "-"
				if s.Last != nil {
					last, status = s.Last.Start.Local().Format("2006-01-02 15:04"), string(s.Last.Status)
				}
				if s.LastSuccess != nil {
					ok = s.LastSuccess.End.Local().Format("2006-01-02 15:04")
				}
				next := "-"
				if !s.Next.IsZero() {
					next = s.Next.Local().Format("2006-01-02 15:04")
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\n", s.Name, s.Kind, s.Schedule, last, status, ok, next, s.RecentFailures)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&jsonOut, "json", false, "print the statuses as JSON")
	return cmd
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
