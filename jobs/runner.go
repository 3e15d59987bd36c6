package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"time"

	"github.com/pophealth/pophealth/workspace"
)

// Trigger says why a run starts.
type Trigger struct {
	// Reason is recorded in the history: schedule, catch-up, manual or
	// after:<job>.
	Reason string
	// Slot is the scheduled time the run is for; zero for a manual run.
	// Runs for the same job and slot are run once, whichever scheduler
	// gets there first.
	Slot time.Time
	// Due is when the run became due, for the queue-lag metric (default:
	// Slot, else now).
	Due time.Time
	// Manual runs ignore the state of the job's dependencies: an operator
	// asked for this run.
	Manual bool
}

// Runner runs jobs of one workspace, one run of a job at a time across
// every process that shares the workspace, recording each run in the
// history. It is safe for concurrent use.
type Runner struct {
	ws      *workspace.Workspace
	set     *Set
	hist    *History
	dir     string // WORKSPACE/runs
	metrics *Metrics
	log     *slog.Logger
	pid     int
	host    string
	now     func() time.Time
	// sleep waits d unless ctx ends first (tests shorten backoffs).
	sleep func(ctx context.Context, d time.Duration) error
}

// NewRunner returns a Runner for the jobs of set in ws. metrics and log
// may be nil.
func NewRunner(ws *workspace.Workspace, set *Set, metrics *Metrics, log *slog.Logger) (*Runner, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	dir := filepath.Join(ws.Dir, RunsDir)
	hist, err := OpenHistory(dir)
	if err != nil {
		return nil, err
	}
	host, _ := os.Hostname()
	return &Runner{
		ws: ws, set: set, hist: hist, dir: dir, metrics: metrics, log: log,
		pid: os.Getpid(), host: host, now: time.Now, sleep: sleepCtx,
	}, nil
}

// History returns the runner's history.
func (r *Runner) History() *History { return r.hist }

// Jobs returns the runner's jobs.
func (r *Runner) Jobs() *Set { return r.set }

// Dir returns the runs directory (history, locks, stored reports).
func (r *Runner) Dir() string { return r.dir }

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Run runs job j once for tr and returns its final record and result.
//
// It takes the job's lock first. If another run holds it, or a run for the
// same slot already finished, or (unless tr.Manual) a dependency's latest
// run did not succeed, the run is recorded Skipped and not started. A
// record left Running by a process that died is closed as Interrupted.
// Each attempt is bounded by the job's timeout; failed attempts are
// retried after the job's backoff, doubled each time. When ctx ends, the
// attempt in progress is cancelled (the job's kind leaves the workspace
// consistent) and the run is recorded Aborted.
//
// The error is for failures of the machinery (the history cannot be
// written); a job that fails is a Failed record, not an error.
func (r *Runner) Run(ctx context.Context, j *Spec, tr Trigger) (Run, Result, error) {
	start := r.now()
	id, err := newBatchID(start)
	if err != nil {
		return Run{}, Result{}, err
	}
	rec := Run{ID: id, Job: j.Name, Kind: j.Kind, Trigger: tr.Reason, Scheduled: tr.Slot, Start: start, PID: r.pid, Host: r.host}
	lock, err := lockJob(filepath.Join(r.dir, "locks"), j.Name, holderText(r.pid, r.host, id))
	if errors.Is(err, errBusy) {
		return r.skip(rec, err.Error())
	}
	if err != nil {
		return rec, Result{}, err
	}
	defer lock.unlock()

	if err := r.closeInterrupted(j.Name); err != nil {
		return rec, Result{}, err
	}
	if why, err := r.blocked(j, tr); err != nil {
		return rec, Result{}, err
	} else if why != "" {
		return r.skip(rec, why)
	}

	rec.Status = Running
	if err := r.hist.Append(rec); err != nil {
		return rec, Result{}, err
	}
	due := tr.Due
	if due.IsZero() {
		due = tr.Slot
	}
	if due.IsZero() {
		due = start
	}
	r.metrics.started(j, start.Sub(due))
	defer r.metrics.stopped(j)
	log := r.log.With("job", j.Name, "run", id)
	log.Info("job started", "kind", j.Kind, "trigger", tr.Reason)

	res, err := r.attempts(ctx, j, &rec, log)
	rec.End = r.now()
	switch {
	case err == nil:
		rec.Status = Succeeded
		rec.RecordsIn, rec.RecordsOut, rec.Detail = res.RecordsIn, res.RecordsOut, res.Detail
		if rec.Reports, err = saveReports(r.dir, id, res.Reports); err != nil {
			rec.Status, rec.Error, rec.Reports = Failed, err.Error(), nil
		}
	case ctx.Err() != nil:
		rec.Status, rec.Error = Aborted, fmt.Sprintf("stopped by shutdown: %v", err)
	default:
		rec.Status, rec.Error = Failed, err.Error()
	}
	log.Info("job ended", "status", rec.Status, "seconds", rec.Seconds(), "attempts", rec.Attempts, "err", rec.Error)
	if err := r.hist.Append(rec); err != nil {
		return rec, res, err
	}
	r.metrics.recorded(rec)
	return rec, res, nil
}

// attempts runs the job until an attempt succeeds, the retries are spent
// or ctx ends.
func (r *Runner) attempts(ctx context.Context, j *Spec, rec *Run, log *slog.Logger) (Result, error) {
	task := Task{Workspace: r.ws, Job: j, RunID: rec.ID, Logger: log}
	backoff := j.Backoff
	for {
		rec.Attempts++
		res, err := r.attempt(ctx, j, task)
		if err == nil || ctx.Err() != nil {
			return res, err
		}
		r.metrics.attemptFailed(j)
		if rec.Attempts > j.Retries {
			return res, err
		}
		log.Warn("job attempt failed: retrying", "attempt", rec.Attempts, "retry_in", backoff, "err", err)
		if err := r.sleep(ctx, backoff); err != nil {
			return res, fmt.Errorf("waiting to retry: %w", err)
		}
		backoff *= 2
	}
}

// attempt runs the job once within its timeout; a panic in the kind is
// an error of this run, not of the scheduler.
func (r *Runner) attempt(ctx context.Context, j *Spec, task Task) (res Result, err error) {
	actx, cancel := context.WithTimeoutCause(ctx, j.Timeout, fmt.Errorf("timed out after %v", j.Timeout))
	defer cancel()
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("job %s panicked: %v\n%s", j.Name, p, debug.Stack())
		}
	}()
	res, err = j.kind.run(actx, task, j.params)
	if err != nil && actx.Err() != nil && ctx.Err() == nil {
		err = fmt.Errorf("%w: %w", context.Cause(actx), err)
	}
	return res, err
}

// skip records a run that did not start.
func (r *Runner) skip(rec Run, why string) (Run, Result, error) {
	rec.Status, rec.Error, rec.End = Skipped, why, rec.Start
	r.log.Info("job skipped", "job", rec.Job, "reason", why)
	if err := r.hist.Append(rec); err != nil {
		return rec, Result{}, err
	}
	r.metrics.recorded(rec)
	return rec, Result{}, nil
}

// closeInterrupted marks the job's runs still recorded Running as
// Interrupted. The caller holds the job's lock, so no such run is alive.
func (r *Runner) closeInterrupted(job string) error {
	runs, err := r.hist.JobRuns(job)
	if err != nil {
		return err
	}
	for _, old := range runs {
		if old.Status != Running {
			continue
		}
		old.Status = Interrupted
		old.Error = fmt.Sprintf("the process running it (pid %d on %s) ended mid-run; the lake rolled back or forward on its next open", old.PID, old.Host)
		r.log.Warn("job run interrupted by a crash", "job", job, "run", old.ID)
		if err := r.hist.Append(old); err != nil {
			return err
		}
		r.metrics.recorded(old)
	}
	return nil
}

// blocked says why a run must not start, or "".
func (r *Runner) blocked(j *Spec, tr Trigger) (string, error) {
	if !tr.Slot.IsZero() {
		runs, err := r.hist.JobRuns(j.Name)
		if err != nil {
			return "", err
		}
		for _, old := range runs {
			if old.Status.settled() && old.Scheduled.Equal(tr.Slot) {
				return fmt.Sprintf("the run for %s already ran (run %s, %s)", tr.Slot.Format(time.RFC3339), old.ID, old.Status), nil
			}
		}
	}
	if tr.Manual {
		return "", nil
	}
	for _, d := range j.After {
		last, err := r.lastFinished(d)
		if err != nil {
			return "", err
		}
		switch {
		case last == nil:
			return fmt.Sprintf("dependency %s has not run yet", d), nil
		case last.Status != Succeeded:
			return fmt.Sprintf("dependency %s: its latest run %s %s", d, last.ID, last.Status), nil
		}
	}
	return "", nil
}

// lastFinished returns the job's latest run that started the job (or was
// interrupted doing so), or nil.
func (r *Runner) lastFinished(job string) (*Run, error) {
	runs, err := r.hist.JobRuns(job)
	if err != nil {
		return nil, err
	}
	for i := len(runs) - 1; i >= 0; i-- {
		if s := runs[i].Status; s.Finished() || s == Interrupted || s == Running {
			return &runs[i], nil
		}
	}
	return nil, nil
}

// RunChain runs j, then every job that depends on it directly or through
// others, each once and after all of its dependencies in the chain: a job
// starts when one of its dependencies in the chain succeeded with
// something new (and, as always, its other dependencies' latest runs
// succeeded). It returns the records of the runs in order.
func (r *Runner) RunChain(ctx context.Context, j *Spec, tr Trigger) ([]Run, error) {
	changed := map[string]bool{}
	var out []Run
	for _, x := range r.set.downstream(j) {
		t := tr
		if x != j {
			var from string
			for _, d := range x.After {
				if changed[d] {
					from = d
					break
				}
			}
			if from == "" {
				continue
			}
			t = Trigger{Reason: "after:" + from, Slot: tr.Slot}
		}
		rec, res, err := r.Run(ctx, x, t)
		out = append(out, rec)
		if err != nil {
			return out, err
		}
		changed[x.Name] = rec.Status == Succeeded && !res.Unchanged
		if ctx.Err() != nil {
			break
		}
	}
	return out, nil
}
