package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/pophealth/pophealth/audit"
	"github.com/pophealth/pophealth/lake"
	"github.com/pophealth/pophealth/purpose"
	"github.com/pophealth/pophealth/queries"
	"github.com/pophealth/pophealth/queries/cohort"
	"github.com/pophealth/pophealth/queries/suppress"
	"github.com/pophealth/pophealth/workspace"
)

// cohortPurposeRun is one "cohort run --purpose": who runs which spec
// under which purpose, and where the reports go.
type cohortPurposeRun struct {
	id, user, file string
	spec           *cohort.Spec
	query          *cohort.Query
	format, out    string
}

// runCohortUnderPurpose authorises the purpose for the user, runs the
// spec over the purpose's data only, suppresses every count with the
// purpose's profile and audits the run (cohort.run) with its outcome;
// refusals by the purpose gate are audited as cohort.refused.
func runCohortUnderPurpose(cmd *cobra.Command, g *globals, r cohortPurposeRun) error {
	ws, err := workspace.Open(g.workspace)
	if err != nil {
		return err
	}
	ap, dir, err := authorisePurpose(ws, r.id, r.user, "cohort.refused")
	if err != nil {
		return err
	}
	body, err := os.ReadFile(r.file)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(body)
	page, err := r.page(cmd.Context(), ws, ap, dir)
	detail := map[string]any{"purpose": ap.Config.ID, "spec": r.spec.Name, "file": r.file, "spec_sha256": hex.EncodeToString(sum[:]),
		"codelists": r.spec.ListVersions(), "suppression": ap.Config.Suppression, "format": r.format, "out": r.out, "os_user": audit.CurrentActor()}
	switch {
	case err == nil:
		detail["outcome"] = "ok"
	case errors.Is(err, purpose.ErrRefused):
		detail["outcome"], detail["reason"] = "refused", err.Error()
	default:
		detail["outcome"], detail["reason"] = "error", err.Error()
	}
	if aerr := purpose.Audit(ws, r.user, "cohort.run", detail); aerr != nil {
		return errors.Join(err, fmt.Errorf("cohort run not audited: %w", aerr))
	}
	if err != nil {
		return err
	}
	fmt.Fprintln(cmd.ErrOrStderr(), "counts by risk tier are left out under a purpose: the risk model is fitted on the whole lake")
	if r.out != "" {
		return writeReportFiles(r.out, page, r.format)
	}
	return writeReports(cmd.OutOrStdout(), page, r.format)
}

// page runs the spec over the purpose's folder and lays out its reports
// under the purpose's suppression profile.
func (r cohortPurposeRun) page(ctx context.Context, ws *workspace.Workspace, ap *purpose.Approved, dir string) (*queries.Page, error) {
	profile, err := suppress.ParseProfile(ap.Config.Suppression)
	if err != nil {
		return nil, fmt.Errorf("purpose %s: %w", ap.Config.ID, err)
	}
	lk, err := lake.Open(ws.LakeDir())
	if err != nil {
		return nil, err
	}
	eng, err := queries.OpenFolder(ctx, lk, dir)
	if err != nil {
		return nil, fmt.Errorf("purpose %s data: %w", ap.Config.ID, err)
	}
	defer eng.Close()
	if err := checkNeeds(eng, ap.Config, r.spec.Name, r.query.Needs()); err != nil {
		return nil, err
	}
	res, err := cohort.Run(ctx, eng, r.spec.Name, r.query)
	if err != nil {
		return nil, err
	}
	end, err := eng.DataEnd(ctx)
	if err != nil {
		return nil, err
	}
	page := cohortPage(r.spec, res, end, profile)
	page.Subtitle += fmt.Sprintf(" Run under purpose %s (%s) by %s.", ap.Config.ID, ap.Config.Title, ap.User)
	return page, nil
}

// checkNeeds refuses a spec that reads a column the purpose's data does
// not hold: over the folder the column would read as NULL and the counts
// would be wrong without saying so. The refusal names every such column,
// what the spec needs it for and why the purpose lacks it.
func checkNeeds(eng *queries.Engine, c *purpose.Config, spec string, needs []cohort.Need) error {
	var lacks []string
	noTable := map[string]bool{}
	for _, n := range needs {
		if len(eng.Missing(n.Table, n.Column)) == 0 {
			continue
		}
		if _, ok := c.Dataset(n.Table); !ok {
			if !noTable[string(n.Table)] {
				noTable[string(n.Table)] = true
				lacks = append(lacks, fmt.Sprintf("table %s (for %s): the purpose has no %s table", n.Table, n.For, n.Table))
			}
			continue
		}
		why := "not among the purpose's " + string(n.Table) + " columns"
		switch {
		case (n.Column == "year_of_birth" || n.Column == "month_of_birth") && c.DateOfBirth == purpose.DOBAgeBand:
			why = "the purpose generalises date of birth to a five-year age band, so age at index cannot be computed"
		case n.Column == "month_of_birth" && c.DateOfBirth == purpose.DOBYear:
			why = "the purpose keeps the year of birth only, so age at index cannot be computed exactly"
		}
		lacks = append(lacks, fmt.Sprintf("column %s.%s (for %s): %s", n.Table, n.Column, n.For, why))
	}
	if len(lacks) == 0 {
		return nil
	}
	return &purpose.RefusalError{ID: c.ID, Status: purpose.StatusApproved,
		Reason: fmt.Sprintf("cohort %s needs data the purpose does not provide: %s", spec, strings.Join(lacks, "; "))}
}
