package hl7v2_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/pophealth/pophealth/ingest/hl7v2"
	"github.com/pophealth/pophealth/models"
)

// printSink prints what Parse yields.
type printSink struct{}

func (printSink) Record(r models.Record) error {
	switch v := r.(type) {
	case *models.PatientRecord:
		fmt.Printf("patient %s NHS %s (%s) born %s\n", v.LocalID, v.NHSNumber, v.NHSNumberStatus, v.BirthDate)
	case *models.Encounter:
		fmt.Printf("encounter %s %s %s from %s\n", v.EncounterID, v.Event, v.Class, v.Start)
	case *models.Diagnosis:
		fmt.Printf("diagnosis %s %s\n", v.System, v.Code)
	}
	return nil
}

func (printSink) Quarantine(q models.Quarantined) error {
	fmt.Printf("quarantined line %d: %s\n", q.Ref.Line, q.Reason)
	return nil
}

func ExampleParse() {
	const feed = "MSH|^~\\&|PAS|RGT01|ROUTE|PHLAKE|20240105113000||ADT^A01^ADT_A01|M1|P|2.4\r" +
		"PID|1||9434765919^^^NHS^NH~RGT0000001^^^RGT^MR||DOE^JOHN||19800229|M\r" +
		"PV1|1|I||21|||||||||||||||IP0001^^^RGT^VN|||||||||||||||||||||||||20240105110000\r" +
		"DG1|1||E11.9^Type 2 diabetes mellitus^I10\r" +
		"MSH|^~\\&|PAS|RGT01|ROUTE|PHLAKE|20240105113000||ADT^A28^ADT_A05|M2|P|2.4\r" +
		"PID|1||RGT0000002^^^RGT^MR||ROE^JANE||20230230|F\r"
	stats, err := hl7v2.Parse(context.Background(), strings.NewReader(feed), "adt.hl7", printSink{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("read %d, accepted %d, quarantined %d\n", stats.Read, stats.Accepted, stats.Quarantined)
	// Output:
	// patient RGT0000001 NHS 9434765919 (valid) born 1980-02-29
	// encounter IP0001 A01 inpatient from 2024-01-05
	// diagnosis icd10 E119
	// quarantined line 5: PID-7: impossible date 20230230
	// read 2, accepted 1, quarantined 1
}
