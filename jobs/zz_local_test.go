package jobs

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/pophealth/pophealth/lake"
	"github.com/pophealth/pophealth/pseudonymise"
)

func TestLocalIngest(t *testing.T) {
	dir := os.Getenv("LOCAL_FEED")
	if dir == "" {
		t.Skip()
	}
	key, _ := pseudonymise.NewKey()
	lk, err := lake.Open(filepath.Join(t.TempDir(), "lake"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := Ingest(context.Background(), lk, IngestOptions{Paths: []string{dir}, Key: key})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("read %d in %.2fs", res.Totals.Read, res.Seconds)
}
