// Package audit is pophealth's append-only, hash-chained audit log.
//
// Each entry is one JSON line holding its sequence number, the previous
// entry's hash and its own hash: SHA-256 over the previous hash and the
// entry's canonical JSON without the hash. Editing, reordering or removing
// an entry breaks the chain from that point, and Verify reports where. A
// line must be exactly the canonical JSON of its entry, so a field added
// to a line is caught too. Beside the log, a head file (the log's name
// plus ".head") records the sequence number and hash of the last entry,
// so removing entries from the end is caught as well; `pophealth audit
// verify` prints the head hash, which an IG lead can keep elsewhere to
// detect a log and head rewritten together.
// Appends take an exclusive file lock, so several processes (the scheduler,
// an analyst's query) can share one log.
//
// Entries must never hold identifiers or keys: callers record counts, file
// names, purposes and query texts, never record contents.
package audit

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"syscall"
	"time"
)

// genesis is the previous-hash of the first entry.
const genesis = "0000000000000000000000000000000000000000000000000000000000000000"

// Entry is one audit record.
type Entry struct {
	Seq    int64          `json:"seq"`
	Time   time.Time      `json:"time"`
	Actor  string         `json:"actor"`
	Action string         `json:"action"` // e.g. ingest, report, purpose.approve
	Detail map[string]any `json:"detail,omitempty"`
	Prev   string         `json:"prev"`
	Hash   string         `json:"hash"`
}

// Log is an audit log file.
type Log struct {
	path string
	now  func() time.Time
}

// Open returns the log at path, creating its directory if needed.
func Open(path string) (*Log, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	return &Log{path: path, now: time.Now}, nil
}

// CurrentActor returns the operating-system user running the process, the
// default actor for CLI actions.
func CurrentActor() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return fmt.Sprintf("uid:%d", os.Getuid())
}

// Append adds an entry and returns it with its sequence number and hash.
func (l *Log) Append(actor, action string, detail map[string]any) (Entry, error) {
	f, err := os.OpenFile(l.path, os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		return Entry{}, fmt.Errorf("audit log: %w", err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		return Entry{}, fmt.Errorf("audit log lock: %w", err)
	}
	defer syscall.Flock(int(f.Fd()), syscall.LOCK_UN)

	last, err := lastEntry(f)
	if err != nil {
		return Entry{}, fmt.Errorf("audit log %s: %w", l.path, err)
	}
	e := Entry{Seq: 1, Time: l.now().UTC(), Actor: actor, Action: action, Detail: detail, Prev: genesis}
	if last != nil {
		e.Seq, e.Prev = last.Seq+1, last.Hash
	}
	if e.Hash, err = hashOf(e); err != nil {
		return Entry{}, err
	}
	line, err := json.Marshal(e)
	if err != nil {
		return Entry{}, fmt.Errorf("audit entry: %w", err)
	}
	if _, err := f.Seek(0, io.SeekEnd); err != nil {
		return Entry{}, err
	}
	if _, err := f.Write(append(line, '\n')); err != nil {
		return Entry{}, fmt.Errorf("audit log write: %w", err)
	}
	if err := f.Sync(); err != nil {
		return Entry{}, fmt.Errorf("audit log sync: %w", err)
	}
	if err := l.writeHead(head{Seq: e.Seq, Hash: e.Hash}); err != nil {
		return Entry{}, err
	}
	return e, nil
}

// head is what the head file records: the last entry's sequence number
// and hash.
type head struct {
	Seq  int64  `json:"seq"`
	Hash string `json:"hash"`
}

func (l *Log) headPath() string { return l.path + ".head" }

// writeHead replaces the head file atomically (temporary file, fsync,
// rename), under the log's lock.
func (l *Log) writeHead(h head) error {
	body, err := json.Marshal(h)
	if err != nil {
		return fmt.Errorf("audit head: %w", err)
	}
	tmp := l.headPath() + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o640)
	if err != nil {
		return fmt.Errorf("audit head: %w", err)
	}
	if _, err := f.Write(append(body, '\n')); err != nil {
		f.Close()
		return fmt.Errorf("audit head write: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("audit head sync: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("audit head: %w", err)
	}
	if err := os.Rename(tmp, l.headPath()); err != nil {
		return fmt.Errorf("audit head: %w", err)
	}
	return nil
}

func (l *Log) readHead() (*head, error) {
	body, err := os.ReadFile(l.headPath())
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("audit head: %w", err)
	}
	var h head
	if err := json.Unmarshal(body, &h); err != nil {
		return nil, fmt.Errorf("%w: head file %s is not a head record: %v", ErrTampered, l.headPath(), err)
	}
	return &h, nil
}

// hashOf computes the chained hash of e (ignoring e.Hash).
func hashOf(e Entry) (string, error) {
	e.Hash = ""
	body, err := json.Marshal(e)
	if err != nil {
		return "", fmt.Errorf("audit entry: %w", err)
	}
	h := sha256.New()
	h.Write([]byte(e.Prev))
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil)), nil
}

func lastEntry(f *os.File) (*Entry, error) {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	var last *Entry
	err := scan(f, func(e Entry, _ int, _ []byte) error { last = &e; return nil })
	return last, err
}

// scan decodes each line (numbers in Detail as json.Number, so they keep
// their exact digits) and hands it to fn with its line number and bytes.
func scan(r io.Reader, fn func(e Entry, line int, raw []byte) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 16<<20)
	line := 0
	for sc.Scan() {
		line++
		var e Entry
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.UseNumber()
		if err := dec.Decode(&e); err != nil {
			return fmt.Errorf("%w at line %d: not an audit entry: %v", ErrTampered, line, err)
		}
		if err := fn(e, line, sc.Bytes()); err != nil {
			return err
		}
	}
	return sc.Err()
}

// ErrTampered is wrapped by Verify's error when the chain is broken.
var ErrTampered = errors.New("audit log chain broken")

// Verify checks the whole chain and the head file and returns the number
// of entries. Its error wraps ErrTampered and names the first line whose
// entry was edited, reordered, inserted or whose predecessor was removed,
// or says that entries were removed from the end.
func (l *Log) Verify() (int64, error) {
	n, _, err := l.verify()
	return n, err
}

// Head returns the number of entries and the hash of the last one after
// verifying the log: the value to keep outside the workspace and compare
// later. An empty log has the all-zero hash.
func (l *Log) Head() (int64, string, error) { return l.verify() }

func (l *Log) verify() (int64, string, error) {
	h, err := l.readHead()
	if err != nil {
		return 0, "", err
	}
	f, err := os.Open(l.path)
	if errors.Is(err, os.ErrNotExist) {
		if h != nil {
			return 0, "", fmt.Errorf("%w: audit log %s is missing but its head records %d entries", ErrTampered, l.path, h.Seq)
		}
		return 0, genesis, nil
	}
	if err != nil {
		return 0, "", fmt.Errorf("audit log: %w", err)
	}
	defer f.Close()
	prev, seq := genesis, int64(0)
	err = scan(f, func(e Entry, line int, raw []byte) error {
		seq++
		if e.Seq != seq {
			return fmt.Errorf("%w at line %d: sequence %d, want %d (entry removed or reordered)", ErrTampered, line, e.Seq, seq)
		}
		if e.Prev != prev {
			return fmt.Errorf("%w at line %d: previous hash does not match line %d", ErrTampered, line, line-1)
		}
		want, err := hashOf(e)
		if err != nil {
			return err
		}
		if e.Hash != want {
			return fmt.Errorf("%w at line %d: entry content changed", ErrTampered, line)
		}
		if canonical, err := json.Marshal(e); err != nil || !bytes.Equal(canonical, raw) {
			return fmt.Errorf("%w at line %d: the line is not exactly its entry (a field added or the text rewritten)", ErrTampered, line)
		}
		prev = e.Hash
		return nil
	})
	if err != nil {
		return 0, "", fmt.Errorf("audit log %s: %w", l.path, err)
	}
	switch {
	case h == nil && seq > 0:
		return 0, "", fmt.Errorf("%w: audit log %s has %d entries but no head file %s (deleted, or written by a pophealth without heads)", ErrTampered, l.path, seq, l.headPath())
	case h != nil && h.Seq > seq:
		return 0, "", fmt.Errorf("%w: audit log %s ends at entry %d but its head records %d: %d entries removed from the end", ErrTampered, l.path, seq, h.Seq, h.Seq-seq)
	case h != nil && (h.Seq != seq || h.Hash != prev):
		return 0, "", fmt.Errorf("%w: audit log %s ends at entry %d, which does not match its head (entry %d): the log or the head was rewritten", ErrTampered, l.path, seq, h.Seq)
	}
	return seq, prev, nil
}

// Entries returns every entry in order, for display.
func (l *Log) Entries() ([]Entry, error) {
	f, err := os.Open(l.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	defer f.Close()
	var out []Entry
	err = scan(f, func(e Entry, _ int, _ []byte) error { out = append(out, e); return nil })
	return out, err
}

// Filter selects entries for display. Zero fields match everything.
type Filter struct {
	// Purpose matches entries whose detail names this purpose.
	Purpose string
	// User matches the entry's actor.
	User string
	// Since and Until bound the entry's time: Since <= time < Until.
	Since, Until time.Time
}

// Match reports whether e passes the filter.
func (f Filter) Match(e Entry) bool {
	switch {
	case f.User != "" && e.Actor != f.User:
		return false
	case f.Purpose != "" && fmt.Sprint(e.Detail["purpose"]) != f.Purpose:
		return false
	case !f.Since.IsZero() && e.Time.Before(f.Since):
		return false
	case !f.Until.IsZero() && !e.Time.Before(f.Until):
		return false
	}
	return true
}
