// Package audit is pophealth's append-only, hash-chained audit log.
//
// Each entry is one JSON line holding its sequence number, the previous
// entry's hash and its own hash: SHA-256 over the previous hash and the
// entry's canonical JSON without the hash. Editing, reordering or removing
// an entry breaks the chain from that point, and Verify reports where.
// Appends take an exclusive file lock, so several processes (the scheduler,
// an analyst's query) can share one log.
//
// Entries must never hold identifiers or keys: callers record counts, file
// names, purposes and query texts, never record contents.
package audit

import (
	"bufio"
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
	return e, nil
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
	err := scan(f, func(e Entry, _ int) error { last = &e; return nil })
	return last, err
}

func scan(r io.Reader, fn func(Entry, int) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 16<<20)
	line := 0
	for sc.Scan() {
		line++
		var e Entry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			return fmt.Errorf("line %d: %w", line, err)
		}
		if err := fn(e, line); err != nil {
			return err
		}
	}
	return sc.Err()
}

// ErrTampered is wrapped by Verify's error when the chain is broken.
var ErrTampered = errors.New("audit log chain broken")

// Verify checks the whole chain and returns the number of entries. Its
// error names the first line whose entry was edited, reordered or whose
// predecessor was removed.
func (l *Log) Verify() (int64, error) {
	f, err := os.Open(l.path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("audit log: %w", err)
	}
	defer f.Close()
	prev, seq := genesis, int64(0)
	err = scan(f, func(e Entry, line int) error {
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
		prev = e.Hash
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("audit log %s: %w", l.path, err)
	}
	return seq, nil
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
	err = scan(f, func(e Entry, _ int) error { out = append(out, e); return nil })
	return out, err
}
