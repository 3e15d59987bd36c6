package jobs

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/pophealth/pophealth/audit"
	"github.com/pophealth/pophealth/lake"
	"github.com/pophealth/pophealth/workspace"
)

// IngestParams are the params of an ingest job.
type IngestParams struct {
	// Paths are feed files or directories, relative to the workspace
	// unless absolute (for example feeds/ or landing/hl7v2, where the MLLP
	// receiver lands messages).
	Paths []string `yaml:"paths"`
}

// Check refuses an ingest job with nothing to ingest.
func (p *IngestParams) Check() error {
	if len(p.Paths) == 0 {
		return errors.New("paths: name at least one feed file or directory")
	}
	return nil
}

// RunIngest is the ingest kind: Ingest over the job's paths, as one atomic
// batch, recorded in the audit log. Files already ingested are skipped by
// content, so a run after a crash ingests exactly what the crashed run did
// not commit. A run that finds nothing new is Unchanged, and the jobs
// after it do not start.
func RunIngest(ctx context.Context, t Task, p IngestParams) (Result, error) {
	ws := t.Workspace
	lk, opts, err := WorkspaceIngest(ws)
	if err != nil {
		return Result{}, err
	}
	paths := make([]string, len(p.Paths))
	for i, x := range p.Paths {
		if !filepath.IsAbs(x) {
			x = filepath.Join(ws.Dir, x)
		}
		paths[i] = x
	}
	opts.Paths, opts.Logger = paths, t.Logger
	res, err := Ingest(ctx, lk, opts)
	if err != nil {
		return Result{}, err
	}
	out := Result{
		RecordsIn: res.Totals.Read, RecordsOut: res.Totals.Accepted, Unchanged: res.BatchID == "",
		Detail: map[string]any{"batch_id": res.BatchID, "files_ingested": res.Totals.Ingested, "quarantined": res.Totals.Quarantined},
	}
	if out.Unchanged {
		return out, nil
	}
	log, err := audit.Open(ws.AuditLogPath())
	if err != nil {
		return out, fmt.Errorf("batch %s committed, but: %w", res.BatchID, err)
	}
	_, err = log.Append(audit.CurrentActor(), "ingest", map[string]any{
		"job": t.Job.Name, "run": t.RunID, "batch_id": res.BatchID, "rows": res.Rows,
		"read": res.Totals.Read, "accepted": res.Totals.Accepted, "quarantined": res.Totals.Quarantined,
	})
	if err != nil {
		return out, fmt.Errorf("batch %s committed, but: %w", res.BatchID, err)
	}
	return out, nil
}

// WorkspaceIngest opens a workspace's lake and returns the ingest options
// the workspace decides (its lake key and deprivation lookup), so that
// every way of ingesting (the command, the job kind, quarantine replay)
// writes the same lake rows. The caller adds the paths and its logger.
func WorkspaceIngest(ws *workspace.Workspace) (*lake.Lake, IngestOptions, error) {
	key, err := ws.LakeKey()
	if err != nil {
		return nil, IngestOptions{}, err
	}
	imd, err := ws.DeprivationLookup()
	if err != nil {
		return nil, IngestOptions{}, err
	}
	lk, err := lake.Open(ws.LakeDir())
	if err != nil {
		return nil, IngestOptions{}, err
	}
	return lk, IngestOptions{Key: key, Deprivation: imd}, nil
}
