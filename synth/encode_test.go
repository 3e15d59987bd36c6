package synth

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/pophealth/pophealth/models"
)

func TestCivil_AgreesWithTimePackage(t *testing.T) {
	// 1800-01-01 to 2200-01-01 covers every birth and event date.
	for d := models.Date(-62091); d <= 84006; d++ {
		y, m, dd := civil(d)
		ty, tm, tdd := d.Time().Date()
		if y != ty || m != int(tm) || dd != tdd {
			t.Fatalf("civil(%d) = %d-%d-%d, want %s", d, y, m, dd, d)
		}
	}
}

func TestAppendDates_FormatEachFeedsWay(t *testing.T) {
	d := models.NewDate(1967, 3, 2)
	at := momentOf(d, 9, 5) + 7
	for _, c := range []struct {
		name string
		got  []byte
		want string
	}{
		{"ISO date", appendISODate(nil, d), "1967-03-02"},
		{"HL7 date", appendHL7Date(nil, d), "19670302"},
		{"HL7 minutes", appendHL7Time(nil, at, false), "196703020905"},
		{"HL7 seconds", appendHL7Time(nil, at, true), "19670302090507"},
		{"FHIR instant", appendFHIRTime(nil, at), "1967-03-02T09:05:07+00:00"},
		{"padded", appendPadded(nil, 42, 5), "00042"},
		{"wider than pad", appendPadded(nil, 123456, 3), "123456"},
		{"zero", appendPadded(nil, 0, 1), "0"},
	} {
		if string(c.got) != c.want {
			t.Errorf("%s: %q, want %q", c.name, c.got, c.want)
		}
	}
}

func TestAppendHL7Text_EscapesDelimiters(t *testing.T) {
	for in, want := range map[string]string{
		"Dr Malik & Partners": `Dr Malik \T\ Partners`,
		"A^B":                 `A\S\B`,
		"a|b~c":               `a\F\b\R\c`,
		`back\slash`:          `back\E\slash`,
		"two\r\nlines":        `two\X0D\\X0A\lines`,
		"O'Brien-Smith":       "O'Brien-Smith",
	} {
		if got := string(appendHL7Text(nil, in)); got != want {
			t.Errorf("appendHL7Text(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestAppendUUID_IsVersion4(t *testing.T) {
	re := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	for _, words := range [][2]uint64{{0, 0}, {^uint64(0), ^uint64(0)}, {0x0123456789abcdef, 0xfedcba9876543210}} {
		if u := appendUUID(nil, words[0], words[1]); !re.Match(u) {
			t.Errorf("appendUUID(%x, %x) = %s", words[0], words[1], u)
		}
	}
}

// unescapeHL7 reverses appendHL7Text for the round-trip fuzz test.
func unescapeHL7(s string) string {
	r := strings.NewReplacer(`\F\`, "|", `\S\`, "^", `\R\`, "~", `\E\`, `\`, `\T\`, "&", `\X0D\`, "\r", `\X0A\`, "\n")
	return r.Replace(s)
}

func FuzzAppendHL7Text(f *testing.F) {
	f.Add("Dr Malik & Partners")
	f.Add(`a|b^c~d\e&f`)
	f.Fuzz(func(t *testing.T, s string) {
		got := string(appendHL7Text(nil, s))
		if strings.ContainsAny(got, "|^~&\r\n") {
			t.Fatalf("appendHL7Text(%q) = %q holds a delimiter", s, got)
		}
		if back := unescapeHL7(got); back != s {
			t.Fatalf("appendHL7Text(%q) = %q unescapes to %q", s, got, back)
		}
	})
}

func FuzzAppendJSONString(f *testing.F) {
	f.Add("O'Brien")
	f.Add("quote \" backslash \\ tab \t nul \x00")
	f.Add("bad utf8 \xff")
	f.Fuzz(func(t *testing.T, s string) {
		b := appendJSONString(nil, s)
		var back string
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("appendJSONString(%q) = %s: %v", s, b, err)
		}
		if utf8.ValidString(s) && back != s {
			t.Fatalf("appendJSONString(%q) = %s decodes to %q", s, b, back)
		}
	})
}

func FuzzAppendCSVField(f *testing.F) {
	f.Add("Smith")
	f.Add(`O"Brien, "Jr"`)
	f.Add("two\nlines")
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) || strings.ContainsRune(s, '\r') || s == "" {
			t.Skip() // encoding/csv normalises CR and cannot tell "" from a blank line
		}
		row := appendCSVField(nil, s)
		row = append(row, ",x\n"...)
		got, err := csv.NewReader(bytes.NewReader(row)).Read()
		if err != nil || len(got) != 2 || got[0] != s {
			t.Fatalf("appendCSVField(%q) = %q reads back as %q, %v", s, row, got, err)
		}
	})
}
