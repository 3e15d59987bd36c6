package jobs

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// RunsDir is the directory of job state in a workspace: the run history,
// the job locks and the reports each run stored.
const RunsDir = "runs"

// Status is the state of a run in the history.
type Status string

// Run statuses. A run is recorded Running when it starts and once more
// with its final status; Skipped and Missed records are final at once.
const (
	Running   Status = "running"
	Succeeded Status = "succeeded"
	// Failed: the last attempt returned an error or timed out.
	Failed Status = "failed"
	// Aborted: stopped by a shutdown whose grace period ended; the job
	// left the workspace as it was before the run (a lake batch aborted).
	Aborted Status = "aborted"
	// Interrupted: the process running it died (kill -9, power cut). The
	// next run of the job finds the record still Running while it holds
	// the job's lock, and closes it.
	Interrupted Status = "interrupted"
	// Skipped: a run was due but did not start (already running, the slot
	// already run by another scheduler, a dependency not successful).
	Skipped Status = "skipped"
	// Missed: scheduled times that passed while no scheduler ran; one
	// catch-up run follows for all of them.
	Missed Status = "missed"
)

// Finished reports whether a run with this status is over and ran (or
// tried to run) the job.
func (s Status) Finished() bool { return s == Succeeded || s == Failed || s == Aborted }

// settled reports whether a run with this status disposed of its
// scheduled time: it succeeded, or failed with its retries spent. An
// aborted or interrupted run did not, and its time is run again on the
// next start.
func (s Status) settled() bool { return s == Succeeded || s == Failed }

// Run is one record of the history. Its JSON form is what "pophealth jobs
// history --json" prints; field names are a stable interface.
type Run struct {
	ID   string `json:"id"`
	Job  string `json:"job"`
	Kind string `json:"kind"`
	// Trigger says why it ran: schedule, catch-up, manual, after:<job>.
	Trigger string `json:"trigger"`
	// Scheduled is the schedule time the run is for (zero for manual runs).
	Scheduled  time.Time      `json:"scheduled,omitzero"`
	Start      time.Time      `json:"start"`
	End        time.Time      `json:"end,omitzero"`
	Status     Status         `json:"status"`
	Attempts   int            `json:"attempts,omitempty"`
	RecordsIn  int64          `json:"records_in"`
	RecordsOut int64          `json:"records_out"`
	Error      string         `json:"error,omitempty"`
	MissedRuns int            `json:"missed_runs,omitempty"`
	Reports    []ReportRef    `json:"reports,omitempty"`
	Detail     map[string]any `json:"detail,omitempty"`
	PID        int            `json:"pid"`
	Host       string         `json:"host,omitempty"`
}

// ReportRef names a report a run stored (see LoadReport).
type ReportRef struct {
	File  string `json:"file"`
	Title string `json:"title"`
}

// Seconds returns the run's duration, or 0 while it runs.
func (r *Run) Seconds() float64 {
	if r.End.IsZero() {
		return 0
	}
	return r.End.Sub(r.Start).Seconds()
}

// History is the run history of a workspace: an append-only file of JSON
// lines (WORKSPACE/runs/history.jsonl), one per state change, the last
// line for a run id winning. Appends take an exclusive flock(2) and are
// fsynced, so several processes share the file safely and a record once
// written survives a crash; a line cut short by a crash is ignored.
//
// A History reads the file incrementally: each query reads only what was
// appended since the last one, by this process or another.
type History struct {
	path string

	mu     sync.Mutex
	offset int64
	runs   map[string]*Run
	order  []string            // run ids, in the order first recorded
	byJob  map[string][]string // run ids of each job, in the same order
}

// OpenHistory opens (creating the directory if needed) the history in dir.
func OpenHistory(dir string) (*History, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("job history: %w", err)
	}
	return &History{path: filepath.Join(dir, "history.jsonl"), runs: map[string]*Run{}, byJob: map[string][]string{}}, nil
}

// Append records r.
func (h *History) Append(r Run) error {
	line, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("job history: %w", err)
	}
	f, err := os.OpenFile(h.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return fmt.Errorf("job history: %w", err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("job history %s: lock: %w", h.path, err)
	}
	defer syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	// A line a crash cut short must not swallow this one: start on a new
	// line if the file does not end with one.
	if info, err := f.Stat(); err == nil && info.Size() > 0 {
		last := make([]byte, 1)
		if rf, err := os.Open(h.path); err == nil {
			if _, err := rf.ReadAt(last, info.Size()-1); err == nil && last[0] != '\n' {
				line = append([]byte{'\n'}, line...)
			}
			rf.Close()
		}
	}
	if _, err := f.Write(append(line, '\n')); err != nil {
		return fmt.Errorf("job history %s: %w", h.path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("job history %s: %w", h.path, err)
	}
	return nil
}

// Runs returns every run in its latest state, in the order the runs were
// first recorded: the order they started in.
func (h *History) Runs() ([]Run, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.refresh(); err != nil {
		return nil, err
	}
	return h.collect(h.order), nil
}

// JobRuns returns the runs of one job, in the order they started.
func (h *History) JobRuns(job string) ([]Run, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.refresh(); err != nil {
		return nil, err
	}
	return h.collect(h.byJob[job]), nil
}

func (h *History) collect(ids []string) []Run {
	out := make([]Run, len(ids))
	for i, id := range ids {
		out[i] = *h.runs[id]
	}
	return out
}

// refresh reads lines appended since the last read. Only complete lines
// are taken: a line still being written (or cut short by a crash) is read
// again next time, and skipped once a newer line follows it.
func (h *History) refresh() error {
	f, err := os.Open(h.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("job history: %w", err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH); err != nil {
		return fmt.Errorf("job history %s: lock: %w", h.path, err)
	}
	defer syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	if _, err := f.Seek(h.offset, io.SeekStart); err != nil {
		return fmt.Errorf("job history %s: %w", h.path, err)
	}
	br := bufio.NewReaderSize(f, 64<<10)
	for {
		line, err := br.ReadBytes('\n')
		if err == io.EOF {
			return nil // an incomplete last line stays unread
		}
		if err != nil {
			return fmt.Errorf("job history %s: %w", h.path, err)
		}
		h.offset += int64(len(line))
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		var r Run
		if err := json.Unmarshal(line, &r); err != nil {
			continue // a line a crash cut short, followed by a newer one
		}
		if prev, ok := h.runs[r.ID]; ok {
			*prev = r
			continue
		}
		h.runs[r.ID] = &r
		h.order = append(h.order, r.ID)
		h.byJob[r.Job] = append(h.byJob[r.Job], r.ID)
	}
}
