package fhir

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/pophealth/pophealth/ingest/feed"
	"github.com/pophealth/pophealth/models"
)

// collector is a feed.Sink that keeps what it is given.
type collector struct {
	records     []models.Record
	quarantined []models.Quarantined
}

func (c *collector) Record(r models.Record) error { c.records = append(c.records, r); return nil }

func (c *collector) Quarantine(q models.Quarantined) error {
	c.quarantined = append(c.quarantined, q)
	return nil
}

// parseBytes parses data as the file "test" and checks the contract every
// parse must keep.
func parseBytes(t testing.TB, data []byte) (feed.Stats, *collector) {
	t.Helper()
	var c collector
	stats, err := Parse(context.Background(), bytes.NewReader(data), "test", &c)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	checkContract(t, data, stats, &c)
	return stats, &c
}

// checkContract checks the accounting (every record read is accepted or
// quarantined, and the sink saw what Stats counts) and that every Ref
// locates its record in data: the quarantined bytes are found at Offset,
// an accepted resource starts there, and Line is the line of Offset.
func checkContract(t testing.TB, data []byte, stats feed.Stats, c *collector) {
	t.Helper()
	if err := stats.Balanced(); err != nil {
		t.Error(err)
	}
	if stats.Quarantined != int64(len(c.quarantined)) || stats.Emitted != int64(len(c.records)) {
		t.Errorf("stats %+v, but the sink got %d records and %d quarantined", stats, len(c.records), len(c.quarantined))
	}
	var skipped int64
	for _, n := range stats.Skipped {
		skipped += n
	}
	if skipped > stats.Accepted {
		t.Errorf("stats %+v: more skipped than accepted", stats)
	}
	checkRef := func(what string, ref *models.SourceRef, raw []byte) {
		t.Helper()
		if ref.Feed != models.FeedFHIR || ref.File != "test" {
			t.Errorf("%s: Ref %+v: want feed fhir, file test", what, ref)
		}
		if ref.Offset < 0 || ref.Offset >= int64(len(data)) {
			t.Errorf("%s: Offset %d outside the %d-byte input", what, ref.Offset, len(data))
			return
		}
		if !bytes.HasPrefix(data[ref.Offset:], raw) {
			t.Errorf("%s: input at Offset %d is %.40q, want %.40q", what, ref.Offset, data[ref.Offset:], raw)
		}
		if want := 1 + int64(bytes.Count(data[:ref.Offset], []byte{'\n'})); ref.Line != want {
			t.Errorf("%s: Line %d, but Offset %d is on line %d", what, ref.Line, ref.Offset, want)
		}
	}
	for _, q := range c.quarantined {
		checkRef("quarantined "+q.Reason, &q.Ref, q.Raw)
	}
	for _, r := range c.records {
		if r.Source().RecordID == "" {
			t.Errorf("%T %+v has no RecordID", r, r)
		}
		checkRef(fmt.Sprintf("%T %s", r, r.Source().RecordID), r.Source(), []byte{'{'})
	}
}

func TestParse_QuarantinesWithReason(t *testing.T) {
	// Each fixture holds one bad record, after a good Patient in the
	// NDJSON ones. Reasons from the JSON decoder are matched by prefix.
	tests := []struct {
		file   string
		reason string
		line   int64
		id     string
	}{
		{"invalid-json.ndjson", "invalid JSON: invalid character ','", 2, "p2"},
		{"truncated-line.ndjson", "invalid JSON: unexpected EOF", 2, "o1"},
		{"invalid-utf8.ndjson", "invalid JSON: invalid UTF-8", 2, "p3"},
		{"duplicate-member.ndjson", `invalid JSON: duplicate object member name "gender"`, 2, "p4"},
		{"data-after-object.ndjson", "invalid JSON: data after the top-level value", 2, "p11"},
		{"not-an-object.ndjson", "want a JSON object, got array", 2, ""},
		{"wrong-json-type.ndjson", "Patient.birthDate: want string, got number", 2, "p5"},
		{"number-out-of-range.ndjson", "Observation.valueQuantity.value: number 1e999 out of range", 2, "o4"},
		{"missing-resource-type.ndjson", "missing resourceType", 2, "x1"},
		{"unknown-resource-type.ndjson", `unknown resourceType "Banana" (not FHIR R4)`, 2, "b1"},
		{"missing-id.ndjson", "Condition has no id", 2, ""},
		{"impossible-date.ndjson", "Patient.birthDate: impossible date 2023-02-30", 2, "p6"},
		{"malformed-date.ndjson", `Observation.effectiveDateTime: invalid date "02/04/2013"`, 2, "o2"},
		{"future-birth-date.ndjson", "Patient.birthDate: 2999-01-01 is in the future", 2, "p7"},
		{"death-before-birth.ndjson", "Patient.deceasedDateTime: 1969-12-31T10:00:00Z is before birthDate 1970-05-01", 2, "p8"},
		{"unknown-gender.ndjson", `Patient.gender: unknown code "M"`, 2, "p9"},
		{"no-subject.ndjson", "Condition has no subject", 2, "c1"},
		{"subject-not-patient.ndjson", `Condition.subject: reference "Group/1" is not to a Patient`, 2, "c2"},
		{"conditional-subject.ndjson", `Observation.subject: cannot resolve reference "Patient?identifier=https://fhir.nhs.uk/Id/nhs-number|9000000009" to a Patient id`, 2, "o3"},
		{"entry-without-resource.json", "Bundle.entry[1] has no resource", 13, ""},
		{"broken-bundle.json", `invalid JSON: unexpected EOF within "/entry/1/resource"`, 1, ""},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", "quarantine", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			stats, c := parseBytes(t, data)
			if stats.Quarantined != 1 {
				t.Fatalf("stats %+v, quarantined %+v: want exactly one quarantined", stats, c.quarantined)
			}
			q := c.quarantined[0]
			if !strings.HasPrefix(q.Reason, tt.reason) {
				t.Errorf("reason %q, want %q", q.Reason, tt.reason)
			}
			if q.Ref.Line != tt.line || q.Ref.RecordID != tt.id {
				t.Errorf("quarantined at line %d with RecordID %q, want line %d, %q", q.Ref.Line, q.Ref.RecordID, tt.line, tt.id)
			}
		})
	}
}

func TestParse_ToleratesExporterHabits(t *testing.T) {
	input := "\ufeff" + `{"resourceType":"Patient","id":"crlf"}` + "\r\n" +
		"\r\n" +
		"   \t\n" +
		`  {"resourceType":"Patient","id":"indented","unknown":{"x":[1,2]},"extension":[{"url":"http://example.org/x","valueString":"y"}]}` + "\n" +
		"\ufeff" + `{"resourceType":"Patient","id":"second-bom"}` + "\n" +
		`{"resourceType":"Patient","id":"no-final-newline"}`
	stats, c := parseBytes(t, []byte(input))
	want := feed.Stats{Read: 4, Accepted: 4, Emitted: 4}
	if stats.Read != want.Read || stats.Accepted != want.Accepted || stats.Emitted != want.Emitted {
		t.Fatalf("stats %+v, want %+v", stats, want)
	}
	var got []string
	for _, r := range c.records {
		got = append(got, fmt.Sprintf("%s@%d", r.Subject(), r.Source().Line))
	}
	if g, w := strings.Join(got, " "), "crlf@1 indented@4 second-bom@5 no-final-newline@6"; g != w {
		t.Errorf("records %s, want %s", g, w)
	}
}

func TestParse_ReadsNDJSONBundlesAndDocumentsAlike(t *testing.T) {
	patient := `{"resourceType":"Patient","id":"p1","gender":"female"}`
	condition := `{"resourceType":"Condition","id":"c1","subject":{"reference":"Patient/p1"},"code":{"coding":[{"system":"http://snomed.info/sct","code":"44054006"}]}}`
	tests := []struct {
		name  string
		input string
	}{
		{"NDJSON", patient + "\n" + condition + "\n"},
		{"compact Bundle on one line", `{"resourceType":"Bundle","type":"collection","entry":[{"resource":` + patient + `},{"resource":` + condition + `}]}`},
		{"pretty Bundle with entry before resourceType", "{\n  \"entry\": [\n    {\"resource\": " + patient + "},\n    {\"resource\": " + condition + "}\n  ],\n  \"resourceType\": \"Bundle\",\n  \"type\": \"searchset\"\n}\n"},
		{"pretty resources one after another", "{\n  \"resourceType\": \"Patient\",\n  \"id\": \"p1\",\n  \"gender\": \"female\"\n}\n{\n  \"id\": \"c1\",\n  \"resourceType\": \"Condition\",\n  \"subject\": {\"reference\": \"Patient/p1\"},\n  \"code\": {\"coding\": [{\"system\": \"http://snomed.info/sct\", \"code\": \"44054006\"}]}\n}\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stats, c := parseBytes(t, []byte(tt.input))
			if stats.Read != 2 || stats.Accepted != 2 || stats.Emitted != 2 {
				t.Fatalf("stats %+v, want 2 read, accepted and emitted", stats)
			}
			p, ok := c.records[0].(*models.PatientRecord)
			if !ok || p.LocalID != "p1" || p.Sex != models.SexFemale {
				t.Errorf("first record %+v, want female Patient p1", c.records[0])
			}
			d, ok := c.records[1].(*models.Diagnosis)
			if !ok || d.PatientID != "p1" || d.Code != "44054006" {
				t.Errorf("second record %+v, want Diagnosis 44054006 of p1", c.records[1])
			}
		})
	}
}

func TestParse_TruncatedFirstLineStaysNDJSON(t *testing.T) {
	// A truncated first line must not turn the file into one bad document.
	input := `{"resourceType":"Patient","id":"p1","gen` + "\n" + `{"resourceType":"Patient","id":"p2"}` + "\n"
	stats, c := parseBytes(t, []byte(input))
	if stats.Read != 2 || stats.Accepted != 1 || stats.Quarantined != 1 {
		t.Fatalf("stats %+v, want line 1 quarantined and line 2 accepted", stats)
	}
	if c.quarantined[0].Ref.Line != 1 || c.records[0].Subject() != "p2" {
		t.Errorf("quarantined %+v, records %+v", c.quarantined[0].Ref, c.records[0])
	}
}

func TestParse_NestedBundleIsOneSkippedRecord(t *testing.T) {
	input := `{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Bundle","id":"inner","entry":[{"resource":{"resourceType":"Patient","id":"p1"}}]}}]}`
	stats, _ := parseBytes(t, []byte(input))
	if stats.Read != 1 || stats.Accepted != 1 || stats.Skipped["resource:Bundle"] != 1 {
		t.Errorf("stats %+v, want the inner Bundle accepted and skipped", stats)
	}
}

func TestParse_QuarantinesOverlongLine(t *testing.T) {
	// A line longer than the read buffer but within the limit is accepted;
	// one over the limit is quarantined without losing the next line.
	long := func(id string, n int) string {
		return `{"resourceType":"Patient","id":"` + id + `","text":{"div":"` + strings.Repeat("x", n) + `"}}`
	}
	input := long("big", 3*readBuffer) + "\n" + long("huge", 5*readBuffer) + "\n" + `{"resourceType":"Patient","id":"after"}` + "\n"
	var c collector
	p := newParser(context.Background(), "test", &c)
	p.maxLine = 4 * readBuffer
	if err := p.parse(strings.NewReader(input)); err != nil {
		t.Fatal(err)
	}
	checkContract(t, []byte(input), p.stats, &c)
	if p.stats.Read != 3 || p.stats.Accepted != 2 || p.stats.Quarantined != 1 {
		t.Fatalf("stats %+v, want 3 read, 2 accepted, 1 quarantined", p.stats)
	}
	q := c.quarantined[0]
	if q.Ref.Line != 2 || len(q.Raw) != oversizedRaw || !strings.HasPrefix(q.Reason, "line longer than 262144 bytes") {
		t.Errorf("quarantined line %d, %d raw bytes, reason %q", q.Ref.Line, len(q.Raw), q.Reason)
	}
	if c.records[0].Subject() != "big" || c.records[1].Subject() != "after" {
		t.Errorf("accepted %s and %s, want big and after", c.records[0].Subject(), c.records[1].Subject())
	}
}

func TestParse_QuarantinesOversizedDocument(t *testing.T) {
	input := "{\n  \"resourceType\": \"Bundle\",\n  \"entry\": [\n" + strings.Repeat(`    {"resource": {"resourceType": "Patient", "id": "p"}},`+"\n", 50) + "  ]\n}\n"
	var c collector
	p := newParser(context.Background(), "test", &c)
	p.maxDocument = 1000
	if err := p.parse(strings.NewReader(input)); err != nil {
		t.Fatal(err)
	}
	checkContract(t, []byte(input), p.stats, &c)
	if p.stats.Read != 1 || p.stats.Quarantined != 1 || !strings.HasPrefix(c.quarantined[0].Reason, "JSON document larger than 1000 bytes") {
		t.Errorf("stats %+v, quarantined %+v", p.stats, c.quarantined)
	}
}

// failingSink fails on the n-th record it is given.
type failingSink struct {
	collector
	n   int
	err error
}

func (s *failingSink) Record(r models.Record) error {
	if len(s.records)+1 == s.n {
		return s.err
	}
	return s.collector.Record(r)
}

func TestParse_StopsOnSinkError(t *testing.T) {
	errFull := errors.New("disk full")
	input := strings.Repeat(`{"resourceType":"Patient","id":"p"}`+"\n", 5)
	sink := &failingSink{n: 3, err: errFull}
	stats, err := Parse(context.Background(), strings.NewReader(input), "test", sink)
	if !errors.Is(err, errFull) || !strings.Contains(err.Error(), "test:3") {
		t.Errorf("err = %v, want %v at test:3", err, errFull)
	}
	if stats.Read != 3 {
		t.Errorf("read %d records, want to stop at the third", stats.Read)
	}
}

// cancellingSink cancels a context when it gets its first record.
type cancellingSink struct {
	collector
	cancel context.CancelFunc
}

func (s *cancellingSink) Record(r models.Record) error { s.cancel(); return s.collector.Record(r) }

func TestParse_StopsWhenContextCancelled(t *testing.T) {
	input := strings.Repeat(`{"resourceType":"Patient","id":"p"}`+"\n", 10*cancelEvery)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stats, err := Parse(ctx, strings.NewReader(input), "test", &cancellingSink{cancel: cancel})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if stats.Read > cancelEvery {
		t.Errorf("read %d records after cancel, want at most %d", stats.Read, cancelEvery)
	}

	stats, err = Parse(ctx, strings.NewReader(input), "test", &collector{})
	if !errors.Is(err, context.Canceled) || stats.Read != 0 {
		t.Errorf("with a cancelled context: %+v, %v; want nothing read and context.Canceled", stats, err)
	}
}

func TestParse_ReturnsReadError(t *testing.T) {
	errDisk := errors.New("read failed")
	r := io.MultiReader(strings.NewReader(`{"resourceType":"Patient","id":"p"}`+"\n"), iotest.ErrReader(errDisk))
	if _, err := Parse(context.Background(), r, "test", &collector{}); !errors.Is(err, errDisk) {
		t.Errorf("err = %v, want %v", err, errDisk)
	}
}

func TestIsDocument(t *testing.T) {
	tests := []struct {
		head string
		want bool
	}{
		{"", false},
		{"\n\n", false},
		{`{"resourceType":"Patient"}` + "\n", false},
		{`{"resourceType":"Patient"}`, false},
		{"{\n  \"resourceType\": \"Bundle\",\n", true},
		{"\n{\n\"entry\": [\n", true},
		{`{"resourceType": "Bundle", "entry": [` + "\n  {", true},
		{`{"resourceType":"Patient","id":"trunc` + "\n" + `{"resourceType":"Patient"}` + "\n", false},
		{`{"resourceType":"Patient","id":"trunc`, false},
		{"{\n", false}, // nothing follows: too little to call it a document
		{"{\n}\n", true},
		{`{"resourceType":"Patient","id":"trunc` + "\n\ufeff" + `{"resourceType":"Patient"}` + "\n", false},
		{`{"resourceType":"Patient","id":"trunc` + "\n\n  \n" + `{"resourceType":"Patient"}` + "\n", false},
	}
	for _, tt := range tests {
		if got := isDocument([]byte(tt.head)); got != tt.want {
			t.Errorf("isDocument(%q) = %v, want %v", tt.head, got, tt.want)
		}
	}
}
