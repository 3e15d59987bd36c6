package link

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/pophealth/pophealth/models"
)

// TestCacheFields_ListEveryStringField guards the cache format against a
// field added to Record or prepared but not stored: it would come back
// empty from the cache and silently change linkage.
func TestCacheFields_ListEveryStringField(t *testing.T) {
	check := func(name string, v reflect.Value, listed []*string, skip ...string) {
		t.Helper()
		have := map[*string]bool{}
		for _, p := range listed {
			have[p] = true
		}
		for i := 0; i < v.NumField(); i++ {
			f := v.Type().Field(i)
			if f.Type.Kind() != reflect.String || slices.Contains(skip, f.Name) {
				continue
			}
			if !have[(*string)(v.Field(i).Addr().UnsafePointer())] {
				t.Errorf("%s.%s is not stored in the index cache", name, f.Name)
			}
		}
	}
	var r Record
	rf := recordFields(&r)
	check("Record", reflect.ValueOf(&r).Elem(), rf[:], "ID")
	var p prepared
	pf := preparedFields(&p)
	check("prepared", reflect.ValueOf(&p).Elem(), pf[:])
}

// lakeOnly loads the index ignoring the cache, as a run without one does.
func lakeOnly(t *testing.T, f *mpiFixture) *index {
	t.Helper()
	dir := filepath.Join(f.lk.Root(), cacheDir)
	aside := dir + ".aside"
	if err := os.Rename(dir, aside); err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	defer os.Rename(aside, dir)
	ix, err := loadIndex(f.lk)
	if err != nil {
		t.Fatal(err)
	}
	if ix.cache != nil {
		t.Fatal("the cache was read while moved aside")
	}
	return ix
}

// sameIndex checks that an index read through the cache is the index the
// lake alone gives: the same sources in the same order, details, prepared
// details and persons.
func sameIndex(t *testing.T, f *mpiFixture, wantCache bool) *index {
	t.Helper()
	got, err := loadIndex(f.lk)
	if err != nil {
		t.Fatal(err)
	}
	if (got.cache != nil) != wantCache {
		t.Fatalf("cache used %v (reason %v), want %v", got.cache != nil, got.cacheErr, wantCache)
	}
	want := lakeOnly(t, f)
	if !reflect.DeepEqual(got.sources, want.sources) {
		t.Fatalf("sources differ: %d through the cache, %d from the lake", len(got.sources), len(want.sources))
	}
	for i := range want.recs {
		if *got.rec(i) != want.recs[i] {
			t.Errorf("source %s details %+v through the cache, %+v from the lake", want.sources[i].id, *got.rec(i), want.recs[i])
		}
		if got.assigned[i] != want.assigned[i] {
			t.Errorf("source %s person %q through the cache, %q from the lake", want.sources[i].id, got.assigned[i], want.assigned[i])
		}
	}
	gp, wp := got.prepareAll(2), want.prepareAll(2)
	for i := range wp {
		if gp[i] != wp[i] {
			t.Errorf("source %s prepared %+v through the cache, %+v from the lake", want.sources[i].id, gp[i], wp[i])
		}
	}
	if !reflect.DeepEqual(got.byID, want.byID) {
		t.Error("source ids index differently")
	}
	return got
}

func readState(t *testing.T, f *mpiFixture) cacheStateFile {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(f.lk.Root(), cacheDir, cacheState))
	if err != nil {
		t.Fatal(err)
	}
	var st cacheStateFile
	if err := json.Unmarshal(data, &st); err != nil {
		t.Fatal(err)
	}
	return st
}

func TestIndexCache_ReadsWhatTheLakeHolds(t *testing.T) {
	f := newMPIFixture(t)
	f.cachePart = 64 // bases of several parts, read in parallel
	rows := f.population(200)
	commitRows(f, LinksDir, rows...)
	if res := f.run(false); res.IndexCache != "miss" {
		t.Errorf("first run index cache %q, want miss", res.IndexCache)
	}
	sameIndex(t, f, true)
	if st := readState(t, f); len(st.Segments) != 7 || st.BaseParts != 7 || st.Sources != 400 || st.baseRecords() != 400 {
		t.Fatalf("after the first run: %+v, want a base of 400 sources in 7 parts", st)
	}

	// New patients, and a known patient whose NHS number arrives later
	// with other details: the cache holds the old details, the new rows
	// come from the lake.
	late := linkRow("hl7v2", "LATE", "PLATE", "", "Walter", "Bishop", "1946-08-19", "male", "BS1 4DJ")
	commitRows(f, LinksDir, late, linkRow("gp", "NEW1", "PNEW1", f.nextNHS(), "Olivia", "Dunham", "1979-10-10", "female", "BS8 1TH"))
	if res := f.run(false); res.IndexCache != "hit" || res.New != 2 {
		t.Errorf("second run %+v, want a cache hit with 2 new", res)
	}
	late.NHSNumber, late.NHSNumberStatus, late.Postcode = f.nextNHS(), string(models.NHSValid), "BS2 0JA"
	commitRows(f, LinksDir, late)
	ix := sameIndex(t, f, true)
	if len(ix.dirty) != 1 {
		t.Errorf("%d cached sources changed, want 1 (hl7v2/LATE)", len(ix.dirty))
	}
	if res := f.run(false); res.IndexCache != "hit" {
		t.Errorf("third run index cache %q, want hit", res.IndexCache)
	}
	sameIndex(t, f, true)
	st := readState(t, f)
	if len(st.Segments) != 9 || st.Segments[8].Records != 1 {
		t.Errorf("segments %+v, want the base's 7 parts and two deltas, the last holding the changed patient", st.Segments)
	}

	// A run with nothing new adds no segment.
	f.run(false)
	if again := readState(t, f); len(again.Segments) != len(st.Segments) {
		t.Errorf("a run with nothing new left %d segments, was %d", len(again.Segments), len(st.Segments))
	}
	sameIndex(t, f, true)

	// A run whose cache update was lost (a crash after its commit): the
	// older state still reads, with the run's assignments from the lake.
	dir := filepath.Join(f.lk.Root(), cacheDir)
	saved := t.TempDir()
	copyDir(t, dir, saved)
	commitRows(f, MergesDir, models.MergeRow{Feed: "hl7v2", LocalID: "LATE", RetiredLocalID: "NOPE", Event: "A40", RecordID: "M1"})
	commitRows(f, LinksDir, linkRow("fhir", "LATE2", "PLATE2", "", "Walter", "Bishop", "1946-08-19", "male", "BS2 0JA"))
	if res := f.run(false); res.IndexCache != "hit" {
		t.Errorf("fourth run index cache %q, want hit", res.IndexCache)
	}
	os.RemoveAll(dir)
	copyDir(t, saved, dir)
	sameIndex(t, f, true)

	// A full run writes a new base; files the state no longer names go.
	f.run(true)
	st = readState(t, f)
	if len(st.Segments) != st.BaseParts {
		t.Errorf("after a full run: %d segments, want a new base", len(st.Segments))
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
		info, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s mode %v: the cache holds identifiers, want owner only", e.Name(), info.Mode().Perm())
		}
	}
	want := []string{st.Assignments.Name, cacheState, cacheLock}
	for _, seg := range st.Segments {
		want = append(want, seg.Name)
	}
	slices.Sort(want)
	if !slices.Equal(names, want) {
		t.Errorf("cache files %v, want %v", names, want)
	}
	if info, err := os.Stat(dir); err != nil || info.Mode().Perm()&0o077 != 0 {
		t.Errorf("cache directory %v %v, want owner only", info.Mode(), err)
	}
	sameIndex(t, f, true)
}

func TestIndexCache_DeltasCompactIntoABase(t *testing.T) {
	f := newMPIFixture(t)
	commitRows(f, LinksDir, f.population(40)...) // 80 sources
	f.run(false)
	for k := range 4 {
		// 10 sources a run: past a quarter of the base the deltas fold
		// into a new base.
		var rows []models.LinkRow
		for i := range 10 {
			rows = append(rows, linkRow("gp", fmt.Sprintf("N%d-%d", k, i), fmt.Sprintf("PN%d-%d", k, i), f.nextNHS(), "Ada", "Lovelace", "1915-12-10", "female", "W1 1AA"))
		}
		commitRows(f, LinksDir, rows...)
		f.run(false)
		sameIndex(t, f, true)
	}
	st := readState(t, f)
	// Base 80, deltas 10, 20 (= 80/4); the third would pass a quarter:
	// base of 110; then a delta of 10.
	if got := []int{len(st.Segments), st.Segments[0].Records}; !slices.Equal(got, []int{2, 110}) {
		t.Errorf("segments %+v, want a base of 110 and one delta", st.Segments)
	}
}

func TestIndexCache_UnusableStatesFallBackToTheLake(t *testing.T) {
	tests := []struct {
		name  string
		spoil func(t *testing.T, dir string, st *cacheStateFile)
	}{
		{"a flipped byte", func(t *testing.T, dir string, st *cacheStateFile) {
			flip(t, filepath.Join(dir, st.Segments[0].Name), 100)
		}},
		{"a flipped byte in the assignments", func(t *testing.T, dir string, st *cacheStateFile) {
			flip(t, filepath.Join(dir, st.Assignments.Name), 40)
		}},
		{"a truncated segment", func(t *testing.T, dir string, st *cacheStateFile) {
			if err := os.Truncate(filepath.Join(dir, st.Segments[0].Name), st.Segments[0].Bytes/2); err != nil {
				t.Fatal(err)
			}
		}},
		{"a consistent but short segment", func(t *testing.T, dir string, st *cacheStateFile) {
			st.Segments[0].Records--
		}},
		{"a lake file no longer committed", func(t *testing.T, dir string, st *cacheStateFile) {
			st.LinksFiles = append(st.LinksFiles, "mpi/links/part-19990101T000000Z-000000.parquet")
			slices.Sort(st.LinksFiles)
		}},
		{"another version", func(t *testing.T, dir string, st *cacheStateFile) { st.Version++ }},
		{"a missing segment", func(t *testing.T, dir string, st *cacheStateFile) {
			os.Remove(filepath.Join(dir, st.Segments[0].Name))
		}},
		{"no state", func(t *testing.T, dir string, st *cacheStateFile) {
			os.Remove(filepath.Join(dir, cacheState))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newMPIFixture(t)
			commitRows(f, LinksDir, f.population(30)...)
			f.run(false)
			dir := filepath.Join(f.lk.Root(), cacheDir)
			st := readState(t, f)
			tt.spoil(t, dir, &st)
			if _, err := os.Stat(filepath.Join(dir, cacheState)); err == nil {
				data, _ := json.Marshal(st)
				if err := os.WriteFile(filepath.Join(dir, cacheState), data, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			ix := sameIndex(t, f, false)
			if ix.cacheErr == nil {
				t.Error("no reason given for not using the cache")
			}
			// The next run reads the lake and writes a usable cache.
			commitRows(f, LinksDir, linkRow("gp", "X", "PX", "", "Rose", "Tyler", "1986-04-27", "female", "SE1 7PB"))
			if res := f.run(false); res.IndexCache != "miss" || res.Mode != "incremental" {
				t.Errorf("run %+v, want an incremental run reading the lake", res)
			}
			sameIndex(t, f, true)
		})
	}
}

func flip(t *testing.T, name string, at int) {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	data[at%len(data)] ^= 0x20
	if err := os.WriteFile(name, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	if err := os.MkdirAll(to, 0o700); err != nil {
		t.Fatal(err)
	}
	err := filepath.WalkDir(from, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(to, d.Name()), data, 0o600)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestRun_UpdatedDetailsLinkAgain: a source patient linked before whose NHS
// number arrives later is compared again, and joins the person holding the
// number, whether the run reads the cache or the lake.
func TestRun_UpdatedDetailsLinkAgain(t *testing.T) {
	for _, withCache := range []bool{true, false} {
		t.Run(fmt.Sprintf("cache %v", withCache), func(t *testing.T) {
			f := newMPIFixture(t)
			number := f.nextNHS()
			rows := append(f.population(100),
				linkRow("gp", "A", "PA", number, "Walter", "Bishop", "1946-08-19", "male", "BS1 4DJ"),
				// A hospital record with too little to link by: a surname.
				models.LinkRow{Feed: "hl7v2", LocalID: "H", PersonID: "PH", NHSNumberStatus: string(models.NHSMissing), Method: models.LinkUnmatched, FamilyName: "Bishop", Sex: "male"})
			commitRows(f, LinksDir, rows...)
			f.run(false)
			if p := f.persons(); p["gp/A"] == p["hl7v2/H"] {
				t.Fatal("linked before the number arrived: the test's records are too alike")
			}
			// Traced later: the number arrives.
			commitRows(f, LinksDir, models.LinkRow{Feed: "hl7v2", LocalID: "H", PersonID: "PH", NHSNumber: number,
				NHSNumberStatus: string(models.NHSValid), Method: models.LinkByNHSNumber, FamilyName: "Bishop", Sex: "male"})
			if !withCache {
				os.RemoveAll(filepath.Join(f.lk.Root(), cacheDir))
			}
			res := f.run(false)
			if res.Updated != 1 || res.New != 0 || res.IndexCache != map[bool]string{true: "hit", false: "miss"}[withCache] {
				t.Errorf("run %+v, want 1 updated, 0 new", res)
			}
			if p := f.persons(); p["gp/A"] != p["hl7v2/H"] {
				t.Errorf("the NHS number that arrived later did not link: %s vs %s", p["gp/A"], p["hl7v2/H"])
			}
			if res := f.run(false); res.Updated != 0 {
				t.Errorf("the next run relinked %d updated patients again", res.Updated)
			}
		})
	}
}

// TestPresetClusters_RepresentativesMatchPersons: the clusters an
// incremental run starts from are the same from the cache's
// representatives as from grouping person ids, whichever sources are
// active (representatives among them).
func TestPresetClusters_RepresentativesMatchPersons(t *testing.T) {
	f := newMPIFixture(t)
	rows := f.population(60)
	// Three sources for some people: clusters larger than pairs.
	for i := 0; i < 60; i += 7 {
		r := rows[2*i]
		r.Feed, r.LocalID = "hl7v2", "H"+r.LocalID
		rows = append(rows, r)
	}
	commitRows(f, LinksDir, rows...)
	f.run(false)
	ix, err := loadIndex(f.lk)
	if err != nil {
		t.Fatal(err)
	}
	if ix.rep == nil {
		t.Fatal("no cluster representatives from the cache")
	}
	sizes := map[int32]int{}
	for _, r := range ix.rep {
		sizes[r]++
	}
	if sizes[ix.rep[0]] < 2 {
		t.Fatalf("source 0 alone in its cluster: the test needs shared clusters")
	}
	n := len(ix.sources)
	for _, every := range []int{1, 2, 3, 5, n + 1} {
		active := make([]bool, n)
		for i := 0; i < n; i += every {
			active[i] = true
		}
		fromRep, fromIDs := make([]int, n), make([]int, n)
		ix.presetClusters(fromRep, active)
		rep := ix.rep
		ix.rep = nil
		ix.presetClusters(fromIDs, active)
		ix.rep = rep
		if !slices.Equal(fromRep, fromIDs) {
			t.Errorf("every %d active: clusters from representatives %v, from person ids %v", every, fromRep[:12], fromIDs[:12])
		}
	}
}

// TestRun_NHSConflictGoesToReviewNotALink: a source patient linked before
// that starts sending another person's NHS number (ingest writes a
// models.LinkNHSConflict row) is not joined to that person: the pair is
// listed for clerical review, whether the run reads the cache or the lake,
// and a decision on it is honoured.
func TestRun_NHSConflictGoesToReviewNotALink(t *testing.T) {
	for _, withCache := range []bool{true, false} {
		t.Run(fmt.Sprintf("cache %v", withCache), func(t *testing.T) {
			f := newMPIFixture(t)
			numberA, numberB := f.nextNHS(), f.nextNHS()
			rows := append(f.population(100),
				linkRow("gp", "A", "PA", numberA, "Walter", "Bishop", "1946-08-19", "male", "BS1 4DJ"),
				linkRow("gp", "B", "PB", numberB, "Astrid", "Farnsworth", "1985-02-11", "female", "LS6 2QT"))
			commitRows(f, LinksDir, rows...)
			f.run(false)
			// B's next extract carries A's number.
			conflict := linkRow("gp", "B", "PB", numberA, "Astrid", "Farnsworth", "1985-02-11", "female", "LS6 2QT")
			conflict.Method = models.LinkNHSConflict
			commitRows(f, LinksDir, conflict)
			if !withCache {
				os.RemoveAll(filepath.Join(f.lk.Root(), cacheDir))
			}
			res := f.run(false)
			if res.NHSConflicts != 1 || res.Review < 1 || res.Updated != 0 {
				t.Errorf("run %+v, want 1 NHS number conflict among the review pairs and nothing updated", res)
			}
			if p := f.persons(); p["gp/A"] == p["gp/B"] {
				t.Fatalf("the conflicting number joined B to A's person %s", p["gp/A"])
			}
			pairs, err := ReviewList(t.Context(), f.lk)
			if err != nil {
				t.Fatal(err)
			}
			var found *ReviewPair
			for i, p := range pairs {
				if p.Reason == models.LinkNHSConflict {
					if found != nil {
						t.Errorf("conflict listed twice: %+v and %+v", *found, p)
					}
					found = &pairs[i]
				}
			}
			if found == nil || found.A != "gp/B" || found.B != "gp/A" || found.Linked {
				t.Fatalf("review list %+v, want gp/B against gp/A for the NHS number conflict, not linked", pairs)
			}
			// A full run reads every row again: still one pair listed.
			f.run(true)
			if pairs, err = ReviewList(t.Context(), f.lk); err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, p := range pairs {
				if p.Reason == models.LinkNHSConflict {
					n++
				}
			}
			if n != 1 {
				t.Errorf("after a full run %d conflict pairs listed, want 1", n)
			}
			// The clerk decides they are one person: the next run joins them.
			if err := Decide(t.Context(), f.lk, f.nextBatch(), "gp/B", "gp/A", DecisionMatch, "A. Clerk", time.Now()); err != nil {
				t.Fatal(err)
			}
			f.run(false)
			if p := f.persons(); p["gp/A"] != p["gp/B"] {
				t.Errorf("the clerk's match was not honoured: %s vs %s", p["gp/A"], p["gp/B"])
			}
			if pairs, _ := ReviewList(t.Context(), f.lk); slices.ContainsFunc(pairs, func(p ReviewPair) bool { return p.Reason != "" }) {
				t.Errorf("the decided conflict is still listed: %+v", pairs)
			}
		})
	}
}
