package gpcsv

import (
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"

	"github.com/pophealth/pophealth/models"
)

// dateResult says whether a field holds a date.
type dateResult int

const (
	dateOK         dateResult = iota
	notADate                  // neither YYYY-MM-DD nor DD/MM/YYYY
	impossibleDate            // the right shape, but no such day (30/02/2023)
)

// parseDate parses the two date forms of the specification, ISO
// YYYY-MM-DD and the British DD/MM/YYYY, and tells an impossible date
// from something that is not a date at all, because the operator fixing
// the row needs to know which.
func parseDate(s string) (models.Date, dateResult) {
	if len(s) != 10 {
		return 0, notADate
	}
	var y, m, d int
	var oky, okm, okd bool
	switch {
	case s[4] == '-' && s[7] == '-':
		y, oky = atoi(s[0:4])
		m, okm = atoi(s[5:7])
		d, okd = atoi(s[8:10])
	case s[2] == '/' && s[5] == '/':
		d, okd = atoi(s[0:2])
		m, okm = atoi(s[3:5])
		y, oky = atoi(s[6:10])
	default:
		return 0, notADate
	}
	if !oky || !okm || !okd {
		return 0, notADate
	}
	if y == 0 || m < 1 || m > 12 || d < 1 || d > daysIn(y, m) {
		return 0, impossibleDate
	}
	return models.NewDate(y, time.Month(m), d), dateOK
}

// atoi parses a string of ASCII digits.
func atoi(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

func daysIn(year, month int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// parseSex maps the GP codes to models.Sex: M/F/I/U as GP systems write
// them, or the NHS Data Dictionary's Person Stated Gender Code 1/2/9, whose
// 9 is "indeterminate" like I. Indeterminate becomes SexOther, as UK Core
// FHIR maps it.
func parseSex(s string) (models.Sex, bool) {
	if len(s) != 1 {
		return "", false
	}
	switch s[0] {
	case 'M', 'm', '1':
		return models.SexMale, true
	case 'F', 'f', '2':
		return models.SexFemale, true
	case 'I', 'i', '9':
		return models.SexOther, true
	case 'U', 'u':
		return models.SexUnknown, true
	}
	return "", false
}

// normalisePostcode writes a UK postcode in upper case with one space
// before the inward code (its last three characters: digit, letter,
// letter), however it was spaced. Something that is not shaped like a
// postcode is kept, upper-cased with its spaces collapsed, for linkage to
// weigh: an optional field is no reason to lose the row.
func normalisePostcode(s string) string {
	if s == "" {
		return ""
	}
	var b [7]byte // the longest postcode, without its space
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == ' ' {
			continue
		}
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		if n == len(b) || !(isUpper(c) || isDigit(c)) {
			return collapseSpaces(s)
		}
		b[n] = c
		n++
	}
	if n < 5 || !isUpper(b[0]) || !isDigit(b[n-3]) || !isUpper(b[n-2]) || !isUpper(b[n-1]) {
		return collapseSpaces(s)
	}
	if len(s) == n+1 && s[n-3] == ' ' && string(b[:n-3]) == s[:n-3] && string(b[n-3:n]) == s[n-2:] {
		return s // already normal: no allocation
	}
	return string(b[:n-3]) + " " + string(b[n-3:n])
}

// collapseSpaces upper-cases s and leaves single spaces between its words.
func collapseSpaces(s string) string { return strings.ToUpper(strings.Join(strings.Fields(s), " ")) }

func isUpper(c byte) bool { return 'A' <= c && c <= 'Z' }
func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// isConceptID reports whether s has the form of a SNOMED CT identifier,
// which dm+d ids share: 6 to 18 digits without a leading zero.
func isConceptID(s string) bool {
	if len(s) < 6 || len(s) > 18 || s[0] == '0' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

// parseValue parses a decimal number with a '.' point and an optional
// exponent. strconv.ParseFloat alone would also take "NaN", "Inf", hex
// floats and digit separators, none of which is a measurement.
func parseValue(s string) (float64, bool) {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case isDigit(c), c == '.', c == '-', c == '+', c == 'e', c == 'E':
		default:
			return 0, false
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	return f, err == nil
}

// decode1252 converts a Windows-1252 string to UTF-8. The five bytes
// Windows-1252 leaves undefined become U+FFFD.
func decode1252(s string) string {
	i := 0
	for i < len(s) && s[i] < utf8.RuneSelf {
		i++
	}
	if i == len(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + len(s)/2)
	b.WriteString(s[:i])
	for ; i < len(s); i++ {
		if c := s[i]; c < utf8.RuneSelf {
			b.WriteByte(c)
		} else {
			b.WriteRune(charmap.Windows1252.DecodeByte(c))
		}
	}
	return b.String()
}
