package hl7v2

import (
	"testing"

	"github.com/pophealth/pophealth/models"
)

func TestAdmissionMethod(t *testing.T) {
	tests := []struct{ code, want string }{
		{"", ""},
		{"99", ""},
		// HL7 table 0007.
		{"E", "emergency"},
		{"EM", "emergency"},
		{"A", "emergency"},
		{"U", "emergency"},
		{"C", "elective"},
		{"R", "elective"},
		{"L", "maternity"},
		{"N", "other"},
		// NHS Data Dictionary admission method.
		{"11", "elective"},
		{"12", "elective"},
		{"13", "elective"},
		{"21", "emergency"},
		{"24", "emergency"},
		{"28", "emergency"},
		{"2A", "emergency"},
		{"2D", "emergency"},
		{"31", "maternity"},
		{"32", "maternity"},
		{"81", "transfer"},
		{"82", "other"},
		{"83", "other"},
		// Free text and unknown codes.
		{"Matern Ante", "other"},
		{"2", "other"},
	}
	for _, tt := range tests {
		if got := admissionMethod([]byte(tt.code)); got != tt.want {
			t.Errorf("admissionMethod(%q) = %q, want %q", tt.code, got, tt.want)
		}
	}
}

func TestClassOf(t *testing.T) {
	tests := []struct{ code, want string }{
		{"I", "inpatient"},
		{"E", "emergency"},
		{"O", "outpatient"},
		{"P", "other"},
		{"R", "other"},
		{"", "other"},
	}
	for _, tt := range tests {
		if got := classOf([]byte(tt.code)); got != tt.want {
			t.Errorf("classOf(%q) = %q, want %q", tt.code, got, tt.want)
		}
	}
}

func TestSexOf(t *testing.T) {
	tests := []struct {
		code string
		want models.Sex
	}{
		{"M", models.SexMale},
		{"F", models.SexFemale},
		{"O", models.SexOther},
		{"A", models.SexOther},
		{"U", models.SexUnknown},
		{"N", models.SexUnknown},
		{"", models.SexUnknown},
		{"1", models.SexUnknown},
	}
	for _, tt := range tests {
		if got := sexOf([]byte(tt.code)); got != tt.want {
			t.Errorf("sexOf(%q) = %q, want %q", tt.code, got, tt.want)
		}
	}
}

func TestNormalisePostcode(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"CB1 2AB", "CB1 2AB", true},
		{"cb12ab", "CB1 2AB", true},
		{"  ls1  4ap ", "LS1 4AP", true},
		{"W1K 5HL", "W1K 5HL", true},   // A9A
		{"EC1A 1BB", "EC1A 1BB", true}, // AA9A
		{"M1 1AE", "M1 1AE", true},     // A9
		{"B33 8TH", "B33 8TH", true},   // A99
		{"CF10 1BH", "CF10 1BH", true}, // AA99
		{"ZZ99 3VZ", "ZZ99 3VZ", true}, // no fixed abode
		{"999990000", "", false},       // US ZIP
		{"3121", "", false},            // Australian
		{"27401-1020", "", false},      // ZIP+4
		{"CB1 2A", "", false},          // short inward
		{"1B1 2AB", "", false},         // outward starts with a digit
		{"CBA 2AB", "", false},         // outward has no digit
		{"CB123 2AB", "", false},       // outward too long
		{"CB1 ABC", "", false},         // inward starts with a letter
		{"CB1 2A1", "", false},         // inward ends with a digit
		{"CB1-2AB", "", false},         // punctuation
		{"CB1 2AB CB1 2AB", "", false}, // too long
	}
	for _, tt := range tests {
		got, ok := normalisePostcode(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("normalisePostcode(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestNormaliseCode(t *testing.T) {
	tests := []struct {
		cs       models.CodeSystem
		in, want string
		ok       bool
	}{
		{models.ICD10, "E11.9", "E119", true},
		{models.ICD10, "e11.9", "E119", true},
		{models.ICD10, "I10.X", "I10X", true},
		{models.ICD10, "I10", "I10", true},
		{models.ICD10, "S72.00", "S7200", true},
		{models.ICD10, "G01XA", "G01XA", true}, // asterisk code
		{models.ICD10, "71596", "", false},     // ICD-9
		{models.ICD10, "E1", "", false},
		{models.ICD10, "E11.9 ", "", false},
		{models.ICD10, "E11-9", "", false},
		{models.ICD10, "E119ABCD", "", false},
		{models.SNOMED, "422504002", "422504002", true},
		{models.SNOMED, "44054006", "44054006", true},
		{models.SNOMED, "12345", "", false},
		{models.SNOMED, "4225O4002", "", false},
	}
	for _, tt := range tests {
		got, ok := normaliseCode(tt.cs, tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("normaliseCode(%s, %q) = %q, %v; want %q, %v", tt.cs, tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestCodeSystemOf(t *testing.T) {
	tests := []struct {
		in   string
		want models.CodeSystem
		ok   bool
	}{
		{"I10", models.ICD10, true},
		{"ICD10", models.ICD10, true},
		{"icd-10", models.ICD10, true},
		{"SCT", models.SNOMED, true},
		{"SNOMED CT", models.SNOMED, true},
		{"I9", "", false},
		{"I9C", "", false},
		{"I10P", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		got, ok := codeSystemOf([]byte(tt.in))
		if got != tt.want || ok != tt.ok {
			t.Errorf("codeSystemOf(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestLookupTrigger(t *testing.T) {
	tests := []struct {
		ev               string
		visit            visitRule
		cancelled        bool
		handled, defined bool
	}{
		{"A01", visitRequired, false, true, true},
		{"A03", visitRequired, false, true, true},
		{"A08", visitIfPresent, false, true, true},
		{"A13", visitRequired, true, true, true},
		{"A28", noVisit, false, true, true},
		{"A31", noVisit, false, true, true},
		{"A40", noVisit, false, true, true},
		{"A17", 0, false, false, true},
		{"A62", 0, false, false, true},
		{"A63", 0, false, false, false},
		{"A00", 0, false, false, false},
		{"A99", 0, false, false, false},
		{"R01", 0, false, false, false},
		{"a01", 0, false, false, false},
	}
	for _, tt := range tests {
		got, handled, defined := lookupTrigger([]byte(tt.ev))
		if handled != tt.handled || defined != tt.defined {
			t.Errorf("lookupTrigger(%q) handled, defined = %v, %v; want %v, %v", tt.ev, handled, defined, tt.handled, tt.defined)
			continue
		}
		if handled && (got.event != tt.ev || got.visit != tt.visit || got.cancelled != tt.cancelled) {
			t.Errorf("lookupTrigger(%q) = %+v, want visit %v cancelled %v", tt.ev, got, tt.visit, tt.cancelled)
		}
	}
}
