package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pophealth/pophealth/audit"
)

// sqlWorkspace is newPurposeWorkspace with both example purposes approved
// and materialised.
func sqlWorkspace(t *testing.T) string {
	t.Helper()
	ws := newPurposeWorkspace(t)
	for _, id := range []string{"diabetes-phm", "smi-research"} {
		if _, err := runCLI(t, "--workspace", ws, "purpose", "approve", filepath.Join(ws, "purposes", id+".yaml"), "--by", "ian"); err != nil {
			t.Fatal(err)
		}
		if _, err := runCLI(t, "--workspace", ws, "purpose", "materialise", id); err != nil {
			t.Fatal(err)
		}
	}
	return ws
}

// TestSQL runs the analyst's command on one workspace (building it is
// the slow part).
func TestSQL(t *testing.T) {
	ws := sqlWorkspace(t)
	for name, test := range map[string]func(*testing.T, string){
		"RowLevelPurposeQueriedAndAudited":    testSQLRowLevelPurposeQueriedAndAudited,
		"AggregatesPurposeGoesThroughTheGate": testSQLAggregatesPurposeGoesThroughTheGate,
		"RefusalsAreAudited":                  testSQLRefusalsAreAudited,
		"StatementsFromStandardInput":         testSQLStatementsFromStandardInput,
	} {
		t.Run(name, func(t *testing.T) { test(t, ws) })
	}
}

// lastAudit returns the last audit entry.
func lastAudit(t *testing.T, ws string) audit.Entry {
	t.Helper()
	es := auditEntries(t, ws)
	return es[len(es)-1]
}

// auditEntries returns the workspace's audit entries, at least one.
func auditEntries(t *testing.T, ws string) []audit.Entry {
	t.Helper()
	l, err := audit.Open(filepath.Join(ws, "audit", "audit.log"))
	if err != nil {
		t.Fatal(err)
	}
	es, err := l.Entries()
	if err != nil || len(es) == 0 {
		t.Fatalf("audit: %v", err)
	}
	return es
}

func testSQLRowLevelPurposeQueriedAndAudited(t *testing.T, ws string) {
	q := "SELECT count(DISTINCT person_key) AS people FROM person"
	out, err := runCLI(t, "--workspace", ws, "sql", "--purpose", "smi-research", "--as", "rita", "-q", q, "--json")
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		Columns []string
		Rows    [][]int64
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || res.Columns[0] != "people" || res.Rows[0][0] < 150 {
		t.Fatalf("result %s: %v", out, err)
	}
	e := lastAudit(t, ws)
	if e.Actor != "rita" || e.Action != "sql.query" || e.Detail["query"] != q || e.Detail["purpose"] != "smi-research" ||
		fmt.Sprint(e.Detail["rows"]) != "1" || e.Detail["outcome"] != "ok" || e.Detail["seconds"] == nil {
		t.Errorf("audit entry %+v", e)
	}
	out, err = runCLI(t, "--workspace", ws, "sql", "--purpose", "smi-research", "--as", "rita", "--csv", "-q", "SELECT person_key, code FROM diagnosis ORDER BY ALL LIMIT 2")
	if err != nil || !strings.HasPrefix(out, "person_key,code\n") || strings.Count(out, "\n") != 3 {
		t.Errorf("csv: %v %q", err, out)
	}
}

func testSQLAggregatesPurposeGoesThroughTheGate(t *testing.T, ws string) {
	_, err := runCLI(t, "--workspace", ws, "sql", "--purpose", "diabetes-phm", "--as", "alice", "-q", "SELECT person_key FROM person LIMIT 5")
	if err == nil || !strings.Contains(err.Error(), "person_key") {
		t.Fatalf("pseudonyms left an aggregates-only purpose: %v", err)
	}
	if e := lastAudit(t, ws); e.Detail["outcome"] != "refused" {
		t.Errorf("refusal audited as %v", e.Detail["outcome"])
	}
	out, err := runCLI(t, "--workspace", ws, "sql", "--purpose", "diabetes-phm", "--as", "alice", "--json", "-q",
		"SELECT age_band, count(DISTINCT person_key) AS people FROM person GROUP BY age_band ORDER BY age_band")
	if err != nil {
		t.Fatal(err)
	}
	var res struct{ Rows [][]any }
	if err := json.Unmarshal([]byte(out), &res); err != nil || len(res.Rows) < 5 {
		t.Fatalf("%s: %v", out, err)
	}
	for _, r := range res.Rows {
		switch n := r[1].(type) {
		case string:
			if n != "*" {
				t.Errorf("cell %q", n)
			}
		case float64:
			if int64(n)%5 != 0 {
				t.Errorf("count %v not rounded to 5", n)
			}
		default:
			t.Errorf("cell %T %v", n, n)
		}
	}
}

func testSQLRefusalsAreAudited(t *testing.T, ws string) {
	if _, err := runCLI(t, "--workspace", ws, "sql", "--purpose", "smi-research", "--as", "mallory", "-q", "SELECT 1"); err == nil || !strings.Contains(err.Error(), `user "mallory"`) {
		t.Errorf("unlisted user: %v", err)
	}
	if e := lastAudit(t, ws); e.Action != "sql.refused" || e.Actor != "mallory" {
		t.Errorf("audit %+v", e)
	}
	if _, err := runCLI(t, "--workspace", ws, "sql", "--purpose", "smi-research", "--as", "rita", "-q", "COPY person TO 'x.csv'"); err == nil || !strings.Contains(err.Error(), "refused") {
		t.Errorf("COPY: %v", err)
	}
	if e := lastAudit(t, ws); e.Detail["outcome"] != "refused" || e.Detail["query"] != "COPY person TO 'x.csv'" {
		t.Errorf("audit %+v", e)
	}
}

func testSQLStatementsFromStandardInput(t *testing.T, ws string) {
	root := newRootCmd()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(io.Discard)
	root.SetIn(strings.NewReader("SELECT 1 AS one;\nSELECT 2\n  AS two;\n"))
	root.SetArgs([]string{"--workspace", ws, "sql", "--purpose", "smi-research", "--as", "rita", "--csv"})
	if err := root.ExecuteContext(context.Background()); err != nil {
		t.Fatal(err)
	}
	if out.String() != "one\n1\ntwo\n2\n" {
		t.Errorf("output %q", out.String())
	}
}
