package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/pophealth/pophealth/jobs"
	"github.com/pophealth/pophealth/lake"
	"github.com/pophealth/pophealth/models"
	"github.com/pophealth/pophealth/purpose"
	"github.com/pophealth/pophealth/queries"
)

// jobKinds is the registry of job kinds (docs/jobs.md). A kind runs the
// same code as the command it is named for: ingest and report call it
// directly; the others run the command itself in this process with
// --json, whose output is a fixed interface, and publish the reports it
// prints. Adding a kind is one line here and a params struct.
func jobKinds() jobs.Registry {
	return jobs.Registry{
		"ingest":     jobs.NewKind(jobs.RunIngest),
		"report":     jobs.NewKind(runReportJob),
		"cohort run": jobs.NewKind(runCohortJob),
		"risk fit":   jobs.NewKind(runRiskFitJob),
		"risk run":   jobs.NewKind(runRiskRunJob),
		"link":       jobs.NewKind(runLinkJob),

		"purpose materialise": jobs.NewKind(runMaterialiseJob),
	}
}

// loadJobs reads the workspace's job files.
func loadJobs(wsDir string) (*jobs.Set, error) {
	return jobs.LoadDir(filepath.Join(wsDir, jobs.SpecDir), jobKinds())
}

// asOfParam is a report date; empty means the latest date in the lake.
type asOfParam struct {
	AsOf string `yaml:"as_of"`
}

// Check refuses a malformed date when the job files are loaded.
func (p *asOfParam) Check() error {
	if p.AsOf == "" {
		return nil
	}
	_, err := models.ParseDate(p.AsOf)
	return err
}

// flags returns the --as-of flag, if any.
func (p asOfParam) flags() []string {
	if p.AsOf == "" {
		return nil
	}
	return []string{"--as-of", p.AsOf}
}

// runReportJob is the report kind: the sample cohort and risk-ranking
// reports ("pophealth report"), with their charts.
func runReportJob(ctx context.Context, t jobs.Task, p asOfParam) (jobs.Result, error) {
	var date *models.Date
	if p.AsOf != "" {
		d, _ := models.ParseDate(p.AsOf) // checked on load
		date = &d
	}
	reports, err := runReports(ctx, t.Workspace, date)
	if err != nil {
		return jobs.Result{}, err
	}
	return reportsResult(reports), nil
}

// reportsResult publishes reports; RecordsOut counts the table rows shown.
func reportsResult(reports []*queries.Report) jobs.Result {
	res := jobs.Result{Reports: reports}
	for _, r := range reports {
		res.RecordsOut += int64(len(r.Rows))
	}
	return res
}

type cohortJobParams struct {
	// Spec is the cohort definition, relative to the workspace unless
	// absolute.
	Spec string `yaml:"spec"`
}

func (p *cohortJobParams) Check() error {
	if p.Spec == "" {
		return errors.New("spec: name the cohort definition file")
	}
	return nil
}

// runCohortJob is the "cohort run" kind: "pophealth cohort run SPEC".
func runCohortJob(ctx context.Context, t jobs.Task, p cohortJobParams) (jobs.Result, error) {
	spec := p.Spec
	if !filepath.IsAbs(spec) {
		spec = filepath.Join(t.Workspace.Dir, spec)
	}
	var reports []*queries.Report
	if err := execCommand(ctx, t, &reports, "cohort", "run", spec, "--json"); err != nil {
		return jobs.Result{}, err
	}
	return reportsResult(reports), nil
}

// runRiskFitJob is the "risk fit" kind: "pophealth risk fit".
func runRiskFitJob(ctx context.Context, t jobs.Task, p asOfParam) (jobs.Result, error) {
	var out struct {
		Version string            `json:"version"`
		Reports []*queries.Report `json:"reports"`
		AUROC   struct {
			AUC float64 `json:"auc"`
		} `json:"auroc"`
	}
	if err := execCommand(ctx, t, &out, append([]string{"risk", "fit", "--json"}, p.flags()...)...); err != nil {
		return jobs.Result{}, err
	}
	res := reportsResult(out.Reports)
	res.Detail = map[string]any{"model_version": out.Version, "auroc": out.AUROC.AUC}
	return res, nil
}

type riskRunParams struct {
	asOfParam `yaml:",inline"`
	// Model is the model version to score with (default the latest).
	Model string `yaml:"model"`
}

// runRiskRunJob is the "risk run" kind: "pophealth risk run", the tier
// summary (never the row-level scores).
func runRiskRunJob(ctx context.Context, t jobs.Task, p riskRunParams) (jobs.Result, error) {
	args := append([]string{"risk", "run", "--json"}, p.flags()...)
	if p.Model != "" {
		args = append(args, "--model", p.Model)
	}
	var reports []*queries.Report
	if err := execCommand(ctx, t, &reports, args...); err != nil {
		return jobs.Result{}, err
	}
	return reportsResult(reports), nil
}

// execCommand runs "pophealth --workspace WS ARGS..." in this process and
// decodes its JSON output into out. What the command writes on stderr
// (its log, warnings) goes to the job's log.
func execCommand(ctx context.Context, t jobs.Task, out any, args ...string) error {
	root := newRootCmd()
	var stdout bytes.Buffer
	stderr := &logWriter{log: t.Logger}
	root.SetOut(&stdout)
	root.SetErr(stderr)
	root.SetArgs(append([]string{"--workspace", t.Workspace.Dir, "--log-level", "info"}, args...))
	err := root.ExecuteContext(ctx)
	stderr.Flush()
	if err != nil {
		return fmt.Errorf("pophealth %v: %w", args, err)
	}
	if err := json.Unmarshal(stdout.Bytes(), out); err != nil {
		return fmt.Errorf("pophealth %v: reading its --json output: %w", args, err)
	}
	return nil
}

// logWriter logs each line written to it.
type logWriter struct {
	log *slog.Logger
	buf []byte
}

func (w *logWriter) Write(p []byte) (int, error) {
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			return len(p), nil
		}
		w.line(w.buf[:i])
		w.buf = w.buf[i+1:]
	}
}

// Flush logs a last line without a newline.
func (w *logWriter) Flush() {
	if len(w.buf) > 0 {
		w.line(w.buf)
		w.buf = nil
	}
}

func (w *logWriter) line(b []byte) {
	if s := bytes.TrimSpace(b); len(s) > 0 {
		w.log.Info(string(s))
	}
}

// linkParams configures the link kind.
type linkParams struct {
	// Full retrains the model and relinks every source patient; by default
	// a run after the first is incremental.
	Full bool `yaml:"full"`
}

// runLinkJob is the link kind: "pophealth link", linkage of the master
// person index into people after an ingest.
func runLinkJob(ctx context.Context, t jobs.Task, p linkParams) (jobs.Result, error) {
	key, err := t.Workspace.LakeKey()
	if err != nil {
		return jobs.Result{}, err
	}
	lk, err := lake.Open(t.Workspace.LakeDir())
	if err != nil {
		return jobs.Result{}, err
	}
	r, err := jobs.Link(ctx, lk, jobs.LinkOptions{Key: key, Full: p.Full, Logger: t.Logger})
	if err != nil {
		return jobs.Result{}, err
	}
	return jobs.Result{
		RecordsIn: int64(r.Sources), RecordsOut: int64(r.Persons),
		Detail: map[string]any{"batch_id": r.BatchID, "mode": r.Mode, "new": r.New, "moved": r.Moved, "merges": r.Merges, "review_pairs": r.Review},
	}, nil
}

// materialiseParams names the purpose of the "purpose materialise" kind.
type materialiseParams struct {
	Purpose string `yaml:"purpose"`
}

// Check refuses a job without a well-formed purpose id when the job files
// are loaded; whether the purpose is approved is checked when it runs.
func (p *materialiseParams) Check() error {
	if !purpose.ValidID(p.Purpose) {
		return fmt.Errorf("purpose: %q is not a purpose id", p.Purpose)
	}
	return nil
}

// runMaterialiseJob is the "purpose materialise" kind: "pophealth purpose
// materialise ID", the purpose's own copy of the lake. It refuses, like the
// command, unless the purpose's current config is approved.
func runMaterialiseJob(ctx context.Context, t jobs.Task, p materialiseParams) (jobs.Result, error) {
	run, err := purpose.Materialise(ctx, t.Workspace, p.Purpose, purpose.MaterialiseOptions{Actor: "scheduler:" + t.Job.Name, Now: time.Now(), Log: t.Logger})
	if err != nil {
		return jobs.Result{}, err
	}
	var rows int64
	for _, n := range run.Tables {
		rows += n
	}
	return jobs.Result{
		RecordsOut: rows,
		Detail:     map[string]any{"purpose": run.Purpose, "config_sha256": run.ConfigSHA256, "people": run.People, "removed_by_opt_out_rounded": run.RemovedByOptOut},
	}, nil
}
