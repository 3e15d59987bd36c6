package synth

import (
	"strconv"
	"unicode/utf8"

	"github.com/pophealth/pophealth/models"
)

// The append helpers in this file write the three wire formats without
// fmt or reflection: the generator spends most of its time here.

// civil returns the calendar date of d (days since 1970-01-01) using Howard
// Hinnant's days-to-civil algorithm, which is exact for the proleptic
// Gregorian calendar and much cheaper than going through time.Time.
func civil(d models.Date) (year, month, day int) {
	z := int64(d) + 719468
	era := z / 146097
	if z < 0 && z%146097 != 0 {
		era--
	}
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y := yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	day = int(doy - (153*mp+2)/5 + 1)
	if mp < 10 {
		month = int(mp + 3)
	} else {
		month = int(mp - 9)
	}
	if month <= 2 {
		y++
	}
	return int(y), month, day
}

// appendPadded appends v (not negative) in decimal, left-padded with zeros
// to width.
func appendPadded(b []byte, v, width int) []byte {
	var tmp [20]byte
	i := len(tmp)
	for v >= 10 {
		i--
		tmp[i] = byte('0' + v%10)
		v /= 10
	}
	i--
	tmp[i] = byte('0' + v)
	for n := len(tmp) - i; n < width; n++ {
		b = append(b, '0')
	}
	return append(b, tmp[i:]...)
}

// appendISODate appends d as YYYY-MM-DD.
func appendISODate(b []byte, d models.Date) []byte {
	y, m, dd := civil(d)
	b = appendPadded(b, y, 4)
	b = append(b, '-')
	b = appendPadded(b, m, 2)
	b = append(b, '-')
	return appendPadded(b, dd, 2)
}

// appendHL7Date appends d as YYYYMMDD.
func appendHL7Date(b []byte, d models.Date) []byte {
	y, m, dd := civil(d)
	b = appendPadded(b, y, 4)
	b = appendPadded(b, m, 2)
	return appendPadded(b, dd, 2)
}

// moment is a local wall-clock time in seconds since 1970-01-01 00:00. The
// feeds carry local times; the generator does not model time zones.
type moment int64

func momentOf(d models.Date, hour, minute int) moment {
	return moment(int64(d)*86400 + int64(hour)*3600 + int64(minute)*60)
}

// date returns the day of t, rounding down for times before 1970.
func (t moment) date() models.Date {
	d := int64(t) / 86400
	if t < 0 && int64(t)%86400 != 0 {
		d--
	}
	return models.Date(d)
}

// clock returns the time of day of t.
func (t moment) clock() (hour, minute, second int) {
	s := int(int64(t) - int64(t.date())*86400)
	return s / 3600, s / 60 % 60, s % 60
}

// appendHL7Time appends t as YYYYMMDDHHMM, or YYYYMMDDHHMMSS with seconds.
func appendHL7Time(b []byte, t moment, seconds bool) []byte {
	b = appendHL7Date(b, t.date())
	h, m, s := t.clock()
	b = appendPadded(b, h, 2)
	b = appendPadded(b, m, 2)
	if seconds {
		b = appendPadded(b, s, 2)
	}
	return b
}

// appendFHIRTime appends t as an instant in FHIR's dateTime format.
func appendFHIRTime(b []byte, t moment) []byte {
	b = appendISODate(b, t.date())
	h, m, s := t.clock()
	b = append(b, 'T')
	b = appendPadded(b, h, 2)
	b = append(b, ':')
	b = appendPadded(b, m, 2)
	b = append(b, ':')
	b = appendPadded(b, s, 2)
	return append(b, "+00:00"...)
}

// appendCSVField appends s as an RFC 4180 field, quoting it only when it
// holds a comma, a quote or a line break.
func appendCSVField(b []byte, s string) []byte {
	quote := false
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ',', '"', '\n', '\r':
			quote = true
		}
	}
	if !quote {
		return append(b, s...)
	}
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' {
			b = append(b, '"')
		}
		b = append(b, s[i])
	}
	return append(b, '"')
}

// appendJSONString appends s as a JSON string. It escapes quotes,
// backslashes and control characters and replaces invalid UTF-8 with
// U+FFFD, so the result is always valid JSON.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, "\ufffd"...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}

// appendHL7Text appends s with HL7 v2's delimiters escaped for the default
// encoding characters |^~\&: \F\ field, \S\ component, \R\ repetition,
// \E\ escape and \T\ subcomponent. Carriage returns and line feeds, which
// would end the segment or the message, become \X0D\ and \X0A\.
func appendHL7Text(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '|':
			b = append(b, `\F\`...)
		case '^':
			b = append(b, `\S\`...)
		case '~':
			b = append(b, `\R\`...)
		case '\\':
			b = append(b, `\E\`...)
		case '&':
			b = append(b, `\T\`...)
		case '\r':
			b = append(b, `\X0D\`...)
		case '\n':
			b = append(b, `\X0A\`...)
		default:
			b = append(b, c)
		}
	}
	return b
}

// appendUUID appends a version 4 UUID built from two random words.
func appendUUID(b []byte, hi, lo uint64) []byte {
	const hex = "0123456789abcdef"
	hi = hi&^(0xf<<12) | 0x4<<12 // version 4
	lo = lo&^(0x3<<62) | 0x2<<62 // RFC 4122 variant
	var u [16]byte
	for i := 0; i < 8; i++ {
		u[i] = byte(hi >> (56 - 8*i))
		u[8+i] = byte(lo >> (56 - 8*i))
	}
	for i, x := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			b = append(b, '-')
		}
		b = append(b, hex[x>>4], hex[x&0xf])
	}
	return b
}

// appendValue appends an observation value with the given number of
// decimals.
func appendValue(b []byte, v float64, decimals int) []byte {
	return strconv.AppendFloat(b, v, 'f', decimals, 64)
}
