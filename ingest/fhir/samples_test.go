package fhir

import (
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/pophealth/pophealth/ingest/feed"
	"github.com/pophealth/pophealth/models"
)

// samples is the shared collection of public FHIR feeds (see its
// README.md): Synthea Bulk Data NDJSON, NHS PDS Patients and searchsets,
// and FHIR-Converter Bundles.
const samples = "../../../shared/data/feed-samples/fhir"

func readSample(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(samples, name))
	if os.IsNotExist(err) {
		t.Skipf("sample feeds not present: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestParse_EverySampleFileAccountsForEveryRecord(t *testing.T) {
	if _, err := os.Stat(samples); err != nil {
		t.Skipf("sample feeds not present: %v", err)
	}
	n := 0
	err := filepath.WalkDir(samples, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || (filepath.Ext(path) != ".json" && filepath.Ext(path) != ".ndjson") {
			return err
		}
		n++
		t.Run(strings.TrimPrefix(path, samples+"/"), func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			stats, _ := parseBytes(t, data)
			if stats.Read == 0 {
				t.Errorf("no records read")
			}
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 40 {
		t.Errorf("walked %d sample files, want the 40 or more the README lists", n)
	}
}

func TestParse_SampleFileCounts(t *testing.T) {
	tests := []struct {
		file string
		want feed.Stats
		skip map[string]int64 // expected entries of Stats.Skipped
	}{
		{"synthea-bulk-10/Patient.000.ndjson", feed.Stats{Read: 13, Accepted: 13, Emitted: 13}, nil},
		{"synthea-bulk-10/Encounter.000.ndjson", feed.Stats{Read: 417, Accepted: 417, Emitted: 417}, nil},
		{"synthea-bulk-10/Condition.000.ndjson", feed.Stats{Read: 287, Accepted: 287, Emitted: 287}, nil},
		{"synthea-bulk-10/MedicationRequest.000.ndjson", feed.Stats{Read: 262, Accepted: 262}, map[string]int64{"MedicationRequest:rxnorm-only": 262}},
		{"synthea-bulk-10/Procedure.000.ndjson", feed.Stats{Read: 664, Accepted: 664, Emitted: 664}, nil},
		{"synthea-bulk-10/Immunization.000.ndjson", feed.Stats{Read: 141, Accepted: 141}, map[string]int64{"resource:Immunization": 141}},
		// The export log is not FHIR: its lines have no resourceType.
		{"synthea-bulk-10/log.ndjson", feed.Stats{Read: 4, Quarantined: 4}, nil},
		{"nhs-pds-patients/pds-patients.ndjson", feed.Stats{Read: 18, Accepted: 18, Emitted: 18}, nil},
		{"nhs-pds-patients/searchset/fuzzy_multimatch_searchset.json", feed.Stats{Read: 20, Accepted: 20, Emitted: 20}, nil},
		// One entry has no resource.
		{"fhir-converter-bundles/ObservationBundle.json", feed.Stats{Read: 3, Accepted: 2, Quarantined: 1, Emitted: 2}, nil},
		// The Patient holds a raw ISO-8859-1 byte.
		{"fhir-converter-bundles/batch-response-bundle.json", feed.Stats{Read: 3, Accepted: 2, Quarantined: 1, Emitted: 2}, nil},
		{"fhir-converter-bundles/ADT-A01-02-expected.json", feed.Stats{Read: 47, Accepted: 47, Emitted: 2}, map[string]int64{"resource:Location": 18, "resource:Organization": 14}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			stats, _ := parseBytes(t, readSample(t, tt.file))
			if stats.Read != tt.want.Read || stats.Accepted != tt.want.Accepted ||
				stats.Quarantined != tt.want.Quarantined || stats.Emitted != tt.want.Emitted {
				t.Errorf("stats %+v, want %+v", stats, tt.want)
			}
			for kind, n := range tt.skip {
				if stats.Skipped[kind] != n {
					t.Errorf("skipped %d %s, want %d", stats.Skipped[kind], kind, n)
				}
			}
		})
	}
}

func TestParse_PDSPatients(t *testing.T) {
	tests := []struct {
		file string
		want models.PatientRecord
	}{
		{"nhs-pds-patients/patient/patient_9000000009.json", models.PatientRecord{
			LocalID: "9000000009", NHSNumber: "9000000009", NHSNumberStatus: models.NHSVerified,
			GivenName: "Jane", FamilyName: "Smith", BirthDate: date(2010, 10, 22), Sex: models.SexFemale,
			Postcode: "LS1 6AE", PracticeCode: "Y12345", RegisteredFrom: date(2020, 1, 1), DeathDate: date(2010, 10, 22),
		}},
		// A postcode sent without its space; an old name beside the usual one.
		{"nhs-pds-patients/patient/patient_9732110317.json", models.PatientRecord{
			LocalID: "9732110317", NHSNumber: "9732110317", NHSNumberStatus: models.NHSVerified,
			GivenName: "Adrian", FamilyName: "Sanderson", BirthDate: date(1936, 6, 21), Sex: models.SexMale,
			Postcode: "ZY5T 2PX",
		}},
		// The minimal record: no name, birth date or gender.
		{"nhs-pds-patients/patient/patient_9000000033.json", models.PatientRecord{
			LocalID: "9000000033", NHSNumber: "9000000033", NHSNumberStatus: models.NHSVerified, Sex: models.SexUnknown,
		}},
		// A searchset Bundle whose entry precedes resourceType.
		{"nhs-pds-patients/searchset/dateOfDeath_searchset.json", models.PatientRecord{
			LocalID: "9733163201", NHSNumber: "9733163201", NHSNumberStatus: models.NHSVerified,
			GivenName: "Debra", FamilyName: "TUNNEY", BirthDate: date(1980, 1, 21), Sex: models.SexFemale,
			Postcode: "DN17 4RF", PracticeCode: "A20047", RegisteredFrom: date(1988, 6, 17), DeathDate: date(2019, 2, 7),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			_, c := parseBytes(t, readSample(t, tt.file))
			if len(c.records) != 1 {
				t.Fatalf("got %d records, want 1", len(c.records))
			}
			got, ok := c.records[0].(*models.PatientRecord)
			if !ok {
				t.Fatalf("got %T, want *models.PatientRecord", c.records[0])
			}
			got.Ref = models.SourceRef{}
			if !reflect.DeepEqual(*got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", *got, tt.want)
			}
		})
	}
}

func TestParse_SyntheaRecords(t *testing.T) {
	_, c := parseBytes(t, readSample(t, "synthea-bulk-10/Condition.000.ndjson"))
	d := c.records[0].(*models.Diagnosis)
	want := models.Diagnosis{
		Ref:         d.Ref,
		PatientID:   "cbc86e51-9eca-3855-76ec-c058f72c5761",
		EncounterID: "630e9657-e9a0-0fd5-48d6-5f6a0470463a",
		System:      models.SNOMED, Code: "423315002", Date: date(2014, 5, 18),
	}
	if d.Ref.RecordID != "0051f413-0d84-7179-a81a-2104ea01fe43" || !reflect.DeepEqual(*d, want) {
		t.Errorf("first Condition: got %+v, want %+v", *d, want)
	}

	_, c = parseBytes(t, readSample(t, "synthea-bulk-10/Patient.000.ndjson"))
	p := c.records[0].(*models.PatientRecord)
	// Synthea is American: no NHS number, a ZIP code kept as sent, and
	// the death time's zone (-04:00) does not move the date.
	if p.NHSNumberStatus != models.NHSMissing || p.Postcode != "66801" || p.FamilyName != "Medhurst46" ||
		p.DeathDate == nil || *p.DeathDate != *date(1989, 5, 9) {
		t.Errorf("first Patient: %+v", p)
	}
}

func TestParse_ObservationValues(t *testing.T) {
	// FHIR-Converter's sample Observation: LOINC, UCUM unit code.
	_, c := parseBytes(t, readSample(t, "fhir-converter-bundles/ObservationBundle.json"))
	o, ok := c.records[1].(*models.Observation)
	if !ok || o.PatientID != "f001" || o.System != models.LOINC || o.Code != "15074-8" ||
		o.Value == nil || *o.Value != 6.3 || o.Unit != "mmol/L" || o.Date == nil || *o.Date != *date(2013, 4, 2) {
		t.Errorf("Observation: %+v", c.records[1])
	}

	// A Synthea blood-pressure panel: one record per component.
	data, err := os.ReadFile("testdata/synthea-blood-pressure.ndjson")
	if err != nil {
		t.Fatal(err)
	}
	_, c = parseBytes(t, data)
	var got []string
	for _, r := range c.records {
		o := r.(*models.Observation)
		got = append(got, o.Code+"="+formatValue(o.Value)+o.Unit+"@"+o.Date.String())
	}
	if g, w := strings.Join(got, " "), "8462-4=82mm[Hg]@2019-06-11 8480-6=131mm[Hg]@2019-06-11"; g != w {
		t.Errorf("blood pressure components: %s, want %s", g, w)
	}
}
