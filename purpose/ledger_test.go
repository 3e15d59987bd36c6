package purpose

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pophealth/pophealth/audit"
	"github.com/pophealth/pophealth/web"
	"github.com/pophealth/pophealth/workspace"
)

// day is a date inside the example configs' validity.
var day = time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)

// newWorkspace returns a fresh workspace holding the diabetes example as
// purposes/diabetes-phm.yaml.
func newWorkspace(t testing.TB) (*workspace.Workspace, string) {
	t.Helper()
	ws, err := workspace.Init(filepath.Join(t.TempDir(), "ws"))
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(ws.PurposesDir(), "diabetes-phm.yaml")
	if err := os.WriteFile(file, []byte(readExample(t, "diabetes-phm.yaml")), 0o640); err != nil {
		t.Fatal(err)
	}
	return ws, file
}

func mustLedger(t testing.TB, ws *workspace.Workspace) *Ledger {
	t.Helper()
	l, err := OpenLedger(ws)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func approve(t testing.TB, ws *workspace.Workspace, file string) *Approval {
	t.Helper()
	a, err := mustLedger(t, ws).Approve(file, "ian", nil, day.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func wantRefused(t *testing.T, err error, status Status, reason string) {
	t.Helper()
	var re *RefusalError
	if !errors.As(err, &re) || !errors.Is(err, ErrRefused) {
		t.Fatalf("err = %v, want a refusal", err)
	}
	if re.Status != status || !strings.Contains(re.Reason, reason) {
		t.Errorf("refusal (%s) %q, want status %q and reason containing %q", re.Status, re.Reason, status, reason)
	}
}

func TestAuthorise_ApprovedPurposeRuns(t *testing.T) {
	ws, file := newWorkspace(t)
	a := approve(t, ws, file)
	got, err := Authorise(ws, "diabetes-phm", "alice", day)
	if err != nil {
		t.Fatal(err)
	}
	if got.Config.ID != "diabetes-phm" || got.Approval.SHA256 != a.SHA256 || got.User != "alice" {
		t.Errorf("Authorise = %+v", got)
	}
}

func TestAuthorise_Refusals(t *testing.T) {
	for _, tc := range []struct {
		name   string
		setup  func(t *testing.T, ws *workspace.Workspace, file string)
		user   string
		now    time.Time
		status Status
		reason string
	}{
		{"draft", func(*testing.T, *workspace.Workspace, string) {}, "alice", day, StatusDraft, "not approved"},
		{"changed since approval", func(t *testing.T, ws *workspace.Workspace, file string) {
			approve(t, ws, file)
			appendTo(t, file, "# a comment is a change too\n")
		}, "alice", day, StatusChanged, "changed since approval"},
		{"file removed", func(t *testing.T, ws *workspace.Workspace, file string) {
			approve(t, ws, file)
			os.Remove(file)
		}, "alice", day, StatusChanged, "cannot be read"},
		{"revoked", func(t *testing.T, ws *workspace.Workspace, file string) {
			approve(t, ws, file)
			if _, err := mustLedger(t, ws).Revoke("diabetes-phm", "ian", "DPIA withdrawn", day); err != nil {
				t.Fatal(err)
			}
		}, "alice", day, StatusRevoked, "revoked by ian on 2026-12-03: DPIA withdrawn"},
		{"expired", func(t *testing.T, ws *workspace.Workspace, file string) { approve(t, ws, file) },
			"alice", time.Date(2027, 12, 1, 0, 0, 0, 0, time.UTC), StatusExpired, "expired: valid until 2027-11-30"},
		{"not yet valid", func(t *testing.T, ws *workspace.Workspace, file string) { approve(t, ws, file) },
			"alice", time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC), StatusNotYetValid, "valid from 2026-12-01"},
		{"user not listed", func(t *testing.T, ws *workspace.Workspace, file string) { approve(t, ws, file) },
			"mallory", day, StatusApproved, `user "mallory" is not among`},
		{"no user", func(t *testing.T, ws *workspace.Workspace, file string) { approve(t, ws, file) },
			"", day, StatusApproved, `user "" is not among`},
		{"unsigned when signatures required", func(t *testing.T, ws *workspace.Workspace, file string) {
			approve(t, ws, file)
			ws.Config.Purposes.RequireSignature = true
		}, "alice", day, StatusApproved, "requires signed approvals"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ws, file := newWorkspace(t)
			tc.setup(t, ws, file)
			_, err := Authorise(ws, "diabetes-phm", tc.user, tc.now)
			wantRefused(t, err, tc.status, tc.reason)
		})
	}
}

func appendTo(t testing.TB, file, text string) {
	t.Helper()
	f, err := os.OpenFile(file, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(text); err != nil {
		t.Fatal(err)
	}
}

func TestAuthorise_ReapprovalAfterChangeRuns(t *testing.T) {
	ws, file := newWorkspace(t)
	approve(t, ws, file)
	appendTo(t, file, "# renewed\n")
	if _, err := Authorise(ws, "diabetes-phm", "alice", day); err == nil {
		t.Fatal("changed file ran")
	}
	approve(t, ws, file)
	if _, err := Authorise(ws, "diabetes-phm", "alice", day); err != nil {
		t.Fatalf("re-approved: %v", err)
	}
}

func TestAuthorise_RoleFromUsersFile(t *testing.T) {
	ws, file := newWorkspace(t)
	cfg := strings.Replace(readExample(t, "diabetes-phm.yaml"), "  users: [alice, bob]", "  users: [alice]\n  roles: [commissioner]", 1)
	if err := os.WriteFile(file, []byte(cfg), 0o640); err != nil {
		t.Fatal(err)
	}
	approve(t, ws, file)
	users := &web.Users{Users: []web.User{{Name: "carol", Roles: []web.Role{web.Commissioner}}, {Name: "oscar", Roles: []web.Role{web.Operator}}}}
	if err := users.Save(ws.UsersPath()); err != nil {
		t.Fatal(err)
	}
	if _, err := Authorise(ws, "diabetes-phm", "carol", day); err != nil {
		t.Errorf("carol (commissioner): %v", err)
	}
	_, err := Authorise(ws, "diabetes-phm", "oscar", day)
	wantRefused(t, err, StatusApproved, `user "oscar"`)
}

func TestAuthorise_SignedApprovals(t *testing.T) {
	ws, file := newWorkspace(t)
	keyDir := t.TempDir()
	priv, pub, err := GenerateSigningKey(keyDir, "ian")
	if err != nil {
		t.Fatal(err)
	}
	if info, _ := os.Stat(priv); info.Mode().Perm() != 0o600 {
		t.Errorf("private key mode %#o", info.Mode().Perm())
	}
	key, err := LoadSigningKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	ws.Config.Purposes.RequireSignature = true
	if _, err := mustLedger(t, ws).Approve(file, "ian", key, day); err != nil {
		t.Fatal(err)
	}
	// Not yet trusted: the public key is not in signing_keys.
	_, err = Authorise(ws, "diabetes-phm", "alice", day)
	wantRefused(t, err, StatusApproved, "not among the trusted IG keys")
	if !errors.Is(err, ErrBadSignature) {
		t.Errorf("err %v does not wrap ErrBadSignature", err)
	}
	b, _ := os.ReadFile(pub)
	if err := os.WriteFile(filepath.Join(ws.SigningKeysDir(), "ian.pub"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Authorise(ws, "diabetes-phm", "alice", day); err != nil {
		t.Fatalf("trusted signature: %v", err)
	}
	// A trusted key that did not make the signature does not verify it.
	_, otherPub, err := GenerateSigningKey(keyDir, "eve")
	if err != nil {
		t.Fatal(err)
	}
	ob, _ := os.ReadFile(otherPub)
	if err := os.WriteFile(filepath.Join(ws.SigningKeysDir(), "ian.pub"), ob, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Authorise(ws, "diabetes-phm", "alice", day)
	wantRefused(t, err, StatusApproved, "not among the trusted IG keys")
}

func TestVerifyApproval_RefusesForgedFields(t *testing.T) {
	ws, file := newWorkspace(t)
	_, pubPath, err := GenerateSigningKey(t.TempDir(), "ian")
	if err != nil {
		t.Fatal(err)
	}
	key, err := LoadSigningKey(strings.TrimSuffix(pubPath, ".pub") + ".key")
	if err != nil {
		t.Fatal(err)
	}
	a, err := mustLedger(t, ws).Approve(file, "ian", key, day)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(pubPath)
	os.WriteFile(filepath.Join(ws.SigningKeysDir(), "ian.pub"), b, 0o644)
	trusted, err := trustedKeys(ws.SigningKeysDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := verifyApproval(a, trusted); err != nil {
		t.Fatalf("genuine: %v", err)
	}
	for name, forge := range map[string]func(*Approval){
		"hash": func(a *Approval) { a.SHA256 = strings.Repeat("0", 64) },
		"by":   func(a *Approval) { a.By = "mallory" },
		"id":   func(a *Approval) { a.ID = "other" },
		"at":   func(a *Approval) { a.At = a.At.Add(time.Second) },
	} {
		f := *a
		forge(&f)
		if err := verifyApproval(&f, trusted); !errors.Is(err, ErrBadSignature) {
			t.Errorf("forged %s: %v", name, err)
		}
	}
}

func TestLedger_TamperedChainApprovesNothing(t *testing.T) {
	ws, file := newWorkspace(t)
	approve(t, ws, file)
	path := filepath.Join(ws.PurposesDir(), "ledger.log")
	b, _ := os.ReadFile(path)
	if err := os.WriteFile(path, []byte(strings.Replace(string(b), `"by":"ian"`, `"by":"ivan"`, 1)), 0o640); err != nil {
		t.Fatal(err)
	}
	_, err := Authorise(ws, "diabetes-phm", "alice", day)
	if !errors.Is(err, audit.ErrTampered) {
		t.Errorf("err = %v, want the chain break", err)
	}
}

func TestLedger_ApprovedCopyMustMatchItsHash(t *testing.T) {
	ws, file := newWorkspace(t)
	a := approve(t, ws, file)
	cp := filepath.Join(ws.PurposesDir(), "approved", a.ID, a.SHA256+".yaml")
	os.Chmod(cp, 0o640)
	appendTo(t, cp, "# edited\n")
	if _, err := Authorise(ws, "diabetes-phm", "alice", day); err == nil || !strings.Contains(err.Error(), "no longer matches its hash") {
		t.Errorf("err = %v", err)
	}
}

func TestLedger_ApproveRefusesInvalidAndRepeated(t *testing.T) {
	ws, file := newWorkspace(t)
	l := mustLedger(t, ws)
	if _, err := l.Approve(file, "", nil, day); err == nil {
		t.Error("approved without a name")
	}
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("id: bad-one\n"), 0o640)
	var ve *ValidationError
	if _, err := l.Approve(bad, "ian", nil, day); !errors.As(err, &ve) {
		t.Errorf("approved an invalid config: %v", err)
	}
	approve(t, ws, file)
	if _, err := l.Approve(file, "ian", nil, day); err == nil || !strings.Contains(err.Error(), "already approved") {
		t.Errorf("second approval of the same bytes: %v", err)
	}
	if _, err := l.Revoke("diabetes-phm", "ian", "", day); err == nil {
		t.Error("revoked without a reason")
	}
	if _, err := l.Revoke("nope", "ian", "x", day); err == nil {
		t.Error("revoked an unknown purpose")
	}
}

func TestLedger_ListDiffAndAudit(t *testing.T) {
	ws, file := newWorkspace(t)
	approve(t, ws, file)
	draft := filepath.Join(ws.PurposesDir(), "smi-research.yaml")
	os.WriteFile(draft, []byte(readExample(t, "smi-research.yaml")), 0o640)
	l := mustLedger(t, ws)
	list, err := l.List(day)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, st := range list {
		got = append(got, st.ID+"="+string(st.Status))
	}
	if strings.Join(got, " ") != "diabetes-phm=approved smi-research=draft" {
		t.Errorf("list = %v", got)
	}
	if d, err := l.Diff("diabetes-phm", ""); err != nil || d != "" {
		t.Errorf("unchanged diff = %q, %v", d, err)
	}
	b, _ := os.ReadFile(file)
	os.WriteFile(file, []byte(strings.Replace(string(b), "rows: aggregates", "rows: pseudonymised", 1)), 0o640)
	d, err := l.Diff("diabetes-phm", "")
	if err != nil || !strings.Contains(d, "-  rows: aggregates\n") || !strings.Contains(d, "+  rows: pseudonymised\n") {
		t.Errorf("diff = %q, %v", d, err)
	}
	if _, err := l.Revoke("diabetes-phm", "ian", "superseded", day); err != nil {
		t.Fatal(err)
	}
	log, _ := audit.Open(ws.AuditLogPath())
	entries, err := log.Entries()
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range entries {
		actions = append(actions, e.Actor+":"+e.Action+":"+e.Detail["purpose"].(string))
	}
	if strings.Join(actions, " ") != "ian:purpose.approve:diabetes-phm ian:purpose.revoke:diabetes-phm" {
		t.Errorf("audit = %v", actions)
	}
}

func TestAuthorise_RefusesIDsThatAreNotIDs(t *testing.T) {
	ws, _ := newWorkspace(t)
	for _, id := range []string{"../diabetes-phm", "diabetes-phm/../x", "", "A"} {
		if _, err := Authorise(ws, id, "alice", day); err == nil || !strings.Contains(err.Error(), "not a purpose id") {
			t.Errorf("Authorise(%q): %v", id, err)
		}
	}
}
