package audit

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func newLog(t *testing.T, n int) *Log {
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
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newLog(t, 4)
			data, err := os.ReadFile(l.path)
			if err != nil {
				t.Fatal(err)
			}
			lines := bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n"))
			out := bytes.Join(tt.tamper(lines), []byte("\n"))
			if err := os.WriteFile(l.path, append(out, '\n'), 0o640); err != nil {
				t.Fatal(err)
			}
			_, err = l.Verify()
			if !errors.Is(err, ErrTampered) || !strings.Contains(err.Error(), tt.line) {
				t.Fatalf("Verify = %v, want ErrTampered at %s", err, tt.line)
			}
		})
	}
}

func TestVerify_MissingLogIsEmpty(t *testing.T) {
	l, _ := Open(filepath.Join(t.TempDir(), "none.log"))
	if n, err := l.Verify(); n != 0 || err != nil {
		t.Fatalf("Verify = %d, %v", n, err)
	}
}
