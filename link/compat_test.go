package link

import (
	"context"
	"testing"

	"github.com/pophealth/pophealth/lake"
	"github.com/pophealth/pophealth/models"
)

// linkRowV1 is models.LinkRow as ingest wrote it before linkage stored the
// details it compares.
type linkRowV1 struct {
	Feed            string `parquet:"feed"`
	LocalID         string `parquet:"local_id"`
	PersonID        string `parquet:"person_id"`
	NHSNumber       string `parquet:"nhs_number,optional"`
	NHSNumberStatus string `parquet:"nhs_number_status"`
	Method          string `parquet:"method"`
	BatchID         string `parquet:"batch_id"`
}

func TestRun_ReadsIndexRowsWrittenBeforeDemographics(t *testing.T) {
	lk, key := testLake(t)
	b, err := lk.Begin("20260101T000001Z-000000")
	if err != nil {
		t.Fatal(err)
	}
	rows := []linkRowV1{
		{Feed: "gp", LocalID: "G1", PersonID: "P1", NHSNumber: "9434765919", NHSNumberStatus: "valid", Method: "new", BatchID: "20260101T000001Z-000000"},
		{Feed: "fhir", LocalID: "F1", PersonID: "P1", NHSNumber: "9434765919", NHSNumberStatus: "valid", Method: "nhs_number", BatchID: "20260101T000001Z-000000"},
		{Feed: "hl7v2", LocalID: "H1", PersonID: "P2", NHSNumberStatus: "missing", Method: "unmatched", BatchID: "20260101T000001Z-000000"},
	}
	if err := lake.Append(b, LinksDir, rows...); err != nil {
		t.Fatal(err)
	}
	if err := b.Commit(lake.Manifest{BatchID: "20260101T000001Z-000000"}); err != nil {
		t.Fatal(err)
	}
	res, err := Run(context.Background(), lk, RunOptions{BatchID: "20260101T000002Z-000000", Key: key, Settings: DefaultSettings()})
	if err != nil {
		t.Fatal(err)
	}
	if res.Sources != 3 || res.Persons != 2 {
		t.Errorf("run %+v, want 3 sources in 2 people (the NHS number links two; the third has nothing to compare)", res)
	}
	p, err := Persons(context.Background(), lk)
	if err != nil {
		t.Fatal(err)
	}
	if p["gp/G1"] != "P1" || p["fhir/F1"] != "P1" || p["hl7v2/H1"] != "P2" {
		t.Errorf("persons %v, want the ingest ids kept", p)
	}
	_ = models.LinkRow{}
}
