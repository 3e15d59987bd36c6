package lake

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/pophealth/pophealth/models"
)

// The sample batch used across tests writes three pseudonymised files and
// one restricted file, so that Commit has several renames to do.
var (
	march = models.NewDate(2024, time.March, 5)
	april = models.NewDate(2024, time.April, 9)
)

func mustOpen(t testing.TB, root string) *Lake {
	t.Helper()
	l, err := Open(root)
	if err != nil {
		t.Fatalf("Open(%s): %v", root, err)
	}
	return l
}

func mustBegin(t testing.TB, l *Lake, id string) *Batch {
	t.Helper()
	b, err := l.Begin(id)
	if err != nil {
		t.Fatalf("Begin(%s): %v", id, err)
	}
	return b
}

// sampleDirs are the directories appendSample writes, in append order.
func sampleDirs() []string {
	return []string{
		PseudoDir(models.TablePerson, models.FeedGP, nil),
		PseudoDir(models.TableEncounter, models.FeedHL7, &march),
		PseudoDir(models.TableEncounter, models.FeedHL7, &april),
		"mpi/links",
	}
}

// appendSample appends n people, 2n encounters and n index entries.
func appendSample(t testing.TB, b *Batch, n int) {
	t.Helper()
	dirs := sampleDirs()
	for i := range n {
		key := fmt.Sprintf("%s-p%04d", b.ID(), i)
		must(t, Append(b, dirs[0], models.PersonRow{PersonKey: key, Source: "gp", BatchID: b.ID(), YearOfBirth: 1950, MonthOfBirth: 3, Sex: "female", NHSNumberStatus: "verified"}))
		must(t, Append(b, dirs[1], models.EncounterRow{PersonKey: key, EncounterKey: key + "-e1", Source: "hl7v2", BatchID: b.ID(), Class: "inpatient", StartDate: march.Ptr()}))
		must(t, Append(b, dirs[2], models.EncounterRow{PersonKey: key, EncounterKey: key + "-e2", Source: "hl7v2", BatchID: b.ID(), Class: "emergency", StartDate: april.Ptr()}))
		must(t, Append(b, dirs[3], models.LinkRow{Feed: "gp", LocalID: fmt.Sprint(i), PersonID: key, NHSNumber: "9434765919", NHSNumberStatus: "verified", Method: models.LinkNew, BatchID: b.ID()}))
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// sampleManifest returns a balanced manifest for one input file whose
// content is derived from the batch id, so each batch's input is new.
func sampleManifest(id string) Manifest {
	sum := sha256.Sum256([]byte("input of " + id))
	return Manifest{Inputs: []InputFile{{
		Path: "feeds/" + id + ".csv", SHA256: hex.EncodeToString(sum[:]), Feed: "gp", Size: 1234,
		Read: 10, Accepted: 9, Quarantined: 1, Emitted: 12, Skipped: map[string]int64{"comment": 1},
	}}}
}

// commitSample commits a sample batch of n people.
func commitSample(t testing.TB, l *Lake, id string, n int) {
	t.Helper()
	b := mustBegin(t, l, id)
	appendSample(t, b, n)
	must(t, b.Commit(sampleManifest(id)))
}

// diskFiles lists every file under root except the lock, relative and
// slash-separated: what is really there, not what the manifests say.
func diskFiles(t testing.TB, root string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() == lockName {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		out = append(out, filepath.ToSlash(rel))
		return nil
	})
	must(t, err)
	slices.Sort(out)
	return out
}

// expectedFiles is the disk content of a lake holding the given sample batches.
func expectedFiles(ids ...string) []string {
	var out []string
	for _, id := range ids {
		out = append(out, "manifest/"+id+".json")
		for _, d := range sampleDirs() {
			out = append(out, d+"/part-"+id+".parquet")
		}
	}
	slices.Sort(out)
	return out
}

func readRows[T any](t testing.TB, files []string) []T {
	t.Helper()
	var out []T
	for _, f := range files {
		rows, err := parquet.ReadFile[T](f)
		if err != nil {
			t.Fatalf("read %s: %v", f, err)
		}
		out = append(out, rows...)
	}
	return out
}

func TestPseudoDir(t *testing.T) {
	for _, tc := range []struct {
		table models.Table
		feed  models.Feed
		month *models.Date
		want  string
	}{
		{models.TablePerson, models.FeedGP, nil, "pseudo/person/source=gp"},
		{models.TablePerson, models.FeedFHIR, &march, "pseudo/person/source=fhir"},
		{models.TableEncounter, models.FeedHL7, &march, "pseudo/encounter/source=hl7v2/year=2024/month=03"},
		{models.TableDiagnosis, models.FeedGP, models.NewDate(987, time.December, 31).Ptr(), "pseudo/diagnosis/source=gp/year=0987/month=12"},
		{models.TableObservation, models.FeedGP, nil, "pseudo/observation/source=gp/year=__HIVE_DEFAULT_PARTITION__/month=__HIVE_DEFAULT_PARTITION__"},
	} {
		if got := PseudoDir(tc.table, tc.feed, tc.month); got != tc.want {
			t.Errorf("PseudoDir(%s, %s, %v) = %q, want %q", tc.table, tc.feed, tc.month, got, tc.want)
		}
	}
}

func TestCommit_FilesBecomeVisibleOnlyAtCommit(t *testing.T) {
	root := t.TempDir()
	l := mustOpen(t, root)
	b := mustBegin(t, l, "B1")
	appendSample(t, b, 3)
	for _, dir := range []string{"pseudo", "mpi"} {
		if files, err := l.Files(dir); err != nil || len(files) != 0 {
			t.Fatalf("before commit Files(%s) = %v, %v; want none", dir, files, err)
		}
	}
	for _, f := range diskFiles(t, root) {
		if strings.HasSuffix(f, ".parquet") {
			t.Errorf("before commit %s already has its final name", f)
		}
	}
	must(t, b.Commit(sampleManifest("B1")))

	if got, want := diskFiles(t, root), expectedFiles("B1"); !slices.Equal(got, want) {
		t.Errorf("after commit the lake holds\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	persons, err := l.Files("pseudo/person")
	must(t, err)
	if want := []string{filepath.Join(root, "pseudo/person/source=gp/part-B1.parquet")}; !slices.Equal(persons, want) {
		t.Errorf("Files(pseudo/person) = %v, want %v", persons, want)
	}
	rows := readRows[models.PersonRow](t, persons)
	if len(rows) != 3 || rows[0].PersonKey != "B1-p0000" || rows[2].PersonKey != "B1-p0002" || rows[1].YearOfBirth != 1950 {
		t.Errorf("person rows read back = %+v", rows)
	}
	enc, err := l.Files("pseudo/encounter/source=hl7v2/year=2024/month=04")
	must(t, err)
	if len(enc) != 1 || len(readRows[models.EncounterRow](t, enc)) != 3 {
		t.Errorf("Files(April encounters) = %v, want one file of 3 rows", enc)
	}
}

func TestCommit_RecordsFilesCountsAndHashes(t *testing.T) {
	root := t.TempDir()
	l := mustOpen(t, root)
	commitSample(t, l, "B1", 4)
	ms, err := l.Manifests()
	must(t, err)
	if len(ms) != 1 {
		t.Fatalf("Manifests() returned %d, want 1", len(ms))
	}
	m := ms[0]
	if m.BatchID != "B1" || m.Version != manifestVersion || m.CommittedAt.Before(m.StartedAt) || m.StartedAt.IsZero() {
		t.Errorf("manifest header = %+v", m)
	}
	wantCounts := map[string]int64{"pseudo/person": 4, "pseudo/encounter": 8, "mpi/links": 4}
	if fmt.Sprint(m.Counts) != fmt.Sprint(wantCounts) {
		t.Errorf("Counts = %v, want %v", m.Counts, wantCounts)
	}
	var paths []string
	for _, f := range m.Files {
		paths = append(paths, f.Path)
		data, err := os.ReadFile(filepath.Join(root, f.Path))
		must(t, err)
		sum := sha256.Sum256(data)
		if f.SHA256 != hex.EncodeToString(sum[:]) || f.Bytes != int64(len(data)) {
			t.Errorf("%s: manifest says %d bytes %s, file has %d bytes %x", f.Path, f.Bytes, f.SHA256, len(data), sum)
		}
	}
	var wantPaths []string
	for _, d := range sampleDirs() {
		wantPaths = append(wantPaths, d+"/part-B1.parquet")
	}
	if !slices.Equal(paths, wantPaths) {
		t.Errorf("manifest files = %v, want %v (append order)", paths, wantPaths)
	}
	if fmt.Sprint(m.Inputs) != fmt.Sprint(sampleManifest("B1").Inputs) {
		t.Errorf("Inputs = %+v, want %+v", m.Inputs, sampleManifest("B1").Inputs)
	}
	must(t, l.Verify(t.Context()))

	// A fresh Lake reads the same manifest from disk.
	again, err := mustOpen(t, root).Manifests()
	must(t, err)
	if fmt.Sprint(again) != fmt.Sprint(ms) {
		t.Errorf("manifest read from disk = %+v\nwant %+v", again, ms)
	}
}

func TestManifest_HoldsNoIdentifiers(t *testing.T) {
	root := t.TempDir()
	l := mustOpen(t, root)
	b := mustBegin(t, l, "B1")
	appendSample(t, b, 2) // index entries carry NHS number 9434765919
	must(t, Append(b, "quarantine", models.QuarantineRow{
		BatchID: "B1", Feed: "hl7v2", File: "feeds/adt.hl7", Line: 7, Reason: "PID-5: bad name",
		Raw: []byte("PID|||12345^^^MRN||SMITHERSON^JANE||19500304|F|||1 High St^^Leeds^^LS1 4AB"),
	}))
	must(t, b.Commit(sampleManifest("B1")))

	body, err := os.ReadFile(filepath.Join(root, "manifest", "B1.json"))
	must(t, err)
	for _, secret := range []string{"9434765919", "SMITHERSON", "JANE", "19500304", "LS1 4AB", "12345", "PID-5"} {
		if bytes.Contains(body, []byte(secret)) {
			t.Errorf("manifest contains identifying text %q:\n%s", secret, body)
		}
	}
	for _, rel := range []string{"quarantine/part-B1.parquet", "mpi/links/part-B1.parquet"} {
		info, err := os.Stat(filepath.Join(root, rel))
		must(t, err)
		if perm := info.Mode().Perm(); perm != 0o600 {
			t.Errorf("%s has mode %v, want 0600 (restricted zone)", rel, perm)
		}
	}
}

func TestAppend_RoundTripsRowsAcrossBoundedRowGroups(t *testing.T) {
	for _, encoders := range []int{1, 2} {
		t.Run(fmt.Sprintf("encoders=%d", encoders), func(t *testing.T) {
			root := t.TempDir()
			l := mustOpen(t, root)
			l.cfg = writerConfig{handoffRows: 4, maxHeldRows: 15, queueDepth: 1, rowGroupRows: 10, maxOpenRows: 25, maxFileRows: 1 << 20, pageBufferBytes: 256, writeBufferBytes: 256, pageChunkBytes: 4096, dictionaryMaxBytes: 64, encoders: encoders}
			b := mustBegin(t, l, "B1")
			const n = 57
			dirs := sampleDirs()[:3]
			var want [][]models.EncounterRow
			want = make([][]models.EncounterRow, len(dirs))
			for i := range n {
				for d, dir := range dirs {
					v := float64(i)
					row := models.EncounterRow{PersonKey: fmt.Sprintf("p%d-%d", d, i), EncounterKey: fmt.Sprint(v), Source: "hl7v2", BatchID: "B1", Class: "inpatient", Cancelled: i%3 == 0}
					if i%2 == 0 {
						row.StartDate = models.Date(19000 + i).Ptr()
					}
					want[d] = append(want[d], row)
					must(t, Append(b, dir, row))
					if b.held > l.cfg.maxHeldRows {
						t.Fatalf("after %d rows the batch holds %d rows in memory, limit %d", i, b.held, l.cfg.maxHeldRows)
					}
				}
			}
			must(t, b.Commit(sampleManifest("B1")))
			if b.held != 0 {
				t.Errorf("after commit the batch still counts %d rows held", b.held)
			}
			for d, dir := range dirs {
				files, err := l.Files(dir)
				must(t, err)
				if got := readRows[models.EncounterRow](t, files); fmt.Sprint(got) != fmt.Sprint(want[d]) {
					t.Errorf("%s read back\n%v\nwant\n%v", dir, got, want[d])
				}
				f, err := os.Open(files[0])
				must(t, err)
				info, _ := f.Stat()
				pf, err := parquet.OpenFile(f, info.Size())
				must(t, err)
				groups := pf.RowGroups()
				if len(groups) < n/10 {
					t.Errorf("%s has %d row groups, want at least %d", dir, len(groups), n/10)
				}
				for i, g := range groups {
					if g.NumRows() > 10 {
						t.Errorf("%s row group %d has %d rows, limit 10", dir, i, g.NumRows())
					}
				}
				if v, _ := pf.Lookup("pophealth.batch_id"); v != "B1" {
					t.Errorf("%s metadata pophealth.batch_id = %q, want B1", dir, v)
				}
				f.Close()
			}
		})
	}
}

func TestAppend_RejectsBadDirectoriesAndMixedTypes(t *testing.T) {
	l := mustOpen(t, t.TempDir())
	b := mustBegin(t, l, "B1")
	defer b.Abort()
	row := models.PersonRow{PersonKey: "k"}
	for _, dir := range []string{"", "/etc", "../outside", "pseudo/../mpi/x", "pseudo//person", "manifest", "raw/person", "pseudo/person/"} {
		if err := Append(b, dir, row); err == nil {
			t.Errorf("Append(%q) succeeded, want an error", dir)
		}
	}
	must(t, Append(b, "pseudo/person/source=gp", row))
	err := Append(b, "pseudo/person/source=gp", models.EncounterRow{PersonKey: "k"})
	if err == nil || !strings.Contains(err.Error(), "models.PersonRow") {
		t.Errorf("Append of another row type to the same directory: err = %v, want one naming models.PersonRow", err)
	}
	// A rejected append does not spoil the batch.
	must(t, Append(b, "pseudo/person/source=gp", row))
}

func TestCommit_RejectsBadManifestAndLeavesBatchOpen(t *testing.T) {
	root := t.TempDir()
	l := mustOpen(t, root)
	commitSample(t, l, "B0", 1)
	good := sampleManifest("B1").Inputs[0]
	for _, tc := range []struct {
		name   string
		edit   func(*Manifest)
		reason string
	}{
		{"unbalanced counts", func(m *Manifest) { m.Inputs[0].Accepted-- }, "read 10 != accepted 8 + quarantined 1"},
		{"malformed hash", func(m *Manifest) { m.Inputs[0].SHA256 = "abc" }, "not a hex SHA-256"},
		{"same file twice", func(m *Manifest) { m.Inputs = append(m.Inputs, good) }, "same content as"},
		{"already ingested", func(m *Manifest) { m.Inputs[0].SHA256 = sampleManifest("B0").Inputs[0].SHA256 }, "already committed by batch B0"},
		{"other batch id", func(m *Manifest) { m.BatchID = "B9" }, `names batch "B9"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := mustBegin(t, l, "B1")
			appendSample(t, b, 1)
			m := sampleManifest("B1")
			tc.edit(&m)
			err := b.Commit(m)
			if err == nil || !strings.Contains(err.Error(), tc.reason) {
				t.Fatalf("Commit: err = %v, want one saying %q", err, tc.reason)
			}
			must(t, b.Abort())
			if got, want := diskFiles(t, root), expectedFiles("B0"); !slices.Equal(got, want) {
				t.Errorf("after abort the lake holds %v, want %v", got, want)
			}
		})
	}
}

func TestIngested_FindsCommittedContentByHash(t *testing.T) {
	l := mustOpen(t, t.TempDir())
	commitSample(t, l, "B1", 1)
	sum := sampleManifest("B1").Inputs[0].SHA256
	for _, tc := range []struct {
		sha       string
		wantBatch string
	}{
		{sum, "B1"},
		{strings.ToUpper(sum), "B1"},
		{sampleManifest("B2").Inputs[0].SHA256, ""},
	} {
		m, ok, err := l.Ingested(tc.sha)
		must(t, err)
		if ok != (tc.wantBatch != "") || (ok && m.BatchID != tc.wantBatch) {
			t.Errorf("Ingested(%s) = %v, %v; want batch %q", tc.sha, m, ok, tc.wantBatch)
		}
	}
}

func TestAbort_RemovesTemporaryFilesAndReleasesLock(t *testing.T) {
	root := t.TempDir()
	l := mustOpen(t, root)
	b := mustBegin(t, l, "B1")
	appendSample(t, b, 5)
	must(t, b.Abort())
	if got := diskFiles(t, root); len(got) != 0 {
		t.Errorf("after Abort the lake holds %v, want nothing", got)
	}
	must(t, b.Abort()) // idempotent
	if err := Append(b, "quarantine", models.QuarantineRow{}); !errors.Is(err, ErrBatchDone) {
		t.Errorf("Append after Abort: err = %v, want ErrBatchDone", err)
	}
	commitSample(t, l, "B1", 1) // the id was never committed, so it is free
}

func TestBatch_CannotBeReusedAfterCommit(t *testing.T) {
	l := mustOpen(t, t.TempDir())
	b := mustBegin(t, l, "B1")
	appendSample(t, b, 1)
	must(t, b.Commit(sampleManifest("B1")))
	if err := b.Commit(sampleManifest("B1")); !errors.Is(err, ErrBatchDone) {
		t.Errorf("second Commit: err = %v, want ErrBatchDone", err)
	}
	if err := b.Abort(); !errors.Is(err, ErrBatchDone) {
		t.Errorf("Abort after Commit: err = %v, want ErrBatchDone", err)
	}
	if _, err := l.Begin("B1"); err == nil || !strings.Contains(err.Error(), "already committed") {
		t.Errorf("Begin with a committed id: err = %v, want 'already committed'", err)
	}
	for _, id := range []string{"", "a.b", "a/b", "-x", strings.Repeat("x", 101)} {
		if _, err := l.Begin(id); err == nil {
			t.Errorf("Begin(%q) succeeded, want an invalid-id error", id)
		}
	}
}

func TestVerify_DetectsAlteredFile(t *testing.T) {
	root := t.TempDir()
	l := mustOpen(t, root)
	commitSample(t, l, "B1", 3)
	must(t, l.Verify(t.Context()))
	name := filepath.Join(root, "mpi/links/part-B1.parquet")
	data, err := os.ReadFile(name)
	must(t, err)
	data[len(data)/2] ^= 0xff
	must(t, os.WriteFile(name, data, 0o600))
	if err := l.Verify(t.Context()); err == nil || !strings.Contains(err.Error(), name) {
		t.Errorf("Verify after altering %s: err = %v, want one naming the file", name, err)
	}
}

func TestFiles_ReportsMissingCommittedFile(t *testing.T) {
	root := t.TempDir()
	l := mustOpen(t, root)
	commitSample(t, l, "B1", 1)
	must(t, os.Remove(filepath.Join(root, "mpi/links/part-B1.parquet")))
	if _, err := l.Files("pseudo"); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("Files with a lost file: err = %v, want 'missing'", err)
	}
	if _, err := l.Recover(); err == nil || !strings.Contains(err.Error(), "mpi/links/part-B1.parquet") {
		t.Errorf("Recover with a lost file: err = %v, want one naming it", err)
	}
}

func TestCommit_EncoderWriteFailureRollsBackTheBatch(t *testing.T) {
	root := t.TempDir()
	l := mustOpen(t, root)
	l.cfg.handoffRows, l.cfg.rowGroupRows = 8, 8
	b := mustBegin(t, l, "B1")
	appendSample(t, b, 2)
	dir := sampleDirs()[1]
	// The file's descriptor goes away under the encoder, as on a failing disk.
	b.writers[dir].(*writer[models.EncounterRow]).f.Close()
	var appendErr error
	for i := 0; i < 200 && appendErr == nil; i++ {
		appendErr = Append(b, dir, models.EncounterRow{PersonKey: fmt.Sprint(i), EncounterKey: "e", Source: "hl7v2", BatchID: "B1", Class: "inpatient"})
	}
	err := b.Commit(sampleManifest("B1"))
	if err == nil || !strings.Contains(err.Error(), "file already closed") {
		t.Fatalf("Commit: err = %v, want the write failure", err)
	}
	if appendErr != nil && !strings.Contains(appendErr.Error(), "file already closed") {
		t.Errorf("Append: err = %v, want nil or the write failure", appendErr)
	}
	if got := diskFiles(t, root); len(got) != 0 {
		t.Errorf("after the failed commit the lake holds %v, want nothing", got)
	}
	commitSample(t, l, "B2", 1) // the lock was released
}

func TestAppend_ContinuesInNewFilesWhenOpenFilesHoldTooManyRows(t *testing.T) {
	for _, encoders := range []int{1, 2} {
		t.Run(fmt.Sprintf("encoders=%d", encoders), func(t *testing.T) {
			root := t.TempDir()
			l := mustOpen(t, root)
			l.cfg = writerConfig{handoffRows: 4, maxHeldRows: 15, queueDepth: 1, rowGroupRows: 10, maxOpenRows: 25, maxFileRows: 30, pageBufferBytes: 256, writeBufferBytes: 256, pageChunkBytes: 4096, dictionaryMaxBytes: 64, encoders: encoders}
			b := mustBegin(t, l, "B1")
			dirs := sampleDirs()[1:3]
			want := make([][]models.EncounterRow, len(dirs))
			for i := range 100 {
				for d, dir := range dirs {
					if d == 1 && i >= 40 && i < 80 {
						continue // a finished file waits while another fills up
					}
					row := models.EncounterRow{PersonKey: fmt.Sprintf("p%d-%d", d, i), EncounterKey: "e", Source: "hl7v2", BatchID: "B1", Class: "inpatient"}
					want[d] = append(want[d], row)
					must(t, Append(b, dir, row))
				}
			}
			must(t, b.Commit(sampleManifest("B1")))
			m, ok, err := l.manifest("B1")
			must(t, err)
			if !ok {
				t.Fatal("no manifest")
			}
			if got := m.Counts["pseudo/encounter"]; got != 160 {
				t.Errorf("manifest counts %d encounter rows, want 160", got)
			}
			for d, dir := range dirs {
				files, err := l.Files(dir)
				must(t, err)
				if len(files) < len(want[d])/30 {
					t.Errorf("%s: %d files, want at least %d (open files hold at most 30 rows)", dir, len(files), len(want[d])/30)
				}
				names := map[string]bool{}
				for _, f := range files {
					names[filepath.Base(f)] = true
				}
				for i := range len(files) {
					name := "part-B1.parquet"
					if i > 0 {
						name = fmt.Sprintf("part-B1.%d.parquet", i)
					}
					if !names[name] {
						t.Errorf("%s: no file %s among %v", dir, name, files)
					}
				}
				// Files are listed by name, so compare the rows as sets.
				keys := func(rows []models.EncounterRow) []string {
					var k []string
					for _, r := range rows {
						k = append(k, r.PersonKey)
					}
					slices.Sort(k)
					return k
				}
				if got := readRows[models.EncounterRow](t, files); !slices.Equal(keys(got), keys(want[d])) {
					t.Errorf("%s read back %d rows, want the %d appended", dir, len(got), len(want[d]))
				}
			}
		})
	}
}

func TestWriter_FinishedFileCountsNoOpenRows(t *testing.T) {
	l := mustOpen(t, t.TempDir())
	l.cfg.handoffRows = 1
	b := mustBegin(t, l, "B1")
	defer b.Abort()
	dir := sampleDirs()[1]
	must(t, Append(b, dir, models.EncounterRow{PersonKey: "p", EncounterKey: "e", Source: "hl7v2", BatchID: "B1", Class: "inpatient"}))
	w := b.writers[dir]
	enc := w.(*writer[models.EncounterRow]).enc
	must(t, enc.wait())
	var inFile, open int64
	must(t, enc.submit(func() error {
		err := w.rotate()
		inFile, open = w.inFile(), w.open()
		return err
	}))
	must(t, enc.wait())
	if inFile != 0 || open != 0 || enc.fileRows != 0 || enc.openRows != 0 {
		t.Errorf("after rotate: file %d, open %d rows; encoder counts %d in files, %d open; want all 0 (bound would pick the finished file forever)",
			inFile, open, enc.fileRows, enc.openRows)
	}
}
