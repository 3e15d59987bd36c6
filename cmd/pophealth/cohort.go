package main

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/pophealth/pophealth/models"
	"github.com/pophealth/pophealth/queries"
	"github.com/pophealth/pophealth/queries/cohort"
	"github.com/pophealth/pophealth/queries/riskmodel"
	"github.com/pophealth/pophealth/queries/suppress"
	"github.com/pophealth/pophealth/workspace"
)

func newCohortCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cohort",
		Short: "Check, test and run cohort definitions written in YAML",
		Long: `cohort works with cohort definitions (docs/cohorts.md; examples in
queries/cohort/examples/):

  pophealth cohort check SPEC          static problems before anything runs
  pophealth cohort test SPEC           run against hand-written timelines (SPEC's .test.yaml)
  pophealth cohort run SPEC            attrition and counts by age band and sex,
                                       deprivation decile, practice and risk tier, suppressed
  pophealth cohort run SPEC --format html --out report.html   the same as a page with charts
  pophealth cohort run SPEC --explain  print the DuckDB SQL instead of running it
  pophealth cohort run SPEC --purpose ID --as NAME   the same over one approved
                                       purpose's data, under its suppression profile`,
	}
	cmd.AddCommand(newCohortCheckCmd(), newCohortTestCmd(), newCohortRunCmd(g))
	return cmd
}

// loadCompiled loads a spec, prints its problems to stderr and compiles
// it; it fails when any problem is an error.
func loadCompiled(cmd *cobra.Command, path string) (*cohort.Spec, *cohort.Query, error) {
	s, err := cohort.Load(path)
	if err != nil {
		return nil, nil, err
	}
	if errs, _ := printProblems(cmd.ErrOrStderr(), cohort.Check(s)); errs > 0 {
		return nil, nil, fmt.Errorf("%s: %d errors", path, errs)
	}
	q, err := cohort.Compile(s)
	if err != nil {
		return nil, nil, err
	}
	return s, q, nil
}

// printProblems writes one line per problem and counts errors and warnings.
func printProblems(w io.Writer, ps []cohort.Problem) (errs, warnings int) {
	for _, p := range ps {
		fmt.Fprintln(w, p)
		if p.Error {
			errs++
		} else {
			warnings++
		}
	}
	return errs, warnings
}

func newCohortCheckCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "check SPEC",
		Short: "Report problems in a cohort definition (empty code lists, no exit, contradictory rules, malformed codes)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := cohort.Load(args[0])
			if err != nil {
				return err
			}
			errs, warnings := printProblems(cmd.OutOrStdout(), cohort.Check(s))
			if errs > 0 {
				return fmt.Errorf("%s: %d errors, %d warnings", args[0], errs, warnings)
			}
			if _, err := cohort.Compile(s); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: ok (%d warnings)\n", args[0], warnings)
			return nil
		},
	}
}

func newCohortTestCmd() *cobra.Command {
	var timelines string
	cmd := &cobra.Command{
		Use:   "test SPEC",
		Short: "Run a cohort definition against hand-written patient timelines with expected membership",
		Long: `test writes the timelines (default: SPEC with .yaml replaced by .test.yaml)
into a throw-away lake, runs the compiled spec on it with the same engine as
"cohort run", and compares each patient's membership, index and exit dates
with what the timeline expects. It fails if any patient differs.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, q, err := loadCompiled(cmd, args[0])
			if err != nil {
				return err
			}
			if timelines == "" {
				timelines = strings.TrimSuffix(args[0], ".yaml") + ".test.yaml"
			}
			b, err := os.ReadFile(timelines)
			if err != nil {
				return err
			}
			tl, err := cohort.ParseTimelines(b)
			if err != nil {
				return fmt.Errorf("%s: %w", timelines, err)
			}
			outcomes, err := cohort.Assure(cmd.Context(), q, tl)
			if err != nil {
				return err
			}
			failed := 0
			for _, o := range outcomes {
				if o.Pass {
					fmt.Fprintf(cmd.OutOrStdout(), "ok    %s\n", o.ID)
				} else {
					failed++
					fmt.Fprintf(cmd.OutOrStdout(), "FAIL  %s: %s\n", o.ID, o.Detail)
				}
			}
			if failed > 0 {
				return fmt.Errorf("%d of %d patients failed", failed, len(outcomes))
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%d patients pass\n", len(outcomes))
			return nil
		},
	}
	cmd.Flags().StringVar(&timelines, "timelines", "", "timelines `FILE` (default: SPEC's .test.yaml)")
	return cmd
}

func newCohortRunCmd(g *globals) *cobra.Command {
	var (
		explain, jsonOut bool
		purposeID, as    string
		format, outPath  string
	)
	cmd := &cobra.Command{
		Use:   "run SPEC",
		Short: "Run a cohort definition on the lake: attrition per rule and counts by age band, sex, deprivation, practice and risk tier, suppressed",
		Long: `run compiles SPEC to DuckDB SQL (see it with --explain), runs it on the
lake and reports, every count through small-number suppression (1-7 as *,
others rounded to the nearest 5; no option turns this off):

  attrition      people remaining after the entry event, the registration
                 requirement and each inclusion and exclusion rule
  age and sex    members by age band at index and sex
  deprivation    members by IMD decile of their area (1 most deprived)
  practice       members, list size and members per 1,000 registered
  risk tier      members by tier of the risk pyramid, once a model has
                 been fitted (pophealth risk fit)

With --purpose ID the run is one of an IG-approved purpose: ID must be
approved, unchanged, in date and name you (--as, default $USER) among its
users or roles; the spec runs over the purpose's materialised data only
(lake/purposes/ID/: its tables, columns, pseudonyms and sensitive
categories), and is refused before running, naming the column, when it
needs a column the purpose leaves out or generalises (an age band for date
of birth); every count goes through the purpose's suppression profile
(nhsd or opensafely); and the run is audited with the purpose, the user,
the spec's name and SHA-256 and the outcome. Counts by risk tier are left
out under a purpose (the model is fitted on the whole lake).

Formats: text (default), json, csv and parquet (one file per table in the
directory --out), html (one self-contained page with charts: attrition
funnel, age and sex, deprivation, prevalence by practice, risk pyramid).

Examples:
  pophealth cohort run queries/cohort/examples/t2d-poor-control.yaml
  pophealth cohort run queries/cohort/examples/t2d-poor-control.yaml --format html --out reports/t2d.html
  pophealth cohort run queries/cohort/examples/t2d-poor-control.yaml --format parquet --out reports/t2d/
  pophealth cohort run queries/cohort/examples/t2d-poor-control.yaml --purpose diabetes-cohorts --as alice`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if jsonOut {
				format = "json"
			}
			if err := checkReportFormat(format, outPath); err != nil {
				return err
			}
			s, q, err := loadCompiled(cmd, args[0])
			if err != nil {
				return err
			}
			if explain {
				fmt.Fprintln(cmd.OutOrStdout(), q.Members()+";")
				return nil
			}
			if purposeID != "" {
				return runCohortUnderPurpose(cmd, g, cohortPurposeRun{id: purposeID, user: as, file: args[0], spec: s, query: q, format: format, out: outPath})
			}
			ws, _, eng, err := openEngine(cmd.Context(), g)
			if err != nil {
				return err
			}
			defer eng.Close()
			res, err := cohort.Run(cmd.Context(), eng, s.Name, q)
			if err != nil {
				return err
			}
			end, err := eng.DataEnd(cmd.Context())
			if err != nil {
				return err
			}
			if err := appendAudit(ws, "cohort run", map[string]any{"spec": s.Name, "file": args[0], "codelists": s.ListVersions(),
				"format": format, "out": outPath}); err != nil {
				return err
			}
			page := cohortPage(s, res, end, suppress.NHSD)
			tiers, top, err := cohortByTier(cmd, ws, eng, q, s.Name, end)
			if err != nil {
				return err
			}
			if tiers != nil {
				page.Reports = append(page.Reports, tiers)
				page.KeyFigures = append(page.KeyFigures, top)
			}
			if outPath != "" {
				return writeReportFiles(outPath, page, format)
			}
			return writeReports(cmd.OutOrStdout(), page, format)
		},
	}
	cmd.Flags().BoolVar(&explain, "explain", false, "print the compiled DuckDB SQL and stop")
	cmd.Flags().BoolVar(&jsonOut, "json", false, "print the reports as JSON (same as --format json)")
	cmd.Flags().StringVar(&format, "format", "text", "output `FORMAT`: "+strings.Join(reportFormats, ", "))
	cmd.Flags().StringVarP(&outPath, "out", "o", "", "write to `PATH` instead of standard output (a directory for csv and parquet)")
	cmd.Flags().StringVar(&purposeID, "purpose", "", "run over approved purpose `ID`'s data, under its suppression profile (docs/purposes.md)")
	asFlag(cmd, &as)
	return cmd
}

// cohortPage lays a cohort run out as one page: the reports and key
// figures with every count suppressed under profile p, and the code lists'
// versions under the attrition table.
func cohortPage(s *cohort.Spec, res *cohort.Result, end models.Date, p suppress.Profile) *queries.Page {
	page := &queries.Page{
		Title:      "Cohort: " + s.Name,
		Subtitle:   fmt.Sprintf("%s. Study period %s to %s; data to %s.", s.Description, s.StudyPeriod.Start, s.StudyPeriod.End, end),
		Generated:  time.Now(),
		Reports:    res.ReportAs(end, p),
		KeyFigures: res.KeyFiguresAs(p),
		Profile:    p,
	}
	versions := s.ListVersions()
	var lists []string
	for _, name := range slices.Sorted(maps.Keys(versions)) {
		lists = append(lists, name+" "+cmp.Or(versions[name], "(no version)"))
	}
	page.Reports[0].Notes = append(page.Reports[0].Notes, "Code lists (version): "+strings.Join(lists, ", ")+".")
	return page
}

// cohortByTier counts the cohort's members by tier of the risk pyramid
// when a risk model has been fitted (pophealth risk fit); nil otherwise.
// Tiers are those of the whole population on the as-of date.
func cohortByTier(cmd *cobra.Command, ws *workspace.Workspace, eng *queries.Engine, q *cohort.Query, name string, asOf models.Date) (*queries.Report, queries.KeyFigure, error) {
	m, err := riskmodel.Load(riskmodel.Dir(ws.Dir), "")
	if errors.Is(err, riskmodel.ErrNoModel) {
		fmt.Fprintln(cmd.ErrOrStderr(), "no risk model fitted: counts by risk tier left out (run pophealth risk fit)")
		return nil, queries.KeyFigure{}, nil
	}
	if err != nil {
		return nil, queries.KeyFigure{}, err
	}
	scored, err := riskmodel.Run(cmd.Context(), eng, m, asOf)
	if err != nil {
		return nil, queries.KeyFigure{}, err
	}
	tier := make(map[string]riskmodel.Tier, len(scored))
	for _, p := range scored {
		tier[p.Key] = p.Tier
	}
	members, err := cohort.Members(cmd.Context(), eng, q)
	if err != nil {
		return nil, queries.KeyFigure{}, err
	}
	var counts [5]int64
	seen := map[string]bool{}
	for _, mb := range members {
		if seen[mb.PersonKey] {
			continue
		}
		seen[mb.PersonKey] = true
		counts[tier[mb.PersonKey]]++ // 0: not in the scored population (died or left)
	}
	r := &queries.Report{
		Title:   "Cohort " + name + ": members by risk tier",
		AsOf:    asOf,
		Columns: []string{"Tier", "People"},
		Notes: []string{fmt.Sprintf("Tiers of the whole registered population on %s by model %s %s; "+
			"members no longer alive and registered are counted as not scored.", asOf, m.Name, m.Version)},
	}
	pyramid := queries.Chart{Title: "Members by tier of the risk pyramid", Kind: queries.Pyramid, Unit: "people", Series: []queries.Series{{Name: "People"}}}
	for t := riskmodel.Tier(1); t <= 4; t++ {
		n := queries.Suppress(counts[t])
		r.Rows = append(r.Rows, []queries.Cell{queries.Label(t.String()), n})
		pyramid.Categories = append(pyramid.Categories, t.String())
		pyramid.Series[0].Values = append(pyramid.Series[0].Values, n)
	}
	r.Rows = append(r.Rows, []queries.Cell{queries.Label("Not scored"), queries.Suppress(counts[0])})
	r.Charts = []queries.Chart{pyramid}
	top := queries.KeyFigure{Label: "at very high or high risk", Unit: "%",
		Value:  queries.Ratio(counts[1]+counts[2], int64(len(seen)), 100),
		Detail: "members in the top 5% of the population's predicted emergency-admission risk"}
	return r, top, nil
}
