package jobs

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/pophealth/pophealth/link"
	"github.com/pophealth/pophealth/models"
	"github.com/pophealth/pophealth/pseudonymise"
)

func TestPatientsDone(t *testing.T) {
	gpPatients := &input{feed: models.FeedGP, rank: 0}
	gpEvents := &input{feed: models.FeedGP, rank: 1}
	fhirObs := &input{feed: models.FeedFHIR, rank: 1}
	hl7 := &input{feed: models.FeedHL7}
	tests := []struct {
		name string
		rest []*input
		want bool
	}{
		{"GP events after the patients files", []*input{gpEvents, gpEvents}, true},
		{"GP events with another feed's patients to come", []*input{gpEvents, fhirObs, hl7}, true},
		{"GP patients file itself", []*input{gpPatients, gpEvents}, false},
		{"GP events with a GP patients file to come", []*input{gpEvents, gpPatients}, false},
		{"FHIR files may hold patients anywhere", []*input{fhirObs}, false},
		{"HL7 messages carry their patient", []*input{hl7}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := patientsDone(tt.rest); got != tt.want {
				t.Errorf("patientsDone = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestBatchSink_QuarantinesOrphansAtOnceWhenNoPatientCanFollow(t *testing.T) {
	lk, key := newLakeAndKey(t, filepath.Join(t.TempDir(), "lake"))
	b, err := lk.Begin("20261203T000000Z-000001")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Abort()
	s := newBatchSink(b, link.NewIndex(), pseudonymise.New(key), "20261203T000000Z-000001", time.Now())
	obs := func(file string, line int64, patient string) *models.Observation {
		return &models.Observation{Ref: models.SourceRef{Feed: models.FeedGP, File: file, Line: line}, PatientID: patient, Code: "x"}
	}
	s.startFile(models.FeedGP, false)
	if err := s.Record(obs("a.csv", 2, "nobody")); err != nil {
		t.Fatal(err)
	}
	s.startFile(models.FeedGP, true)
	for _, r := range []*models.Observation{obs("b.csv", 2, "nobody"), obs("b.csv", 2, "nobody"), obs("b.csv", 3, "nobody")} {
		if err := s.Record(r); err != nil {
			t.Fatal(err)
		}
	}
	if len(s.deferred) != 1 || s.rows["quarantine"] != 2 || s.moved["b.csv"] != 2 {
		t.Fatalf("deferred %d, quarantined %d, moved %v: want only a.csv's record deferred and b.csv's two source records quarantined",
			len(s.deferred), s.rows["quarantine"], s.moved)
	}
	moved, err := s.resolveDeferred()
	if err != nil {
		t.Fatal(err)
	}
	if moved["a.csv"] != 1 || moved["b.csv"] != 2 || s.rows["quarantine"] != 3 {
		t.Errorf("after the batch: moved %v, quarantined %d", moved, s.rows["quarantine"])
	}
}

func TestSlab_CopiesOutliveAndIgnoreTheOriginals(t *testing.T) {
	var sl slab[models.Date]
	if got := sl.copy(nil); got != nil {
		t.Errorf("copy(nil) = %v, want nil", got)
	}
	var orig []*models.Date
	var copies []*models.Date
	for i := range 3*slabSize + 7 {
		d := models.Date(i)
		orig = append(orig, &d)
		copies = append(copies, sl.copy(&d))
	}
	for i, p := range orig {
		*p = -1 // the parser's record may be reused or freed
		if *copies[i] != models.Date(i) {
			t.Fatalf("copy %d = %d after the original changed, want %d", i, *copies[i], i)
		}
	}
}
