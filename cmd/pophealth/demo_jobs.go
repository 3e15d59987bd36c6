package main

import (
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/pophealth/pophealth/jobs"
	"github.com/pophealth/pophealth/queries"
	"github.com/pophealth/pophealth/web"
	"github.com/pophealth/pophealth/workspace"
)

// The demo's jobs (jobs/examples/demo.yaml) that the demo starts from and
// prints the reports of.
const (
	demoIngestJob = "ingest-feeds"
	demoReportJob = "sample-reports"
	demoLinkJob   = "link-people"
	demoPurpose   = "population-health"
)

// writeDemoJobs writes the demo's job file into the workspace, unless the
// workspace has job files already, and creates the landing directory its
// ingest job reads.
func writeDemoJobs(out io.Writer, ws *workspace.Workspace) error {
	dir := filepath.Join(ws.Dir, jobs.SpecDir)
	if have, _ := filepath.Glob(filepath.Join(dir, "*.yaml")); len(have) > 0 {
		fmt.Fprintf(out, "    job files exist in %s: keeping them\n", dir)
		return nil
	}
	spec, err := jobs.Examples.ReadFile("examples/demo.yaml")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(ws.Dir, "landing", "hl7v2"), 0o700); err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(dir, "demo.yaml"), func(w io.Writer) error { _, err := w.Write(spec); return err }); err != nil {
		return err
	}
	fmt.Fprintf(out, "    %s: ingest every 15 minutes, then linkage, reports and the risk model (pophealth jobs list)\n", filepath.Join(dir, "demo.yaml"))
	return nil
}

// addDemoUsers gives an empty accounts file one account per role, all
// with one random password, printed once.
func addDemoUsers(out io.Writer, ws *workspace.Workspace) error {
	users, err := web.LoadUsers(usersPath(ws))
	if err != nil {
		return err
	}
	if len(users.Users) > 0 {
		fmt.Fprintf(out, "    web accounts exist in %s: keeping them\n", usersPath(ws))
		return nil
	}
	password := rand.Text()
	for _, u := range []web.User{
		{Name: "alice", Roles: []web.Role{web.Commissioner}, Purposes: []string{demoPurpose}},
		{Name: "ian", Roles: []web.Role{web.IGLead}},
		{Name: "olive", Roles: []web.Role{web.Operator}},
	} {
		if err := users.Set(u, password); err != nil {
			return err
		}
	}
	if err := users.Save(usersPath(ws)); err != nil {
		return err
	}
	fmt.Fprintf(out, "    web accounts alice (commissioner), ian (IG lead), olive (operator), password %s\n", password)
	return nil
}

// publishedBy returns the reports job last published.
func publishedBy(r *jobs.Runner, job string) ([]*queries.Report, error) {
	pubs, err := r.Published()
	if err != nil {
		return nil, err
	}
	for _, p := range pubs {
		if p.Job != job {
			continue
		}
		var out []*queries.Report
		for _, ref := range p.Run.Reports {
			rep, err := jobs.LoadReport(r.Dir(), p.Run, ref.File)
			if err != nil {
				return nil, err
			}
			out = append(out, rep)
		}
		return out, nil
	}
	return nil, fmt.Errorf("job %s has published no reports yet", job)
}
