package main

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runCohort(t *testing.T, args ...string) (string, error) {
	t.Helper()
	return execCmd(newCohortCmd(&globals{logger: slog.New(slog.DiscardHandler), workspace: t.TempDir()}), args...)
}

const exampleSpec = "../../queries/cohort/examples/t2d-poor-control.yaml"

func TestCohortCmd_CheckTestAndExplainTheExample(t *testing.T) {
	out, err := runCohort(t, "check", exampleSpec)
	if err != nil || !strings.Contains(out, "ok") {
		t.Errorf("check: %v\n%s", err, out)
	}
	out, err = runCohort(t, "test", exampleSpec)
	if err != nil || !strings.Contains(out, "9 patients pass") {
		t.Errorf("test: %v\n%s", err, out)
	}
	out, err = runCohort(t, "run", "--explain", exampleSpec)
	if err != nil || !strings.Contains(out, "FROM cohort") || !strings.Contains(out, "person_at(DATE '2026-03-31')") {
		t.Errorf("explain: %v\n%s", err, out)
	}
}

func TestCohortCmd_CheckFailsOnContradictions(t *testing.T) {
	dir := t.TempDir()
	list := filepath.Join(dir, "e.csv")
	if err := os.WriteFile(list, []byte("code,term\n44054006,x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	spec := filepath.Join(dir, "bad.yaml")
	body := "name: bad\ncodelists: {e: {file: e.csv, system: snomed, version: '1'}}\n" +
		"study_period: {start: 2024-01-01, end: 2024-12-31}\nentry: {codelist: e}\nexit: {death: true}\n" +
		"inclusion: [{name: old and young, all: [{age: {min: 80}}, {age: {max: 20}}]}]\n"
	if err := os.WriteFile(spec, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := runCohort(t, "check", spec)
	if err == nil || !strings.Contains(out, "do not overlap") {
		t.Errorf("check passed a contradictory spec: %v\n%s", err, out)
	}
	if _, err := runCohort(t, "run", "--purpose", "p1", spec); err == nil {
		t.Error("--purpose accepted before purposes exist")
	}
}
