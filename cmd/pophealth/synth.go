package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/pophealth/pophealth/models"
	"github.com/pophealth/pophealth/synth"
)

func newSynthCmd(g *globals) *cobra.Command {
	opts := synth.DefaultOptions()
	opts.OutDir = "./feeds"
	var start, end string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "synth",
		Short: "Generate a synthetic population and its GP, FHIR and HL7 v2 feeds",
		Long: `synth generates a deterministic synthetic population (England-like ages,
long-term conditions, deaths, hospital admissions) and writes the exchange feeds
pophealth ingests, with realistic dirt, under --out:

  gp/patients.csv, gp/events.csv       GP extract (docs/feeds/gp-extract.md)
  fhir/<Resource>.ndjson               FHIR R4 Bulk Data from a community trust
  hl7v2/adt.hl7                        HL7 v2.4 ADT from an acute trust
  truth.csv                            which person each patient record belongs to
  malformed.csv                        every deliberately broken record
  synth.json                           the summary (also printed by --json)

The same --seed and options give byte-identical files. It does not use the
workspace. See docs/synth.md.`,
		Example: `  pophealth synth --people 10000 --seed 1 --out feeds
  pophealth synth --people 1000000 --malformed 0 --json > synth.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var err error
			if opts.Start, err = models.ParseDate(start); err != nil {
				return fmt.Errorf("--start: %w", err)
			}
			if opts.End, err = models.ParseDate(end); err != nil {
				return fmt.Errorf("--end: %w", err)
			}
			var progress func(done, total int)
			if !asJSON {
				if bar := newPeopleBar(cmd.ErrOrStderr(), opts.People); bar != nil {
					progress = func(done, _ int) { bar.Set(done) }
					defer bar.Finish()
				}
			}
			began := time.Now()
			sum, err := synth.Generate(cmd.Context(), opts, progress)
			if err != nil {
				return err
			}
			elapsed := time.Since(began)
			g.logger.Info("synthetic feeds written", "dir", opts.OutDir, "people", sum.People, "seed", opts.Seed, "elapsed", elapsed)
			out := cmd.OutOrStdout()
			if asJSON {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(sum)
			}
			fmt.Fprintf(out, "Generated %d people (seed %d) in %.1fs into %s:\n", sum.People, opts.Seed, elapsed.Seconds(), opts.OutDir)
			printSynthFiles(out, opts.OutDir, sum)
			return nil
		},
	}
	f := cmd.Flags()
	f.IntVar(&opts.People, "people", 10000, "size of the registered population (at most 5,000,000)")
	f.Uint64Var(&opts.Seed, "seed", opts.Seed, "random seed: the same seed and options give the same files")
	f.StringVar(&opts.OutDir, "out", opts.OutDir, "output `DIR`")
	f.StringVar(&start, "start", opts.Start.String(), "first day of the study period (YYYY-MM-DD)")
	f.StringVar(&end, "end", opts.End.String(), "last day of the study period (YYYY-MM-DD)")
	f.Float64Var(&opts.MissingNHS, "missing-nhs", opts.MissingNHS, "share of FHIR/HL7 patient records without an NHS number")
	f.Float64Var(&opts.WrongNHS, "wrong-nhs", opts.WrongNHS, "share of FHIR/HL7 patient records with a mistyped or wrong NHS number")
	f.Float64Var(&opts.NameVariant, "name-variant", opts.NameVariant, "share of FHIR/HL7 patient records with a nickname, typo or surname variant")
	f.Float64Var(&opts.MovedPostcode, "moved-postcode", opts.MovedPostcode, "share of people who moved house (FHIR/HL7 keep the old postcode)")
	f.Float64Var(&opts.Malformed, "malformed", opts.Malformed, "share of records (lines, messages) deliberately broken in every feed file")
	f.IntVar(&opts.Workers, "workers", 0, "generating goroutines (0: one per CPU); does not change the output")
	f.BoolVar(&asJSON, "json", false, "print the summary as JSON instead of a table")
	return cmd
}

// newPeopleBar returns a progress bar counting people on w when w is a
// terminal, and nil otherwise.
func newPeopleBar(w io.Writer, total int) *progressbar.ProgressBar {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil
	}
	return progressbar.NewOptions(total,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription("synth: people"),
		progressbar.OptionShowCount(),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionClearOnFinish(),
	)
}

// printSynthFiles writes what synth generated: each feed file with its
// record and malformed counts, then the population and where the ground
// truth is. Lines are indented to sit under a heading.
func printSynthFiles(w io.Writer, dir string, sum synth.Summary) {
	names := slices.Sorted(maps.Keys(sum.Files))
	width := len("file")
	for _, name := range names {
		width = max(width, len(name))
	}
	fmt.Fprintf(w, "    %-*s  %9s  %9s\n", width, "file", "records", "malformed")
	for _, name := range names {
		fc := sum.Files[name]
		fmt.Fprintf(w, "    %-*s  %9d  %9d\n", width, name, fc.Records, fc.Malformed)
	}
	fhir, hl7 := sum.Dirt[models.FeedFHIR], sum.Dirt[models.FeedHL7]
	fmt.Fprintf(w, "    %d people: %d died, %d known to the community trust (FHIR), %d admitted (%d emergency, %d elective spells)\n",
		sum.People, sum.Deaths, sum.FHIRPatients, sum.AdmittedPeople, sum.EmergencySpells, sum.ElectiveSpells)
	fmt.Fprintf(w, "    dirt in FHIR/HL7 patient records: %d/%d without NHS number, %d/%d wrong NHS number, %d/%d name variants, %d/%d old postcode\n",
		fhir.MissingNHS, hl7.MissingNHS, fhir.WrongNHS, hl7.WrongNHS,
		fhir.Nickname+fhir.NameTypo+fhir.SurnameVariant, hl7.Nickname+hl7.NameTypo+hl7.SurnameVariant,
		fhir.OldPostcode, hl7.OldPostcode)
	fmt.Fprintf(w, "    ground truth %s, broken records %s, summary %s\n",
		filepath.Join(dir, synth.TruthFile), filepath.Join(dir, synth.MalformedFile), filepath.Join(dir, synth.SummaryFile))
}
