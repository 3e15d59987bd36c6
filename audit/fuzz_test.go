package audit

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzVerify verifies arbitrary log bytes. It must never panic, and it may
// accept a log only if appending to it continues a chain that verifies
// again: anything else must be reported as tampering or a read error.
func FuzzVerify(f *testing.F) {
	l := newLog(f, 3)
	good, err := os.ReadFile(l.path)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte("{}\n"))
	f.Add([]byte(`{"seq":1,"time":"2026-01-01T00:00:01Z","actor":"a","action":"x","prev":"0","hash":"0"}` + "\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		log, err := Open(filepath.Join(dir, "audit.log"))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(log.path, data, 0o640); err != nil {
			t.Fatal(err)
		}
		n, err := log.Verify()
		if err != nil {
			return
		}
		// Accepted without a head file: only an empty log may be.
		if n != 0 {
			t.Fatalf("verified %d entries without a head file", n)
		}
		if _, err := log.Append("fuzz", "check", nil); err != nil {
			if errors.Is(err, ErrTampered) {
				return
			}
			t.Fatal(err)
		}
		if _, err := log.Verify(); err != nil {
			t.Fatalf("a log accepted as empty does not verify after an append: %v", err)
		}
	})
}
