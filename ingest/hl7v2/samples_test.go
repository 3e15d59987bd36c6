package hl7v2

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pophealth/pophealth/models"
)

// sampleDir holds the shared HL7 v2 samples (see its README.md). They live
// outside the module, so the tests that read them skip when it is absent.
const sampleDir = "../../../shared/data/feed-samples/hl7v2"

func readSample(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(sampleDir, name))
	if os.IsNotExist(err) {
		t.Skipf("shared samples not present: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// countMSH counts lines that begin with "MSH" in data, by a naive split on
// every terminator; it is the tests' independent count of messages.
func countMSH(data []byte) int {
	n := 0
	for _, line := range bytes.FieldsFunc(data, func(r rune) bool { return r == '\r' || r == '\n' || r == 0x0b || r == 0x1c }) {
		if bytes.HasPrefix(bytes.TrimPrefix(line, utf8BOM), []byte("MSH")) {
			n++
		}
	}
	return n
}

func TestParse_SharedSamplesAreAllAccountedFor(t *testing.T) {
	if _, err := os.Stat(sampleDir); err != nil {
		t.Skipf("shared samples not present: %v", err)
	}
	// The README counts 144 MSH-headed messages plus one headerless block,
	// the first block of malformed_for_quarantine.hl7.
	const wantMessages, wantHeaderless = 144, 1
	var read, headerless int64
	err := filepath.WalkDir(sampleDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() == "README.md" || d.Name() == "LICENSE" {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		name, _ := filepath.Rel(sampleDir, path)
		t.Run(name, func(t *testing.T) {
			st, rec := parse(t, data)
			want := int64(countMSH(data))
			for _, q := range rec.quarantined {
				if strings.HasPrefix(q.Reason, "no MSH segment") {
					want++
					headerless++
				}
			}
			if st.Read != want {
				t.Errorf("read %d source records, want %d (one per MSH, plus headerless blocks)", st.Read, want)
			}
			read += st.Read
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if read != wantMessages+wantHeaderless || headerless != wantHeaderless {
		t.Errorf("read %d source records (%d headerless) in all samples, want %d + %d", read, headerless, wantMessages, wantHeaderless)
	}
}

// withoutRefs returns copies of records with their SourceRef cleared, so
// that field values can be compared on their own.
func withoutRefs(recs []models.Record) []models.Record {
	out := make([]models.Record, len(recs))
	for i, r := range recs {
		switch v := r.(type) {
		case *models.PatientRecord:
			c := *v
			c.Ref = models.SourceRef{}
			out[i] = &c
		case *models.Encounter:
			c := *v
			c.Ref = models.SourceRef{}
			out[i] = &c
		case *models.Diagnosis:
			c := *v
			c.Ref = models.SourceRef{}
			out[i] = &c
		}
	}
	return out
}

func TestParse_UKSamples(t *testing.T) {
	// The handmade samples' synthetic person.
	jane := models.PatientRecord{
		LocalID: "RGT1234567", NHSNumber: "9990000018", NHSNumberStatus: models.NHSVerified,
		GivenName: "JANE", FamilyName: "SMITH", BirthDate: date(1967, time.March, 12), Sex: models.SexFemale,
		Postcode: "CB1 2AB", PracticeCode: "D81001",
	}
	with := func(p models.PatientRecord, edit func(*models.PatientRecord)) *models.PatientRecord {
		edit(&p)
		return &p
	}
	icd10 := func(code string, d *models.Date, enc string) *models.Diagnosis {
		return &models.Diagnosis{PatientID: "RGT1234567", EncounterID: enc, System: models.ICD10, Code: code, Date: d}
	}
	tests := []struct {
		file string
		want []models.Record
	}{
		{"handmade/uk_a01_admit_icd10.hl7", []models.Record{
			&jane,
			&models.Encounter{PatientID: "RGT1234567", EncounterID: "IP240001", Event: "A01", Class: "inpatient",
				AdmissionMethod: "emergency", Start: date(2024, time.January, 5)},
			icd10("I214", date(2024, time.January, 5), "IP240001"),
			icd10("E119", date(2024, time.January, 5), "IP240001"),
		}},
		{"handmade/uk_a03_discharge_final_dx.hl7", []models.Record{
			&jane,
			&models.Encounter{PatientID: "RGT1234567", EncounterID: "IP240001", Event: "A03", Class: "inpatient",
				AdmissionMethod: "emergency", Start: date(2024, time.January, 5), End: date(2024, time.January, 10)},
			icd10("I214", date(2024, time.January, 10), "IP240001"),
			icd10("E119", date(2024, time.January, 10), "IP240001"),
			icd10("I10X", date(2024, time.January, 10), "IP240001"),
		}},
		{"handmade/uk_a04_register_ed.hl7", []models.Record{
			&jane,
			&models.Encounter{PatientID: "RGT1234567", EncounterID: "ED240001", Event: "A04", Class: "emergency",
				Start: date(2024, time.January, 5)},
		}},
		{"handmade/uk_a11_cancel_admit.hl7", []models.Record{
			with(jane, func(p *models.PatientRecord) { p.PracticeCode = "" }),
			&models.Encounter{PatientID: "RGT1234567", EncounterID: "IP240001", Event: "A11", Class: "inpatient",
				AdmissionMethod: "emergency", Start: date(2024, time.January, 5), Cancelled: true},
		}},
		{"handmade/uk_a28_bad_nhs_checkdigit.hl7", []models.Record{
			with(jane, func(p *models.PatientRecord) { p.NHSNumber, p.NHSNumberStatus = "9990000017", models.NHSInvalid }),
		}},
		{"handmade/uk_a08_update_name_address.hl7", []models.Record{
			with(jane, func(p *models.PatientRecord) { p.FamilyName, p.Postcode = "BROWN", "CB7 4AA" }),
		}},
		{"handmade/uk_a31_gp_change.hl7", []models.Record{
			with(jane, func(p *models.PatientRecord) { p.FamilyName, p.Postcode, p.PracticeCode = "BROWN", "CB7 4AA", "D81002" }),
		}},
		{"handmade/uk_a03_death.hl7", []models.Record{
			&models.PatientRecord{LocalID: "RGT5000001", NHSNumber: "9990000077", NHSNumberStatus: models.NHSVerified,
				GivenName: "ARTHUR", FamilyName: "GREEN", BirthDate: date(1930, time.July, 4), Sex: models.SexMale,
				Postcode: "BA1 1AA", PracticeCode: "L81001", DeathDate: date(2024, time.January, 20)},
			&models.Encounter{PatientID: "RGT5000001", EncounterID: "IP240055", Event: "A03", Class: "inpatient",
				AdmissionMethod: "emergency", Start: date(2024, time.January, 15), End: date(2024, time.January, 20)},
			&models.Diagnosis{PatientID: "RGT5000001", EncounterID: "IP240055", System: models.ICD10, Code: "J189",
				Date: date(2024, time.January, 20)},
		}},
		{"handmade/uk_a04_untraced_nfa.hl7", []models.Record{
			&models.PatientRecord{LocalID: "RGT9999001", NHSNumberStatus: models.NHSMissing, GivenName: "MALE",
				FamilyName: "UNKNOWN", BirthDate: date(1980, time.January, 1), Sex: models.SexMale, Postcode: "ZZ99 3VZ"},
			&models.Encounter{PatientID: "RGT9999001", EncounterID: "ED240099", Event: "A04", Class: "emergency",
				Start: date(2024, time.April, 2)},
		}},
		{"handmade/uk_v22_nhs_in_pid2_lf_zseg.hl7", []models.Record{
			&models.PatientRecord{LocalID: "94006200", NHSNumber: "9990000026", NHSNumberStatus: models.NHSValid,
				GivenName: "ERMINTRUDE", FamilyName: "WINFIELD", BirthDate: date(1970, time.January, 30),
				Sex: models.SexFemale, Postcode: "W1K 5HL"},
			&models.Encounter{PatientID: "94006200", EncounterID: "msh-10:PLW0000000001", Event: "A01", Class: "inpatient",
				AdmissionMethod: "other", Start: date(2009, time.February, 11)},
		}},
		{"handmade/latin1_charset.hl7", []models.Record{
			&models.PatientRecord{LocalID: "nhs:9990000069", NHSNumber: "9990000069", NHSNumberStatus: models.NHSValid,
				GivenName: "ZOË", FamilyName: "BRONTË", BirthDate: date(1985, time.January, 1), Sex: models.SexFemale,
				Postcode: "YO1 7HH"},
		}},
		{"handmade/custom_encoding_chars.hl7", []models.Record{
			&models.PatientRecord{LocalID: "RGT3000001", NHSNumber: "9990000042", NHSNumberStatus: models.NHSValid,
				GivenName: "ASHA", FamilyName: "PATEL", BirthDate: date(1975, time.May, 20), Sex: models.SexFemale,
				Postcode: "LS1 4AP"},
		}},
		{"uclh-emap/birth_datetime_midnight_bst.txt", []models.Record{
			&models.PatientRecord{LocalID: "40800000", NHSNumber: "9999999999", NHSNumberStatus: models.NHSValid,
				GivenName: "BLOOD", FamilyName: "ORANGE", BirthDate: date(1925, time.July, 4), Sex: models.SexFemale},
			&models.Encounter{PatientID: "40800000", EncounterID: "123412341234", Event: "A01", Class: "inpatient",
				AdmissionMethod: "other", Start: date(2013, time.February, 11)},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			st, rec := parse(t, readSample(t, tt.file))
			if st.Accepted != st.Read {
				t.Fatalf("stats %+v, quarantined %+v", st, rec.quarantined)
			}
			if got := withoutRefs(rec.records); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("records:\n got %s\nwant %s", dump(got), dump(tt.want))
			}
		})
	}
}

func TestParse_MLLPSampleRefs(t *testing.T) {
	_, rec := parse(t, readSample(t, "handmade/mllp_stream_two_messages.bin"))
	var got []models.SourceRef
	for _, p := range rec.patients() {
		got = append(got, p.Ref)
	}
	want := []models.SourceRef{
		{Feed: models.FeedHL7, File: "test.hl7", Line: 1, Offset: 1, RecordID: "UK0001"},
		{Feed: models.FeedHL7, File: "test.hl7", Line: 6, Offset: 424, RecordID: "UK0003"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("refs = %+v, want %+v", got, want)
	}
}

func TestParse_MalformedSampleQuarantinesEachBlock(t *testing.T) {
	st, rec := parse(t, readSample(t, "handmade/malformed_for_quarantine.hl7"))
	type q struct {
		line   int64
		id     string
		reason string
	}
	want := []q{
		{1, "", `no MSH segment: block starts "EVN|A01|20240105"`},
		{4, "UK0019", "MSH-7: impossible date 20241345250000"},
		{9, "UK0020", `MSH-9: unknown ADT trigger event "A99"`},
		{13, "UK0021", "PV1: missing segment (required for A01)"},
	}
	var got []q
	for _, x := range rec.quarantined {
		got = append(got, q{x.Ref.Line, x.Ref.RecordID, x.Reason})
	}
	if !reflect.DeepEqual(got, want) || st.Accepted != 0 {
		t.Errorf("stats %+v, quarantined:\n got %+v\nwant %+v", st, got, want)
	}
}

// TestParse_UCLHEventSequences checks the events and cancellations read
// from the ordered sequences in the Epic samples, which spell folding
// downstream relies on.
func TestParse_UCLHEventSequences(t *testing.T) {
	tests := []struct {
		dir  string
		want []string // event, with "!" for a cancellation
	}{
		{"uclh-emap/Location/CancelAdmit", []string{"A01", "A11!", "A01", "A02", "A03"}},
		{"uclh-emap/Location/CancelDischarge", []string{"A01", "A02", "A03", "A13!", "A03"}},
		{"uclh-emap/Location/CancelTransfer", []string{"A01", "A02", "A02", "A12!", "A02", "A03"}},
	}
	for _, tt := range tests {
		t.Run(tt.dir, func(t *testing.T) {
			entries, err := os.ReadDir(filepath.Join(sampleDir, tt.dir))
			if err != nil {
				t.Skipf("shared samples not present: %v", err)
			}
			var got []string
			for _, e := range entries { // ReadDir sorts by name: the replay order
				_, rec := parse(t, readSample(t, filepath.Join(tt.dir, e.Name())))
				for _, enc := range rec.encounters() {
					ev := enc.Event
					if enc.Cancelled {
						ev += "!"
					}
					if enc.EncounterID != "123412341234" {
						t.Errorf("%s: visit %q, want 123412341234", e.Name(), enc.EncounterID)
					}
					got = append(got, ev)
				}
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("events = %v, want %v", got, tt.want)
			}
		})
	}
}
