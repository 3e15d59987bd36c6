package jobs

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"sort"

	"go.yaml.in/yaml/v3"

	"github.com/pophealth/pophealth/queries"
	"github.com/pophealth/pophealth/workspace"
)

// Registry maps a kind name (the spec's "kind:") to what runs it. Adding a
// kind is one entry:
//
//	reg["link"] = jobs.NewKind(runLink)
//
// with func runLink(ctx context.Context, t jobs.Task, p linkParams)
// (jobs.Result, error) and linkParams the struct its "params:" decode into.
type Registry map[string]Kind

// Names returns the registered kinds in order.
func (r Registry) Names() []string {
	out := make([]string, 0, len(r))
	for k := range r {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Kind is one kind of job: how its params decode and how it runs. Make one
// with NewKind.
type Kind struct {
	decode func(*yaml.Node) (any, error)
	run    func(ctx context.Context, t Task, params any) (Result, error)
}

// Checker is implemented by params that can say more than "decoded": a
// Kind's params are checked when the job files are loaded, so a mistake is
// reported at start-up rather than at 01:30.
type Checker interface{ Check() error }

// NewKind returns a Kind whose spec params decode strictly (unknown fields
// are errors) into a P when the job files are loaded, and which runs as
// run. run must honour ctx: it is cancelled at the job's timeout and when
// a shutdown's grace period ends, and must then leave the workspace
// consistent (a lake batch aborted, not half-committed).
func NewKind[P any](run func(ctx context.Context, t Task, p P) (Result, error)) Kind {
	return Kind{
		decode: func(n *yaml.Node) (any, error) {
			var p P
			if err := decodeStrict(n, &p); err != nil {
				return nil, err
			}
			if c, ok := any(&p).(Checker); ok {
				if err := c.Check(); err != nil {
					return nil, err
				}
			}
			return p, nil
		},
		run: func(ctx context.Context, t Task, p any) (Result, error) { return run(ctx, t, p.(P)) },
	}
}

// decodeStrict decodes n into v, refusing fields v does not have. An
// absent node decodes as the zero value.
func decodeStrict(n *yaml.Node, v any) error {
	if n.Kind == 0 {
		return nil
	}
	b, err := yaml.Marshal(n)
	if err != nil {
		return err
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("(line %d) %w", n.Line, err)
	}
	return nil
}

// Task is what a running job is given besides its params.
type Task struct {
	Workspace *workspace.Workspace
	Job       *Spec
	// RunID identifies the run in the history.
	RunID string
	// Logger is the job's logger, with the job and run named.
	Logger *slog.Logger
}

// Result is what a job run produced, for the history, the metrics and the
// web front.
type Result struct {
	// RecordsIn and RecordsOut are the records the run read and wrote
	// (for ingest: source records read, and accepted ones; for a report:
	// rows shown).
	RecordsIn  int64
	RecordsOut int64
	// Unchanged says the run found nothing new (an ingest with no new
	// files): jobs that run after this one are not started.
	Unchanged bool
	// Reports are suppressed reports to publish under the job's purpose.
	// They are stored with the run (WORKSPACE/runs/<run>/) and the web
	// front shows the latest successful run's.
	Reports []*queries.Report
	// Detail is recorded in the history as is (a batch id, a model
	// version).
	Detail map[string]any
}
