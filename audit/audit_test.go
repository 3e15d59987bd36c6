package audit

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func newLog(t testing.TB, n int) *Log {
	t.Helper()
	l, err := Open(filepath.Join(t.TempDir(), "audit", "audit.log"))
	if err != nil {
		t.Fatal(err)
	}
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l.now = func() time.Time { clock = clock.Add(time.Second); return clock }
	for i := 0; i < n; i++ {
		if _, err := l.Append("alice", "ingest", map[string]any{"files": i}); err != nil {
			t.Fatal(err)
		}
	}
	return l
}

func TestVerify_IntactChain(t *testing.T) {
	l := newLog(t, 5)
	n, err := l.Verify()
	if err != nil || n != 5 {
		t.Fatalf("Verify = %d, %v; want 5, nil", n, err)
	}
	entries, err := l.Entries()
	if err != nil || len(entries) != 5 || entries[4].Seq != 5 || entries[4].Prev != entries[3].Hash {
		t.Fatalf("Entries = %+v, %v", entries, err)
	}
}

// rechain edits entry i and recomputes every hash from there, as an
// attacker who knows the format would: only the head file can tell.
func rechain(t *testing.T, lines [][]byte, i int) [][]byte {
	t.Helper()
	var entries []Entry
	for _, l := range lines {
		var e Entry
		if err := json.Unmarshal(l, &e); err != nil {
			t.Fatal(err)
		}
		entries = append(entries, e)
	}
	entries[i].Actor = "mallory"
	out := make([][]byte, len(entries))
	for k := range entries {
		if k > 0 {
			entries[k].Prev = entries[k-1].Hash
		}
		h, err := hashOf(entries[k])
		if err != nil {
			t.Fatal(err)
		}
		entries[k].Hash = h
		if out[k], err = json.Marshal(entries[k]); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func TestVerify_DetectsTampering(t *testing.T) {
	tests := []struct {
		name   string
		tamper func(lines [][]byte) [][]byte
		line   string
	}{
		{"edited detail", func(l [][]byte) [][]byte {
			l[2] = bytes.Replace(l[2], []byte(`"files":2`), []byte(`"files":9`), 1)
			return l
		}, "line 3"},
		{"edited actor", func(l [][]byte) [][]byte {
			l[0] = bytes.Replace(l[0], []byte(`"alice"`), []byte(`"mallory"`), 1)
			return l
		}, "line 1"},
		{"removed entry", func(l [][]byte) [][]byte { return append(l[:1], l[2:]...) }, "line 2"},
		{"reordered", func(l [][]byte) [][]byte { l[1], l[2] = l[2], l[1]; return l }, "line 2"},
		{"removed first", func(l [][]byte) [][]byte { return l[1:] }, "line 1"},
		{"removed last", func(l [][]byte) [][]byte { return l[:3] }, "1 entries removed from the end"},
		{"removed last two", func(l [][]byte) [][]byte { return l[:2] }, "2 entries removed from the end"},
		{"removed all lines", func(l [][]byte) [][]byte { return nil }, "4 entries removed from the end"},
		{"duplicated entry", func(l [][]byte) [][]byte { return append(l[:2], l[1:]...) }, "line 3: sequence 2, want 3"},
		{"edited time", func(l [][]byte) [][]byte {
			l[1] = bytes.Replace(l[1], []byte("2026-01-01T00:00:02Z"), []byte("2025-01-01T00:00:02Z"), 1)
			return l
		}, "line 2: entry content changed"},
		{"edited action", func(l [][]byte) [][]byte {
			l[3] = bytes.Replace(l[3], []byte(`"ingest"`), []byte(`"ingest.dry-run"`), 1)
			return l
		}, "line 4: entry content changed"},
		{"field added to a line", func(l [][]byte) [][]byte {
			l[1] = bytes.Replace(l[1], []byte(`{"seq"`), []byte(`{"note":"approved by IG","seq"`), 1)
			return l
		}, "line 2: the line is not exactly its entry"},
		{"garbage line", func(l [][]byte) [][]byte { return append(l[:2], append([][]byte{[]byte("rm -rf")}, l[2:]...)...) }, "line 3: not an audit entry"},
		{"blank line", func(l [][]byte) [][]byte { return append(l[:1], append([][]byte{{}}, l[1:]...)...) }, "line 2: not an audit entry"},
		{"chain rewritten consistently after an edit", func(l [][]byte) [][]byte { return rechain(t, l, 1) }, "does not match its head"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newLog(t, 4)
			data, err := os.ReadFile(l.path)
			if err != nil {
				t.Fatal(err)
			}
			lines := bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n"))
			tampered := tt.tamper(lines)
			out := bytes.Join(tampered, []byte("\n"))
			if len(tampered) > 0 {
				out = append(out, '\n')
			}
			if err := os.WriteFile(l.path, out, 0o640); err != nil {
				t.Fatal(err)
			}
			_, err = l.Verify()
			if !errors.Is(err, ErrTampered) || !strings.Contains(err.Error(), tt.line) {
				t.Fatalf("Verify = %v, want ErrTampered at %s", err, tt.line)
			}
		})
	}
}

func TestVerify_DetectsMissingFiles(t *testing.T) {
	tests := []struct {
		name   string
		remove func(l *Log) string
		want   string
	}{
		{"head deleted", func(l *Log) string { return l.headPath() }, "has 3 entries but no head file"},
		{"log deleted, head kept", func(l *Log) string { return l.path }, "is missing but its head records 3 entries"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newLog(t, 3)
			if err := os.Remove(tt.remove(l)); err != nil {
				t.Fatal(err)
			}
			if _, err := l.Verify(); !errors.Is(err, ErrTampered) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Verify = %v, want ErrTampered saying %q", err, tt.want)
			}
		})
	}
}

func TestVerify_KeepsLargeNumbersExact(t *testing.T) {
	l := newLog(t, 0)
	if _, err := l.Append("alice", "sql", map[string]any{"duration_ns": int64(9007199254740993), "rows": 3.5}); err != nil {
		t.Fatal(err)
	}
	n, hash, err := l.Head()
	if err != nil || n != 1 || len(hash) != 64 {
		t.Fatalf("Head = %d, %q, %v", n, hash, err)
	}
}

func TestFilter_Match(t *testing.T) {
	day := func(d int) time.Time { return time.Date(2026, 1, d, 0, 0, 0, 0, time.UTC) }
	e := Entry{Time: day(2).Add(time.Hour), Actor: "alice", Action: "sql", Detail: map[string]any{"purpose": "t2dm"}}
	tests := []struct {
		f    Filter
		want bool
	}{
		{Filter{}, true},
		{Filter{User: "alice"}, true},
		{Filter{User: "bob"}, false},
		{Filter{Purpose: "t2dm"}, true},
		{Filter{Purpose: "smi"}, false},
		{Filter{Since: day(2)}, true},
		{Filter{Since: day(3)}, false},
		{Filter{Until: day(3)}, true},
		{Filter{Until: day(2).Add(time.Hour)}, false},
		{Filter{User: "alice", Purpose: "t2dm", Since: day(1), Until: day(3)}, true},
	}
	for _, tt := range tests {
		if got := tt.f.Match(e); got != tt.want {
			t.Errorf("%+v.Match = %v, want %v", tt.f, got, tt.want)
		}
	}
	if (Filter{Purpose: "t2dm"}).Match(Entry{Actor: "alice"}) {
		t.Error("an entry without a purpose matched a purpose filter")
	}
}

func TestVerify_MissingLogIsEmpty(t *testing.T) {
	l, _ := Open(filepath.Join(t.TempDir(), "none.log"))
	if n, err := l.Verify(); n != 0 || err != nil {
		t.Fatalf("Verify = %d, %v", n, err)
	}
}
