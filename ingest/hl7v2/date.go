package hl7v2

import (
	"fmt"
	"time"

	"github.com/pophealth/pophealth/models"
)

// parseDate returns the calendar date of an HL7 DTM (TS in v2.3–2.5.1)
// value: YYYYMMDD[HH[MM[SS[.S[S[S[S]]]]]]][+/-ZZZZ]. Every part present
// is checked against the calendar and clock, so 20230230 or an hour of 25
// is rejected rather than rolled over. The date is the one written: a UTC
// offset is checked but not applied, because a date of birth or admission
// is a local calendar date and shifting it across midnight would be wrong.
//
// HL7 allows a year or a month alone (YYYY, YYYYMM); pophealth's dates are
// whole days, so those are rejected as incomplete rather than guessed.
func parseDate(b []byte) (models.Date, error) {
	n := 0
	for n < len(b) && isDigit(b[n]) {
		n++
	}
	rest := b[n:]
	if n == 14 && len(rest) > 0 && rest[0] == '.' {
		f := 1
		for f < len(rest) && isDigit(rest[f]) {
			f++
		}
		if f == 1 || f > 5 {
			return 0, fmt.Errorf("malformed date %q", b)
		}
		rest = rest[f:]
	}
	if len(rest) > 0 {
		if len(rest) != 5 || (rest[0] != '+' && rest[0] != '-') || !allDigits(rest[1:]) ||
			atoi(rest[1:3]) > 14 || atoi(rest[3:5]) > 59 {
			return 0, fmt.Errorf("malformed date %q", b)
		}
	}
	switch n {
	case 8, 10, 12, 14:
	case 4, 6:
		return 0, fmt.Errorf("incomplete date %s (want at least YYYYMMDD)", b[:n])
	default:
		return 0, fmt.Errorf("malformed date %q", b)
	}
	d := b[:n]
	year, month, day := atoi(d[0:4]), atoi(d[4:6]), atoi(d[6:8])
	ok := year >= 1 && month >= 1 && month <= 12 && day >= 1 && day <= daysIn(time.Month(month), year)
	if n >= 10 {
		ok = ok && atoi(d[8:10]) < 24
	}
	if n >= 12 {
		ok = ok && atoi(d[10:12]) < 60
	}
	if n >= 14 {
		ok = ok && atoi(d[12:14]) < 60
	}
	if !ok {
		return 0, fmt.Errorf("impossible date %s", d)
	}
	return models.NewDate(year, time.Month(month), day), nil
}

// daysIn returns the number of days in month m of year y.
func daysIn(m time.Month, y int) int {
	switch m {
	case time.April, time.June, time.September, time.November:
		return 30
	case time.February:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	}
	return 31
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func allDigits(b []byte) bool {
	for _, c := range b {
		if !isDigit(c) {
			return false
		}
	}
	return true
}

// atoi converts a short run of ASCII digits, already checked, to an int.
func atoi(b []byte) int {
	n := 0
	for _, c := range b {
		n = n*10 + int(c-'0')
	}
	return n
}
