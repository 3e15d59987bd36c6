package fhir_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/pophealth/pophealth/ingest/fhir"
	"github.com/pophealth/pophealth/models"
)

// printer is a feed.Sink that prints what it is given.
type printer struct{}

func (printer) Record(r models.Record) error {
	switch r := r.(type) {
	case *models.PatientRecord:
		fmt.Printf("line %d: patient %s, NHS number %s (%s), born %s\n", r.Ref.Line, r.LocalID, r.NHSNumber, r.NHSNumberStatus, r.BirthDate)
	case *models.Diagnosis:
		fmt.Printf("line %d: patient %s has %s %s since %s\n", r.Ref.Line, r.PatientID, r.System, r.Code, r.Date)
	}
	return nil
}

func (printer) Quarantine(q models.Quarantined) error {
	fmt.Printf("line %d: quarantined %s: %s\n", q.Ref.Line, q.Ref.RecordID, q.Reason)
	return nil
}

func ExampleParse() {
	const ndjson = `{"resourceType":"Patient","id":"p1","identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"943 476 5919"}],"birthDate":"1956-04-12"}
{"resourceType":"Condition","id":"c1","subject":{"reference":"Patient/p1"},"code":{"coding":[{"system":"http://snomed.info/sct","code":"44054006"}]},"recordedDate":"2024-02-10"}
{"resourceType":"Immunization","id":"x1","patient":{"reference":"Patient/p1"}}
{"resourceType":"Observation","id":"o1","code":{"coding":[{"system":"http://loinc.org","code":"4548-4"}]}}
`
	stats, err := fhir.Parse(context.Background(), strings.NewReader(ndjson), "example.ndjson", printer{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("read %d, accepted %d, quarantined %d, skipped %v\n", stats.Read, stats.Accepted, stats.Quarantined, stats.Skipped)
	// Output:
	// line 1: patient p1, NHS number 9434765919 (valid), born 1956-04-12
	// line 2: patient p1 has snomed 44054006 since 2024-02-10
	// line 4: quarantined o1: Observation has no subject
	// read 4, accepted 3, quarantined 1, skipped map[resource:Immunization:1]
}
