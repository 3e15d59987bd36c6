package sandbox

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// FuzzQuery sends arbitrary text to a session. Whatever the text, the
// session must not panic, no file may appear or change in the workspace,
// and neither the result nor the error may hold the secret kept beside the
// purpose folder. Seeds: the escape attempts, ordinary queries and
// testdata/fuzz/FuzzQuery.
func FuzzQuery(f *testing.F) {
	for _, a := range escapeAttempts {
		f.Add(a.query)
	}
	f.Add("SELECT sex, count(*) FROM person GROUP BY sex")
	f.Add("WITH x AS (SELECT * FROM encounter) SELECT max(los) FROM x")
	fx := newFixture(f)
	s, err := Open(context.Background(), Config{Dir: fx.purpose, MaxRows: 100, Timeout: 2 * time.Second})
	if err != nil {
		f.Fatal(err)
	}
	defer s.Close()
	before := snapshot(f, fx.root)
	f.Fuzz(func(t *testing.T, q string) {
		res, err := s.Query(context.Background(), expand(q, fx))
		var refused *RefusedError
		if err != nil && errors.As(err, &refused) && refused.Reason == "" {
			t.Fatalf("refusal without a reason for %q", q)
		}
		if err != nil && strings.Contains(err.Error(), secretText) {
			t.Fatalf("error reveals the secret: %v", err)
		}
		if res != nil && strings.Contains(fmt.Sprint(res.Rows), secretText) {
			t.Fatalf("%q read the secret", q)
		}
		if res != nil && len(res.Rows) > 100 {
			t.Fatalf("%q returned %d rows, over MaxRows", q, len(res.Rows))
		}
		if after := snapshot(t, fx.root); !slices.Equal(after, before) {
			t.Fatalf("%q changed files: %v", q, after)
		}
	})
}

// snapshot lists every path under dir with its size and time, to detect
// any file a query created or changed.
func snapshot(t testing.TB, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		out = append(out, fmt.Sprintf("%s %d %s", path, info.Size(), info.ModTime()))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
