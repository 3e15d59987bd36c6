package jobs

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Scheduler starts a Runner's jobs on their schedules and after their
// dependencies, one run at a time in this process (runs queue in order;
// the queue-lag metric says how long they waited).
//
// On start it catches up: a job whose scheduled times passed while no
// scheduler ran (or whose last run was interrupted by a crash) runs once
// for the latest of them, and the missed times are recorded in one Missed
// record. Several schedulers may share a workspace: the job locks and the
// history make each scheduled time run once, the others recording a skip.
type Scheduler struct {
	r     *Runner
	grace time.Duration
	now   func() time.Time
	log   *slog.Logger

	mu    sync.Mutex
	queue []queued
	last  map[string]time.Time // per scheduled job: the latest slot queued
	wake  chan struct{}
	ready atomic.Bool
}

type queued struct {
	job *Spec
	tr  Trigger
}

// NewScheduler returns a scheduler for r's jobs. When Run's context ends,
// a run in progress has grace to finish before it is cancelled.
func NewScheduler(r *Runner, grace time.Duration) *Scheduler {
	return &Scheduler{r: r, grace: grace, now: r.now, log: r.log, last: map[string]time.Time{}, wake: make(chan struct{}, 1)}
}

// Ready reports whether Run has caught up and is scheduling (for /readyz).
func (s *Scheduler) Ready() bool { return s.ready.Load() }

// Run schedules until ctx ends. It then starts nothing new, gives the run
// in progress the grace period to finish and cancels it after that (the
// run is recorded Aborted and its kind leaves the workspace consistent).
// Queued runs that did not start are not recorded: their scheduled times
// are caught up on the next start.
func (s *Scheduler) Run(ctx context.Context) error {
	if err := s.catchUp(s.now()); err != nil {
		return err
	}
	jobCtx, cancelJobs := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelJobs()
	stopGrace := context.AfterFunc(ctx, func() {
		s.log.Info("scheduler stopping: no new runs; the run in progress has the grace period to finish", "grace", s.grace)
		time.AfterFunc(s.grace, cancelJobs)
	})
	defer stopGrace()
	done := make(chan error, 1)
	go func() { done <- s.work(ctx, jobCtx) }()
	s.ready.Store(true)
	defer s.ready.Store(false)

	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return <-done
		case err := <-done:
			return err
		case <-timer.C:
		}
		now := s.now()
		if err := s.enqueueDue(now); err != nil {
			cancelJobs()
			<-done
			return err
		}
		timer.Reset(s.untilNext(now))
	}
}

// untilNext returns how long to sleep before the next scheduled time,
// at most a minute (so a changed clock is noticed).
func (s *Scheduler) untilNext(now time.Time) time.Duration {
	wait := time.Minute
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, j := range s.r.set.Jobs {
		if !j.Scheduled() {
			continue
		}
		if next := j.Next(s.last[j.Name]); !next.IsZero() {
			wait = min(wait, next.Sub(now))
		}
	}
	return max(wait, time.Millisecond)
}

// catchUp sets each scheduled job's starting point from the history and
// queues one catch-up run for jobs whose scheduled times passed.
func (s *Scheduler) catchUp(now time.Time) error {
	for _, j := range s.r.set.Jobs {
		if !j.Scheduled() {
			continue
		}
		base, err := s.baseline(j.Name, now)
		if err != nil {
			return err
		}
		latest, n := j.schedule.Missed(base, now)
		s.mu.Lock()
		s.last[j.Name] = now
		s.mu.Unlock()
		if n == 0 {
			continue
		}
		first := j.Next(base)
		if err := s.r.recordMissed(j, first, latest, n, "while no scheduler was running"); err != nil {
			return err
		}
		s.push(queued{job: j, tr: Trigger{Reason: "catch-up", Slot: latest, Due: latest}})
	}
	return nil
}

// baseline is the scheduled time after which a job's runs are owed: the
// latest slot a run succeeded, failed or was skipped for; if the job has
// only aborted, interrupted or missed records, just before the first of
// them (so the crashed or aborted run is made good); if it has no history,
// now (a new job waits for its first scheduled time).
func (s *Scheduler) baseline(job string, now time.Time) (time.Time, error) {
	runs, err := s.r.hist.JobRuns(job)
	if err != nil {
		return time.Time{}, err
	}
	var done, owed time.Time
	for _, r := range runs {
		if r.Scheduled.IsZero() {
			continue
		}
		switch {
		case r.Status.settled() || r.Status == Skipped:
			if r.Scheduled.After(done) {
				done = r.Scheduled
			}
		case owed.IsZero() || r.Scheduled.Before(owed):
			owed = r.Scheduled
		}
	}
	switch {
	case !done.IsZero():
		return done, nil
	case !owed.IsZero():
		return owed.Add(-time.Nanosecond), nil
	}
	return now, nil
}

// enqueueDue queues the scheduled jobs due at now: one run for the latest
// due time, the earlier ones (a process suspended, a run longer than the
// interval) recorded Missed.
func (s *Scheduler) enqueueDue(now time.Time) error {
	for _, j := range s.r.set.Jobs {
		if !j.Scheduled() {
			continue
		}
		s.mu.Lock()
		last := s.last[j.Name]
		s.mu.Unlock()
		latest, n := j.schedule.Missed(last, now)
		if n == 0 {
			continue
		}
		if n > 1 {
			prev := j.Next(last)
			for t := prev; t.Before(latest); t = j.Next(t) {
				prev = t
			}
			if err := s.r.recordMissed(j, j.Next(last), prev, n-1, "while this process was suspended or its clock jumped"); err != nil {
				return err
			}
		}
		s.mu.Lock()
		s.last[j.Name] = latest
		s.mu.Unlock()
		s.push(queued{job: j, tr: Trigger{Reason: "schedule", Slot: latest, Due: latest}})
	}
	return nil
}

// Enqueue queues a run of job now, as after another job (the scheduler
// does this itself) or by hand.
func (s *Scheduler) Enqueue(j *Spec, tr Trigger) { s.push(queued{job: j, tr: tr}) }

// push queues a run unless one of the same job is already waiting, which
// then stands for both (the second is recorded Skipped).
func (s *Scheduler) push(q queued) {
	s.mu.Lock()
	dup := slices.ContainsFunc(s.queue, func(x queued) bool { return x.job == q.job })
	if !dup {
		s.queue = append(s.queue, q)
	}
	n := len(s.queue)
	s.mu.Unlock()
	s.r.metrics.queueLength(n)
	if dup {
		rec := Run{Job: q.job.Name, Kind: q.job.Kind, Trigger: q.tr.Reason, Scheduled: q.tr.Slot, Start: s.now(), PID: s.r.pid, Host: s.r.host}
		if id, err := newBatchID(rec.Start); err == nil {
			rec.ID = id
			if _, _, err := s.r.skip(rec, "a run of the job is already queued"); err != nil {
				s.log.Error("record skipped run", "job", q.job.Name, "err", err)
			}
		}
		return
	}
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *Scheduler) pop() (queued, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.queue) == 0 {
		return queued{}, false
	}
	q := s.queue[0]
	s.queue = s.queue[1:]
	s.r.metrics.queueLength(len(s.queue))
	return q, true
}

// work runs queued jobs one at a time until ctx ends; jobCtx, which
// outlives ctx by the grace period, is what the runs see.
func (s *Scheduler) work(ctx, jobCtx context.Context) error {
	for {
		q, ok := s.pop()
		if !ok {
			select {
			case <-ctx.Done():
				return nil
			case <-s.wake:
				continue
			}
		}
		if ctx.Err() != nil {
			return nil
		}
		rec, res, err := s.r.Run(jobCtx, q.job, q.tr)
		if err != nil {
			return fmt.Errorf("job %s: %w", q.job.Name, err)
		}
		if rec.Status == Succeeded && !res.Unchanged && ctx.Err() == nil {
			for _, d := range s.r.set.Dependents(q.job.Name) {
				s.push(queued{job: d, tr: Trigger{Reason: "after:" + q.job.Name, Slot: q.tr.Slot, Due: s.now()}})
			}
		}
	}
}

// recordMissed records n scheduled times of j, first to latest, that will
// not run on their own. It takes the job's lock so that two schedulers
// starting together record them once; if the job is running, its run
// stands for them and nothing is recorded.
func (r *Runner) recordMissed(j *Spec, first, latest time.Time, n int, why string) error {
	start := r.now()
	id, err := newBatchID(start)
	if err != nil {
		return err
	}
	lock, err := lockJob(filepath.Join(r.dir, "locks"), j.Name, holderText(r.pid, r.host, id))
	if err != nil {
		return nil // running or unlockable: the run in progress or the next one reports
	}
	defer lock.unlock()
	runs, err := r.hist.JobRuns(j.Name)
	if err != nil {
		return err
	}
	for _, old := range runs {
		if old.Status == Missed && old.Scheduled.Equal(latest) {
			return nil
		}
	}
	msg := fmt.Sprintf("%d scheduled run(s) from %s to %s passed %s; one run follows for all of them",
		n, first.Format(time.RFC3339), latest.Format(time.RFC3339), why)
	rec := Run{ID: id, Job: j.Name, Kind: j.Kind, Trigger: "schedule", Scheduled: latest, Start: start, End: start,
		Status: Missed, MissedRuns: n, Error: msg, PID: r.pid, Host: r.host}
	r.log.Warn("job runs missed", "job", j.Name, "missed", n, "first", first, "latest", latest)
	if err := r.hist.Append(rec); err != nil {
		return err
	}
	r.metrics.recorded(rec)
	return nil
}
