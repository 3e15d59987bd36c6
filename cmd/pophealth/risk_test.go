package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/spf13/cobra"
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
