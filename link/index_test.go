package link

import (
	"fmt"
	"strings"
	"testing"

	"github.com/pophealth/pophealth/models"
)

func patient(feed models.Feed, local, nhs string, status models.NHSNumberStatus) *models.PatientRecord {
	return &models.PatientRecord{Ref: models.SourceRef{Feed: feed}, LocalID: local, NHSNumber: nhs, NHSNumberStatus: status}
}

func seqIndex() *Index {
	ix := NewIndex()
	n := 0
	ix.newID = func() (string, error) { n++; return fmt.Sprintf("P%d", n), nil }
	return ix
}

func TestLink(t *testing.T) {
	const nhsA, nhsB = "9434765919", "9000000009"
	tests := []struct {
		name    string
		records []*models.PatientRecord
		want    []string // person id per record
		methods []string // Linked.Method per record: "" when nothing was added
	}{
		{
			name: "valid NHS number links across feeds",
			records: []*models.PatientRecord{
				patient(models.FeedGP, "g1", nhsA, models.NHSValid),
				patient(models.FeedHL7, "mrn1", nhsA, models.NHSVerified),
				patient(models.FeedFHIR, "f1", nhsA, models.NHSValid),
			},
			want:    []string{"P1", "P1", "P1"},
			methods: []string{models.LinkNew, models.LinkByNHSNumber, models.LinkByNHSNumber},
		},
		{
			name: "invalid NHS number is never a key",
			records: []*models.PatientRecord{
				patient(models.FeedGP, "g1", nhsA, models.NHSInvalid),
				patient(models.FeedHL7, "mrn1", nhsA, models.NHSInvalid),
			},
			want:    []string{"P1", "P2"},
			methods: []string{models.LinkUnmatched, models.LinkUnmatched},
		},
		{
			name: "missing NHS numbers make singletons",
			records: []*models.PatientRecord{
				patient(models.FeedGP, "g1", "", models.NHSMissing),
				patient(models.FeedGP, "g2", "", models.NHSMissing),
			},
			want:    []string{"P1", "P2"},
			methods: []string{models.LinkUnmatched, models.LinkUnmatched},
		},
		{
			name: "same source patient keeps its id without a number",
			records: []*models.PatientRecord{
				patient(models.FeedHL7, "mrn1", nhsA, models.NHSValid),
				patient(models.FeedHL7, "mrn1", "", models.NHSMissing),
			},
			want:    []string{"P1", "P1"},
			methods: []string{models.LinkNew, ""},
		},
		{
			name: "number learned later links other sources",
			records: []*models.PatientRecord{
				patient(models.FeedHL7, "mrn1", "", models.NHSMissing),
				patient(models.FeedHL7, "mrn1", nhsA, models.NHSValid),
				patient(models.FeedGP, "g1", nhsA, models.NHSValid),
			},
			want:    []string{"P1", "P1", "P1"},
			methods: []string{models.LinkUnmatched, models.LinkByNHSNumber, models.LinkByNHSNumber},
		},
		{
			name: "conflicting number does not move a known patient",
			records: []*models.PatientRecord{
				patient(models.FeedGP, "g1", nhsA, models.NHSValid),
				patient(models.FeedGP, "g2", nhsB, models.NHSValid),
				patient(models.FeedGP, "g2", nhsA, models.NHSValid),
			},
			want:    []string{"P1", "P2", "P2"},
			methods: []string{models.LinkNew, models.LinkNew, models.LinkNHSConflict}, // persisted, for review
		},
		{
			name: "same local id in two feeds are different patients",
			records: []*models.PatientRecord{
				patient(models.FeedGP, "1", "", models.NHSMissing),
				patient(models.FeedFHIR, "1", "", models.NHSMissing),
			},
			want:    []string{"P1", "P2"},
			methods: []string{models.LinkUnmatched, models.LinkUnmatched},
		},
		{
			name: "numbers differing only in leading zeros are different numbers",
			records: []*models.PatientRecord{
				patient(models.FeedGP, "g1", "0123", models.NHSValid),
				patient(models.FeedGP, "g2", "123", models.NHSValid),
				patient(models.FeedGP, "g3", "not-digits", models.NHSValid),
				patient(models.FeedFHIR, "f3", "not-digits", models.NHSValid),
			},
			want:    []string{"P1", "P2", "P3", "P3"},
			methods: []string{models.LinkNew, models.LinkNew, models.LinkNew, models.LinkByNHSNumber},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ix := seqIndex()
			for i, r := range tt.records {
				got, err := ix.Link(r)
				if err != nil {
					t.Fatal(err)
				}
				if got.PersonID != tt.want[i] || got.Method != tt.methods[i] {
					t.Errorf("record %d: person %s by %q, want %s by %q", i, got.PersonID, got.Method, tt.want[i], tt.methods[i])
				}
				if got.Added() != (tt.methods[i] != "") {
					t.Errorf("record %d: Added() = %v with method %q", i, got.Added(), got.Method)
				}
			}
		})
	}
}

// entries links records and returns the index entries to persist, as
// ingest writes them, in the columns Load reads.
func entries(t *testing.T, ix *Index, records ...*models.PatientRecord) ([]string, []Entry) {
	t.Helper()
	var ids []string
	var out []Entry
	for _, p := range records {
		l, err := ix.Link(p)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, l.PersonID)
		if l.Added() {
			r := l.Row(p, "b1")
			out = append(out, Entry{Feed: r.Feed, LocalID: r.LocalID, PersonID: r.PersonID, NHSNumber: r.NHSNumber, NHSNumberStatus: r.NHSNumberStatus})
		}
	}
	return ids, out
}

func TestLink_StableAcrossLoad(t *testing.T) {
	for _, ids := range []struct {
		name  string
		index func() *Index
	}{
		{"random ids", NewIndex},
		{"other ids", seqIndex},
	} {
		t.Run(ids.name, func(t *testing.T) {
			first := ids.index()
			got, persisted := entries(t, first,
				patient(models.FeedGP, "g1", "9434765919", models.NHSValid),
				patient(models.FeedGP, "g2", "", models.NHSMissing))
			if len(persisted) != 2 {
				t.Fatalf("persisted = %+v", persisted)
			}
			id, unmatched := got[0], got[1]

			second := ids.index()
			second.newID = func() (string, error) { return "NEW", nil }
			// One entry at a time, as ingest loads the index in chunks.
			for _, e := range persisted {
				second.Load([]Entry{e})
			}
			l, err := second.Link(patient(models.FeedHL7, "m1", "9434765919", models.NHSValid))
			if err != nil || l.PersonID != id || l.Method != models.LinkByNHSNumber {
				t.Errorf("after reload, NHS number links to %+v %v, want %s", l, err, id)
			}
			if got, ok := second.Resolve(models.FeedGP, "g2"); !ok || got != unmatched {
				t.Errorf("after reload, g2 resolves to %s %v, want %s", got, ok, unmatched)
			}
			if l, _ := second.Link(patient(models.FeedGP, "g1", "9434765919", models.NHSValid)); l.PersonID != id || l.Added() {
				t.Errorf("after reload, a loaded patient links to %+v, want %s with nothing added", l, id)
			}
			if s := second.Stats(); s.ByNHSNumber != 1 || s.KnownSource != 1 || s.IndexedSources != 3 {
				t.Errorf("stats = %+v", s)
			}
		})
	}
}

func TestLoad_FirstEntryOwnsNHSNumber(t *testing.T) {
	ix := NewIndex()
	ix.Load([]Entry{
		{Feed: "gp", LocalID: "g1", PersonID: "Pa", NHSNumber: "9434765919", NHSNumberStatus: string(models.NHSValid)},
		{Feed: "gp", LocalID: "g2", PersonID: "Pb", NHSNumber: "9434765919", NHSNumberStatus: string(models.NHSValid)},
		{Feed: "gp", LocalID: "g3", PersonID: "Pc", NHSNumber: "9000000009", NHSNumberStatus: string(models.NHSInvalid)},
	})
	l, _ := ix.Link(patient(models.FeedFHIR, "f1", "9434765919", models.NHSVerified))
	if l.PersonID != "Pa" {
		t.Errorf("number links to %s, want the first entry's Pa", l.PersonID)
	}
	l, _ = ix.Link(patient(models.FeedFHIR, "f2", "9000000009", models.NHSValid))
	if l.PersonID == "Pc" || l.Method != models.LinkNew {
		t.Errorf("an invalid number loaded must not key a link: %+v", l)
	}
}

func TestResolve(t *testing.T) {
	ix := seqIndex()
	if _, ok := ix.Resolve(models.FeedGP, "g1"); ok {
		t.Fatal("unknown patient resolved")
	}
	// The miss just looked up must not stay cached once the patient arrives.
	if _, err := ix.Link(patient(models.FeedGP, "g1", "", models.NHSMissing)); err != nil {
		t.Fatal(err)
	}
	if _, err := ix.Link(patient(models.FeedGP, "g2", "", models.NHSMissing)); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		feed  models.Feed
		local string
		want  string
		ok    bool
	}{
		{models.FeedGP, "g1", "P1", true},
		{models.FeedGP, "g1", "P1", true},
		{models.FeedGP, "g2", "P2", true},
		{models.FeedFHIR, "g2", "", false},
		{models.FeedGP, "g2", "P2", true},
		{models.FeedGP, "", "", false},
		{models.FeedGP, "g1", "P1", true},
	}
	for i, tt := range tests {
		got, ok := ix.Resolve(tt.feed, tt.local)
		if got != tt.want || ok != tt.ok {
			t.Errorf("%d: Resolve(%s, %q) = %s %v, want %s %v", i, tt.feed, tt.local, got, ok, tt.want, tt.ok)
		}
	}
}

func TestPersonID_RoundTrip(t *testing.T) {
	canonical, err := randomID()
	if err != nil {
		t.Fatal(err)
	}
	tests := []string{
		canonical,
		"P" + strings.ToUpper(canonical[1:]), // upper-case hex: not the same string once decoded
		"P" + strings.Repeat("0", 16) + canonical[17:],
		"P1",
		"Q" + canonical[1:],
		"",
	}
	ix := NewIndex()
	ps := map[personID]string{}
	for _, id := range tests {
		p := ix.personOf(id)
		if other, ok := ps[p]; ok {
			t.Errorf("%q and %q share %x", id, other, p)
		}
		ps[p] = id
		if got := ix.id(p); got != id {
			t.Errorf("id(personOf(%q)) = %q", id, got)
		}
	}
	for p, id := range ps {
		// Uncached, and a second personOf of the same id is the same.
		ix.lastID.id = ""
		if got := ix.id(p); got != id || ix.personOf(id) != p {
			t.Errorf("%q: id %q, personOf %x want %x", id, got, ix.personOf(id), p)
		}
	}
}

func TestNHSKey(t *testing.T) {
	tests := []struct {
		in string
		ok bool
	}{
		{"9434765919", true},
		{"0434765919", true},
		{"434765919", true},
		{"12345678901234567", true},
		{"99999999999999999", true},
		{"09999999999999999", true},
		{"123456789012345678", false},
		{"943 476 5919", false},
		{"", false},
	}
	seen := map[uint64]string{}
	for _, tt := range tests {
		k, ok := nhsKey(tt.in)
		if ok != tt.ok {
			t.Errorf("nhsKey(%q) ok = %v, want %v", tt.in, ok, tt.ok)
			continue
		}
		if !ok {
			continue
		}
		if other, dup := seen[k]; dup {
			t.Errorf("%q and %q share key %d", tt.in, other, k)
		}
		seen[k] = tt.in
	}
}

func TestRandomID_Unique(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 1000; i++ {
		id, err := randomID()
		if err != nil {
			t.Fatal(err)
		}
		if seen[id] {
			t.Fatalf("duplicate id %s", id)
		}
		seen[id] = true
	}
}
