package gpcsv

import (
	"math"
	"testing"

	"github.com/pophealth/pophealth/models"
)

func TestParseDate(t *testing.T) {
	tests := []struct {
		in   string
		want string // YYYY-MM-DD when the date is good
		res  dateResult
	}{
		{"2024-02-10", "2024-02-10", dateOK},
		{"10/02/2024", "2024-02-10", dateOK},
		{"2024-02-29", "2024-02-29", dateOK}, // leap year
		{"29/02/2000", "2000-02-29", dateOK}, // divisible by 400
		{"1899-12-31", "1899-12-31", dateOK},
		{"31/12/1969", "1969-12-31", dateOK}, // before the Date epoch
		{"2023-02-29", "", impossibleDate},
		{"29/02/1900", "", impossibleDate}, // divisible by 100, not 400
		{"31/04/2024", "", impossibleDate},
		{"2024-00-10", "", impossibleDate},
		{"2024-13-10", "", impossibleDate},
		{"00/02/2024", "", impossibleDate},
		{"0000-01-01", "", impossibleDate},
		{"", "", notADate},
		{"2024-2-10", "", notADate},
		{"10-02-2024", "", notADate},
		{"2024/02/10", "", notADate},
		{"10/02/24", "", notADate},
		{"2024-02-1x", "", notADate},
		{"+024-02-10", "", notADate},
		{"2024-02-10T09:30:00Z", "", notADate},
	}
	for _, tt := range tests {
		d, res := parseDate(tt.in)
		if res != tt.res || (res == dateOK && d.String() != tt.want) {
			t.Errorf("parseDate(%q) = %s, %d; want %s, %d", tt.in, d, res, tt.want, tt.res)
		}
	}
}

func TestParseSex(t *testing.T) {
	tests := []struct {
		in   string
		want models.Sex
		ok   bool
	}{
		{"M", models.SexMale, true},
		{"m", models.SexMale, true},
		{"1", models.SexMale, true},
		{"F", models.SexFemale, true},
		{"2", models.SexFemale, true},
		{"I", models.SexOther, true},
		{"9", models.SexOther, true},
		{"U", models.SexUnknown, true},
		{"u", models.SexUnknown, true},
		{"0", "", false},
		{"X", "", false},
		{"MF", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		if got, ok := parseSex(tt.in); got != tt.want || ok != tt.ok {
			t.Errorf("parseSex(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestNormalisePostcode(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"LS1 4AP", "LS1 4AP"},
		{"ls14ap", "LS1 4AP"},
		{"  Ls1   4aP ", "LS1 4AP"},
		{"SW1A1AA", "SW1A 1AA"},
		{"M1 1AE", "M1 1AE"},
		{"EC1A 1BB", "EC1A 1BB"},
		{"B338TH", "B33 8TH"},
		{"CR2 6XH", "CR2 6XH"},
		{"ZZ99 3VZ", "ZZ99 3VZ"}, // NHS pseudo-postcode: no fixed abode
		// Not shaped like a postcode: kept, upper case, spaces collapsed.
		{"not  known", "NOT KNOWN"},
		{"LS1", "LS1"},
		{"LS1 4A", "LS1 4A"},
		{"LS12 34AP", "LS12 34AP"},
		{"1S1 4AP", "1S1 4AP"},
		{"LS1-4AP", "LS1-4AP"},
		{"ls1 4åp", "LS1 4ÅP"},
	}
	for _, tt := range tests {
		if got := normalisePostcode(tt.in); got != tt.want {
			t.Errorf("normalisePostcode(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestIsConceptID(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"44054006", true},
		{"999791000000106", true},
		{"39109911000001105", true},
		{"100000", true},
		{"123456789012345678", true},
		{"12345", false},
		{"1234567890123456789", false},
		{"044054006", false},
		{"4405400x", false},
		{"E11.9", false},
		{" 44054006", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := isConceptID(tt.in); got != tt.want {
			t.Errorf("isConceptID(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestParseValue(t *testing.T) {
	tests := []struct {
		in   string
		want float64
		ok   bool
	}{
		{"62", 62, true},
		{"27.4", 27.4, true},
		{"-1.5", -1.5, true},
		{"+3", 3, true},
		{".5", 0.5, true},
		{"1e3", 1000, true},
		{"2.5E-1", 0.25, true},
		{"27,4", 0, false},
		{">90", 0, false},
		{"NaN", 0, false},
		{"Inf", 0, false},
		{"0x1p3", 0, false},
		{"1_000", 0, false},
		{"1e999", 0, false},
		{"", 0, false},
		{"-", 0, false},
	}
	for _, tt := range tests {
		got, ok := parseValue(tt.in)
		if ok != tt.ok || (ok && got != tt.want) || math.IsNaN(got) {
			t.Errorf("parseValue(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestDecode1252(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Smith", "Smith"},
		{"Zo\xeb", "Zoë"},
		{"Se\xe1n", "Seán"},
		{"O\x92Brien", "O’Brien"},
		{"\x80100", "€100"},
		{"Fran\xe7ois M\xfcller", "François Müller"},
		{"caf\xe9\xa0", "café\u00a0"},
		{"\x81", "\ufffd"}, // undefined in Windows-1252
	}
	for _, tt := range tests {
		if got := decode1252(tt.in); got != tt.want {
			t.Errorf("decode1252(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
