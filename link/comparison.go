package link

import (
	"github.com/pophealth/pophealth/link/compare"
)

// A comparison turns one field of a pair of records into a level: 0 when
// either record lacks the field (no evidence), then 1 for the strongest
// agreement down to the last level, "else" (disagreement). Each level has
// its own m and u probability in the Model.
type comparison struct {
	name   string
	levels []string // names of levels 1..len; the last is "else"
	level  func(a, b *prepared) int
	// value, when set, returns the field's value for term-frequency
	// adjustment of level 1 (exact agreement).
	value func(p *prepared) string
}

// The comparisons, in the order explain output lists them. The levels are
// Splink's defaults and a little richer (phonetic names, one-typo dates and
// NHS numbers).
var comparisons = []comparison{
	{
		name:   "nhs_number",
		levels: []string{"exact", "one edit", "else"},
		level:  func(a, b *prepared) int { return editLevels(a.nhs, b.nhs, 1) },
	},
	nameComparison("given_name", func(p *prepared) (string, string, string) { return p.given, p.givenPh, p.family }),
	nameComparison("family_name", func(p *prepared) (string, string, string) { return p.family, p.familyPh, p.given }),
	{
		name:   "birth_date",
		levels: []string{"exact", "one typo or transposition", "within a month", "within a year", "else"},
		level:  dobLevel,
	},
	{
		name:   "sex",
		levels: []string{"exact", "else"},
		level: func(a, b *prepared) int {
			return exactLevel(a.sex, b.sex)
		},
	},
	{
		name:   "postcode",
		levels: []string{"full", "sector", "district", "area", "one edit", "else"},
		level:  postcodeLevel,
		value:  func(p *prepared) string { return p.postcode },
	},
	{
		name:   "house_number",
		levels: []string{"exact", "else"},
		level:  func(a, b *prepared) int { return exactLevel(a.house, b.house) },
	},
	{
		name:   "address",
		levels: []string{"exact", "jaro-winkler >= 0.9", "jaro-winkler >= 0.7", "else"},
		level: func(a, b *prepared) int {
			return similarityLevels(a.address, b.address, 0.9, 0.7)
		},
	},
	{
		name:   "locality",
		levels: []string{"exact", "jaro-winkler >= 0.88", "else"},
		level: func(a, b *prepared) int {
			return similarityLevels(a.locality, b.locality, 0.88)
		},
		value: func(p *prepared) string { return p.locality },
	},
	{
		name:   "email",
		levels: []string{"exact", "user part exact", "jaro-winkler >= 0.88", "else"},
		level:  emailLevel,
	},
	{
		name:   "identifier",
		levels: []string{"exact", "one edit", "two edits", "else"},
		level:  func(a, b *prepared) int { return editLevels(a.ident, b.ident, 1, 2) },
	},
}

// maxLevels bounds a comparison's levels so that a pair's levels pack into
// one uint64 (4 bits each).
const maxLevels = 15

// nameComparison compares one name field. get returns a record's value of
// the field, its phonetic code and the record's other name (family name
// for given name and vice versa), so that names written in each other's
// place (Henry Simmons as Simmons Henry) reach their own level.
func nameComparison(name string, get func(*prepared) (v, phonetic, other string)) comparison {
	return comparison{
		name: name,
		levels: []string{"exact", "jaro-winkler >= 0.92", "jaro-winkler >= 0.88", "swapped with the other name",
			"jaro-winkler >= 0.70", "phonetic (double metaphone)", "else"},
		level: func(a, b *prepared) int {
			x, xp, xo := get(a)
			y, yp, yo := get(b)
			if x == "" || y == "" {
				return 0
			}
			if x == y {
				return 1
			}
			jw := compare.JaroWinkler(x, y)
			switch {
			case jw >= 0.92:
				return 2
			case jw >= 0.88:
				return 3
			case x == yo || y == xo:
				return 4
			case jw >= 0.70:
				return 5
			case xp != "" && xp == yp:
				return 6
			}
			return 7
		},
		value: func(p *prepared) string { v, _, _ := get(p); return v },
	}
}

func exactLevel(x, y string) int {
	switch {
	case x == "" || y == "":
		return 0
	case x == y:
		return 1
	}
	return 2
}

// editLevels returns 1 for equal values, 1+k for values at most
// maxEdits[k-1] Damerau-Levenshtein edits apart, and the else level after.
func editLevels(x, y string, maxEdits ...int) int {
	if x == "" || y == "" {
		return 0
	}
	if x == y {
		return 1
	}
	if maxEdits[0] == 1 {
		if compare.WithinOneEdit(x, y) {
			return 2
		}
		if len(maxEdits) == 1 {
			return 3
		}
	}
	d := compare.DamerauLevenshtein(x, y)
	for k, m := range maxEdits {
		if d <= m {
			return 2 + k
		}
	}
	return 2 + len(maxEdits)
}

// similarityLevels is editLevels with Jaro-Winkler thresholds.
func similarityLevels(x, y string, thresholds ...float64) int {
	if x == "" || y == "" {
		return 0
	}
	if x == y {
		return 1
	}
	jw := compare.JaroWinkler(x, y)
	for k, t := range thresholds {
		if jw >= t {
			return 2 + k
		}
	}
	return 2 + len(thresholds)
}

func dobLevel(a, b *prepared) int {
	switch {
	case a.dob == "" || b.dob == "":
		return 0
	case a.dob == b.dob:
		return 1
	case compare.WithinOneEdit(a.dob, b.dob):
		return 2
	case a.dobDay == noDay || b.dobDay == noDay:
		return 5
	}
	d := a.dobDay - b.dobDay
	if d < 0 {
		d = -d
	}
	switch {
	case d <= 31:
		return 3
	case d <= 366:
		return 4
	}
	return 5
}

func postcodeLevel(a, b *prepared) int {
	switch {
	case a.postcode == "" || b.postcode == "":
		return 0
	case a.postcode == b.postcode:
		return 1
	case a.pcSector != "" && a.pcSector == b.pcSector:
		return 2
	case a.pcDistr != "" && a.pcDistr == b.pcDistr:
		return 3
	case a.pcArea != "" && a.pcArea == b.pcArea:
		return 4
	case compare.WithinOneEdit(a.postcode, b.postcode):
		return 5
	}
	return 6
}

func emailLevel(a, b *prepared) int {
	switch {
	case a.email == "" || b.email == "":
		return 0
	case a.email == b.email:
		return 1
	case a.emailUser != "" && a.emailUser == b.emailUser:
		return 2
	case compare.JaroWinkler(a.email, b.email) >= 0.88:
		return 3
	}
	return 4
}

// pattern packs a pair's levels, 4 bits per comparison.
type pattern uint64

func (p pattern) level(c int) int { return int(p>>(4*c)) & 0xf }

// comparePair returns the levels of every comparison for a pair.
func comparePair(a, b *prepared) pattern {
	var p pattern
	for c := range comparisons {
		p |= pattern(comparisons[c].level(a, b)) << (4 * c)
	}
	return p
}
