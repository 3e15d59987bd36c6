package synth_test

import (
	"context"
	"fmt"
	"log"
	"maps"
	"os"
	"slices"

	"github.com/pophealth/pophealth/synth"
)

func ExampleGenerate() {
	dir, err := os.MkdirTemp("", "synth-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	opts := synth.DefaultOptions()
	opts.People, opts.OutDir = 500, dir
	sum, err := synth.Generate(context.Background(), opts, nil)
	if err != nil {
		log.Fatal(err)
	}
	for _, name := range slices.Sorted(maps.Keys(sum.Files)) {
		fmt.Println(sum.Files[name].Feed, name)
	}
	fmt.Println(sum.People, "people,", sum.Files["gp/patients.csv"].Records, "GP registrations")
	// Output:
	// fhir fhir/Condition.ndjson
	// fhir fhir/Encounter.ndjson
	// fhir fhir/MedicationRequest.ndjson
	// fhir fhir/Observation.ndjson
	// fhir fhir/Patient.ndjson
	// gp gp/events.csv
	// gp gp/patients.csv
	// hl7v2 hl7v2/adt.hl7
	// 500 people, 500 GP registrations
}
