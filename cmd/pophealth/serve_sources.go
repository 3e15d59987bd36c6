package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/pophealth/pophealth/jobs"
	"github.com/pophealth/pophealth/queries"
	"github.com/pophealth/pophealth/web"
)

// publishedReports publishes the reports of job runs to the web front: for each
// job, those its latest successful run stored, under the job's purpose.
// Report ids are JOB.N, N counting the run's reports from 1.
type publishedReports struct{ r *jobs.Runner }

func (s publishedReports) ListReports(context.Context) ([]web.ReportInfo, error) {
	pubs, err := s.r.Published()
	if err != nil {
		return nil, err
	}
	var out []web.ReportInfo
	for _, p := range pubs {
		for i, ref := range p.Run.Reports {
			out = append(out, web.ReportInfo{ID: p.Job + "." + strconv.Itoa(i+1), Title: ref.Title, Purpose: p.Purpose})
		}
	}
	return out, nil
}

func (s publishedReports) Report(_ context.Context, id string) (*queries.Report, error) {
	job, n, ok := strings.Cut(id, ".")
	i, err := strconv.Atoi(n)
	if !ok || err != nil {
		return nil, fmt.Errorf("report id %q: want JOB.N", id)
	}
	pubs, err := s.r.Published()
	if err != nil {
		return nil, err
	}
	for _, p := range pubs {
		if p.Job == job && i >= 1 && i <= len(p.Run.Reports) {
			return jobs.LoadReport(s.r.Dir(), p.Run, p.Run.Reports[i-1].File)
		}
	}
	return nil, fmt.Errorf("no published report %q", id)
}

// jobStatuses shows the jobs page from the run history.
type jobStatuses struct{ r *jobs.Runner }

func (s jobStatuses) ListJobs(context.Context) ([]web.JobView, error) {
	st, err := s.r.Statuses(time.Now())
	if err != nil {
		return nil, err
	}
	out := make([]web.JobView, len(st))
	for i, x := range st {
		v := web.JobView{Name: x.Name, Kind: x.Kind, Schedule: x.Schedule, NextRun: x.Next, RecentFailures: x.RecentFailures, LastStatus: "never run"}
		if x.Last != nil {
			v.LastStart, v.LastStatus, v.LastError = x.Last.Start, string(x.Last.Status), firstLine(x.Last.Error)
		}
		out[i] = v
	}
	return out, nil
}
