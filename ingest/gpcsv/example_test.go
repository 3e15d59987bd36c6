package gpcsv_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/pophealth/pophealth/ingest/gpcsv"
	"github.com/pophealth/pophealth/models"
)

// printSink prints what Parse passes it.
type printSink struct{}

func (printSink) Record(r models.Record) error {
	switch r := r.(type) {
	case *models.Diagnosis:
		fmt.Printf("line %d: diagnosis %s %s on %s\n", r.Ref.Line, r.System, r.Code, r.Date)
	case *models.Observation:
		fmt.Printf("line %d: observation %s = %g %s\n", r.Ref.Line, r.Code, *r.Value, r.Unit)
	case *models.Medication:
		fmt.Printf("line %d: medication %s %s\n", r.Ref.Line, r.System, r.Code)
	}
	return nil
}

func (printSink) Quarantine(q models.Quarantined) error {
	fmt.Printf("line %d: quarantined (%s): %s\n", q.Ref.Line, q.Reason, q.Raw)
	return nil
}

func ExampleParse() {
	const events = `event_id,patient_id,event_date,event_type,code_system,code,value,unit
E1,G000123,2024-02-10,problem,snomed,44054006,,
E2,G000123,10/02/2024,observation,snomed,999791000000106,62,mmol/mol
E3,G000123,2024-02-30,medication,dmd,325278002,,
E4,G000123,2024-02-10,medication,dmd,325278002,,
`
	stats, err := gpcsv.Parse(context.Background(), strings.NewReader(events), "events.csv", printSink{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("read %d: accepted %d, quarantined %d\n", stats.Read, stats.Accepted, stats.Quarantined)
	// Output:
	// line 2: diagnosis snomed 44054006 on 2024-02-10
	// line 3: observation 999791000000106 = 62 mmol/mol
	// line 4: quarantined (event_date: impossible date 2024-02-30): E3,G000123,2024-02-30,medication,dmd,325278002,,
	// line 5: medication dmd 325278002
	// read 4: accepted 3, quarantined 1
}
