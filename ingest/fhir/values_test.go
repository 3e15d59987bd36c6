package fhir

import (
	"testing"
)

func TestParseDate(t *testing.T) {
	tests := []struct {
		in, want, err string
	}{
		{in: "2024-02-29", want: "2024-02-29"},
		{in: "2024-02", want: "2024-02-01"},
		{in: "2024", want: "2024-01-01"},
		{in: "2013-04-02T23:30:10-05:00", want: "2013-04-02"}, // the date as written, not UTC
		{in: "2013-04-02T00:30:10+14:00", want: "2013-04-02"},
		{in: "2018-11-12T03:35:20.715Z", want: "2018-11-12"},
		{in: "2018-11-12T03:35:20", want: "2018-11-12"}, // zone omitted by some exporters
		{in: "2023-02-30", err: "impossible date 2023-02-30"},
		{in: "2023-02-29T10:00:00Z", err: "impossible date 2023-02-29"},
		{in: "1900-02-29", err: "impossible date 1900-02-29"},
		{in: "2023-13", err: "impossible date 2023-13"},
		{in: "2023-00-10", err: "impossible date 2023-00-10"},
		{in: "0000", err: `invalid date "0000"`},
		{in: "02/04/2013", err: `invalid date "02/04/2013"`},
		{in: "2013-4-2", err: `invalid date "2013-4-2"`},
		{in: "20130402", err: `invalid date "20130402"`},
		{in: "2013-04-02T25:00:00Z", err: `invalid dateTime "2013-04-02T25:00:00Z"`},
		{in: "2013-04-02T10:00", err: `invalid dateTime "2013-04-02T10:00"`},
		{in: "2013-04-02T10:00:00+5", err: `invalid dateTime "2013-04-02T10:00:00+5"`},
		{in: "2013-04-02T10:00:00.Z", err: `invalid dateTime "2013-04-02T10:00:00.Z"`},
		{in: "2013-04-02 10:00:00", err: `invalid dateTime "2013-04-02 10:00:00"`},
	}
	for _, tt := range tests {
		got, err := parseDate(tt.in)
		switch {
		case tt.err != "" && (err == nil || err.Error() != tt.err):
			t.Errorf("parseDate(%q) = %v, %v; want error %q", tt.in, got, err, tt.err)
		case tt.err == "" && (err != nil || got.String() != tt.want):
			t.Errorf("parseDate(%q) = %v, %v; want %s", tt.in, got, err, tt.want)
		}
	}
}

func TestReferenceID(t *testing.T) {
	tests := []struct {
		ref, typ, want string
		ok             bool
	}{
		{"Patient/123", "Patient", "123", true},
		{"Patient/123/_history/2", "Patient", "123", true},
		{"https://fhir.example.nhs.uk/R4/Patient/9000000009", "Patient", "9000000009", true},
		{"urn:uuid:3af3708d-41f1-cd80-f3dd-ec5ac76072bf", "Patient", "3af3708d-41f1-cd80-f3dd-ec5ac76072bf", true},
		{" Encounter/e1 ", "Encounter", "e1", true},
		{"Encounter/e1", "Patient", "", false},
		{"Group/1", "Patient", "", false},
		{"Patient?identifier=https://fhir.nhs.uk/Id/nhs-number|9000000009", "Patient", "", false},
		{"#contained", "Patient", "", false},
		{"urn:oid:1.2.3", "Patient", "", false},
		{"urn:uuid:", "Patient", "", false},
		{"Patient/", "Patient", "", false},
		{"123", "Patient", "", false},
		{"", "Patient", "", false},
	}
	for _, tt := range tests {
		got, err := referenceID(tt.ref, tt.typ)
		if got != tt.want || (err == nil) != tt.ok {
			t.Errorf("referenceID(%q, %s) = %q, %v; want %q, ok %v", tt.ref, tt.typ, got, err, tt.want, tt.ok)
		}
	}
}

func TestNormalisePostcode(t *testing.T) {
	for in, want := range map[string]string{
		"LS1 6AE":    "LS1 6AE",
		"ls16ae":     "LS1 6AE",
		" SW1A  1AA": "SW1A 1AA",
		"JH1B0NK":    "JH1B 0NK",
		"T38DG":      "T3 8DG",
		"66801":      "66801", // a US ZIP code is kept as sent
		"Vic 3999":   "VIC 3999",
		"":           "",
	} {
		if got := normalisePostcode(in); got != want {
			t.Errorf("normalisePostcode(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestICD10Code(t *testing.T) {
	for in, want := range map[string]string{"E11.9": "E119", "e11.9": "E119", "I10": "I10", "J45.9 ": "J459"} {
		if got := icd10Code(in); got != want {
			t.Errorf("icd10Code(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLeadingType(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{`{"resourceType":"Patient","id":"1"}`, "Patient", true},
		{"{\n  \"resourceType\" : \"Bundle\",", "Bundle", true},
		{`{"id":"1","resourceType":"Patient"}`, "", false},
		{`{"resourceType":"Pat\u0069ent"}`, "", false},
		{`{"resourceType":""}`, "", false},
		{`{"resourceType":5}`, "", false},
		{`{"resourceType":"Patient`, "", false},
		{`[]`, "", false},
	}
	for _, tt := range tests {
		got, ok := leadingType([]byte(tt.in))
		if string(got) != tt.want || ok != tt.ok {
			t.Errorf("leadingType(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}
