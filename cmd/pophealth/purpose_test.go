package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pophealth/pophealth/workspace"
)

// newPurposeWorkspace ingests a small synthetic population, installs fresh opt-out registers
// (everyone cleared, nobody with a Type 1 opt-out) and copies the example
// purposes into the workspace.
func newPurposeWorkspace(t *testing.T) string {
	t.Helper()
	ws := filepath.Join(t.TempDir(), "ws")
	feeds := filepath.Join(t.TempDir(), "feeds")
	for _, args := range [][]string{{"init"}, {"synth", "--people", "200", "--seed", "3", "--out", feeds}, {"ingest", feeds}} {
		if out, err := runCLI(t, append([]string{"--workspace", ws}, args...)...); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
	}
	submit := filepath.Join(t.TempDir(), "submit.dat")
	if _, err := runCLI(t, "--workspace", ws, "optout", "export", "--out", submit); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(t.TempDir(), "type1.dat")
	os.WriteFile(empty, nil, 0o600)
	for _, args := range [][]string{
		{"optout", "import", submit, "--kind", "national", "--list", "cleared"},
		{"optout", "import", empty, "--kind", "type1", "--list", "opted-out"},
	} {
		if out, err := runCLI(t, append([]string{"--workspace", ws}, args...)...); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
	}
	for _, name := range []string{"diabetes-phm", "smi-research"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "purpose", "examples", name+".yaml"))
		if err != nil {
			t.Fatal(err)
		}
		// The examples are valid from 2026-12-01; keep the test in date
		// whenever it runs.
		cfg := strings.Replace(string(b), "valid_from: 2026-12-01", "valid_from: 2000-01-01", 1)
		cfg = strings.NewReplacer("valid_until: 2027-11-30", "valid_until: 2999-12-31", "valid_until: 2027-05-31", "valid_until: 2999-12-31").Replace(cfg)
		if err := os.WriteFile(filepath.Join(ws, "purposes", name+".yaml"), []byte(cfg), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	return ws
}

func TestPurposeCLI_IGLeadAndOperatorFlow(t *testing.T) {
	ws := newPurposeWorkspace(t)
	cli := func(args ...string) (string, error) {
		return runCLI(t, append([]string{"--workspace", ws}, args...)...)
	}
	file := filepath.Join(ws, "purposes", "smi-research.yaml")
	if out, err := cli("purpose", "validate", file); err != nil || !strings.Contains(out, "ok (purpose smi-research, research)") {
		t.Fatalf("validate: %v %s", err, out)
	}
	if _, err := cli("purpose", "materialise", "smi-research"); err == nil || !strings.Contains(err.Error(), "not approved") {
		t.Errorf("materialised a draft: %v", err)
	}
	keys := t.TempDir()
	if _, err := cli("purpose", "keygen", "ian", "--out", keys, "--trust"); err != nil {
		t.Fatal(err)
	}
	if out, err := cli("purpose", "approve", file, "--by", "ian", "--sign-key", filepath.Join(keys, "ian.key")); err != nil || !strings.Contains(out, "signed") {
		t.Fatalf("approve: %v %s", err, out)
	}
	out, err := cli("purpose", "materialise", "smi-research", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var run struct {
		Purpose string         `json:"purpose"`
		Tables  map[string]int `json:"tables"`
		Applied bool           `json:"opt_outs_applied"`
	}
	if err := json.Unmarshal([]byte(out), &run); err != nil || run.Purpose != "smi-research" || run.Tables["person"] == 0 || !run.Applied {
		t.Fatalf("materialise --json: %v %s", err, out)
	}
	if out, err := cli("purpose", "list", "--json"); err != nil || !strings.Contains(out, `"status": "approved"`) || !strings.Contains(out, `"status": "draft"`) {
		t.Errorf("list: %v %s", err, out)
	}
	if out, err := cli("purpose", "show", "smi-research"); err != nil || !strings.Contains(out, "Article 9(2)(j) (archiving, scientific or historical research, or statistics)") {
		t.Errorf("show: %v %s", err, out)
	}
	// Changed since approval: diff shows it, the web page shows it, nothing runs.
	os.WriteFile(file, []byte(strings.Replace(mustRead(t, file), "sensitive: [mental_health]", "sensitive: [mental_health, sexual_health]", 1)), 0o640)
	if out, err := cli("purpose", "diff", "smi-research"); err != nil || !strings.Contains(out, "+sensitive: [mental_health, sexual_health]") {
		t.Errorf("diff: %v %s", err, out)
	}
	w, err := workspace.Open(ws)
	if err != nil {
		t.Fatal(err)
	}
	views, err := purposeSource{w}.ListPurposes(t.Context())
	if err != nil || len(views) != 2 || views[1].Status != "changed since approval" || !strings.Contains(views[1].Diff, "sexual_health") || views[1].ApprovedBy != "ian" {
		t.Errorf("web views = %+v, %v", views, err)
	}
	if _, err := cli("purpose", "materialise", "smi-research"); err == nil || !strings.Contains(err.Error(), "changed since approval") {
		t.Errorf("materialised a changed purpose: %v", err)
	}
	if _, err := cli("purpose", "approve", file, "--by", "ian"); err != nil {
		t.Fatal(err)
	}
	if _, err := cli("purpose", "revoke", "smi-research", "--by", "ian", "--reason", "study closed"); err != nil {
		t.Fatal(err)
	}
	if _, err := cli("purpose", "materialise", "smi-research"); err == nil || !strings.Contains(err.Error(), "revoked by ian") {
		t.Errorf("materialised a revoked purpose: %v", err)
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
