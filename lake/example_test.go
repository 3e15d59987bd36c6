package lake_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/pophealth/pophealth/lake"
	"github.com/pophealth/pophealth/models"
)

// A writer appends rows to a batch and commits it; readers then find the
// batch's files through the manifests.
func Example() {
	root, err := os.MkdirTemp("", "lake-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(root)

	l, err := lake.Open(root)
	if err != nil {
		log.Fatal(err)
	}
	b, err := l.Begin("20240401T000000Z-a1b2c3")
	if err != nil {
		log.Fatal(err)
	}
	defer b.Abort() // does nothing once committed, apart from saying so

	admitted := models.NewDate(2024, time.March, 14)
	rows := []struct {
		dir string
		row models.EncounterRow
	}{
		{lake.PseudoDir(models.TableEncounter, models.FeedHL7, &admitted), models.EncounterRow{PersonKey: "k1", EncounterKey: "e1", Class: "inpatient", StartDate: &admitted}},
		{lake.PseudoDir(models.TableEncounter, models.FeedHL7, &admitted), models.EncounterRow{PersonKey: "k2", EncounterKey: "e2", Class: "emergency", StartDate: &admitted}},
		{lake.PseudoDir(models.TableEncounter, models.FeedHL7, nil), models.EncounterRow{PersonKey: "k2", EncounterKey: "e3", Class: "outpatient"}},
	}
	for _, r := range rows {
		if err := lake.Append(b, r.dir, r.row); err != nil {
			log.Fatal(err)
		}
	}
	err = b.Commit(lake.Manifest{Inputs: []lake.InputFile{{
		Path: "feeds/adt-20240401.hl7", Feed: "hl7v2", Size: 2048, Read: 3, Accepted: 3, Emitted: 3,
		SHA256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
	}}})
	if err != nil {
		log.Fatal(err)
	}

	files, err := l.Files("pseudo/encounter")
	if err != nil {
		log.Fatal(err)
	}
	for _, f := range files {
		rel, _ := filepath.Rel(root, f)
		fmt.Println(filepath.ToSlash(rel))
	}
	m, ingested, err := l.Ingested("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(ingested, m.BatchID, m.Counts)
	// Output:
	// pseudo/encounter/source=hl7v2/year=2024/month=03/part-20240401T000000Z-a1b2c3.parquet
	// pseudo/encounter/source=hl7v2/year=__HIVE_DEFAULT_PARTITION__/month=__HIVE_DEFAULT_PARTITION__/part-20240401T000000Z-a1b2c3.parquet
	// true 20240401T000000Z-a1b2c3 map[pseudo/encounter:3]
}
