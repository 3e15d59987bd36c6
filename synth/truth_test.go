package synth

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadTruth_ReadsWhatGenerateWrote(t *testing.T) {
	opts := DefaultOptions()
	opts.People, opts.OutDir = 50, t.TempDir()
	sum, err := Generate(context.Background(), opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := ReadTruth(opts.OutDir)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(rows)) != sum.TruthRecords {
		t.Fatalf("read %d truth rows, summary counts %d", len(rows), sum.TruthRecords)
	}
	for _, r := range rows {
		if r.Feed == "" || r.LocalID == "" || !strings.HasPrefix(r.PersonID, "P") {
			t.Fatalf("row %+v", r)
		}
	}
	if err := os.WriteFile(filepath.Join(opts.OutDir, TruthFile), []byte("a,b\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadTruth(opts.OutDir); err == nil {
		t.Error("a truth file of the wrong shape was read without error")
	}
}
