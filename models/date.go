package models

import (
	"fmt"
	"time"
)

// Date is a calendar date stored as days since 1970-01-01, the Parquet DATE
// representation. Source records keep dates as Date rather than time.Time
// because the feeds carry dates whose time zone is unknown or absent, and a
// time.Time would invite accidental shifts across midnight.
//
// The zero Date is 1970-01-01, a real date; fields that may be absent use
// *Date or the ok result of ParseDate.
type Date int32

// DateOf returns the calendar date of t in t's own location.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return NewDate(y, m, d)
}

// NewDate returns the given calendar date. Out-of-range month or day values
// are normalised as time.Date does, so callers that need validation should
// use ParseDate.
func NewDate(year int, month time.Month, day int) Date {
	return Date(time.Date(year, month, day, 0, 0, 0, 0, time.UTC).Unix() / 86400)
}

// ParseDate parses an ISO 8601 calendar date (YYYY-MM-DD) and rejects
// impossible dates such as 2023-02-30, which time.Date would silently roll over.
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return 0, fmt.Errorf("date %q: want YYYY-MM-DD", s)
	}
	return DateOf(t), nil
}

// Time returns midnight UTC at the start of d.
func (d Date) Time() time.Time { return time.Unix(int64(d)*86400, 0).UTC() }

// Year returns d's calendar year.
func (d Date) Year() int { return d.Time().Year() }

// Month returns d's calendar month.
func (d Date) Month() time.Month { return d.Time().Month() }

// String formats d as YYYY-MM-DD.
func (d Date) String() string { return d.Time().Format(time.DateOnly) }

// AddDays returns d moved by n days.
func (d Date) AddDays(n int) Date { return d + Date(n) }

// FirstOfMonth returns the first day of d's month: the generalised form of a
// date that the lake keeps where the day would narrow identification.
func (d Date) FirstOfMonth() Date {
	t := d.Time()
	return NewDate(t.Year(), t.Month(), 1)
}

// Ptr returns a pointer to a copy of d, for optional Parquet columns.
func (d Date) Ptr() *Date { return &d }

// AgeOn returns the age in whole years of someone born on birth at date on.
func AgeOn(birth, on Date) int {
	b, o := birth.Time(), on.Time()
	age := o.Year() - b.Year()
	if o.Month() < b.Month() || (o.Month() == b.Month() && o.Day() < b.Day()) {
		age--
	}
	return age
}
