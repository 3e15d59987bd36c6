package purpose

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/aymanbagabas/go-udiff"

	"github.com/pophealth/pophealth/audit"
	"github.com/pophealth/pophealth/models"
	"github.com/pophealth/pophealth/workspace"
)

// Status is a purpose's approval state, as `pophealth purpose list` and
// the IG pages show it.
type Status string

// The statuses. Only StatusApproved may run.
const (
	StatusDraft       Status = "draft"
	StatusApproved    Status = "approved"
	StatusChanged     Status = "changed since approval"
	StatusExpired     Status = "expired"
	StatusNotYetValid Status = "not yet valid"
	StatusRevoked     Status = "revoked"
)

// Ledger actions, in the ledger and in the audit log.
const (
	actionApprove = "purpose.approve"
	actionRevoke  = "purpose.revoke"
)

// Approval is one approval in the ledger.
type Approval struct {
	ID string `json:"purpose"`
	// File is the config's absolute path when approved: the file whose
	// bytes must still hash to SHA256 for the purpose to run.
	File   string    `json:"file"`
	SHA256 string    `json:"sha256"`
	Title  string    `json:"title"`
	By     string    `json:"by"`
	At     time.Time `json:"at"`
	// Signature (base64 Ed25519 over approvalMessage) and PublicKey (base64
	// raw key) are empty for an unsigned approval.
	Signature string `json:"signature,omitempty"`
	PublicKey string `json:"public_key,omitempty"`
}

// Revocation is one revocation in the ledger.
type Revocation struct {
	ID     string    `json:"purpose"`
	SHA256 string    `json:"sha256"`
	By     string    `json:"by"`
	At     time.Time `json:"at"`
	Reason string    `json:"reason"`
}

// Record is what the ledger says about one purpose: its latest approval
// and, if it came after that approval, its revocation.
type Record struct {
	Approval *Approval
	Revoked  *Revocation
}

// Ledger is the workspace's approval ledger: an append-only, hash-chained
// log (the audit package's format) in the purposes directory, with a copy
// of every approved config's bytes beside it for diffs. Every approval and
// revocation is also appended to the workspace's audit log.
type Ledger struct {
	ws  *workspace.Workspace
	log *audit.Log
}

// OpenLedger opens the workspace's ledger.
func OpenLedger(ws *workspace.Workspace) (*Ledger, error) {
	l, err := audit.Open(filepath.Join(ws.PurposesDir(), "ledger.log"))
	if err != nil {
		return nil, fmt.Errorf("purpose ledger: %w", err)
	}
	return &Ledger{ws: ws, log: l}, nil
}

// Records verifies the ledger's chain and returns each purpose's record.
// A broken chain is an error: a tampered ledger approves nothing.
func (l *Ledger) Records() (map[string]*Record, error) {
	if _, err := l.log.Verify(); err != nil {
		return nil, fmt.Errorf("purpose ledger: %w", err)
	}
	entries, err := l.log.Entries()
	if err != nil {
		return nil, fmt.Errorf("purpose ledger: %w", err)
	}
	out := map[string]*Record{}
	for _, e := range entries {
		body, err := json.Marshal(e.Detail)
		if err != nil {
			return nil, fmt.Errorf("purpose ledger entry %d: %w", e.Seq, err)
		}
		switch e.Action {
		case actionApprove:
			var a Approval
			if err := json.Unmarshal(body, &a); err != nil {
				return nil, fmt.Errorf("purpose ledger entry %d: %w", e.Seq, err)
			}
			out[a.ID] = &Record{Approval: &a}
		case actionRevoke:
			var r Revocation
			if err := json.Unmarshal(body, &r); err != nil {
				return nil, fmt.Errorf("purpose ledger entry %d: %w", e.Seq, err)
			}
			if rec := out[r.ID]; rec != nil {
				rec.Revoked = &r
			}
		default:
			return nil, fmt.Errorf("purpose ledger entry %d: unknown action %q", e.Seq, e.Action)
		}
	}
	return out, nil
}

func (l *Ledger) record(id string) (*Record, error) {
	recs, err := l.Records()
	if err != nil {
		return nil, err
	}
	return recs[id], nil
}

// approvedPath is where the approved bytes of a config are kept.
func (l *Ledger) approvedPath(id, sha string) string {
	return filepath.Join(l.ws.PurposesDir(), "approved", id, sha+".yaml")
}

// ApprovedBytes returns the exact bytes that approval a covered.
func (l *Ledger) ApprovedBytes(a *Approval) ([]byte, error) {
	b, err := os.ReadFile(l.approvedPath(a.ID, a.SHA256))
	if err != nil {
		return nil, fmt.Errorf("purpose %s: approved copy: %w", a.ID, err)
	}
	if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != a.SHA256 {
		return nil, fmt.Errorf("purpose %s: the approved copy %s no longer matches its hash", a.ID, l.approvedPath(a.ID, a.SHA256))
	}
	return b, nil
}

// Approve validates the config file, then records that by approved its
// exact bytes at now, signed with key when key is not nil.
func (l *Ledger) Approve(file, by string, key ed25519.PrivateKey, now time.Time) (*Approval, error) {
	if strings.TrimSpace(by) == "" {
		return nil, errors.New("approve: the approver's name is required (--by)")
	}
	abs, err := filepath.Abs(file)
	if err != nil {
		return nil, fmt.Errorf("approve %s: %w", file, err)
	}
	c, data, err := LoadFile(file)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(data)
	a := &Approval{ID: c.ID, File: abs, SHA256: hex.EncodeToString(sum[:]), Title: c.Title, By: by, At: now.UTC()}
	rec, err := l.record(c.ID)
	if err != nil {
		return nil, err
	}
	if rec != nil && rec.Revoked == nil && rec.Approval.SHA256 == a.SHA256 && rec.Approval.File == abs {
		return nil, fmt.Errorf("approve %s: purpose %s is already approved with these exact bytes (by %s on %s)", file, c.ID, rec.Approval.By, rec.Approval.At.Format(time.DateOnly))
	}
	if key != nil {
		a.Signature = base64.StdEncoding.EncodeToString(ed25519.Sign(key, approvalMessage(a.ID, a.SHA256, a.By, a.At)))
		a.PublicKey = base64.StdEncoding.EncodeToString(key.Public().(ed25519.PublicKey))
	}
	copyPath := l.approvedPath(a.ID, a.SHA256)
	if err := os.MkdirAll(filepath.Dir(copyPath), 0o750); err != nil {
		return nil, fmt.Errorf("approve %s: %w", file, err)
	}
	if err := writeNew(copyPath, data, 0o440); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("approve %s: %w", file, err)
	}
	if err := l.append(by, actionApprove, a); err != nil {
		return nil, err
	}
	return a, nil
}

// Revoke records that by revoked purpose id for reason, then deletes the
// purpose's materialised data: nothing may use it any more, and an
// approval again re-materialises it.
func (l *Ledger) Revoke(id, by, reason string, now time.Time) (*Revocation, error) {
	if strings.TrimSpace(by) == "" || strings.TrimSpace(reason) == "" {
		return nil, errors.New("revoke: the revoker's name (--by) and a reason (--reason) are required")
	}
	rec, err := l.record(id)
	if err != nil {
		return nil, err
	}
	switch {
	case rec == nil:
		return nil, fmt.Errorf("revoke %s: no approval of that purpose in the ledger", id)
	case rec.Revoked != nil:
		return nil, fmt.Errorf("revoke %s: already revoked by %s on %s", id, rec.Revoked.By, rec.Revoked.At.Format(time.DateOnly))
	}
	r := &Revocation{ID: id, SHA256: rec.Approval.SHA256, By: by, At: now.UTC(), Reason: reason}
	if err := l.append(by, actionRevoke, r); err != nil {
		return nil, err
	}
	if err := os.RemoveAll(Dir(l.ws.LakeDir(), id)); err != nil {
		return r, fmt.Errorf("revoke %s: revoked, but its data could not be removed: %w", id, err)
	}
	return r, nil
}

// append writes v to the ledger and then to the workspace audit log.
func (l *Ledger) append(actor, action string, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("purpose ledger: %w", err)
	}
	var detail map[string]any
	if err := json.Unmarshal(body, &detail); err != nil {
		return fmt.Errorf("purpose ledger: %w", err)
	}
	if _, err := l.log.Append(actor, action, detail); err != nil {
		return fmt.Errorf("purpose ledger: %w", err)
	}
	return Audit(l.ws, actor, action, detail)
}

// Audit appends one entry to the workspace's audit log.
func Audit(ws *workspace.Workspace, actor, action string, detail map[string]any) error {
	log, err := audit.Open(ws.AuditLogPath())
	if err != nil {
		return err
	}
	_, err = log.Append(actor, action, detail)
	return err
}

// State is a purpose's status with what explains it.
type State struct {
	ID     string
	Title  string
	Status Status
	// Reason says in a sentence why the purpose may or may not run.
	Reason string
	// File is the config file: the approved one, or the draft's.
	File   string
	Record *Record
	// Config is the approved config (the draft's for a draft that parses).
	Config *Config
}

// State returns purpose id's status on now's date.
func (l *Ledger) State(id string, now time.Time) (*State, error) {
	if !ValidID(id) {
		return nil, fmt.Errorf("purpose %q: not a purpose id", id)
	}
	rec, err := l.record(id)
	if err != nil {
		return nil, err
	}
	if rec == nil {
		file := filepath.Join(l.ws.PurposesDir(), id+".yaml")
		if _, err := os.Stat(file); err != nil {
			return nil, fmt.Errorf("purpose %s: not in the ledger and no config %s", id, file)
		}
		return l.draft(file), nil
	}
	return l.state(rec, now)
}

func (l *Ledger) draft(file string) *State {
	st := &State{ID: strings.TrimSuffix(filepath.Base(file), ".yaml"), File: file, Status: StatusDraft, Reason: "not approved"}
	if c, _, err := LoadFile(file); err == nil {
		st.ID, st.Title, st.Config = c.ID, c.Title, c
	} else {
		st.Reason = "not approved; the config does not validate"
	}
	return st
}

func (l *Ledger) state(rec *Record, now time.Time) (*State, error) {
	a := rec.Approval
	st := &State{ID: a.ID, Title: a.Title, File: a.File, Record: rec}
	approved, err := l.ApprovedBytes(a)
	if err != nil {
		return nil, err
	}
	if st.Config, err = Parse(a.File, approved); err != nil {
		return nil, fmt.Errorf("purpose %s: the approved config no longer validates: %w", a.ID, err)
	}
	today := models.DateOf(now)
	current, readErr := os.ReadFile(a.File)
	sum := sha256.Sum256(current)
	switch {
	case rec.Revoked != nil:
		st.Status = StatusRevoked
		st.Reason = fmt.Sprintf("revoked by %s on %s: %s", rec.Revoked.By, rec.Revoked.At.Format(time.DateOnly), rec.Revoked.Reason)
	case today > st.Config.ValidUntil:
		st.Status = StatusExpired
		st.Reason = fmt.Sprintf("expired: valid until %s", st.Config.ValidUntil)
	case today < st.Config.ValidFrom:
		st.Status = StatusNotYetValid
		st.Reason = fmt.Sprintf("not yet valid: valid from %s", st.Config.ValidFrom)
	case readErr != nil:
		st.Status = StatusChanged
		st.Reason = fmt.Sprintf("changed since approval: the approved file %s cannot be read (%v)", a.File, errors.Unwrap(readErr))
	case hex.EncodeToString(sum[:]) != a.SHA256:
		st.Status = StatusChanged
		st.Reason = fmt.Sprintf("changed since approval: %s now has SHA-256 %.12s…, approved %.12s… by %s on %s (see pophealth purpose diff %s)",
			a.File, hex.EncodeToString(sum[:]), a.SHA256, a.By, a.At.Format(time.DateOnly), a.ID)
	default:
		st.Status = StatusApproved
		st.Reason = fmt.Sprintf("approved by %s on %s, valid until %s", a.By, a.At.Format(time.DateOnly), st.Config.ValidUntil)
	}
	return st, nil
}

// List returns every purpose the ledger knows and every draft config in
// the purposes directory, sorted by id.
func (l *Ledger) List(now time.Time) ([]*State, error) {
	recs, err := l.Records()
	if err != nil {
		return nil, err
	}
	var out []*State
	seen := map[string]bool{}
	for _, rec := range recs {
		st, err := l.state(rec, now)
		if err != nil {
			return nil, err
		}
		out = append(out, st)
		seen[st.ID] = true
		seen[st.File] = true
	}
	files, err := filepath.Glob(filepath.Join(l.ws.PurposesDir(), "*.yaml"))
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		abs, _ := filepath.Abs(f)
		if seen[abs] {
			continue
		}
		st := l.draft(f)
		if seen[st.ID] {
			continue // a new version of an approved purpose, shown by its record
		}
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// Diff returns the unified diff from purpose id's approved config to its
// current file ("" when unchanged). With file set, it compares that file
// instead (a new version not yet approved).
func (l *Ledger) Diff(id, file string) (string, error) {
	rec, err := l.record(id)
	if err != nil {
		return "", err
	}
	if rec == nil {
		return "", fmt.Errorf("diff %s: no approved version to compare with", id)
	}
	approved, err := l.ApprovedBytes(rec.Approval)
	if err != nil {
		return "", err
	}
	if file == "" {
		file = rec.Approval.File
	}
	current, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("diff %s: %w", id, err)
	}
	if bytes.Equal(approved, current) {
		return "", nil
	}
	label := fmt.Sprintf("approved (%s, %.12s)", rec.Approval.At.Format(time.DateOnly), rec.Approval.SHA256)
	return udiff.Unified(label, file, string(approved), string(current)), nil
}
