package jobs

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pophealth/pophealth/ingest/feed"
	"github.com/pophealth/pophealth/lake"
	"github.com/pophealth/pophealth/models"
	"github.com/pophealth/pophealth/pseudonymise"
)

// samplesDir holds the feed samples shared between helpers (its README
// describes each file). The tests that read it skip when it is absent.
const samplesDir = "../../shared/data/feed-samples"

func sharedSamples(t *testing.T, sub string) string {
	t.Helper()
	dir := filepath.Join(samplesDir, sub)
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("shared samples not present: %v", err)
	}
	return dir
}

func newLake(t *testing.T) (*lake.Lake, pseudonymise.Key) {
	t.Helper()
	lk, err := lake.Open(filepath.Join(t.TempDir(), "lake"))
	if err != nil {
		t.Fatal(err)
	}
	key, err := pseudonymise.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	return lk, key
}

// ingestShared ingests a folder of the shared samples into a new lake,
// checks that every new file balances and that quarantine holds one entry
// per record the files count as quarantined, and returns the sums.
func ingestShared(t *testing.T, sub string) (*lake.Lake, IngestResult, feed.Stats, []QuarantineEntry) {
	t.Helper()
	dir := sharedSamples(t, sub)
	lk, key := newLake(t)
	res, err := Ingest(context.Background(), lk, IngestOptions{Paths: []string{dir}, Key: key})
	if err != nil {
		t.Fatal(err)
	}
	var sum feed.Stats
	for _, f := range res.Files {
		if f.Status != "ingested" {
			continue
		}
		if err := f.Balanced(); err != nil {
			t.Errorf("%s: %v", f.Path, err)
		}
		sum.Read, sum.Accepted, sum.Quarantined = sum.Read+f.Read, sum.Accepted+f.Accepted, sum.Quarantined+f.Quarantined
		for kind, n := range f.Skipped {
			if sum.Skipped == nil {
				sum.Skipped = map[string]int64{}
			}
			sum.Skipped[kind] += n
		}
	}
	entries, err := ListQuarantine(lk, QuarantineFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(entries)) != sum.Quarantined {
		t.Errorf("quarantine holds %d entries, files count %d quarantined", len(entries), sum.Quarantined)
	}
	return lk, res, sum, entries
}

func TestIngest_SharedHL7SamplesAreAccountedFor(t *testing.T) {
	lk, res, sum, entries := ingestShared(t, "hl7v2")
	if sum.Quarantined == 0 {
		t.Errorf("nothing quarantined; the samples hold malformed messages")
	}
	for _, e := range entries {
		if len(e.Raw) == 0 || e.Reason == "" || e.File == "" || e.Line < 1 {
			t.Errorf("entry %s lacks raw bytes, reason or position: %+v", e.ID, e)
		}
		// The raw bytes are the file's own, at the recorded offset.
		data, err := os.ReadFile(e.File)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(data[e.Offset:], e.Raw) {
			t.Errorf("entry %s: raw bytes are not the file's bytes at offset %d", e.ID, e.Offset)
		}
	}
	// Every A40 in the samples (four files, five PID/MRG groups) lands as a
	// merge in the restricted zone, none in the pseudonymised lake.
	merges := readAll[models.MergeRow](t, lk, mergeDir)
	if len(merges) != 5 {
		t.Errorf("%d merges recorded, want 5: %+v", len(merges), merges)
	}
	for _, m := range merges {
		if m.LocalID == "" || (m.RetiredLocalID == "" && m.RetiredNHSNumber == "") || m.Event != "A40" {
			t.Errorf("incomplete merge row %+v", m)
		}
	}
	// Messages accepted but not mapped (A17, A29, ORU, ...) are kept whole.
	var unmapped int64
	for _, f := range res.Files {
		for kind, n := range f.Skipped {
			if strings.HasPrefix(kind, "event:") || strings.HasPrefix(kind, "message:") {
				unmapped += n
			}
		}
	}
	unread := readAll[models.UnreadRow](t, lk, unreadDir)
	if int64(len(unread)) != unmapped || unmapped == 0 {
		t.Errorf("%d unread messages kept, %d counted as skipped", len(unread), unmapped)
	}
	for _, u := range unread {
		if data, err := os.ReadFile(u.File); err != nil || !bytes.HasPrefix(data[u.Offset:], u.Raw) {
			t.Errorf("unread %s at %d: raw bytes are not the file's (%v)", u.File, u.Offset, err)
		}
	}
	t.Logf("shared HL7 samples: %d files, read %d = accepted %d + quarantined %d; %d merges, %d unmapped messages kept",
		res.Totals.Files, sum.Read, sum.Accepted, sum.Quarantined, len(merges), len(unread))
}

func TestQuarantineReplay(t *testing.T) {
	dir := sharedSamples(t, "hl7v2/python-hl7")
	lk, key := newLake(t)
	ctx := context.Background()
	if _, err := Ingest(ctx, lk, IngestOptions{Paths: []string{dir}, Key: key}); err != nil {
		t.Fatal(err)
	}
	es, err := ListQuarantine(lk, QuarantineFilter{Reason: "birth date"})
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 1 {
		t.Fatalf("want the one message with birth date 10131113 quarantined, got %+v", es)
	}
	bad := es[0]
	if got, err := GetQuarantine(lk, bad.ID); err != nil || got.ID != bad.ID || !bytes.Equal(got.Raw, bad.Raw) {
		t.Fatalf("GetQuarantine(%s) = %+v, %v", bad.ID, got, err)
	}
	persons := len(readAll[models.PersonRow](t, lk, "pseudo/person"))

	fixed := filepath.Join(t.TempDir(), "fixed.hl7")
	write := func(name string, data []byte) string {
		t.Helper()
		p := filepath.Join(filepath.Dir(fixed), name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("fixed.hl7", bytes.Replace(bad.Raw, []byte("|10131113|"), []byte("|19131113|"), 1))

	refused := []struct {
		name     string
		path     string
		replaces []string
		err      string
	}{
		{"unknown entry", fixed, []string{bad.BatchID + "/99"}, "no such entry"},
		{"malformed id", fixed, []string{"nonsense"}, "want BATCH/ROW"},
		{"entry named twice", fixed, []string{bad.ID, bad.ID}, "named twice"},
		{"more records than entries", write("two.hl7", append(append([]byte{}, bad.Raw...), bad.Raw...)), []string{bad.ID}, "holds 2 source records for 1"},
		{"file already ingested", filepath.Join(dir, "batch_fhs_bhs_adt_a04.hl7"), []string{bad.ID}, "already ingested"},
	}
	for _, tt := range refused {
		t.Run("refuses "+tt.name, func(t *testing.T) {
			_, err := Ingest(ctx, lk, IngestOptions{Paths: []string{tt.path}, Key: key, Replaces: tt.replaces})
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("err = %v, want %q", err, tt.err)
			}
			if es, _ := ListQuarantine(lk, QuarantineFilter{Outstanding: true}); len(es) != 1 {
				t.Errorf("a refused replay changed the quarantine: %+v", es)
			}
		})
	}

	res, err := Ingest(ctx, lk, IngestOptions{Paths: []string{fixed}, Key: key, Replaces: []string{bad.ID}})
	if err != nil {
		t.Fatal(err)
	}
	if f := res.Files[0]; f.Read != 1 || f.Accepted != 1 || f.Quarantined != 0 {
		t.Errorf("replayed file counts %+v, want 1 read and accepted", f.Stats)
	}
	got, err := GetQuarantine(lk, bad.ID)
	if err != nil || got.ReplayedBy != res.BatchID {
		t.Errorf("entry after replay: %+v, %v; want replayed by %s", got, err, res.BatchID)
	}
	if es, _ := ListQuarantine(lk, QuarantineFilter{Outstanding: true}); len(es) != 0 {
		t.Errorf("outstanding after replay: %+v", es)
	}
	if n := len(readAll[models.PersonRow](t, lk, "pseudo/person")); n != persons+1 {
		t.Errorf("person rows %d after replay, want %d (one added)", n, persons+1)
	}

	// The same entry cannot be replayed twice, even from another file.
	again := write("again.hl7", bytes.Replace(bad.Raw, []byte("|10131113|"), []byte("|19131114|"), 1))
	if _, err := Ingest(ctx, lk, IngestOptions{Paths: []string{again}, Key: key, Replaces: []string{bad.ID}}); err == nil || !strings.Contains(err.Error(), "already replayed") {
		t.Errorf("second replay: err = %v, want already replayed", err)
	}
	if n := len(readAll[models.PersonRow](t, lk, "pseudo/person")); n != persons+1 {
		t.Errorf("person rows %d after refused replay, want %d", n, persons+1)
	}
}

func TestIngest_SharedFHIRSamplesAreAccountedFor(t *testing.T) {
	_, res, sum, _ := ingestShared(t, "fhir")
	var skipped int64
	for _, n := range sum.Skipped {
		skipped += n
	}
	// Synthea's 664 Procedures all land in the procedure table, each
	// resolved to its Patient in another file of the export.
	if got := res.Rows[string(models.TableProcedure)]; got != 664 {
		t.Errorf("procedure rows %d, want 664", got)
	}
	t.Logf("shared FHIR samples: %d files, read %d = accepted %d + quarantined %d (%d accepted but skipped by kind); rows %v",
		res.Totals.Files, sum.Read, sum.Accepted, sum.Quarantined, skipped, res.Rows)
}
