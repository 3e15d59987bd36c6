package jobs

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/pophealth/pophealth/queries"
)

// saveReports writes a run's reports as WORKSPACE/runs/<run>/report-N.json
// (queries.StoredReport: the suppressed table and its charts). The files
// are written into a temporary directory, fsynced, and the directory is
// renamed into place, before the run's final record names them: a reader
// following the history never finds half a report, and a crash leaves only
// a temporary directory that the next save of the same run replaces.
func saveReports(dir, runID string, reports []*queries.Report) ([]ReportRef, error) {
	if len(reports) == 0 {
		return nil, nil
	}
	final := filepath.Join(dir, runID)
	tmp := filepath.Join(dir, ".tmp-"+runID)
	if err := os.RemoveAll(tmp); err != nil {
		return nil, fmt.Errorf("run %s: reports: %w", runID, err)
	}
	if err := os.MkdirAll(tmp, 0o750); err != nil {
		return nil, fmt.Errorf("run %s: reports: %w", runID, err)
	}
	refs := make([]ReportRef, len(reports))
	for i, r := range reports {
		refs[i] = ReportRef{File: fmt.Sprintf("report-%d.json", i+1), Title: r.Title}
		if err := writeReport(filepath.Join(tmp, refs[i].File), r); err != nil {
			return nil, fmt.Errorf("run %s: report %q: %w", runID, r.Title, err)
		}
	}
	if err := os.Rename(tmp, final); err != nil {
		return nil, fmt.Errorf("run %s: reports: %w", runID, err)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return refs, nil
}

// writeReport writes r in its stored form and fsyncs the file.
func writeReport(name string, r *queries.Report) error {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(f)
	enc.SetIndent("", "  ")
	err = enc.Encode(queries.Store(r))
	if err == nil {
		err = f.Sync()
	}
	return errors.Join(err, f.Close())
}

// LoadReport reads report name of run r, stored in the workspace's runs
// directory dir. Only names the run's record lists are read.
func LoadReport(dir string, r Run, name string) (*queries.Report, error) {
	if !slices.ContainsFunc(r.Reports, func(x ReportRef) bool { return x.File == name }) || strings.ContainsAny(name, `/\`) {
		return nil, fmt.Errorf("run %s has no report %q", r.ID, name)
	}
	b, err := os.ReadFile(filepath.Join(dir, r.ID, name))
	if err != nil {
		return nil, fmt.Errorf("run %s: %w", r.ID, err)
	}
	var s queries.StoredReport
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("run %s: %s: %w", r.ID, name, err)
	}
	return s.Load()
}
