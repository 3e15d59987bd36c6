package gpcsv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/pophealth/pophealth/ingest/feed"
	"github.com/pophealth/pophealth/models"
)

// testNow is the clock of the tests: the latest acceptable date of birth
// is 2025-06-16.
func testNow() time.Time { return time.Date(2025, 6, 15, 12, 0, 0, 0, time.UTC) }

const (
	patientsHeader = "patient_id,nhs_number,given_name,family_name,date_of_birth,sex,postcode,practice_code,registration_date,deregistration_date,date_of_death"
	eventsHeader   = "event_id,patient_id,event_date,event_type,code_system,code,value,unit"
)

// recorder is a feed.Sink that keeps what it receives.
type recorder struct {
	records     []models.Record
	quarantined []models.Quarantined
}

func (r *recorder) Record(rec models.Record) error {
	r.records = append(r.records, rec)
	return nil
}

func (r *recorder) Quarantine(q models.Quarantined) error {
	r.quarantined = append(r.quarantined, q)
	return nil
}

// run parses input as file with the test clock and a bound of maxRecord
// bytes, and checks what every parse must keep: the accounting, and source
// references that point at the right bytes of the input.
func run(t testing.TB, r io.Reader, input []byte, maxRecord int) (*recorder, feed.Stats, error) {
	t.Helper()
	var rec recorder
	stats, err := parse(context.Background(), r, "test.csv", &rec, testNow(), maxRecord)
	checkOutput(t, input, stats, &rec)
	return &rec, stats, err
}

// runCSVOnly is run with every row read by csv.Reader, none by the fast
// path for plain lines, to compare the two.
func runCSVOnly(t testing.TB, input []byte, maxRecord int) (*recorder, feed.Stats, error) {
	t.Helper()
	var rec recorder
	p := newParser(context.Background(), bytes.NewReader(input), "test.csv", &rec, testNow(), maxRecord)
	p.csvOnly = true
	stats, err := p.run()
	checkOutput(t, input, stats, &rec)
	return &rec, stats, err
}

// parseBytes parses input as Parse would, but with the test clock.
func parseBytes(t testing.TB, input []byte) (*recorder, feed.Stats, error) {
	t.Helper()
	return run(t, bytes.NewReader(input), input, maxRecordBytes)
}

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// checkOutput checks the invariants of a parse of input: the accounting
// balances and matches what the sink got; every SourceRef's Line is the
// line of its Offset, records come in input order and none starts on a
// line ending; every quarantined Raw is the input's bytes at its Offset.
func checkOutput(t testing.TB, input []byte, stats feed.Stats, rec *recorder) {
	t.Helper()
	if err := stats.Balanced(); err != nil {
		t.Error(err)
	}
	if got := int64(len(rec.records)); got != stats.Accepted || got != stats.Emitted {
		t.Errorf("sink got %d records; stats say accepted %d, emitted %d", got, stats.Accepted, stats.Emitted)
	}
	if got := int64(len(rec.quarantined)); got != stats.Quarantined {
		t.Errorf("sink got %d quarantine entries; stats say %d", got, stats.Quarantined)
	}
	refs := make(map[int64]*models.SourceRef)
	for _, r := range rec.records {
		refs[r.Source().Offset] = r.Source()
	}
	for i, q := range rec.quarantined {
		refs[q.Ref.Offset] = &rec.quarantined[i].Ref
		if end := q.Ref.Offset + int64(len(q.Raw)); q.Ref.Offset < 0 || end > int64(len(input)) ||
			!bytes.Equal(input[q.Ref.Offset:end], q.Raw) {
			t.Errorf("quarantined %+v: Raw %q is not the input at its offset", q.Ref, q.Raw)
		}
		if bytes.HasSuffix(q.Raw, []byte{'\n'}) {
			t.Errorf("quarantined %+v: Raw %q keeps its line ending", q.Ref, q.Raw)
		}
	}
	if len(refs) != len(rec.records)+len(rec.quarantined) {
		t.Errorf("%d records and %d quarantine entries share offsets", len(rec.records), len(rec.quarantined))
	}
	for off, ref := range refs {
		if off < 0 || off >= int64(len(input)) {
			t.Errorf("%+v: offset outside the input", *ref)
			continue
		}
		if want := 1 + int64(bytes.Count(input[:off], []byte{'\n'})); ref.Line != want {
			t.Errorf("%+v: offset %d is on line %d", *ref, off, want)
		}
		if c := input[off]; c == '\n' || (c == '\r' && off+1 < int64(len(input)) && input[off+1] == '\n') {
			t.Errorf("%+v: starts on a line ending", *ref)
		}
		if ref.Feed != models.FeedGP || ref.File != "test.csv" {
			t.Errorf("%+v: want feed gp, file test.csv", *ref)
		}
	}
	var last int64 = -1
	for _, r := range rec.records {
		if r.Source().Offset <= last {
			t.Errorf("records out of input order at offset %d", r.Source().Offset)
		}
		last = r.Source().Offset
	}
}

// ref returns the SourceRef of the row of input that starts with prefix.
func ref(t *testing.T, input []byte, prefix, id string) models.SourceRef {
	t.Helper()
	i := bytes.Index(input, []byte("\n"+prefix))
	if i < 0 {
		t.Fatalf("no row %q in input", prefix)
	}
	off := int64(i + 1)
	return models.SourceRef{
		Feed: models.FeedGP, File: "test.csv", RecordID: id,
		Line: 1 + int64(bytes.Count(input[:off], []byte{'\n'})), Offset: off,
	}
}

func date(s string) *models.Date {
	d, err := models.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return &d
}

func float(f float64) *float64 { return &f }

// show formats a record with the values its pointers point to.
func show(r any) string {
	v := reflect.ValueOf(r)
	if v.Kind() == reflect.Pointer {
		v = v.Elem()
	}
	var b strings.Builder
	b.WriteString(v.Type().Name() + "{")
	for i := range v.NumField() {
		f := v.Field(i)
		if f.Kind() == reflect.Pointer {
			if f.IsNil() {
				f = reflect.ValueOf("nil")
			} else {
				f = f.Elem()
			}
		}
		fmt.Fprintf(&b, " %s:%v", v.Type().Field(i).Name, f.Interface())
	}
	return b.String() + " }"
}

func checkRecords(t *testing.T, got, want []models.Record) {
	t.Helper()
	for i := range max(len(got), len(want)) {
		switch {
		case i >= len(got):
			t.Errorf("missing record %s", show(want[i]))
		case i >= len(want):
			t.Errorf("unexpected record %s", show(got[i]))
		case !reflect.DeepEqual(got[i], want[i]):
			t.Errorf("record %d:\n got %s\nwant %s", i, show(got[i]), show(want[i]))
		}
	}
}

func TestParse_ReadsPatientsFile(t *testing.T) {
	input := readFixture(t, "patients.csv")
	rec, stats, err := parseBytes(t, input)
	if err != nil {
		t.Fatal(err)
	}
	patient := func(prefix string, p models.PatientRecord) models.Record {
		p.Ref = ref(t, input, prefix+",", prefix)
		p.LocalID = prefix
		return &p
	}
	want := []models.Record{
		patient("G000123", models.PatientRecord{NHSNumber: "9990000018", NHSNumberStatus: models.NHSValid,
			GivenName: "Jane", FamilyName: "Smith", BirthDate: date("1956-04-12"), Sex: models.SexFemale,
			Postcode: "LS1 4AP", PracticeCode: "B86001", RegisteredFrom: date("2001-05-01")}),
		patient("G000124", models.PatientRecord{NHSNumber: "9434765919", NHSNumberStatus: models.NHSValid,
			GivenName: "John", FamilyName: "O'Brien", BirthDate: date("1948-11-03"), Sex: models.SexMale,
			Postcode: "LS1 4AP", PracticeCode: "B86001", RegisteredFrom: date("1990-06-12"), DeathDate: date("2024-01-09")}),
		patient("G000125", models.PatientRecord{NHSNumber: "9434765918", NHSNumberStatus: models.NHSInvalid,
			GivenName: "Alex", FamilyName: "Taylor", BirthDate: date("2019-02-28"), Sex: models.SexOther,
			Postcode: "SW1A 1AA", PracticeCode: "B86001", RegisteredFrom: date("2019-03-01"), RegisteredTo: date("2023-07-31")}),
		patient("G000126", models.PatientRecord{NHSNumberStatus: models.NHSMissing,
			GivenName: "Sam", FamilyName: "Jones", BirthDate: date("2000-02-29"), Sex: models.SexUnknown,
			Postcode: "NOT KNOWN", PracticeCode: "B86001", RegisteredFrom: date("2000-03-15")}),
		patient("G000127", models.PatientRecord{NHSNumber: "12345", NHSNumberStatus: models.NHSInvalid,
			GivenName: "Mo", FamilyName: "Khan", BirthDate: date("1970-01-01"), Sex: models.SexMale,
			Postcode: "M1 1AE", PracticeCode: "Y02847", RegisteredFrom: date("1995-10-10")}),
		patient("G000128", models.PatientRecord{NHSNumber: "9990000018", NHSNumberStatus: models.NHSValid,
			GivenName: "Ann", FamilyName: "Lee", BirthDate: date("1980-12-31"), Sex: models.SexFemale,
			PracticeCode: "Y02847", RegisteredFrom: date("2004-01-05")}),
		patient("G000129", models.PatientRecord{NHSNumberStatus: models.NHSMissing,
			GivenName: "Chris", FamilyName: "Ng", BirthDate: date("1991-07-04"), Sex: models.SexOther,
			Postcode: "EC1A 1BB", PracticeCode: "Y02847", RegisteredFrom: date("2010-08-20")}),
	}
	checkRecords(t, rec.records, want)
	if stats.Read != 7 || len(stats.Skipped) != 0 {
		t.Errorf("stats %+v, want 7 read and nothing skipped", stats)
	}
}

func TestParse_ReadsEventsFile(t *testing.T) {
	input := readFixture(t, "events.csv")
	rec, stats, err := parseBytes(t, input)
	if err != nil {
		t.Fatal(err)
	}
	r := func(id string) models.SourceRef { return ref(t, input, id+",", id) }
	want := []models.Record{
		&models.Diagnosis{Ref: r("E1"), PatientID: "G000123", System: models.SNOMED, Code: "44054006", Date: date("2024-02-10")},
		&models.Observation{Ref: r("E2"), PatientID: "G000123", System: models.SNOMED, Code: "999791000000106",
			Value: float(62), Unit: "mmol/mol", Date: date("2024-02-10")},
		&models.Medication{Ref: r("E3"), PatientID: "G000123", System: models.DMD, Code: "325278002", Date: date("2024-02-10")},
		&models.Observation{Ref: r("E4"), PatientID: "G000124", System: models.SNOMED, Code: "60621009",
			Value: float(27.4), Unit: "kg/m2", Date: date("2023-12-01")},
		&models.Observation{Ref: r("E5"), PatientID: "G000124", System: models.SNOMED, Code: "271649006",
			Value: float(-150), Unit: "mm[Hg]", Date: date("2023-12-01")},
		&models.Observation{Ref: r("E6"), PatientID: "G000124", System: models.SNOMED, Code: "228273003", Date: date("2023-12-01")},
		&models.Diagnosis{Ref: r("E7"), PatientID: "G000125", System: models.SNOMED, Code: "38341003", Date: date("2022-06-30")},
	}
	checkRecords(t, rec.records, want)
	if stats.Read != 7 || stats.Skipped != nil {
		t.Errorf("stats %+v, want 7 read, nothing skipped", stats)
	}
}

func TestParse_ReadsEncodingsAndLineEndings(t *testing.T) {
	const h = "patient_id,given_name,family_name,date_of_birth,sex,practice_code,registration_date"
	row := func(id, given, family string) string {
		return id + "," + given + "," + family + ",1990-01-01,F,B86001,2010-01-01"
	}
	// A Windows-1252 file whose first non-ASCII byte comes after more
	// than a csv.Reader's and the tape's buffers of ASCII rows.
	late := []byte(h + "\n")
	for len(late) < 100_000 {
		late = append(late, row("A", "Ann", "Lee")+"\n"...)
	}
	late = append(late, row("W1", "Zo\xeb", "Se\xe1n")+"\n"...)

	tests := []struct {
		name  string
		input []byte
		want  []string // "given family" of each record
	}{
		{"UTF-8, LF", []byte(h + "\n" + row("P1", "Zoë", "Ní Bhriain") + "\n" + row("P2", "Seán", "O’Brien") + "\n"),
			[]string{"Zoë Ní Bhriain", "Seán O’Brien"}},
		{"UTF-8, CRLF", []byte(h + "\r\n" + row("P1", "Zoë", "Ní Bhriain") + "\r\n" + row("P2", "Seán", "O’Brien") + "\r\n"),
			[]string{"Zoë Ní Bhriain", "Seán O’Brien"}},
		{"UTF-8 with BOM, CRLF", readFixture(t, "patients-utf8-bom-crlf.csv"),
			[]string{"Zoë Müller", "Seán O’Brien"}},
		{"UTF-8 with BOM, quoted first column", []byte("\xef\xbb\xbf\"patient_id\"" + h[len("patient_id"):] + "\n" + row("P1", "Zoë", "Lee") + "\n"),
			[]string{"Zoë Lee"}},
		{"Windows-1252, CRLF", readFixture(t, "patients-cp1252.csv"),
			[]string{"Zoë Müller", "Seán O’Brien", "Siân Ní Bhriain", "Renée François"}},
		{"Windows-1252 after 100 KB of ASCII", late, nil},
		{"one Windows-1252 row among UTF-8 rows", []byte(h + "\n" + row("P1", "Zoë", "Lee") + "\n" + row("P2", "Se\xe1n", "Lee") + "\n" + row("P3", "Siân", "Lee") + "\n"),
			[]string{"Zoë Lee", "Seán Lee", "Siân Lee"}},
		{"no line ending after the last row", []byte(h + "\n" + row("P1", "Ann", "Lee") + "\n" + row("P2", "Bob", "Lee")),
			[]string{"Ann Lee", "Bob Lee"}},
		{"blank lines between rows", []byte("\n" + h + "\n\n\r\n" + row("P1", "Ann", "Lee") + "\n\n" + row("P2", "Bob", "Lee") + "\n\n"),
			[]string{"Ann Lee", "Bob Lee"}},
		{"lone CR at the end", []byte(h + "\r\n" + row("P1", "Ann", "Lee") + "\r"),
			[]string{"Ann Lee"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, stats, err := parseBytes(t, tt.input)
			if err != nil {
				t.Fatal(err)
			}
			if stats.Quarantined != 0 {
				t.Fatalf("quarantined %+v", rec.quarantined)
			}
			var got []string
			for _, r := range rec.records {
				p := r.(*models.PatientRecord)
				got = append(got, p.GivenName+" "+p.FamilyName)
			}
			if tt.want == nil { // the Windows-1252 row is the last
				tt.want = []string{"Zoë Seán"}
				got = got[len(got)-1:]
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("names %q, want %q", got, tt.want)
			}
		})
	}
}

func TestParse_ReadsQuotedFields(t *testing.T) {
	const h = "patient_id,given_name,family_name,date_of_birth,sex,practice_code,registration_date"
	for _, eol := range []string{"\n", "\r\n"} {
		input := []byte(h + eol +
			`P1,"Mary` + eol + `Anne","Smith, Jr",1956-04-12,F,B86001,2001-05-01` + eol +
			`"P2","Jo ""JJ""",Jones,1956-04-12,F,B86001,2001-05-01` + eol +
			`P3,"",Lee,1956-04-12,F,B86001,2001-05-01` + eol)
		t.Run(fmt.Sprintf("%q", eol), func(t *testing.T) {
			rec, _, err := parseBytes(t, input)
			if err != nil {
				t.Fatal(err)
			}
			type name struct {
				id, given, family string
				line              int64
			}
			var got []name
			for _, r := range rec.records {
				p := r.(*models.PatientRecord)
				got = append(got, name{p.LocalID, p.GivenName, p.FamilyName, p.Ref.Line})
			}
			want := []name{{"P1", "Mary\nAnne", "Smith, Jr", 2}, {"P2", `Jo "JJ"`, "Jones", 4}, {"P3", "", "Lee", 5}}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestParse_FindsColumnsByNameInAnyOrderAndCase(t *testing.T) {
	input := readFixture(t, "events-reordered.csv")
	rec, stats, err := parseBytes(t, input)
	if err != nil {
		t.Fatal(err)
	}
	want := []models.Record{
		&models.Diagnosis{Ref: ref(t, input, "44054006,", "E1"), PatientID: "G000123", System: models.SNOMED,
			Code: "44054006", Date: date("2024-02-10")},
		&models.Observation{Ref: ref(t, input, "999791000000106,", "E2"), PatientID: "G000123", System: models.SNOMED,
			Code: "999791000000106", Value: float(48), Unit: "mmol/mol", Date: date("2024-03-01")},
	}
	checkRecords(t, rec.records, want)
	// Unknown columns, an unnamed one and one of the patients file are
	// counted once each, however many rows there are.
	wantSkipped := map[string]int64{"column:source_system": 1, "column:#10": 1, "column:sex": 1}
	if !reflect.DeepEqual(stats.Skipped, wantSkipped) {
		t.Errorf("skipped %v, want %v", stats.Skipped, wantSkipped)
	}
}

func TestParse_RejectsFileWithoutRequiredColumns(t *testing.T) {
	tests := []struct {
		name, input string
		missing     []string
		reason      string // a part of the error's message
	}{
		{"patients file without registration_date",
			"patient_id,date_of_birth,sex,practice_code\nP1,1990-01-01,F,B86001\n",
			[]string{"registration_date"}, "patients file without required column(s) registration_date"},
		{"events file without code and code_system",
			"event_id,patient_id,event_date,event_type,value\nE1,P1,2024-01-01,problem,\n",
			[]string{"code", "code_system"}, "events file without required column(s) code, code_system"},
		{"neither kind",
			"id,name\n1,x\n",
			[]string{"code", "code_system", "date_of_birth", "event_date", "event_id", "event_type", "patient_id",
				"practice_code", "registration_date", "sex"},
			"neither a patients file (missing date_of_birth, patient_id, practice_code, registration_date, sex) nor an events file"},
		{"only the column both kinds share",
			"patient_id\nP1\n",
			[]string{"code", "code_system", "date_of_birth", "event_date", "event_id", "event_type",
				"practice_code", "registration_date", "sex"}, "neither"},
		{"empty file", "", nil, "empty file"},
		{"only a byte-order mark", "\xef\xbb\xbf", nil, "empty file"},
		{"only blank lines", "\n\r\n\n", nil, "empty file"},
		{"a column twice",
			eventsHeader + ",code\nE1,P1,2024-01-01,problem,snomed,44054006,,,44054006\n",
			nil, "column code appears more than once"},
		{"the columns of both kinds",
			eventsHeader + ",date_of_birth,sex,practice_code,registration_date\n",
			nil, "both a patients and an events file"},
		{"UTF-16", "\xff\xfep\x00a\x00", nil, "UTF-16"},
		{"malformed header", "patient_id,\"sex\"x\n", nil, "malformed CSV"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, stats, err := parseBytes(t, []byte(tt.input))
			var herr *HeaderError
			if !errors.As(err, &herr) {
				t.Fatalf("error %v, want a *HeaderError", err)
			}
			if !reflect.DeepEqual(herr.Missing, tt.missing) || herr.File != "test.csv" {
				t.Errorf("%+v, want file test.csv, missing %q", herr, tt.missing)
			}
			if msg := err.Error(); !strings.Contains(msg, tt.reason) || !strings.Contains(msg, "test.csv") {
				t.Errorf("error %q does not name the file and say %q", msg, tt.reason)
			}
			if !reflect.DeepEqual(stats, feed.Stats{}) || len(rec.records)+len(rec.quarantined) != 0 {
				t.Errorf("stats %+v, sink %+v: want nothing read", stats, rec)
			}
		})
	}
}

// quarantineCase is one row that must be quarantined for reason.
type quarantineCase struct {
	name, row, reason, recordID string
}

func checkQuarantine(t *testing.T, header string, tests []quarantineCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			input := []byte(header + "\r\n" + tt.row + "\r\n")
			rec, stats, err := parseBytes(t, input)
			if err != nil {
				t.Fatal(err)
			}
			if stats.Read != 1 || stats.Quarantined != 1 {
				t.Fatalf("stats %+v, records %v: want the row quarantined", stats, rec.records)
			}
			want := models.Quarantined{
				Ref: models.SourceRef{Feed: models.FeedGP, File: "test.csv", Line: 2,
					Offset: int64(len(header) + 2), RecordID: tt.recordID},
				Reason: tt.reason,
				Raw:    []byte(tt.row),
			}
			if got := rec.quarantined[0]; !reflect.DeepEqual(got, want) {
				t.Errorf("got  %+v %q\nwant %+v %q", got, got.Raw, want, want.Raw)
			}
		})
	}
}

func TestParse_QuarantinesBadPatientRow(t *testing.T) {
	checkQuarantine(t, patientsHeader, []quarantineCase{
		{"empty patient_id", " ,,Jo,Lee,1990-01-01,F,,B86001,2010-01-01,,",
			"patient_id: required value is empty", ""},
		{"empty date_of_birth", "P1,,Jo,Lee,,F,,B86001,2010-01-01,,",
			"date_of_birth: required value is empty", "P1"},
		{"impossible British date", "P1,,Jo,Lee,30/02/2023,F,,B86001,2010-01-01,,",
			"date_of_birth: impossible date 30/02/2023", "P1"},
		{"impossible ISO date", "P1,,Jo,Lee,2023-13-01,F,,B86001,2010-01-01,,",
			"date_of_birth: impossible date 2023-13-01", "P1"},
		{"not a date", "P1,,Jo,Lee,12-02-2023,F,,B86001,2010-01-01,,",
			`date_of_birth: not a date "12-02-2023" (want YYYY-MM-DD or DD/MM/YYYY)`, "P1"},
		{"birth in the future", "P1,,Jo,Lee,2025-06-17,F,,B86001,2010-01-01,,",
			"date_of_birth: in the future: 2025-06-17", "P1"},
		{"empty sex", "P1,,Jo,Lee,1990-01-01,,,B86001,2010-01-01,,",
			"sex: required value is empty", "P1"},
		{"unknown sex code", "P1,,Jo,Lee,1990-01-01,X,,B86001,2010-01-01,,",
			`sex: unknown code "X" (want M, F, I, U, 1, 2 or 9)`, "P1"},
		{"sex spelt out", "P1,,Jo,Lee,1990-01-01,Male,,B86001,2010-01-01,,",
			`sex: unknown code "Male" (want M, F, I, U, 1, 2 or 9)`, "P1"},
		{"empty practice_code", "P1,,Jo,Lee,1990-01-01,F,,,2010-01-01,,",
			"practice_code: required value is empty", "P1"},
		{"empty registration_date", "P1,,Jo,Lee,1990-01-01,F,,B86001,,,",
			"registration_date: required value is empty", "P1"},
		{"impossible registration_date", "P1,,Jo,Lee,1990-01-01,F,,B86001,29/02/2023,,",
			"registration_date: impossible date 29/02/2023", "P1"},
		{"impossible deregistration_date", "P1,,Jo,Lee,1990-01-01,F,,B86001,2010-01-01,2023-02-29,",
			"deregistration_date: impossible date 2023-02-29", "P1"},
		{"date_of_death not a date", "P1,,Jo,Lee,1990-01-01,F,,B86001,2010-01-01,,last week",
			`date_of_death: not a date "last week" (want YYYY-MM-DD or DD/MM/YYYY)`, "P1"},
		{"first fault in column order", "P1,,Jo,Lee,1990-02-30,X,,,2010-01-01,,",
			"date_of_birth: impossible date 1990-02-30", "P1"},
		{"too few fields", "P1,,Jo,Lee,1990-01-01,F,,B86001,2010-01-01,",
			"10 fields where the header has 11", ""},
		{"too many fields", "P1,,Jo,Lee,1990-01-01,F,,B86001,2010-01-01,,,",
			"12 fields where the header has 11", ""},
		{"bare quote", `P1,,Jo "JJ",Lee,1990-01-01,F,,B86001,2010-01-01,,`,
			`malformed CSV: bare " in non-quoted-field`, ""},
		{"text after a closing quote", `P1,,"Jo" J,Lee,1990-01-01,F,,B86001,2010-01-01,,`,
			`malformed CSV: extraneous or missing " in quoted-field`, ""},
		{"Windows-1252 value in the reason, original bytes in Raw", "P1,,Zo\xeb,Lee,1990-01-01,\xe9,,B86001,2010-01-01,,",
			`sex: unknown code "é" (want M, F, I, U, 1, 2 or 9)`, "P1"},
	})
}

func TestParse_QuarantinesBadEventRow(t *testing.T) {
	checkQuarantine(t, eventsHeader, []quarantineCase{
		{"empty event_id", ",P1,2024-02-10,problem,snomed,44054006,,",
			"event_id: required value is empty", ""},
		{"empty patient_id", "E1,,2024-02-10,problem,snomed,44054006,,",
			"patient_id: required value is empty", "E1"},
		{"empty event_date", "E1,P1,,problem,snomed,44054006,,",
			"event_date: required value is empty", "E1"},
		{"impossible event_date", "E1,P1,31/04/2024,problem,snomed,44054006,,",
			"event_date: impossible date 31/04/2024", "E1"},
		{"event_date with a time", "E1,P1,2024-02-10T09:30,problem,snomed,44054006,,",
			`event_date: not a date "2024-02-10T09:30" (want YYYY-MM-DD or DD/MM/YYYY)`, "E1"},
		{"empty event_type", "E1,P1,2024-02-10,,snomed,44054006,,",
			"event_type: required value is empty", "E1"},
		{"empty code_system", "E1,P1,2024-02-10,problem,,44054006,,",
			"code_system: required value is empty", "E1"},
		{"empty code", "E1,P1,2024-02-10,problem,snomed,,,",
			"code: required value is empty", "E1"},
		{"problem coded in dm+d", "E1,P1,2024-02-10,problem,dmd,44054006,,",
			`event_type/code_system: "problem"/"dmd" is not problem/snomed, observation/snomed or medication/dmd`, "E1"},
		{"medication coded in SNOMED CT", "E1,P1,2024-02-10,medication,snomed,325278002,,",
			`event_type/code_system: "medication"/"snomed" is not problem/snomed, observation/snomed or medication/dmd`, "E1"},
		{"unknown event_type", "E1,P1,2024-02-10,procedure,snomed,44054006,,",
			`event_type/code_system: "procedure"/"snomed" is not problem/snomed, observation/snomed or medication/dmd`, "E1"},
		{"ICD-10 code", "E1,P1,2024-02-10,problem,snomed,E11.9,,",
			`code: "E11.9" is not a SNOMED CT id (6 to 18 digits, no leading zero)`, "E1"},
		{"short code", "E1,P1,2024-02-10,problem,snomed,12345,,",
			`code: "12345" is not a SNOMED CT id (6 to 18 digits, no leading zero)`, "E1"},
		{"leading zero", "E1,P1,2024-02-10,problem,snomed,044054006,,",
			`code: "044054006" is not a SNOMED CT id (6 to 18 digits, no leading zero)`, "E1"},
		{"non-numeric dm+d code", "E1,P1,2024-02-10,medication,dmd,ABC123456,,",
			`code: "ABC123456" is not a dm+d id (6 to 18 digits, no leading zero)`, "E1"},
		{"word for a value", "E1,P1,2024-02-10,observation,snomed,60621009,sixty,kg",
			`value: not a number "sixty"`, "E1"},
		{"decimal comma", "E1,P1,2024-02-10,observation,snomed,60621009,\"27,4\",kg/m2",
			`value: not a number "27,4"`, "E1"},
		{"comparator", "E1,P1,2024-02-10,observation,snomed,1107381000000107,>90,mL/min",
			`value: not a number ">90"`, "E1"},
		{"NaN", "E1,P1,2024-02-10,observation,snomed,60621009,NaN,kg",
			`value: not a number "NaN"`, "E1"},
		{"out of range", "E1,P1,2024-02-10,observation,snomed,60621009,1e999,kg",
			`value: not a number "1e999"`, "E1"},
		{"too few fields", "E1,P1,2024-02-10,problem,snomed,44054006",
			"6 fields where the header has 8", ""},
	})
}

func TestParse_ReadsOnAfterBadRows(t *testing.T) {
	input := readFixture(t, "events-mixed.csv")
	rec, stats, err := parseBytes(t, input)
	if err != nil {
		t.Fatal(err)
	}
	var accepted []string
	for _, r := range rec.records {
		accepted = append(accepted, r.Source().RecordID)
	}
	quarantined := make(map[int64]string)
	for _, q := range rec.quarantined {
		quarantined[q.Ref.Line] = q.Reason
	}
	wantAccepted := []string{"E1", "E3", "E6", "E10"}
	wantQuarantined := map[int64]string{
		3:  "event_date: impossible date 2024-02-30",
		6:  `value: not a number "sixty"`,
		7:  "6 fields where the header has 8",
		9:  "patient_id: required value is empty",
		10: `event_type/code_system: "procedure"/"snomed" is not problem/snomed, observation/snomed or medication/dmd`,
		11: `code: "E11.9" is not a SNOMED CT id (6 to 18 digits, no leading zero)`,
	}
	if !reflect.DeepEqual(accepted, wantAccepted) || !reflect.DeepEqual(quarantined, wantQuarantined) {
		t.Errorf("accepted %q, quarantined %v\nwant %q, %v", accepted, quarantined, wantAccepted, wantQuarantined)
	}
	if stats.Read != 10 {
		t.Errorf("read %d rows, want 10", stats.Read)
	}
}

func TestParse_SetsNHSNumberStatus(t *testing.T) {
	tests := []struct {
		sent, number string
		status       models.NHSNumberStatus
	}{
		{"", "", models.NHSMissing},
		{"   ", "", models.NHSMissing},
		{"9434765919", "9434765919", models.NHSValid},
		{"943 476 5919", "9434765919", models.NHSValid},
		{"943-476-5919", "9434765919", models.NHSValid},
		{"9434765918", "9434765918", models.NHSInvalid}, // check digit
		{"943476591", "943476591", models.NHSInvalid},   // nine digits
		{"94347659l9", "94347659l9", models.NHSInvalid}, // a letter l
	}
	for _, tt := range tests {
		t.Run(tt.sent, func(t *testing.T) {
			input := []byte(patientsHeader + "\nP1," + tt.sent + ",Jo,Lee,1990-01-01,F,,B86001,2010-01-01,,\n")
			rec, _, err := parseBytes(t, input)
			if err != nil || len(rec.records) != 1 {
				t.Fatalf("err %v, quarantined %+v", err, rec.quarantined)
			}
			p := rec.records[0].(*models.PatientRecord)
			if p.NHSNumber != tt.number || p.NHSNumberStatus != tt.status {
				t.Errorf("NHS number %q %s, want %q %s", p.NHSNumber, p.NHSNumberStatus, tt.number, tt.status)
			}
		})
	}
}

func TestParse_AcceptsBirthUpToTomorrowInUTC(t *testing.T) {
	tests := []struct {
		now    time.Time
		birth  string
		accept bool
	}{
		{time.Date(2025, 6, 15, 12, 0, 0, 0, time.UTC), "2025-06-15", true},
		{time.Date(2025, 6, 15, 12, 0, 0, 0, time.UTC), "2025-06-16", true},
		{time.Date(2025, 6, 15, 12, 0, 0, 0, time.UTC), "2025-06-17", false},
		// 00:30 on the 16th in London (BST) is still the 15th in UTC.
		{time.Date(2025, 6, 16, 0, 30, 0, 0, time.FixedZone("BST", 3600)), "2025-06-16", true},
		{time.Date(2025, 6, 16, 0, 30, 0, 0, time.FixedZone("BST", 3600)), "2025-06-17", false},
	}
	for _, tt := range tests {
		t.Run(tt.now.Format(time.RFC3339)+" "+tt.birth, func(t *testing.T) {
			input := patientsHeader + "\nP1,,Jo,Lee," + tt.birth + ",F,,B86001,2025-06-15,,\n"
			var rec recorder
			stats, err := parse(context.Background(), strings.NewReader(input), "test.csv", &rec, tt.now, maxRecordBytes)
			if err != nil {
				t.Fatal(err)
			}
			if got := stats.Accepted == 1; got != tt.accept {
				t.Errorf("accepted %v, want %v (%+v)", got, tt.accept, rec.quarantined)
			}
		})
	}
}

func TestParse_RecoversRowsAfterUnbalancedQuote(t *testing.T) {
	const (
		ok1 = "E1,P1,2024-02-10,problem,snomed,44054006,,"
		ok3 = "E3,P1,2024-02-10,observation,snomed,999791000000106,62,mmol/mol"
		ok4 = "E4,P1,2024-02-10,medication,dmd,325278002,,"
	)
	many := strings.Repeat(ok4+"\n", 40) // 1.8 KB of rows
	tests := []struct {
		name         string
		input        string
		maxRecord    int
		wantAccepted int
		want         []string // "line: reason" of each quarantine entry
	}{
		{"quote never closed",
			eventsHeader + "\n" + ok1 + "\n" + `E2,P1,2024-02-10,problem,snomed,"44054006,,` + "\n" + ok3 + "\n" + ok4 + "\n",
			maxRecordBytes, 3, []string{
				`3: malformed CSV: extraneous or missing " in quoted-field (in a record running from line 3 to 5); quarantined line 3 alone and read on from line 4`,
			}},
		{"quote closed by a later row's quote",
			eventsHeader + "\n" + ok1 + "\n" + `E2,P1,2024-02-10,problem,snomed,"44054006,,` + "\n" +
				`E3,P1,2024-02-10,observation,snomed,999791000000106,62,"mmol/mol"` + "\n" + ok4 + "\n",
			maxRecordBytes, 3, []string{
				`3: malformed CSV: extraneous or missing " in quoted-field (in a record running from line 3 to 4); quarantined line 3 alone and read on from line 4`,
			}},
		{"well-formed record across lines with the wrong number of fields",
			eventsHeader + "\n" + ok1 + "\n" + `E2,P1,2024-02-10,problem,"snomed,44054006,,` + "\n" +
				`E3,P1,2024-02-10,problem,snomed,44054006",,` + "\n" + ok4 + "\n",
			maxRecordBytes, 2, []string{
				`3: 7 fields where the header has 8 (in a record running from line 3 to 4); quarantined line 3 alone and read on from line 4`,
				`4: malformed CSV: bare " in non-quoted-field`,
			}},
		{"well-formed record across lines with a bad value",
			eventsHeader + "\n" + `E2,P1,2024-02-10,observation,snomed,271649006,"12` + "\n" + `E3",mm[Hg]` + "\n" + ok4 + "\n",
			maxRecordBytes, 1, []string{
				`2: value: not a number "12\nE3" (in a record running from line 2 to 3); quarantined line 2 alone and read on from line 3`,
				`3: malformed CSV: bare " in non-quoted-field`,
			}},
		{"unclosed quote on the last line",
			eventsHeader + "\n" + ok1 + "\n" + `E2,P1,2024-02-10,problem,snomed,"44054006,,`,
			maxRecordBytes, 1, []string{
				`3: malformed CSV: extraneous or missing " in quoted-field`,
			}},
		{"quote never closed, rows beyond the bound",
			eventsHeader + "\n" + `E2,P1,2024-02-10,problem,snomed,"44054006,,` + "\n" + many,
			256, 40, []string{
				`2: record longer than 256 bytes; quarantined line 2 alone and read on from line 3`,
			}},
		{"line longer than the bound",
			eventsHeader + "\n" + ok1 + "\n" + "E2," + strings.Repeat("x", 1000) + "\n" + ok4 + "\n",
			256, 2, []string{
				`3: record longer than 256 bytes; its first line alone is longer: raw truncated to 256 bytes`,
			}},
		{"last line longer than the bound",
			eventsHeader + "\n" + ok1 + "\n" + "E2," + strings.Repeat("x", 1000),
			256, 1, []string{
				`3: record longer than 256 bytes; its first line alone is longer: raw truncated to 256 bytes`,
			}},
		{"blank lines beyond the bound",
			eventsHeader + "\n" + ok1 + strings.Repeat("\r\n", 400) + ok4 + "\n",
			256, 2, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			input := []byte(tt.input)
			rec, stats, err := run(t, bytes.NewReader(input), input, tt.maxRecord)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, q := range rec.quarantined {
				got = append(got, fmt.Sprintf("%d: %s", q.Ref.Line, q.Reason))
			}
			if stats.Accepted != int64(tt.wantAccepted) || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("accepted %d, quarantined:\n%s\nwant %d accepted, quarantined:\n%s",
					stats.Accepted, strings.Join(got, "\n"), tt.wantAccepted, strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestParse_HoldsBoundedInput(t *testing.T) {
	rows := strings.Repeat("E4,P1,2024-02-10,medication,dmd,325278002,,\n", 100_000) // 4.5 MB
	for _, tt := range []struct {
		name, input string
		maxWindow   int
	}{
		{"well-formed file", eventsHeader + "\n" + rows, 32 << 10},
		{"quote never closed", eventsHeader + "\n" + `E2,P1,2024-02-10,problem,snomed,"44054006,,` + "\n" + rows, 4 * maxRecordBytes},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var rec counter
			p := newParser(context.Background(), strings.NewReader(tt.input), "test.csv", &rec, testNow(), maxRecordBytes)
			stats, err := p.run()
			if err != nil || stats.Accepted != 100_000 {
				t.Fatalf("stats %+v, %v: want every row accepted", stats, err)
			}
			if c := cap(p.tape.buf); c > tt.maxWindow {
				t.Errorf("window grew to %d bytes, want at most %d", c, tt.maxWindow)
			}
		})
	}
}

// counter is a feed.Sink that only counts.
type counter struct{ records, quarantined int }

func (c *counter) Record(models.Record) error          { c.records++; return nil }
func (c *counter) Quarantine(models.Quarantined) error { c.quarantined++; return nil }

func TestParse_GivesSameResultWhateverTheReadSize(t *testing.T) {
	late := []byte(eventsHeader + "\n" + `E2,P1,2024-02-10,problem,snomed,"44054006,,` + "\n" +
		strings.Repeat("E4,P1,2024-02-10,medication,dmd,325278002,,\n", 20))
	inputs := map[string][]byte{"quote beyond the bound": late}
	for _, name := range []string{"patients.csv", "events.csv", "events-mixed.csv", "events-broken-quote.csv",
		"patients-cp1252.csv", "patients-utf8-bom-crlf.csv"} {
		inputs[name] = readFixture(t, name)
	}
	readers := map[string]func(io.Reader) io.Reader{
		"one byte":  iotest.OneByteReader,
		"half":      iotest.HalfReader,
		"data, err": iotest.DataErrReader,
	}
	for name, input := range inputs {
		for _, maxRecord := range []int{maxRecordBytes, 200} {
			want, wantStats, err := run(t, bytes.NewReader(input), input, maxRecord)
			if err != nil {
				t.Fatal(err)
			}
			for rname, reader := range readers {
				t.Run(fmt.Sprintf("%s/%s/%d", name, rname, maxRecord), func(t *testing.T) {
					got, stats, err := run(t, reader(bytes.NewReader(input)), input, maxRecord)
					if err != nil {
						t.Fatal(err)
					}
					if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(stats, wantStats) {
						t.Errorf("got %+v %+v\nwant %+v %+v", stats, got, wantStats, want)
					}
				})
			}
		}
	}
}

// failingSink fails on the nth call.
type failingSink struct {
	n   int
	err error
}

func (s *failingSink) call() error {
	if s.n--; s.n == 0 {
		return s.err
	}
	return nil
}

func (s *failingSink) Record(models.Record) error          { return s.call() }
func (s *failingSink) Quarantine(models.Quarantined) error { return s.call() }

func TestParse_StopsOnSinkError(t *testing.T) {
	input := readFixture(t, "events-mixed.csv")
	for _, tt := range []struct {
		call int
		line string
	}{{1, "test.csv:2:"}, {2, "test.csv:3:"}} { // a record, a quarantine entry
		errSink := errors.New("disk full")
		stats, err := parse(context.Background(), bytes.NewReader(input), "test.csv",
			&failingSink{n: tt.call, err: errSink}, testNow(), maxRecordBytes)
		if !errors.Is(err, errSink) || !strings.Contains(err.Error(), tt.line) {
			t.Errorf("error %v, want %v at %s", err, errSink, tt.line)
		}
		if stats.Read != int64(tt.call) || stats.Balanced() != nil {
			t.Errorf("stats %+v, want %d read", stats, tt.call)
		}
	}
}

func TestParse_StopsOnReadError(t *testing.T) {
	errDisk := errors.New("input/output error")
	input := readFixture(t, "events.csv")
	r := io.MultiReader(bytes.NewReader(input), iotest.ErrReader(errDisk))
	var rec recorder
	stats, err := parse(context.Background(), r, "test.csv", &rec, testNow(), maxRecordBytes)
	if !errors.Is(err, errDisk) || !strings.Contains(err.Error(), "test.csv:") {
		t.Errorf("error %v, want %v naming the file", err, errDisk)
	}
	if stats.Read != 7 || len(rec.records) != 7 {
		t.Errorf("stats %+v: want the 7 rows before the error", stats)
	}

	// An error before the header is read is not a header problem.
	_, err = Parse(context.Background(), iotest.ErrReader(errDisk), "test.csv", &rec)
	var herr *HeaderError
	if !errors.Is(err, errDisk) || errors.As(err, &herr) {
		t.Errorf("error %v, want %v and no HeaderError", err, errDisk)
	}
}

// cancellingSink cancels a context when it receives its first record.
type cancellingSink struct {
	recorder
	cancel context.CancelFunc
}

func (s *cancellingSink) Record(r models.Record) error {
	s.cancel()
	return s.recorder.Record(r)
}

func TestParse_StopsWhenContextIsCancelled(t *testing.T) {
	input := []byte(eventsHeader + "\n" + strings.Repeat("E4,P1,2024-02-10,medication,dmd,325278002,,\n", 10_000))

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	stats, err := Parse(ctx, bytes.NewReader(input), "test.csv", &recorder{})
	if !errors.Is(err, context.Canceled) || stats.Read != 0 {
		t.Errorf("cancelled before: %+v, %v; want nothing read and %v", stats, err, context.Canceled)
	}

	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	stats, err = Parse(ctx, bytes.NewReader(input), "test.csv", &cancellingSink{cancel: cancel})
	if !errors.Is(err, context.Canceled) || stats.Read == 0 || stats.Read >= 10_000 || stats.Balanced() != nil {
		t.Errorf("cancelled during: %+v, %v; want some rows read and %v", stats, err, context.Canceled)
	}
}

func TestParse_CarriesLSOAAndDeregistration(t *testing.T) {
	input := readFixture(t, "patients-lsoa.csv")
	rec, stats, err := parseBytes(t, input)
	if err != nil {
		t.Fatal(err)
	}
	patient := func(id string, p models.PatientRecord) models.Record {
		p.Ref = ref(t, input, id+",", id)
		p.LocalID, p.NHSNumberStatus, p.PracticeCode = id, models.NHSMissing, "B86001"
		return &p
	}
	want := []models.Record{
		patient("G1", models.PatientRecord{BirthDate: date("1956-04-12"), Sex: models.SexFemale,
			RegisteredFrom: date("2001-05-01"), LSOA: "E01011264"}),
		patient("G2", models.PatientRecord{BirthDate: date("1948-11-03"), Sex: models.SexMale,
			RegisteredFrom: date("1990-06-12"), RegisteredTo: date("2024-01-09"), DeathDate: date("2024-01-09"), LSOA: "E01000001"}),
		patient("G3", models.PatientRecord{BirthDate: date("2019-02-28"), Sex: models.SexFemale, RegisteredFrom: date("2019-03-01")}),
	}
	checkRecords(t, rec.records, want)
	if stats.Read != 3 || stats.Quarantined != 0 || len(stats.Skipped) != 0 {
		t.Errorf("stats %+v, want 3 read, none quarantined or skipped", stats)
	}
}

// TestParse_FastPathReadsRowsAsCSVReaderDoes checks that rows split by the
// fast path for one-line rows (plainRow) give exactly what csv.Reader
// alone gives, for quoting that the fast path handles and for quoting it
// leaves to csv.Reader.
func TestParse_FastPathReadsRowsAsCSVReaderDoes(t *testing.T) {
	const header = "event_id,patient_id,event_date,event_type,code_system,code,value,unit\n"
	for _, tt := range []struct{ name, rows string }{
		{"plain", "E1,G1,2024-02-10,observation,snomed,27113001,70,kg\nE2,G1,2024-02-10,problem,snomed,44054006,,\n"},
		{"CRLF", "E1,G1,2024-02-10,observation,snomed,27113001,70,kg\r\nE2,G1,2024-02-10,problem,snomed,44054006,,\r\n"},
		{"quoted fields", "\"E1\",G1,2024-02-10,observation,snomed,27113001,70,\"mL/min/{1.73_m2}\"\n"},
		{"quoted comma and doubled quote", "E1,G1,2024-02-10,observation,snomed,27113001,70,\"k,g\"\"\"\n"},
		{"empty quoted field", "E1,G1,2024-02-10,problem,snomed,44054006,\"\",\"\"\n"},
		{"bare quote", "E1,G1,2024-02-10,observation,snomed,27113001,70,k\"g\n"},
		{"text after closing quote", "E1,G1,2024-02-10,observation,snomed,27113001,70,\"kg\"x\n"},
		{"quoted line break", "E1,G1,2024-02-10,observation,snomed,27113001,70,\"k\ng\"\nE2,G1,2024-02-10,problem,snomed,44054006,,\n"},
		{"unbalanced quote", "E1,G1,2024-02-10,observation,snomed,27113001,70,\"kg\nE2,G1,2024-02-10,problem,snomed,44054006,,\n"},
		{"carriage return inside", "E1,G1,2024-02-10,observation,snomed,27113001,70,k\rg\n"},
		{"blank lines and no final newline", "\n\r\nE1,G1,2024-02-10,problem,snomed,44054006,,\n\nE2,G1,2024-02-10,problem,snomed,44054006,,"},
		{"too few and too many fields", "E1,G1,2024-02-10\nE2,G1,2024-02-10,problem,snomed,44054006,,,,\n,\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			input := []byte(header + tt.rows)
			want, wantStats, werr := runCSVOnly(t, input, maxRecordBytes)
			got, gotStats, err := parseBytes(t, input)
			if (err == nil) != (werr == nil) || !reflect.DeepEqual(gotStats, wantStats) || !reflect.DeepEqual(got, want) {
				t.Fatalf("with the fast path: %+v, %v\n%+v\ncsv.Reader alone: %+v, %v\n%+v", gotStats, err, got, wantStats, werr, want)
			}
		})
	}
}
