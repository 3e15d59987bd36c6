package synth

import (
	"bytes"
	"math"
	"math/rand/v2"
	"strings"

	"github.com/pophealth/pophealth/models"
)

// Reasons a record is malformed, written to malformed.csv.
const (
	reasonColumns   = "wrong column count"
	reasonDate      = "impossible date"
	reasonRequired  = "empty required field"
	reasonCodePair  = "invalid event_type/code_system pair"
	reasonTruncated = "truncated JSON"
	reasonSyntax    = "invalid JSON"
	reasonNoPID     = "message without PID segment"
	reasonDOB       = "invalid date of birth"
)

// identity is how one non-GP feed records a person: the truth with that
// feed's dirt applied.
type identity struct {
	nhs, given, family string
	// traced says whether the number came from a trace against the
	// national register (FHIR verification status 01): true for most
	// correct numbers and for numbers of the wrong person, false for
	// numbers keyed by hand.
	traced bool
}

// wrongPersonShare is the share of wrong NHS numbers that are another
// valid number (a wrong pick in a trace) rather than a keying error.
const wrongPersonShare = 0.1

// untracedShare is the share of correct NHS numbers a feed holds without
// having traced them.
const untracedShare = 0.08

// dirtyIdentity draws the person's identity as a non-GP feed holds it and
// counts the dirt in d.
func (w *worker) dirtyIdentity(d *DirtCounts) identity {
	m, r, p := w.m, w.r, &w.p
	id := identity{nhs: p.nhs, given: p.given, family: p.family}
	d.PersonRecords++
	switch u := r.Float64(); {
	case u < m.opts.MissingNHS:
		id.nhs = ""
		d.MissingNHS++
	case u < m.opts.MissingNHS+m.opts.WrongNHS:
		d.WrongNHS++
		if r.Float64() < wrongPersonShare {
			id.nhs, id.traced = m.nhs.random(r, p.nhs), true
			d.WrongNHSValid++
			if _, ok := m.nhs.owner(id.nhs); ok {
				d.WrongNHSOtherPerson++
			}
		} else {
			id.nhs = mistype(r, p.nhs)
		}
	default:
		id.traced = r.Float64() >= untracedShare
	}
	if r.Float64() < m.opts.NameVariant {
		// Choose evenly among the variants the name allows; a typo always
		// fits.
		nicks, surname := nicknames[p.given], surnameVariant(r, p.family)
		kinds := 1
		if len(nicks) > 0 {
			kinds++
		}
		if surname != "" {
			kinds++
		}
		switch k := r.IntN(kinds); {
		case k == 1 && len(nicks) > 0:
			id.given = nicks[r.IntN(len(nicks))]
			d.Nickname++
		case k >= 1:
			id.family = surname
			d.SurnameVariant++
		case r.IntN(2) == 0:
			id.given = typo(r, id.given)
			d.NameTypo++
		default:
			id.family = typo(r, id.family)
			d.NameTypo++
		}
	}
	return id
}

// surnameVariant returns another form of a surname that a second system
// may hold (one half of a double-barrelled name, O'Brien as OBrien, Mc as
// Mac), or "" when the name has none.
func surnameVariant(r *rand.Rand, family string) string {
	switch {
	case strings.Contains(family, "-"):
		first, second, _ := strings.Cut(family, "-")
		return [...]string{first, second, first + " " + second}[r.IntN(3)]
	case strings.HasPrefix(family, "O'"):
		return [...]string{"O" + family[2:], "O " + family[2:]}[r.IntN(2)]
	case strings.HasPrefix(family, "Mc"):
		return "Mac" + family[2:]
	case strings.HasPrefix(family, "Mac"):
		return "Mc" + family[3:]
	}
	return ""
}

// typo returns s with one keying error after its first letter: a letter
// replaced, two adjacent letters swapped, one dropped or one doubled. The
// result always differs from s.
func typo(r *rand.Rand, s string) string {
	b := []byte(s)
	if len(b) < 2 {
		return s + "e"
	}
	i := 1 + r.IntN(len(b)-1)
	switch r.IntN(4) {
	case 0:
		if i+1 < len(b) && b[i] != b[i+1] {
			b[i], b[i+1] = b[i+1], b[i]
			return string(b)
		}
	case 1:
		if len(b) > 3 {
			return string(b[:i]) + string(b[i+1:])
		}
	case 2:
		return string(b[:i+1]) + string(b[i:])
	}
	c := byte('a' + r.IntN(25))
	if c >= b[i]|0x20 {
		c++
	}
	b[i] = c
	return string(b)
}

// appendImpossibleDate appends a date that does not exist in d's year,
// such as 1967-02-30, with sep between the parts (0 for none).
func appendImpossibleDate(b []byte, d models.Date, r *rand.Rand, sep byte) []byte {
	impossible := [...][2]int{{2, 30}, {2, 31}, {4, 31}, {6, 31}, {9, 31}, {11, 31}}
	y, _, _ := civil(d)
	md := impossible[r.IntN(len(impossible))]
	b = appendPadded(b, y, 4)
	if sep != 0 {
		b = append(b, sep)
	}
	b = appendPadded(b, md[0], 2)
	if sep != 0 {
		b = append(b, sep)
	}
	return appendPadded(b, md[1], 2)
}

// dropLastField removes the last comma of the CSV row that starts at
// start, merging its last two fields, so the row has one column too few.
// Rows passed here have no quoted commas after their last real separator.
func dropLastField(b []byte, start int) []byte {
	i := bytes.LastIndexByte(b[start:], ',')
	if i < 0 {
		return b
	}
	i += start
	return append(b[:i], b[i+1:]...)
}

// roundTo rounds v to the given number of decimals, so that the value
// written and the value tested agree.
func roundTo(v float64, decimals int) float64 {
	p := math.Pow10(decimals)
	return math.Round(v*p) / p
}
