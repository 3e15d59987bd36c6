package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/pophealth/pophealth/internal/synthlake"
	"github.com/pophealth/pophealth/queries/riskmodel"
	"github.com/pophealth/pophealth/workspace"
)

func runRisk(t *testing.T, args ...string) (string, error) {
	t.Helper()
	return execCmd(newRiskCmd(&globals{logger: slog.New(slog.DiscardHandler)}), args...)
}

// execCmd runs a command with args and returns its stdout.
func execCmd(cmd *cobra.Command, args ...string) (string, error) {
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(io.Discard)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(context.Background())
	return out.String(), err
}

func TestRiskScoreCmd_JSONGivesScoreAndConditions(t *testing.T) {
	for _, tc := range []struct {
		args  []string
		score float64
		keys  []string
	}{
		{[]string{"--index", "charlson", "--codes", "I50.0,e11.4,N183,E119,J18"}, 4, []string{"chf", "diab", "diabwc", "rend"}},
		{[]string{"--index", "charlson", "--weights", "charlson_1987", "--codes", "C18.7,C78.7"}, 6, []string{"canc", "metacanc"}},
		{[]string{"--index", "elixhauser", "--codes", "F11.2,E66.0"}, -11, []string{"obes", "drug"}},
		{[]string{"--index", "efi", "--codes", "44054006,38341003", "--medicines", "5"}, 3.0 / 36, []string{"diabetes", "hypertension", "polypharmacy"}},
		// LACE: 5 days (4) + emergent (3) + CHF 2 and metastatic cancer 6 -> 8 -> C 5 + 2 ED visits (2) = 14.
		{[]string{"--index", "lace", "--los", "5", "--acute", "--ed-visits", "2", "--codes", "I50.0,C78.7"}, 14, []string{"chf", "metacanc"}},
	} {
		out, err := runRisk(t, append([]string{"score", "--json"}, tc.args...)...)
		if err != nil {
			t.Fatalf("%v: %v", tc.args, err)
		}
		var got struct {
			Score      float64 `json:"score"`
			Conditions []struct {
				Key string `json:"key"`
			} `json:"conditions"`
		}
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatalf("%v: %v\n%s", tc.args, err, out)
		}
		var keys []string
		for _, c := range got.Conditions {
			keys = append(keys, c.Key)
		}
		if got.Score != tc.score || strings.Join(keys, ",") != strings.Join(tc.keys, ",") {
			t.Errorf("%v: score %v conditions %v, want %v %v", tc.args, got.Score, keys, tc.score, tc.keys)
		}
	}
}

func TestRiskScoreCmd_TextAndErrors(t *testing.T) {
	out, err := runRisk(t, "score", "--index", "charlson", "--codes", "E11.9,E11.2,Z00")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"score 1", "superseded: adds 0", "codes matching no condition: Z00"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	for _, args := range [][]string{
		{"score", "--index", "hfrs", "--codes", "I50"},
		{"score", "--index", "charlson"},
		{"score", "--index", "charlson", "--weights", "swiss", "--codes", "I50"},
		{"score", "--index", "efi", "--weights", "quan_2011", "--codes", "44054006"},
	} {
		if _, err := runRisk(t, args...); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
}

// End to end on a small synthetic workspace: risk fit stores a model with
// its provenance, risk run tiers everyone, and cohort run then adds the
// members by tier.
func TestRiskFitRunAndCohortByTier_OnASyntheticWorkspace(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the synthetic pipeline")
	}
	dir := filepath.Join(t.TempDir(), "ws")
	ws, err := workspace.Init(dir)
	if err != nil {
		t.Fatal(err)
	}
	if ws.LakeDir() != filepath.Join(dir, "lake") {
		t.Fatalf("workspace lake %s is not where synthlake writes", ws.LakeDir())
	}
	if _, err := synthlake.Build(t.Context(), dir, 3000, 21); err != nil {
		t.Fatal(err)
	}
	g := &globals{logger: slog.New(slog.DiscardHandler), workspace: dir}
	out, err := execCmd(newRiskCmd(g), "fit", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var fit struct {
		Version  string            `json:"version"`
		Snapshot []string          `json:"snapshot_batches"`
		AUROC    riskmodel.AUROC   `json:"auroc"`
		Reports  []json.RawMessage `json:"reports"`
	}
	if err := json.Unmarshal([]byte(out), &fit); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if fit.Version == "" || len(fit.Snapshot) != 1 || fit.AUROC.AUC <= 0.5 || len(fit.Reports) != 3 {
		t.Errorf("fit output %+v", fit)
	}
	m, err := riskmodel.Load(riskmodel.Dir(dir), fit.Version)
	if err != nil || m.Version != fit.Version {
		t.Fatalf("stored model: %v", err)
	}
	csvPath := filepath.Join(t.TempDir(), "scores.csv")
	out, err = execCmd(newRiskCmd(g), "run", "--scores", csvPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Very high (top 0.5%)", "Low (remaining 80%)", fit.Version, "Risk tiers by deprivation decile"} {
		if !strings.Contains(out, want) {
			t.Errorf("risk run output lacks %q:\n%s", want, out)
		}
	}
	scores, err := os.ReadFile(csvPath)
	if err != nil || !strings.HasPrefix(string(scores), "person_key,risk,tier\n") {
		t.Errorf("scores file: %v", err)
	}
	out, err = execCmd(newCohortCmd(g), "run", exampleSpec)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "members by risk tier") || !strings.Contains(out, "Not scored") {
		t.Errorf("cohort run lacks the tier table:\n%s", out)
	}
	// Deciles reach the lake from the synthetic lookup: some row of the
	// deprivation table is a decile, not only "unknown".
	if !strings.Contains(out, "1 (most deprived)") {
		t.Errorf("cohort run lacks counts by decile:\n%s", out)
	}

	// Reports as files: one HTML page with a chart per table, one Parquet
	// and one CSV file per table.
	reports := t.TempDir()
	html := filepath.Join(reports, "cohort.html")
	if _, err := execCmd(newCohortCmd(g), "run", exampleSpec, "--format", "html", "--out", html); err != nil {
		t.Fatal(err)
	}
	page, err := os.ReadFile(html)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(page), "<svg"); n != 5 {
		t.Errorf("cohort html has %d charts, want 5 (attrition, age and sex, deprivation, practice, tiers)", n)
	}
	for _, format := range []string{"csv", "parquet"} {
		dir := filepath.Join(reports, format)
		if _, err := execCmd(newCohortCmd(g), "run", exampleSpec, "--format", format, "--out", dir); err != nil {
			t.Fatal(err)
		}
		files, err := filepath.Glob(filepath.Join(dir, "*."+format))
		if err != nil || len(files) != 5 {
			t.Errorf("%s: %d files %v, want 5", format, len(files), files)
		}
	}
	if _, err := execCmd(newCohortCmd(g), "run", exampleSpec, "--format", "parquet"); err == nil {
		t.Error("parquet to standard output accepted")
	}
	for _, args := range [][]string{{"run"}, {"fit"}} {
		page := filepath.Join(reports, args[0]+".html")
		if _, err := execCmd(newRiskCmd(g), append(args, "--format", "html", "--out", page)...); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(page)
		if err != nil || !strings.Contains(string(b), "<svg") {
			t.Errorf("risk %s --format html: no chart (%v)", args[0], err)
		}
	}
}
