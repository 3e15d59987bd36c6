package jobs

import (
	"context"
	"encoding/csv"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/pophealth/pophealth/deprivation"
	"github.com/pophealth/pophealth/lake"
	"github.com/pophealth/pophealth/models"
	"github.com/pophealth/pophealth/pseudonymise"
	"github.com/pophealth/pophealth/synth"
)

// fixture is a synthetic population ingested once and shared by the tests
// below, which only read it.
type fixture struct {
	feeds   string
	lake    *lake.Lake
	key     pseudonymise.Key
	summary synth.Summary
	result  IngestResult
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	dir := t.TempDir()
	opts := synth.DefaultOptions()
	opts.People, opts.Seed, opts.OutDir = 2000, 7, filepath.Join(dir, "feeds")
	opts.Malformed = 0.01 // enough broken records in a small population to exercise quarantine
	sum, err := synth.Generate(context.Background(), opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	lk, key := newLakeAndKey(t, filepath.Join(dir, "lake"))
	imd, err := deprivation.ReadSynthetic()
	if err != nil {
		t.Fatal(err)
	}
	res, err := Ingest(context.Background(), lk, IngestOptions{Paths: []string{opts.OutDir}, Key: key, Deprivation: imd})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{feeds: opts.OutDir, lake: lk, key: key, summary: sum, result: res}
}

// newLakeAndKey opens a new lake in dir and makes a lake key.
func newLakeAndKey(t *testing.T, dir string) (*lake.Lake, pseudonymise.Key) {
	t.Helper()
	lk, err := lake.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	key, err := pseudonymise.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	return lk, key
}

func TestIngest_SyntheticFeeds(t *testing.T) {
	f := newFixture(t)
	t.Run("every file balances and matches synth's counts", func(t *testing.T) {
		if len(f.result.Files) != len(f.summary.Files) {
			t.Fatalf("ingested %d files, synth wrote %d", len(f.result.Files), len(f.summary.Files))
		}
		for _, fr := range f.result.Files {
			rel, _ := filepath.Rel(f.feeds, fr.Path)
			want, ok := f.summary.Files[filepath.ToSlash(rel)]
			if !ok {
				t.Errorf("%s: not a synth file", rel)
				continue
			}
			if err := fr.Balanced(); err != nil {
				t.Errorf("%s: %v", rel, err)
			}
			if fr.Read != want.Records {
				t.Errorf("%s: read %d records, synth wrote %d", rel, fr.Read, want.Records)
			}
			if fr.Quarantined < want.Malformed {
				t.Errorf("%s: quarantined %d, synth broke %d", rel, fr.Quarantined, want.Malformed)
			}
		}
	})

	t.Run("quarantine holds exactly the malformed records and their orphans", func(t *testing.T) {
		malformed := readMalformed(t, f.feeds)
		entries, err := ListQuarantine(f.lake, QuarantineFilter{})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]bool{}
		for _, e := range entries {
			q := e.QuarantineRow
			rel, _ := filepath.Rel(f.feeds, q.File)
			// Keyed by byte offset: for HL7, whose segments end in CR, the
			// parser counts segments as lines and synth counts messages.
			key := fmt.Sprintf("%s@%d", filepath.ToSlash(rel), q.Offset)
			if strings.HasPrefix(q.Reason, "subject ") {
				// A clinical record whose patient's own record was broken.
				continue
			}
			if !malformed[key] {
				t.Errorf("quarantined %s (%s) but synth did not break it", key, q.Reason)
			}
			if len(q.Raw) == 0 || q.Reason == "" {
				t.Errorf("quarantine entry %s lacks raw bytes or reason", key)
			}
			got[key] = true
		}
		for key := range malformed {
			if !got[key] {
				t.Errorf("synth broke %s but it was not quarantined", key)
			}
		}
	})

	t.Run("every synthetic LSOA gets a decile", func(t *testing.T) {
		d := f.result.Deprivation
		if d.WithLSOA < 1900 || d.Matched != d.WithLSOA || d.Unmatched != 0 {
			t.Errorf("deprivation %+v: want every accepted GP patient's LSOA matched", d)
		}
	})

	t.Run("lake holds no identifiers", func(t *testing.T) {
		ids := identifiers(t, f.feeds)
		hexKey := keyHex(f.key)
		var scanned int
		err := filepath.WalkDir(filepath.Join(f.lake.Root(), "pseudo"), func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			if !strings.HasSuffix(path, ".parquet") {
				t.Errorf("stray file in the lake: %s", path)
				return nil
			}
			forEachString(t, path, func(col, v string) {
				scanned++
				if why := ids.match(v); why != "" {
					t.Errorf("%s column %s holds %s %q", path, col, why, v)
				}
				if strings.Contains(v, hexKey) {
					t.Errorf("%s column %s holds the lake key", path, col)
				}
			})
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if scanned < 1000 {
			t.Fatalf("scanned only %d values: the check would pass vacuously", scanned)
		}
		// Manifests are readable by operators: no identifiers, no key.
		manifests, _ := filepath.Glob(filepath.Join(f.lake.Root(), "manifest", "*.json"))
		for _, m := range manifests {
			data, _ := os.ReadFile(m)
			if strings.Contains(string(data), hexKey) {
				t.Errorf("manifest %s holds the lake key", m)
			}
			for _, nhs := range ids.sampleNHS {
				if strings.Contains(string(data), nhs) {
					t.Errorf("manifest %s holds NHS number %s", m, nhs)
				}
			}
		}
	})

	t.Run("re-ingesting the same files adds nothing", func(t *testing.T) {
		before, err := f.lake.Manifests()
		if err != nil {
			t.Fatal(err)
		}
		res, err := Ingest(context.Background(), f.lake, IngestOptions{Paths: []string{f.feeds}, Key: f.key})
		if err != nil {
			t.Fatal(err)
		}
		if res.BatchID != "" {
			t.Errorf("second ingest committed batch %s", res.BatchID)
		}
		for _, fr := range res.Files {
			if fr.Status != "already-ingested" || fr.PreviousBatch != f.result.BatchID {
				t.Errorf("%s: status %s (previous %s), want already-ingested in %s", fr.Path, fr.Status, fr.PreviousBatch, f.result.BatchID)
			}
		}
		after, _ := f.lake.Manifests()
		if len(after) != len(before) {
			t.Errorf("manifests %d -> %d", len(before), len(after))
		}
	})

	t.Run("linkage joins feeds on valid NHS numbers", func(t *testing.T) {
		persons := readAll[models.PersonRow](t, f.lake, "pseudo/person")
		keys := map[string]map[string]bool{}
		for _, p := range persons {
			if keys[p.PersonKey] == nil {
				keys[p.PersonKey] = map[string]bool{}
			}
			keys[p.PersonKey][p.Source] = true
		}
		people := f.summary.People
		// Every true person is one lake person, except that records
		// without a usable NHS number stay singletons until probabilistic
		// linkage exists.
		if len(keys) < people-people/20 || len(keys) > people+int(f.result.Link.Unmatched)+int(f.result.Link.NHSConflicts) {
			t.Errorf("%d lake people for %d true people (%d unmatched records)", len(keys), people, f.result.Link.Unmatched)
		}
		multi := 0
		for _, sources := range keys {
			if len(sources) > 1 {
				multi++
			}
		}
		if multi < f.summary.FHIRPatients/2 {
			t.Errorf("only %d people linked across feeds; synth put %d people in the FHIR feed", multi, f.summary.FHIRPatients)
		}
	})
}

// readMalformed returns synth's list of broken records as "file@offset".
func readMalformed(t *testing.T, feeds string) map[string]bool {
	t.Helper()
	rows := readCSV(t, filepath.Join(feeds, synth.MalformedFile))
	out := map[string]bool{}
	for _, r := range rows {
		out[r["file"]+"@"+r["offset"]] = true
	}
	if len(out) == 0 {
		t.Fatal("synth broke no records: the quarantine test would pass vacuously")
	}
	return out
}

func readCSV(t *testing.T, path string) []map[string]string {
	t.Helper()
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	r := csv.NewReader(fh)
	r.FieldsPerRecord = -1
	header, err := r.Read()
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]string
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return out
		}
		if err != nil {
			continue // deliberately malformed rows
		}
		m := map[string]string{}
		for i, h := range header {
			if i < len(rec) {
				m[strings.ToLower(h)] = rec[i]
			}
		}
		out = append(out, m)
	}
}

// idSet holds the identifiers present in the feeds.
type idSet struct {
	nhs, names, postcodes, locals, lsoas map[string]bool
	sampleNHS                            []string
}

func identifiers(t *testing.T, feeds string) *idSet {
	t.Helper()
	ids := &idSet{nhs: map[string]bool{}, names: map[string]bool{}, postcodes: map[string]bool{}, locals: map[string]bool{}, lsoas: map[string]bool{}}
	for _, p := range readCSV(t, filepath.Join(feeds, "gp", "patients.csv")) {
		nhs := strings.ReplaceAll(p["nhs_number"], " ", "")
		if nhs != "" {
			ids.nhs[nhs] = true
			if len(ids.sampleNHS) < 50 {
				ids.sampleNHS = append(ids.sampleNHS, nhs)
			}
		}
		for _, n := range []string{p["given_name"], p["family_name"]} {
			if len(n) > 2 {
				ids.names[strings.ToUpper(n)] = true
			}
		}
		if p["postcode"] != "" {
			ids.postcodes[strings.ToUpper(strings.ReplaceAll(p["postcode"], " ", ""))] = true
		}
		if p["lsoa_code"] != "" {
			ids.lsoas[p["lsoa_code"]] = true
		}
	}
	for _, r := range readCSV(t, filepath.Join(feeds, synth.TruthFile)) {
		ids.locals[r["local_id"]] = true
		ids.locals[r["record_id"]] = true
	}
	if len(ids.nhs) < 100 || len(ids.names) < 50 || len(ids.locals) < 100 || len(ids.lsoas) < 100 {
		t.Fatalf("too few identifiers collected (%d NHS, %d names, %d local ids, %d LSOAs)", len(ids.nhs), len(ids.names), len(ids.locals), len(ids.lsoas))
	}
	return ids
}

// match says which kind of identifier v is, or "".
func (ids *idSet) match(v string) string {
	switch {
	case ids.nhs[strings.ReplaceAll(v, " ", "")]:
		return "an NHS number"
	case ids.names[strings.ToUpper(v)]:
		return "a name"
	case ids.postcodes[strings.ToUpper(strings.ReplaceAll(v, " ", ""))]:
		return "a full postcode"
	case ids.lsoas[strings.ToUpper(v)]:
		return "an LSOA (the lake keeps its deprivation decile)"
	case ids.locals[v] && !isCode(v):
		return "a local patient or record id"
	}
	for i := 0; i+10 <= len(v); i++ {
		if ids.nhs[v[i:i+10]] {
			return "an embedded NHS number"
		}
	}
	return ""
}

// isCode reports whether v could be a clinical code or small enumeration
// that happens to equal a short local id (a local id such as "1").
func isCode(v string) bool {
	_, err := strconv.Atoi(v)
	return err == nil && len(v) < 4
}

// forEachString calls fn for every string value in a Parquet file.
func forEachString(t *testing.T, path string, fn func(col, v string)) {
	t.Helper()
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	info, _ := fh.Stat()
	pf, err := parquet.OpenFile(fh, info.Size())
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	cols := pf.Schema().Columns()
	for _, rg := range pf.RowGroups() {
		rows := rg.Rows()
		buf := make([]parquet.Row, 256)
		for {
			n, err := rows.ReadRows(buf)
			for _, row := range buf[:n] {
				for _, v := range row {
					if v.Kind() == parquet.ByteArray && !v.IsNull() {
						fn(strings.Join(cols[v.Column()], "."), string(v.ByteArray()))
					}
				}
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
		}
		rows.Close()
	}
}

func readAll[T any](t *testing.T, lk *lake.Lake, dir string) []T {
	t.Helper()
	files, err := lk.Files(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []T
	for _, f := range files {
		rows, err := parquet.ReadFile[T](f)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out = append(out, rows...)
	}
	return out
}

func keyHex(k pseudonymise.Key) string {
	// The key's only export is its file form; round-trip through a file.
	dir, err := os.MkdirTemp("", "key")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "k")
	if err := pseudonymise.WriteKeyFile(path, k); err != nil {
		panic(err)
	}
	data, _ := os.ReadFile(path)
	s := strings.TrimSpace(string(data))
	if _, err := hex.DecodeString(s); err != nil {
		panic(err)
	}
	return s
}

func TestIngest_KeepsTheDecileOfTheLSOAAndTheEndOfRegistration(t *testing.T) {
	dir := t.TempDir()
	feeds := filepath.Join(dir, "feeds")
	if err := os.MkdirAll(feeds, 0o755); err != nil {
		t.Fatal(err)
	}
	patients := "patient_id,date_of_birth,sex,practice_code,registration_date,deregistration_date,lsoa_code\n" +
		"G1,1950-01-01,F,B86001,2000-01-01,,E01000001\n" +
		"G2,1950-01-01,M,B86001,2000-01-01,2024-05-31,e01999999\n" +
		"G3,1950-01-01,F,B86001,2000-01-01,,\n"
	if err := os.WriteFile(filepath.Join(feeds, "patients.csv"), []byte(patients), 0o644); err != nil {
		t.Fatal(err)
	}
	imd, err := deprivation.Read(strings.NewReader("lsoa_code,imd_decile\nE01000001,3\n"), "imd.csv")
	if err != nil {
		t.Fatal(err)
	}
	lk, key := newLakeAndKey(t, filepath.Join(dir, "lake"))
	res, err := Ingest(t.Context(), lk, IngestOptions{Paths: []string{feeds}, Key: key, Deprivation: imd})
	if err != nil {
		t.Fatal(err)
	}
	if want := (DeprivationStats{WithLSOA: 2, Matched: 1, Unmatched: 1}); res.Deprivation != want {
		t.Errorf("deprivation %+v, want %+v", res.Deprivation, want)
	}
	files, err := filepath.Glob(filepath.Join(lk.Root(), "pseudo", "person", "*", "*.parquet"))
	if err != nil || len(files) != 1 {
		t.Fatalf("person files %v, %v", files, err)
	}
	rows, err := parquet.ReadFile[models.PersonRow](files[0])
	if err != nil {
		t.Fatal(err)
	}
	var deciles []int8
	var ended []string
	for _, r := range rows {
		deciles = append(deciles, r.DeprivationDecile)
		if r.RegisteredTo != nil {
			ended = append(ended, r.RegisteredTo.String())
		}
	}
	// In file order: E01000001 is decile 3, the others have none.
	if fmt.Sprint(deciles) != "[3 0 0]" || fmt.Sprint(ended) != "[2024-05-31]" {
		t.Errorf("deciles %v and registration ends %v, want [3 0 0] and [2024-05-31]", deciles, ended)
	}
}

func TestIngest_LaterBatchLinksThroughThePersistedIndex(t *testing.T) {
	dir := t.TempDir()
	opts := synth.DefaultOptions()
	opts.People, opts.Seed, opts.OutDir = 300, 3, filepath.Join(dir, "feeds")
	if _, err := synth.Generate(context.Background(), opts, nil); err != nil {
		t.Fatal(err)
	}
	lk, key := newLakeAndKey(t, filepath.Join(dir, "lake"))
	var results []IngestResult
	for _, feed := range []string{"gp", "fhir"} {
		res, err := Ingest(context.Background(), lk, IngestOptions{Paths: []string{filepath.Join(opts.OutDir, feed)}, Key: key})
		if err != nil {
			t.Fatal(err)
		}
		results = append(results, res)
	}
	files, err := lk.Files(mpiDir)
	if err != nil {
		t.Fatal(err)
	}
	byBatch := map[string][]models.LinkRow{}
	sources := map[string]bool{}
	for _, f := range files {
		rows, err := parquet.ReadFile[models.LinkRow](f)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			byBatch[r.BatchID] = append(byBatch[r.BatchID], r)
			sources[r.Feed+"/"+r.LocalID] = true
		}
	}
	first, second := results[0], results[1]
	for _, res := range results {
		if n := int64(len(byBatch[res.BatchID])); n != res.Rows["mpi"] || n == 0 {
			t.Errorf("batch %s: %d index entries in the lake, %d counted", res.BatchID, n, res.Rows["mpi"])
		}
	}
	if s := second.Link; s.Records == 0 || s.ByNHSNumber < s.Records*9/10 || s.IndexedSources != len(sources) {
		t.Errorf("second batch: %+v; want most FHIR patients joined through GP NHS numbers and %d sources indexed", s, len(sources))
	}
	people := map[string]bool{}
	for _, r := range byBatch[first.BatchID] {
		people[r.PersonID] = true
	}
	for _, r := range byBatch[second.BatchID] {
		if r.Method == models.LinkByNHSNumber && !people[r.PersonID] {
			t.Errorf("%s/%s joined %s by NHS number, which the first batch never made", r.Feed, r.LocalID, r.PersonID)
		}
		if r.GivenName == "" || r.BirthDate == nil {
			t.Errorf("%s/%s: index entry without the details linkage compares: %+v", r.Feed, r.LocalID, r)
		}
	}
}
