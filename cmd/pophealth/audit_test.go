package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pophealth/pophealth/audit"
	"github.com/pophealth/pophealth/workspace"
)

// auditWorkspace creates a workspace whose log holds the init entry and
// three more by two users about two purposes.
func auditWorkspace(t *testing.T) (string, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "ws")
	if _, err := runCLI(t, "--workspace", dir, "init"); err != nil {
		t.Fatal(err)
	}
	ws, err := workspace.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	log, err := audit.Open(ws.AuditLogPath())
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range []struct {
		actor, action string
		detail        map[string]any
	}{
		{"ian", "purpose.approve", map[string]any{"purpose": "t2dm-phm", "sha256": "ab12"}},
		{"alice", "sql", map[string]any{"purpose": "t2dm-phm", "query": "SELECT count(*) FROM person", "rows": 1}},
		{"alice", "sql", map[string]any{"purpose": "smi-research", "query": "SELECT 1", "rows": 1}},
	} {
		if _, err := log.Append(e.actor, e.action, e.detail); err != nil {
			t.Fatal(err)
		}
	}
	return dir, ws.AuditLogPath()
}

func TestAuditVerify_IntactAndTampered(t *testing.T) {
	dir, path := auditWorkspace(t)
	out, err := runCLI(t, "--workspace", dir, "audit", "verify")
	if err != nil || !strings.HasPrefix(out, "audit log intact: 4 entries, head ") {
		t.Fatalf("verify = %q, %v", out, err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	edited := bytes.Replace(data, []byte(`"rows":1`), []byte(`"rows":9`), 1)
	if err := os.WriteFile(path, edited, 0o640); err != nil {
		t.Fatal(err)
	}
	out, err = runCLI(t, "--workspace", dir, "audit", "verify", "--json")
	var ec exitCoder
	if !errors.Is(err, audit.ErrTampered) || !errors.As(err, &ec) || ec.ExitCode() != 3 || !strings.Contains(err.Error(), "line 3: entry content changed") {
		t.Fatalf("verify after an edit = %v", err)
	}
	var got struct {
		OK    bool   `json:"ok"`
		Error string `json:"error"`
	}
	if jerr := json.Unmarshal([]byte(out), &got); jerr != nil || got.OK || !strings.Contains(got.Error, "line 3") {
		t.Fatalf("verify --json = %s (%v)", out, jerr)
	}
	// show still lists, then reports the broken chain.
	out, err = runCLI(t, "--workspace", dir, "audit", "show")
	if !errors.Is(err, audit.ErrTampered) || !strings.Contains(out, "4 entries") || !strings.Contains(err.Error(), "not trustworthy") {
		t.Fatalf("show after an edit = %q, %v", out, err)
	}
}

func TestAuditShow_Filters(t *testing.T) {
	dir, _ := auditWorkspace(t)
	today := time.Now().Format(time.DateOnly)
	tomorrow := time.Now().AddDate(0, 0, 1).Format(time.DateOnly)
	tests := []struct {
		args []string
		want []int64 // sequence numbers
	}{
		{nil, []int64{1, 2, 3, 4}},
		{[]string{"--purpose", "t2dm-phm"}, []int64{2, 3}},
		{[]string{"--user", "alice"}, []int64{3, 4}},
		{[]string{"--user", "alice", "--purpose", "smi-research"}, []int64{4}},
		{[]string{"--since", today, "--until", today}, []int64{1, 2, 3, 4}},
		{[]string{"--since", tomorrow}, nil},
		{[]string{"--until", "2000-01-01"}, nil},
		{[]string{"--purpose", "none"}, nil},
	}
	for _, tt := range tests {
		args := append([]string{"--workspace", dir, "audit", "show", "--json"}, tt.args...)
		out, err := runCLI(t, args...)
		if err != nil {
			t.Fatalf("%v: %v", tt.args, err)
		}
		var entries []audit.Entry
		if err := json.Unmarshal([]byte(out), &entries); err != nil {
			t.Fatalf("%v: %v\n%s", tt.args, err, out)
		}
		var seqs []int64
		for _, e := range entries {
			seqs = append(seqs, e.Seq)
		}
		if !slices.Equal(seqs, tt.want) {
			t.Errorf("%v: entries %v, want %v", tt.args, seqs, tt.want)
		}
	}
	out, err := runCLI(t, "--workspace", dir, "audit", "show", "--user", "alice")
	if err != nil || !strings.Contains(out, `purpose=t2dm-phm query="SELECT count(*) FROM person" rows=1`) || !strings.Contains(out, "2 entries") {
		t.Fatalf("show table = %q, %v", out, err)
	}
	if _, err := runCLI(t, "--workspace", dir, "audit", "show", "--since", "yesterday"); err == nil || !strings.Contains(err.Error(), `--since: "yesterday" is neither`) {
		t.Fatalf("bad --since = %v", err)
	}
}
