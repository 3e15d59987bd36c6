package link

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/pophealth/pophealth/lake"
	"github.com/pophealth/pophealth/models"
	"github.com/pophealth/pophealth/models/nhsnumber"
	"github.com/pophealth/pophealth/pseudonymise"
)

// mpiFixture is a lake holding a master person index written batch by
// batch, as the ingest job writes it.
type mpiFixture struct {
	t     *testing.T
	lk    *lake.Lake
	key   pseudonymise.Key
	batch int
	nhs   int
	// cachePart, when set, is the runs' index cache base part size.
	cachePart int
}

func newMPIFixture(t *testing.T) *mpiFixture {
	t.Helper()
	lk, key := testLake(t)
	return &mpiFixture{t: t, lk: lk, key: key, nhs: 100_000_000}
}

// testLake opens an empty lake in a temporary directory with a new key.
func testLake(tb testing.TB) (*lake.Lake, pseudonymise.Key) {
	tb.Helper()
	lk, err := lake.Open(filepath.Join(tb.TempDir(), "lake"))
	if err != nil {
		tb.Fatal(err)
	}
	key, err := pseudonymise.NewKey()
	if err != nil {
		tb.Fatal(err)
	}
	return lk, key
}

func (f *mpiFixture) nextBatch() string {
	f.batch++
	return fmt.Sprintf("20260101T%06dZ-000000", f.batch)
}

// nextNHS returns a new valid NHS number.
func (f *mpiFixture) nextNHS() string {
	for {
		f.nhs++
		nine := fmt.Sprint(f.nhs)
		if c, ok := nhsnumber.CheckDigit(nine); ok {
			return nine + string(c)
		}
	}
}

// commit writes rows of the restricted zone in one batch.
func commitRows[T any](f *mpiFixture, dir string, rows ...T) {
	f.t.Helper()
	id := f.nextBatch()
	b, err := f.lk.Begin(id)
	if err != nil {
		f.t.Fatal(err)
	}
	for i := range rows {
		switch r := any(&rows[i]).(type) {
		case *models.LinkRow:
			r.BatchID = id
		case *models.MergeRow:
			r.BatchID = id
		}
	}
	if err := lake.Append(b, dir, rows...); err != nil {
		f.t.Fatal(err)
	}
	if err := b.Commit(lake.Manifest{BatchID: id}); err != nil {
		f.t.Fatal(err)
	}
}

func (f *mpiFixture) run(full bool) RunResult {
	f.t.Helper()
	res, err := Run(context.Background(), f.lk, RunOptions{BatchID: f.nextBatch(), Key: f.key, Full: full, Settings: DefaultSettings(), cachePart: f.cachePart})
	if err != nil {
		f.t.Fatal(err)
	}
	distinct := map[string]bool{}
	for _, p := range f.persons() {
		distinct[p] = true
	}
	if res.Persons != len(distinct) {
		f.t.Errorf("run reports %d persons, the index holds %d", res.Persons, len(distinct))
	}
	return res
}

func (f *mpiFixture) persons() map[string]string {
	f.t.Helper()
	p, err := Persons(context.Background(), f.lk)
	if err != nil {
		f.t.Fatal(err)
	}
	return p
}

func linkRow(feed, local, person, nhs, given, family, dob, sex, postcode string) models.LinkRow {
	status := models.NHSMissing
	if nhs != "" {
		status = models.NHSValid
	}
	d, err := models.ParseDate(dob)
	if err != nil {
		panic(err)
	}
	return models.LinkRow{Feed: feed, LocalID: local, PersonID: person, NHSNumber: nhs, NHSNumberStatus: string(status),
		Method: models.LinkNew, GivenName: given, FamilyName: family, BirthDate: &d, Sex: sex, Postcode: postcode}
}

// population returns n people, each described by a GP record and a
// community record sharing the NHS number, so that the model has
// something to learn from.
func (f *mpiFixture) population(n int) []models.LinkRow {
	given := []string{"Oliver", "Amelia", "George", "Isla", "Harry", "Ava", "Noah", "Mia", "Jack", "Ivy", "Leo", "Grace", "Arthur", "Freya", "Oscar", "Lily"}
	family := []string{"Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Patel", "Wright", "Walker", "White", "Evans", "Thomas", "Roberts", "Green", "Hall", "Wood", "Clarke", "Hughes"}
	r := rand.New(rand.NewPCG(1, 2))
	var rows []models.LinkRow
	for i := range n {
		nhs := f.nextNHS()
		g, fam := given[r.IntN(len(given))], family[r.IntN(len(family))]
		dob := fmt.Sprintf("%04d-%02d-%02d", 1930+r.IntN(90), 1+r.IntN(12), 1+r.IntN(28))
		sex := []string{"male", "female"}[r.IntN(2)]
		pc := fmt.Sprintf("LS%d %d%c%c", 1+r.IntN(20), r.IntN(10), 'A'+r.IntN(26), 'A'+r.IntN(26))
		person := fmt.Sprintf("P%06d", i)
		rows = append(rows,
			linkRow("gp", fmt.Sprintf("G%06d", i), person, nhs, g, fam, dob, sex, pc),
			linkRow("fhir", fmt.Sprintf("F%06d", i), person, nhs, g, fam, dob, sex, pc))
	}
	return rows
}

func TestRun_StableIDsMergesAndUnmerges(t *testing.T) {
	f := newMPIFixture(t)
	john := f.nextNHS()
	rows := f.population(300)
	rows = append(rows,
		linkRow("gp", "JOHN", "PJOHN", john, "Johnathan", "Quartermaine", "1980-01-02", "male", "SW1A 1AA"),
		linkRow("fhir", "JOHN2", "PJOHN2", "", "Johnathan", "Quartermaine", "1980-01-02", "male", "SW1A 1AA"),
		linkRow("hl7v2", "KHAN1", "PKHAN1", "", "Ahmed", "Khanmohammadi", "1990-03-03", "male", "M1 1AE"),
		linkRow("hl7v2", "KHAN2", "PKHAN2", "", "Bilal", "Hussain", "1971-07-30", "male", "B1 1AA"),
	)
	commitRows(f, LinksDir, rows...)

	first := f.run(false)
	if first.Mode != "full" {
		t.Fatalf("first run mode %q, want full", first.Mode)
	}
	p := f.persons()
	if p["fhir/JOHN2"] != p["gp/JOHN"] {
		t.Fatalf("record without NHS number not linked: %q vs %q", p["fhir/JOHN2"], p["gp/JOHN"])
	}
	johnID := p["gp/JOHN"]
	if p["hl7v2/KHAN1"] == p["hl7v2/KHAN2"] {
		t.Fatal("two different people linked")
	}

	t.Run("a new record links incrementally and ids stay", func(t *testing.T) {
		commitRows(f, LinksDir, linkRow("hl7v2", "JOHN3", "PJOHN3", "", "Jonathan", "Quartermain", "1980-01-02", "male", "SW1A 1AA"))
		res := f.run(false)
		if res.Mode != "incremental" || res.New != 1 || res.Moved != 0 {
			t.Fatalf("run %+v, want incremental with 1 new and 0 moved", res)
		}
		q := f.persons()
		if q["hl7v2/JOHN3"] != johnID {
			t.Errorf("new record joined %q, want %q", q["hl7v2/JOHN3"], johnID)
		}
		for s, id := range p {
			if q[s] != id {
				t.Errorf("%s moved from %s to %s", s, id, q[s])
			}
		}
	})

	t.Run("an A40 merge joins two people and is recorded", func(t *testing.T) {
		commitRows(f, MergesDir, models.MergeRow{Feed: "hl7v2", LocalID: "KHAN1", RetiredLocalID: "KHAN2", Event: "A40", RecordID: "M1"})
		khan1, khan2 := p["hl7v2/KHAN1"], p["hl7v2/KHAN2"]
		res := f.run(false)
		if res.Merges != 1 || res.A40 != 1 {
			t.Fatalf("run %+v, want 1 merge from 1 A40", res)
		}
		q := f.persons()
		if q["hl7v2/KHAN1"] != q["hl7v2/KHAN2"] {
			t.Fatalf("A40 not honoured: %s vs %s", q["hl7v2/KHAN1"], q["hl7v2/KHAN2"])
		}
		merges, err := readAll[models.PersonMergeRow](f.lk, personMergesDir)
		if err != nil {
			t.Fatal(err)
		}
		if len(merges) != 1 || merges[0].Reason != "a40" ||
			!(merges[0].RetiredPersonID == khan2 && merges[0].SurvivingPersonID == khan1 || merges[0].RetiredPersonID == khan1 && merges[0].SurvivingPersonID == khan2) {
			t.Errorf("merges %+v, want one a40 merge of %s and %s", merges, khan1, khan2)
		}
		// The pseudonym lake rows were written under now maps to the survivor's.
		ps := pseudonymise.New(f.key)
		keys, err := readAll[models.PersonKeyMapRow](f.lk, KeyMapDir)
		if err != nil {
			t.Fatal(err)
		}
		retired, surviving := merges[0].RetiredPersonID, merges[0].SurvivingPersonID
		found := false
		for _, k := range keys {
			if k.FromKey == ps.PersonKey(retired) && k.ToKey == ps.PersonKey(surviving) {
				found = true
			}
		}
		if !found {
			t.Errorf("no key map row from %s's key to %s's", retired, surviving)
		}
	})

	t.Run("an A40 naming the retired patient by NHS number only", func(t *testing.T) {
		number := f.nextNHS()
		commitRows(f, LinksDir,
			linkRow("hl7v2", "SURV", "PSURV", "", "Edith", "Crawley", "1931-05-05", "female", "YO1 7HH"),
			linkRow("hl7v2", "OLD", "POLD", number, "Edie", "Marsh", "1931-06-05", "female", "HG1 1AA"))
		f.run(false)
		if q := f.persons(); q["hl7v2/SURV"] == q["hl7v2/OLD"] {
			t.Fatal("linked before the merge: the test's records are too alike")
		}
		commitRows(f, MergesDir, models.MergeRow{Feed: "hl7v2", LocalID: "SURV", RetiredNHSNumber: number, Event: "A40", RecordID: "M2"})
		f.run(false)
		if q := f.persons(); q["hl7v2/SURV"] != q["hl7v2/OLD"] {
			t.Errorf("A40 by NHS number not honoured: %s vs %s", q["hl7v2/SURV"], q["hl7v2/OLD"])
		}
	})

	t.Run("a confirmed un-merge separates and keeps apart", func(t *testing.T) {
		if err := Decide(context.Background(), f.lk, f.nextBatch(), "gp/JOHN", "hl7v2/JOHN3", DecisionNonMatch, "test clerk", testNow); err != nil {
			t.Fatal(err)
		}
		f.run(false)
		q := f.persons()
		if q["hl7v2/JOHN3"] == q["gp/JOHN"] {
			t.Fatal("un-merge not honoured")
		}
		if q["gp/JOHN"] != johnID {
			t.Errorf("gp/JOHN moved to %s, want %s", q["gp/JOHN"], johnID)
		}
		// A full relink keeps the decision and the ids.
		f.run(true)
		r := f.persons()
		if r["hl7v2/JOHN3"] == r["gp/JOHN"] || r["gp/JOHN"] != johnID {
			t.Errorf("after full relink: JOHN3 %s, JOHN %s, want apart and JOHN %s", r["hl7v2/JOHN3"], r["gp/JOHN"], johnID)
		}
	})
}

var testNow = mustTime("2026-12-03T10:00:00Z")

func TestReviewList_LatestScoreOfUndecidedPairs(t *testing.T) {
	f := newMPIFixture(t)
	commitRows(f, LinksDir,
		linkRow("gp", "A", "PA", "", "Ann", "Lee", "1960-01-01", "female", "LS1 1AA"),
		linkRow("fhir", "B", "PB", "", "Anne", "Lee", "1960-01-10", "female", "LS1 2AA"),
		linkRow("hl7v2", "C", "PC", "", "Ann", "Leigh", "1960-01-01", "female", "LS1 1AB"))
	commitRows(f, reviewDir,
		models.LinkReviewRow{A: "gp/A", B: "fhir/B", Probability: 0.30, BatchID: "20260101T000010Z-000000"},
		models.LinkReviewRow{A: "gp/A", B: "hl7v2/C", Probability: 0.10, BatchID: "20260101T000010Z-000000"})
	// A later run scored A/B again, the other way round.
	commitRows(f, reviewDir, models.LinkReviewRow{A: "fhir/B", B: "gp/A", Probability: 0.45, BatchID: "20260101T000011Z-000000"})

	pairs, err := ReviewList(context.Background(), f.lk)
	if err != nil {
		t.Fatal(err)
	}
	if len(pairs) != 2 || pairs[0].Probability != 0.45 || pairs[1].Probability != 0.10 {
		t.Fatalf("review list %+v, want A/B at 0.45 then A/C at 0.10", pairs)
	}
	if err := Decide(context.Background(), f.lk, f.nextBatch(), "hl7v2/C", "gp/A", DecisionMatch, "clerk", testNow); err != nil {
		t.Fatal(err)
	}
	if pairs, _ = ReviewList(context.Background(), f.lk); len(pairs) != 1 || pairs[0].B != "gp/A" {
		t.Errorf("after deciding A/C: %+v, want only A/B", pairs)
	}
	if err := Decide(context.Background(), f.lk, f.nextBatch(), "gp/A", "gp/NOPE", DecisionMatch, "clerk", testNow); err == nil {
		t.Error("a decision on an unknown source patient was recorded")
	}
	if err := Decide(context.Background(), f.lk, f.nextBatch(), "gp/A", "fhir/B", "maybe", "clerk", testNow); err == nil {
		t.Error("a decision other than match or non-match was recorded")
	}
}

func TestMajority_MostVotesSmallestOnTieBlanksAbstain(t *testing.T) {
	many := func(n int, p string) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = p
		}
		return out
	}
	for _, tc := range []struct {
		name    string
		persons []string
		want    string
	}{
		{"one vote", []string{"P1"}, "P1"},
		{"no votes", []string{"", ""}, ""},
		{"most votes", []string{"P2", "P1", "P2"}, "P2"},
		{"tie takes the smallest", []string{"P2", "P1", "", "P1", "P2"}, "P1"},
		{"large group most votes", append(many(20, "P9"), many(21, "P3")...), "P3"},
		{"large group tie", append(append(many(20, "P9"), many(20, "P3")...), many(5, "")...), "P3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := make([]int32, len(tc.persons))
			for i := range g {
				g[i] = int32(i)
			}
			if got := majority(g, tc.persons); got != tc.want {
				t.Errorf("majority(%v) = %q, want %q", tc.persons, got, tc.want)
			}
		})
	}
}

// Review files written before LinkReviewRow had a reason still read, each
// pair with no reason (a model-scored pair).
func TestReadFiles_ReviewFilesWithoutReason(t *testing.T) {
	type oldReviewRow struct {
		A           string  `parquet:"a"`
		B           string  `parquet:"b"`
		Weight      float64 `parquet:"weight"`
		Probability float64 `parquet:"probability"`
		BatchID     string  `parquet:"batch_id"`
	}
	name := filepath.Join(t.TempDir(), "old.parquet")
	if err := parquet.WriteFile(name, []oldReviewRow{{A: "gp/1", B: "gp/2", Weight: 1.5, Probability: 0.6, BatchID: "B0"}}); err != nil {
		t.Fatal(err)
	}
	got, err := readFiles[models.LinkReviewRow]([]string{name})
	if err != nil {
		t.Fatal(err)
	}
	want := []models.LinkReviewRow{{A: "gp/1", B: "gp/2", Weight: 1.5, Probability: 0.6, BatchID: "B0"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("read %+v, want %+v", got, want)
	}
}
