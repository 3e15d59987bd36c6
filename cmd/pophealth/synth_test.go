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

	"github.com/pophealth/pophealth/synth"
)

// runSynth runs the synth command with args and returns its stdout.
func runSynth(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := newSynthCmd(&globals{logger: slog.New(slog.DiscardHandler)})
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(io.Discard)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(context.Background())
	return out.String(), err
}

func TestSynthCmd_JSONPrintsTheSummaryWrittenToSynthJSON(t *testing.T) {
	dir := t.TempDir()
	out, err := runSynth(t, "--people", "300", "--seed", "3", "--out", dir, "--malformed", "0", "--start", "2024-01-01", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var printed synth.Summary
	if err := json.Unmarshal([]byte(out), &printed); err != nil {
		t.Fatalf("stdout is not a Summary: %v\n%s", err, out)
	}
	if printed.People != 300 || printed.Options.Seed != 3 || printed.Options.Malformed != 0 || printed.Options.Start.String() != "2024-01-01" {
		t.Errorf("summary %+v does not reflect the flags", printed.Options)
	}
	written, err := os.ReadFile(filepath.Join(dir, synth.SummaryFile))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(bytes.TrimSpace(written), bytes.TrimSpace([]byte(out))) {
		t.Errorf("stdout differs from %s", synth.SummaryFile)
	}
}

func TestSynthCmd_PrintsEachFileWithItsCounts(t *testing.T) {
	out, err := runSynth(t, "--people", "200", "--out", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Generated 200 people (seed 1)", "gp/patients.csv", "hl7v2/adt.hl7", "fhir/Patient.ndjson", "truth.csv"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestSynthCmd_RejectsBadFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--start", "2023-02-30"}, "--start"},
		{[]string{"--end", "soon"}, "--end"},
		{[]string{"--people", "0"}, "people 0"},
		{[]string{"--wrong-nhs", "2"}, "wrong NHS number share"},
		{[]string{"extra"}, "unknown command"},
	} {
		_, err := runSynth(t, append(c.args, "--out", t.TempDir())...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("synth %v: %v, want an error with %q", c.args, err, c.want)
		}
	}
}
