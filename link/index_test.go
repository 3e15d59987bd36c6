package link

import (
	"fmt"
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
	}{
		{
			name: "valid NHS number links across feeds",
			records: []*models.PatientRecord{
				patient(models.FeedGP, "g1", nhsA, models.NHSValid),
				patient(models.FeedHL7, "mrn1", nhsA, models.NHSVerified),
				patient(models.FeedFHIR, "f1", nhsA, models.NHSValid),
			},
			want: []string{"P1", "P1", "P1"},
		},
		{
			name: "invalid NHS number is never a key",
			records: []*models.PatientRecord{
				patient(models.FeedGP, "g1", nhsA, models.NHSInvalid),
				patient(models.FeedHL7, "mrn1", nhsA, models.NHSInvalid),
			},
			want: []string{"P1", "P2"},
		},
		{
			name: "missing NHS numbers make singletons",
			records: []*models.PatientRecord{
				patient(models.FeedGP, "g1", "", models.NHSMissing),
				patient(models.FeedGP, "g2", "", models.NHSMissing),
			},
			want: []string{"P1", "P2"},
		},
		{
			name: "same source patient keeps its id without a number",
			records: []*models.PatientRecord{
				patient(models.FeedHL7, "mrn1", nhsA, models.NHSValid),
				patient(models.FeedHL7, "mrn1", "", models.NHSMissing),
			},
			want: []string{"P1", "P1"},
		},
		{
			name: "number learned later links other sources",
			records: []*models.PatientRecord{
				patient(models.FeedHL7, "mrn1", "", models.NHSMissing),
				patient(models.FeedHL7, "mrn1", nhsA, models.NHSValid),
				patient(models.FeedGP, "g1", nhsA, models.NHSValid),
			},
			want: []string{"P1", "P1", "P1"},
		},
		{
			name: "conflicting number does not move a known patient",
			records: []*models.PatientRecord{
				patient(models.FeedGP, "g1", nhsA, models.NHSValid),
				patient(models.FeedGP, "g2", nhsB, models.NHSValid),
				patient(models.FeedGP, "g2", nhsA, models.NHSValid),
			},
			want: []string{"P1", "P2", "P2"},
		},
		{
			name: "same local id in two feeds are different patients",
			records: []*models.PatientRecord{
				patient(models.FeedGP, "1", "", models.NHSMissing),
				patient(models.FeedFHIR, "1", "", models.NHSMissing),
			},
			want: []string{"P1", "P2"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ix := seqIndex()
			for i, r := range tt.records {
				got, err := ix.Link(r, "b1")
				if err != nil {
					t.Fatal(err)
				}
				if got != tt.want[i] {
					t.Errorf("record %d: person %s, want %s", i, got, tt.want[i])
				}
			}
		})
	}
}

func TestLink_StableAcrossLoad(t *testing.T) {
	first := seqIndex()
	id, _ := first.Link(patient(models.FeedGP, "g1", "9434765919", models.NHSValid), "b1")
	unmatched, _ := first.Link(patient(models.FeedGP, "g2", "", models.NHSMissing), "b1")
	pending := first.Pending()
	if len(pending) != 2 || pending[0].Method != models.LinkNew || pending[1].Method != models.LinkUnmatched {
		t.Fatalf("pending = %+v", pending)
	}

	second := seqIndex()
	second.newID = func() (string, error) { return "NEW", nil }
	second.Load(pending)
	if got, _ := second.Link(patient(models.FeedHL7, "m1", "9434765919", models.NHSValid), "b2"); got != id {
		t.Errorf("after reload, NHS number links to %s, want %s", got, id)
	}
	if got, ok := second.Resolve(models.FeedGP, "g2"); !ok || got != unmatched {
		t.Errorf("after reload, g2 resolves to %s %v, want %s", got, ok, unmatched)
	}
	if len(second.Pending()) != 1 {
		t.Errorf("loaded entries must not be pending again: %+v", second.Pending())
	}
	if s := second.Stats(); s.ByNHSNumber != 1 || s.IndexedSources != 3 {
		t.Errorf("stats = %+v", s)
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
