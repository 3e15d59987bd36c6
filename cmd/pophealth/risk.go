package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/pophealth/pophealth/queries/risk"
)

func newRiskCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "risk",
		Short: "Comorbidity and frailty scores, and the emergency-admission risk model",
		Long: `risk scores codes on published indices and fits and runs the
emergency-admission risk model over the lake.

  pophealth risk score --index charlson --codes I50.0,E11.4,N18.3
  pophealth risk fit                 # fit on T-1 -> T, validate on T -> T+1
  pophealth risk run                 # score everyone, assign risk-pyramid tiers

The code tables are in queries/risk/tables/ and docs/risk.md explains each
score and the model.`,
	}
	cmd.AddCommand(newRiskScoreCmd(), newRiskFitCmd(g), newRiskRunCmd(g))
	return cmd
}

func newRiskScoreCmd() *cobra.Command {
	var (
		index     string
		codes     []string
		weights   string
		medicines int
		jsonOut   bool
		lace      risk.LACEInput
	)
	cmd := &cobra.Command{
		Use:   "score --index charlson|elixhauser|efi|lace --codes CODE,CODE,...",
		Short: "Score one list of codes on the Charlson, Elixhauser or eFI index, to check a patient by hand",
		Long: `score scores one person's codes directly, without the lake.

  charlson    ICD-10 codes, Quan 2005 coding, Quan 2011 weights
              (--weights charlson_1987 for the original weights)
  elixhauser  ICD-10 codes, Quan 2005 coding, van Walraven 2009 weights
  efi         SNOMED CT concept ids; --medicines N adds the polypharmacy
              deficit when N >= 5 different medicines in the last 12 months
  lace        ICD-10 codes for LACE's comorbidity points, with --los DAYS,
              --acute and --ed-visits N (in the 6 months before admission)

ICD-10 codes may be given with or without the dot, in any case. The
hierarchy rules apply (a superseded condition is listed with weight shown
but adds 0). --json prints the score and the conditions found.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if len(codes) == 0 && index != "lace" {
				return fmt.Errorf("--codes: give at least one code")
			}
			for i := range codes {
				codes[i] = strings.TrimSpace(codes[i])
			}
			out := cmd.OutOrStdout()
			switch index {
			case "charlson", "elixhauser":
				var (
					x   *risk.ComorbidityIndex
					err error
				)
				if index == "charlson" {
					if weights == "" {
						weights = string(risk.Quan2011)
					}
					x, err = risk.Charlson(risk.WeightSet(weights))
				} else {
					if weights == "" {
						weights = string(risk.VanWalraven2009)
					}
					x, err = risk.Elixhauser(risk.WeightSet(weights))
				}
				if err != nil {
					return err
				}
				res := x.Score(codes)
				if jsonOut {
					return writeJSON(out, res)
				}
				return writeComorbidity(out, res)
			case "efi":
				if weights != "" {
					return fmt.Errorf("--weights applies to charlson and elixhauser only")
				}
				f, err := risk.EFI()
				if err != nil {
					return err
				}
				res := f.Score(risk.FrailtyInput{Concepts: codes, Medicines: medicines})
				if jsonOut {
					return writeJSON(out, res)
				}
				return writeFrailty(out, res)
			case "lace":
				x, err := risk.Charlson(risk.Quan2011)
				if err != nil {
					return err
				}
				ch := x.Score(codes)
				if lace.Comorbidity, err = risk.LACEComorbidity(ch); err != nil {
					return err
				}
				res, err := risk.LACE(lace)
				if err != nil {
					return err
				}
				if jsonOut {
					return writeJSON(out, map[string]any{"index": "lace", "score": res.Score, "band": res.Band,
						"points": map[string]int{"L": res.L, "A": res.A, "C": res.C, "E": res.E}, "conditions": ch.Conditions})
				}
				fmt.Fprintf(out, "lace: score %d (%s): L %d + A %d + C %d (comorbidity total %d) + E %d\n",
					res.Score, res.Band, res.L, res.A, res.C, lace.Comorbidity, res.E)
				return nil
			default:
				return fmt.Errorf("--index %q: want charlson, elixhauser, efi or lace", index)
			}
		},
	}
	cmd.Flags().StringVar(&index, "index", "charlson", "index: charlson, elixhauser, efi or lace")
	cmd.Flags().StringSliceVar(&codes, "codes", nil, "comma-separated `CODES` (ICD-10 for charlson/elixhauser, SNOMED CT for efi)")
	cmd.Flags().StringVar(&weights, "weights", "", "weight set: quan_2011 (default) or charlson_1987 for charlson; van_walraven_2009 for elixhauser")
	cmd.Flags().IntVar(&medicines, "medicines", 0, "efi only: different medicines prescribed in the last 12 months")
	cmd.Flags().BoolVar(&jsonOut, "json", false, "print the score and conditions as JSON")
	cmd.Flags().IntVar(&lace.LengthOfStayDays, "los", 0, "lace only: length of stay in `DAYS`")
	cmd.Flags().BoolVar(&lace.Acute, "acute", false, "lace only: the admission was emergent")
	cmd.Flags().IntVar(&lace.EDVisits, "ed-visits", 0, "lace only: emergency department visits in the 6 months before admission")
	return cmd
}

func writeComorbidity(w io.Writer, res risk.Result) error {
	fmt.Fprintf(w, "%s (%s weights): score %d\n", res.Index, res.Weights, res.Score)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, c := range res.Conditions {
		line := fmt.Sprintf("  %s\t%s\t%+d\t%s", c.Key, c.Label, c.Weight, strings.Join(c.Codes, " "))
		if c.Superseded {
			line += "\tsuperseded: adds 0"
		}
		fmt.Fprintln(tw, line)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(res.Unmatched) > 0 {
		fmt.Fprintf(w, "codes matching no condition: %s\n", strings.Join(res.Unmatched, " "))
	}
	return nil
}

func writeFrailty(w io.Writer, res risk.FrailtyResult) error {
	fmt.Fprintf(w, "efi: %d of %d deficits, eFI %.3f (%s)\n", res.Count, risk.Deficits, res.Value, res.Category)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, d := range res.Deficits {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", d.Key, d.Label, strings.Join(d.Evidence, " "))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(res.Unmatched) > 0 {
		fmt.Fprintf(w, "concepts matching no deficit: %s\n", strings.Join(res.Unmatched, " "))
	}
	return nil
}
