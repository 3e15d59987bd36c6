package jobs

import (
	"os"
	"syscall"
	"time"
)

// JobInfo describes a job as "pophealth jobs list --json" prints it; a
// stable interface.
type JobInfo struct {
	Name        string   `json:"name"`
	Kind        string   `json:"kind"`
	Description string   `json:"description,omitempty"`
	Schedule    string   `json:"schedule"` // as Spec.Describe says it
	After       []string `json:"after,omitempty"`
	Purpose     string   `json:"purpose,omitempty"`
	Timeout     string   `json:"timeout"`
	Retries     int      `json:"retries"`
	Backoff     string   `json:"backoff"`
	File        string   `json:"file"`
}

// Info describes the job.
func (s *Spec) Info() JobInfo {
	return JobInfo{Name: s.Name, Kind: s.Kind, Description: s.Description, Schedule: s.Describe(), After: s.After,
		Purpose: s.Purpose, Timeout: s.Timeout.String(), Retries: s.Retries, Backoff: s.Backoff.String(), File: s.File}
}

// JobStatus is one job as "pophealth jobs status" and the web front's
// jobs page show it. Its JSON form is a stable interface.
type JobStatus struct {
	JobInfo
	// Last is the job's latest run record of any status but Skipped;
	// LastSuccess its latest successful run.
	Last        *Run `json:"last,omitempty"`
	LastSuccess *Run `json:"last_success,omitempty"`
	// Next is the next scheduled time after now (zero: not scheduled).
	Next time.Time `json:"next,omitzero"`
	// RecentFailures counts failed, aborted and interrupted runs in the
	// last seven days.
	RecentFailures int `json:"recent_failures"`
}

// recentWindow is how far back RecentFailures looks.
const recentWindow = 7 * 24 * time.Hour

// Statuses returns the state of every job of r at now. A run recorded
// Running whose process is gone (on this host) is shown as Interrupted:
// the next run of the job will record it so.
func (r *Runner) Statuses(now time.Time) ([]JobStatus, error) {
	runs, err := r.hist.Runs()
	if err != nil {
		return nil, err
	}
	byJob := map[string][]Run{}
	for _, x := range runs {
		byJob[x.Job] = append(byJob[x.Job], x)
	}
	out := make([]JobStatus, 0, len(r.set.Jobs))
	for _, j := range r.set.Jobs {
		st := JobStatus{JobInfo: j.Info(), Next: j.Next(now)}
		for i := range byJob[j.Name] {
			x := byJob[j.Name][i]
			if x.Status == Running && !r.alive(x) {
				x.Status = Interrupted
			}
			switch x.Status {
			case Skipped:
				continue
			case Succeeded:
				st.LastSuccess = &x
			case Failed, Aborted, Interrupted:
				if now.Sub(x.Start) <= recentWindow {
					st.RecentFailures++
				}
			}
			st.Last = &x
		}
		out = append(out, st)
	}
	return out, nil
}

// alive reports whether the process recorded as running x still exists.
// On another host it cannot be told, and the run is taken as alive.
func (r *Runner) alive(x Run) bool {
	if x.Host != r.host {
		return true
	}
	if x.PID == r.pid {
		return true
	}
	p, err := os.FindProcess(x.PID)
	if err != nil {
		return false
	}
	return p.Signal(syscall.Signal(0)) == nil
}

// Published is a job's latest successful run that stored reports: what the
// web front publishes under the job's purpose.
type Published struct {
	Job     string
	Purpose string
	Run     Run
}

// Published returns, for each job with one, its latest successful run that
// stored reports, in job order.
func (r *Runner) Published() ([]Published, error) {
	runs, err := r.hist.Runs()
	if err != nil {
		return nil, err
	}
	latest := map[string]Run{}
	for _, x := range runs {
		if x.Status == Succeeded && len(x.Reports) > 0 {
			latest[x.Job] = x
		}
	}
	var out []Published
	for _, j := range r.set.Jobs {
		if x, ok := latest[j.Name]; ok {
			out = append(out, Published{Job: j.Name, Purpose: j.Purpose, Run: x})
		}
	}
	return out, nil
}
