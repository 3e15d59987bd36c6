package main

import (
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/pophealth/pophealth/jobs"
	"github.com/pophealth/pophealth/lake"
	"github.com/pophealth/pophealth/link"
	"github.com/pophealth/pophealth/link/dataset"
	"github.com/pophealth/pophealth/models"
	"github.com/pophealth/pophealth/workspace"
)

func newLinkCmd(g *globals) *cobra.Command {
	var (
		jsonOut bool
		full    bool
	)
	cmd := &cobra.Command{
		Use:   "link",
		Short: "Link source patients into people: verified NHS number first, Fellegi-Sunter for the rest",
		Long: `link runs record linkage over the workspace's master person index (the
restricted zone lake/mpi): source patients sharing a Modulus-11-valid NHS
number join first, then a Fellegi-Sunter model scores blocked pairs of the
rest and links pairs at or above match probability 0.5 into people, with a
guard against chaining two people through one weak link.

The first run trains the model (u from random pairs, m by EM); later runs
link only the source patients new since the last run against the index,
keeping every person id stable. A person's id changes only when two people
merge; the merge is recorded. HL7 A40 merges and clerical review decisions
("link review --decide") are honoured. Lake rows are never rewritten: a
pseudonymised key map tells the query views which person a row now belongs
to. docs/linkage.md explains the model.`,
		Example: `  pophealth link
  pophealth link --full --json
  pophealth link explain gp/G0000001 fhir/3f2a...
  pophealth link review
  pophealth link eval dataset3.csv --truth rec_id --truth-pattern '^rec-(\d+)-'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ws, lk, err := openLake(g)
			if err != nil {
				return err
			}
			res, err := runLink(cmd, g, ws, lk, full, !jsonOut)
			if err != nil {
				return err
			}
			if jsonOut {
				return writeJSON(cmd.OutOrStdout(), res)
			}
			printLink(cmd.OutOrStdout(), res)
			return nil
		},
	}
	cmd.Flags().BoolVar(&jsonOut, "json", false, "print the summary as JSON")
	cmd.Flags().BoolVar(&full, "full", false, "retrain the model and relink every source patient (ids stay stable)")
	cmd.AddCommand(newLinkEvalCmd(), newLinkExplainCmd(g), newLinkReviewCmd(g))
	return cmd
}

// runLink runs the linkage job and records it in the audit log.
//
// With progress set and standard error a terminal, each step is shown as
// it starts.
func runLink(cmd *cobra.Command, g *globals, ws *workspace.Workspace, lk *lake.Lake, full, progress bool) (link.RunResult, error) {
	key, err := ws.LakeKey()
	if err != nil {
		return link.RunResult{}, err
	}
	opts := jobs.LinkOptions{Key: key, Full: full, Logger: g.logger}
	if f, ok := cmd.ErrOrStderr().(*os.File); progress && ok && term.IsTerminal(int(f.Fd())) {
		start := time.Now()
		opts.Progress = func(step string) { fmt.Fprintf(f, "link %5.1fs: %s\n", time.Since(start).Seconds(), step) }
	}
	res, err := jobs.Link(cmd.Context(), lk, opts)
	if err != nil {
		return res, err
	}
	err = appendAudit(ws, "link", map[string]any{
		"batch_id": res.BatchID, "mode": res.Mode, "sources": res.Sources, "new": res.New,
		"moved": res.Moved, "persons": res.Persons, "merges": res.Merges,
	})
	return res, err
}

func printLink(w io.Writer, r link.RunResult) {
	if r.BatchID == "" {
		fmt.Fprintln(w, "Nothing to link: the master person index is empty (ingest feeds first)")
		return
	}
	fmt.Fprintf(w, "Linkage batch %s (%s) committed in %.1fs\n\n", r.BatchID, r.Mode, r.Seconds)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	row := func(label string, v any) { fmt.Fprintf(tw, "%s\t%v\t\n", label, v) }
	row("source patients", r.Sources)
	row("linked for the first time", r.New)
	row("moved to another person", r.Moved)
	row("people", r.Persons)
	row("people merged", r.Merges)
	row("HL7 A40 merges honoured", r.A40)
	row("clerical decisions honoured", r.Labels)
	row("linked by NHS number", r.Stats.Anchored)
	row("NHS-number links rejected (details disagree)", r.Stats.Detached)
	row("candidate pairs compared", r.Stats.CandidatePairs)
	row("pairs at or above the threshold", r.Stats.Links)
	row("joins refused by the chaining guard", r.Stats.GuardRefused)
	row("pairs for clerical review", r.Review)
	row("  of which NHS number conflicts (kept apart)", r.NHSConflicts)
	tw.Flush()
}

func newLinkEvalCmd() *cobra.Command {
	var (
		jsonOut      bool
		truth        string
		truthPattern string
		maps         []string
	)
	cmd := &cobra.Command{
		Use:   "eval DATA --truth COLUMN [--map field=column ...]",
		Short: "Link a labelled person table (CSV or Parquet) and print pairwise precision, recall, F1 and blocking recall",
		Long: `eval links any person table with a ground-truth column, using the same
default settings as "pophealth link", and scores the result pairwise: a true
pair is two records with the same truth value; precision, recall and F1 count
the pairs inside the linked clusters; blocking recall is the share of true
pairs that were compared at all (a pair never compared is a miss).

Columns map to fields by name (given_name/first_name, family_name/surname,
birth_date/date_of_birth/dob, sex, postcode, nhs_number, house_number/
street_number, address/address_1, locality/city/suburb, email,
identifier/soc_sec_id); --map field=column overrides, --map field= leaves a
field out. --truth-pattern extracts the entity from the truth column with a
regular expression's first group. The figures without the chaining guard
(plain connected components) are printed alongside, to measure the guard.`,
		Example: `  pophealth link eval fake_1000.csv --truth cluster
  pophealth link eval dataset3.csv --truth rec_id --truth-pattern '^rec-(\d+)-' --json
  pophealth link eval people.parquet --truth person --map given_name=forename1`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			mapping := map[string]string{}
			for _, m := range maps {
				f, c, ok := strings.Cut(m, "=")
				if !ok {
					return fmt.Errorf("--map %q: want field=column", m)
				}
				mapping[f] = c
			}
			res, err := evalTable(cmd, args[0], dataset.Options{Truth: truth, TruthPattern: truthPattern, Map: mapping})
			if err != nil {
				return err
			}
			if jsonOut {
				return writeJSON(cmd.OutOrStdout(), res)
			}
			printEval(cmd.OutOrStdout(), res)
			return nil
		},
	}
	cmd.Flags().BoolVar(&jsonOut, "json", false, "print the figures as JSON")
	cmd.Flags().StringVar(&truth, "truth", "", "ground-truth `COLUMN`: records with equal values are the same entity")
	cmd.Flags().StringVar(&truthPattern, "truth-pattern", "", "regular expression whose first group is the entity in the truth column")
	cmd.Flags().StringArrayVar(&maps, "map", nil, "`field=column`: read a field from a column (repeatable)")
	_ = cmd.MarkFlagRequired("truth")
	return cmd
}

// evalResult is what "link eval --json" prints.
type evalResult struct {
	Data    string            `json:"data"`
	Columns map[string]string `json:"columns"`
	link.Metrics
	// WithoutGuard is the same linkage clustered by plain connected
	// components: what the chaining guard buys.
	WithoutGuard link.Metrics   `json:"without_guard"`
	Linkage      link.LinkStats `json:"linkage"`
	Seconds      float64        `json:"seconds"`
}

func evalTable(cmd *cobra.Command, path string, o dataset.Options) (evalResult, error) {
	tb, err := dataset.Load(cmd.Context(), path, o)
	if err != nil {
		return evalResult{}, err
	}
	if len(tb.Records) == 0 {
		return evalResult{}, fmt.Errorf("link eval %s: no records", path)
	}
	s := link.DefaultSettings()
	start := time.Now()
	res, err := link.Link(cmd.Context(), tb.Records, s)
	seconds := time.Since(start).Seconds()
	if err != nil {
		return evalResult{}, err
	}
	out := evalResult{Data: path, Columns: tb.Columns, Metrics: link.Evaluate(res, tb.Truth), Linkage: res.Stats}
	s.GuardMean = 0
	plain, err := link.Link(cmd.Context(), tb.Records, s)
	if err != nil {
		return evalResult{}, err
	}
	out.WithoutGuard = link.Evaluate(plain, tb.Truth)
	out.Seconds = seconds
	if out.TruePairs == 0 {
		fmt.Fprintf(cmd.ErrOrStderr(), "warning: every record has its own truth value in %q: nothing to find (does the column need --truth-pattern?)\n", o.Truth)
	}
	return out, nil
}

func printEval(w io.Writer, r evalResult) {
	fmt.Fprintf(w, "%s: %d records, %d true pairs, linked in %.2fs\n", r.Data, r.Records, r.TruePairs, r.Seconds)
	var fields []string
	for _, f := range dataset.Fields {
		if c, ok := r.Columns[f.Name]; ok {
			fields = append(fields, f.Name+"="+c)
		}
	}
	fmt.Fprintf(w, "fields: %s\n\n", strings.Join(fields, " "))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "\tprecision\trecall\tF1\tblocking recall\tpredicted pairs\t\n")
	for _, m := range []struct {
		name string
		m    link.Metrics
	}{{"linkage (default settings)", r.Metrics}, {"without chaining guard", r.WithoutGuard}} {
		fmt.Fprintf(tw, "%s\t%.4f\t%.4f\t%.4f\t%.4f\t%d\t\n", m.name, m.m.Precision, m.m.Recall, m.m.F1, m.m.BlockingRecall, m.m.PredictedPairs)
	}
	tw.Flush()
	fmt.Fprintf(w, "\n%d candidate pairs compared, prior %.3g, %d joins refused by the guard\n", r.Linkage.CandidatePairs, r.Linkage.Prior, r.Linkage.GuardRefused)
}

func newLinkExplainCmd(g *globals) *cobra.Command {
	var jsonOut bool
	cmd := &cobra.Command{
		Use:   "explain A B",
		Short: "Show why two source patients were or were not linked: per-field weights and the total",
		Long: `explain scores two source patients of the index (named feed/local_id, as
"link review" lists them) with the model of the last linkage run and prints a
text waterfall: the prior's weight, then each field's comparison level and
match weight (log2 m/u, plus a term-frequency adjustment for exactly agreeing
names and postcodes), the running total, and the match probability it gives.
The values shown are identifiers: explain reads the restricted zone.`,
		Example: `  pophealth link explain gp/G0000012 hl7v2/M0000012`,
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, lk, err := openLake(g)
			if err != nil {
				return err
			}
			e, err := link.ExplainSources(cmd.Context(), lk, args[0], args[1], link.DefaultSettings())
			if err != nil {
				return err
			}
			if jsonOut {
				return writeJSON(cmd.OutOrStdout(), e)
			}
			printExplain(cmd.OutOrStdout(), e)
			return nil
		},
	}
	cmd.Flags().BoolVar(&jsonOut, "json", false, "print the explanation as JSON")
	return cmd
}

// printExplain draws the waterfall: one line per step, a bar of one cell
// per unit of weight from the running total before the step.
func printExplain(w io.Writer, e link.Explanation) {
	fmt.Fprintf(w, "%s vs %s\n\n", e.A, e.B)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "step\tlevel\tvalues\tweight\trunning\t\n")
	running := e.PriorWeight
	fmt.Fprintf(tw, "prior\t\t\t%+.2f\t%+.2f\t%s\n", e.PriorWeight, running, bar(e.PriorWeight))
	for _, f := range e.Fields {
		wt := f.Weight + f.TermFrequency
		running += wt
		level := f.Level
		if f.TermFrequency != 0 {
			level += fmt.Sprintf(" (tf %+.2f)", f.TermFrequency)
		}
		fmt.Fprintf(tw, "%s\t%s\t%q | %q\t%+.2f\t%+.2f\t%s\n", f.Comparison, level, f.A, f.B, wt, running, bar(wt))
	}
	tw.Flush()
	verdict := "below the threshold: not linked on this pair"
	if e.Probability >= e.Threshold {
		verdict = "at or above the threshold: linked"
	}
	fmt.Fprintf(w, "\ntotal %+.2f  match probability %.6f  (threshold %.2f, %s)\n", e.Total, e.Probability, e.Threshold, verdict)
	if e.Linked {
		fmt.Fprintln(w, "the last linkage run put them in the same person")
	} else {
		fmt.Fprintln(w, "the last linkage run put them in different people")
	}
}

// bar is a weight as a bar of '+' or '-' cells, one per unit, at most 30.
func bar(weight float64) string {
	n := min(int(math.Round(math.Abs(weight))), 30)
	if weight < 0 {
		return strings.Repeat("-", n)
	}
	return strings.Repeat("+", n)
}

func newLinkReviewCmd(g *globals) *cobra.Command {
	var (
		jsonOut bool
		decide  bool
		by      string
		limit   int
	)
	cmd := &cobra.Command{
		Use:   "review [--decide A B match|non-match --by NAME]",
		Short: "List borderline pairs for clerical review, or record a decision on one",
		Long: `review lists the pairs linkage runs scored in the review band (match
probability 0.05 to 0.95; each pair as its latest run scored it) that no
decision covers yet, most uncertain first. "link explain A B" shows why a pair scored as it did.

With --decide A B match|non-match --by NAME, review records a clerical
decision as a label in the restricted zone. The next "pophealth link" honours
it: a match joins the two source patients' people (a recorded merge), a
non-match separates them if they were linked (an un-merge) and keeps them
apart from then on.`,
		Example: `  pophealth link review
  pophealth link review --decide gp/G0000012 hl7v2/M0000099 non-match --by "A. Clerk"`,
		RunE: func(cmd *cobra.Command, args []string) error {
			_, lk, err := openLake(g)
			if err != nil {
				return err
			}
			if decide {
				if len(args) != 3 {
					return fmt.Errorf("--decide wants A B match|non-match, got %d arguments", len(args))
				}
				batch, err := jobs.LinkDecision(cmd.Context(), lk, args[0], args[1], args[2], by)
				if err != nil {
					return err
				}
				if jsonOut {
					return writeJSON(cmd.OutOrStdout(), map[string]string{"batch_id": batch, "a": args[0], "b": args[1], "decision": args[2], "by": by})
				}
				fmt.Fprintf(cmd.OutOrStdout(), "Recorded %s: %s / %s by %s (batch %s); run \"pophealth link\" to apply it\n", args[2], args[0], args[1], by, batch)
				return nil
			}
			if len(args) != 0 {
				return fmt.Errorf("review takes no arguments without --decide")
			}
			pairs, err := link.ReviewList(cmd.Context(), lk)
			if err != nil {
				return err
			}
			if limit > 0 && len(pairs) > limit {
				pairs = pairs[:limit]
			}
			if jsonOut {
				return writeJSON(cmd.OutOrStdout(), pairs)
			}
			if len(pairs) == 0 {
				fmt.Fprintln(cmd.OutOrStdout(), "No pairs awaiting review")
				return nil
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
			fmt.Fprintf(tw, "A\tB\tprobability\tweight\tlinked now\treason\t\n")
			for _, p := range pairs {
				prob, weight, reason := fmt.Sprintf("%.4f", p.Probability), fmt.Sprintf("%+.2f", p.Weight), "borderline score"
				if p.Reason == models.LinkNHSConflict {
					prob, weight, reason = "-", "-", "A sent the NHS number of B's person"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%v\t%s\t\n", p.A, p.B, prob, weight, p.Linked, reason)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&jsonOut, "json", false, "print as JSON")
	cmd.Flags().BoolVar(&decide, "decide", false, "record a decision: arguments A B match|non-match")
	cmd.Flags().StringVar(&by, "by", "", "`NAME` of the person deciding (required with --decide)")
	cmd.Flags().IntVar(&limit, "limit", 50, "list at most N pairs (0: all)")
	return cmd
}
