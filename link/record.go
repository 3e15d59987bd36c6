package link

import (
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/antzucaro/matchr"

	"github.com/pophealth/pophealth/models"
	"github.com/pophealth/pophealth/models/nhsnumber"
)

// Record is one description of a person as probabilistic linkage sees it.
// Every field is optional: a field a data set does not have is left empty,
// and its comparison then neither adds nor removes evidence.
type Record struct {
	// ID names the record to the caller (a feed and local id, a row id).
	ID string
	// NHSNumber is the number as sent, digits only; NHSStatus says whether
	// it may key a deterministic link (valid or verified) or not.
	NHSNumber  string
	NHSStatus  models.NHSNumberStatus
	GivenName  string
	FamilyName string
	// BirthDate is a date of birth as text: YYYY-MM-DD, YYYYMMDD or
	// DD/MM/YYYY. Text that is not a real date (19371233) is still
	// compared as text.
	BirthDate string
	Sex       string
	Postcode  string
	// The fields below are not in pophealth's feeds but in many labelled
	// data sets, so "link eval" can use them.
	HouseNumber string
	Address     string
	Locality    string
	Email       string
	// Identifier is another identifier the data set trusts less than an
	// NHS number (a social security number, a hospital number).
	Identifier string
}

// prepared is a Record normalised for comparison, with the derived values
// that comparisons and blocking rules use computed once.
type prepared struct {
	nhs       string
	nhsUsable bool
	given     string
	family    string
	givenPh   string // Double Metaphone primary code
	familyPh  string
	dob       string // YYYYMMDD, possibly not a real date
	dobDay    int32  // days since 1970-01-01; noDay when dob is not a date
	sex       string
	postcode  string // upper case, no spaces
	pcSector  string // UK only: outward code, space, first inward digit
	pcDistr   string // UK only: outward code
	pcArea    string // UK only: letters of the outward code
	house     string
	address   string
	locality  string
	email     string
	emailUser string
	ident     string
}

const noDay = int32(-1 << 31)

// junkNames are placeholders that feeds put where a name is unknown; they
// say nothing about who the person is, so they are blanked.
var junkNames = map[string]bool{
	"baby": true, "twin": true, "unknown": true, "unk": true, "not known": true, "notknown": true,
	"nk": true, "infant": true, "child": true, "boy": true, "girl": true, "male": true, "female": true,
	"xxx": true, "xx": true, "x": true, "test": true, "none": true, "null": true, "na": true, "n a": true,
	"baby of": true, "twin 1": true, "twin 2": true, "twin one": true, "twin two": true, "anonymous": true,
}

// junkDOBs are dates systems write when the date of birth is unknown.
var junkDOBs = map[string]bool{"19000101": true, "18000101": true, "00000000": true, "19010101": true}

// prepare normalises r. It is a pure function of r.
func prepare(r *Record) prepared { return phonetics(nil).prepare(r) }

// phonetics memoises Double Metaphone codes by normalised name. Names
// repeat (a population has far fewer distinct names than records) and the
// code is the costliest part of preparing a record, so preparing an index
// with one cache per worker takes a fraction of the time. A nil cache
// computes every code.
type phonetics map[string]string

func (c phonetics) code(name string) string {
	if name == "" {
		return ""
	}
	if v, ok := c[name]; ok {
		return v
	}
	v, _ := matchr.DoubleMetaphone(name)
	if c != nil {
		c[name] = v
	}
	return v
}

// prepareAll prepares recs into dst (as long as recs) on workers
// goroutines, each over a contiguous share with its own phonetic cache.
func prepareAll(dst []prepared, recs []Record, workers int) {
	workers = max(1, min(workers, len(recs)))
	share := (len(recs) + workers - 1) / workers
	var wg sync.WaitGroup
	for lo := 0; lo < len(recs); lo += share {
		hi := min(lo+share, len(recs))
		wg.Go(func() {
			c := phonetics{}
			for i := lo; i < hi; i++ {
				dst[i] = c.prepare(&recs[i])
			}
		})
	}
	wg.Wait()
}

// prepare normalises r, taking phonetic codes from c.
func (c phonetics) prepare(r *Record) prepared {
	var p prepared
	p.nhs = digits(r.NHSNumber)
	if junkIdentifier(p.nhs) {
		p.nhs = ""
	}
	p.nhsUsable = p.nhs != "" && (r.NHSStatus == models.NHSVerified ||
		r.NHSStatus == models.NHSValid || (r.NHSStatus == "" && nhsnumber.Valid(p.nhs)))
	p.given = normName(r.GivenName)
	p.family = normName(r.FamilyName)
	p.givenPh = c.code(p.given)
	p.familyPh = c.code(p.family)
	p.dob, p.dobDay = normDate(r.BirthDate)
	p.sex = normSex(r.Sex)
	p.postcode = normPostcode(r.Postcode)
	p.pcSector, p.pcDistr, p.pcArea = ukPostcodeParts(p.postcode)
	p.house = strings.ToLower(strings.TrimSpace(r.HouseNumber))
	p.address = normText(r.Address)
	p.locality = normText(r.Locality)
	p.email = strings.ToLower(strings.TrimSpace(r.Email))
	if user, _, ok := strings.Cut(p.email, "@"); ok {
		p.emailUser = user
	}
	p.ident = strings.ToLower(strings.TrimSpace(r.Identifier))
	if junkIdentifier(p.ident) {
		p.ident = ""
	}
	return p
}

func digits(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// junkIdentifier reports placeholder identifiers: one digit repeated.
func junkIdentifier(s string) bool {
	if len(s) < 2 {
		return false
	}
	return strings.Count(s, s[:1]) == len(s)
}

// normName lower-cases a name and keeps letters, single spaces and hyphens;
// apostrophes and dots vanish (O'Brien = OBrien). Junk names become "".
func normName(s string) string {
	var b strings.Builder
	space := false
	for _, c := range strings.ToLower(s) {
		switch {
		case unicode.IsLetter(c):
			if space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			space = false
			b.WriteRune(c)
		case c == '-' || c == ' ' || c == '\t':
			space = true
		}
	}
	n := b.String()
	if junkNames[n] {
		return ""
	}
	return n
}

// normText lower-cases free text and collapses white space.
func normText(s string) string {
	return strings.Join(strings.Fields(strings.ToLower(s)), " ")
}

// normDate returns the date as YYYYMMDD and its day number, or "" for
// text that holds no eight-digit date and for junk dates.
func normDate(s string) (string, int32) {
	s = strings.TrimSpace(s)
	var ymd string
	switch {
	case len(s) == 10 && s[4] == '-' && s[7] == '-':
		ymd = s[:4] + s[5:7] + s[8:]
	case len(s) == 10 && s[2] == '/' && s[5] == '/':
		ymd = s[6:] + s[3:5] + s[:2]
	case len(s) == 8:
		ymd = s
	default:
		return "", noDay
	}
	if digits(ymd) != ymd || junkDOBs[ymd] {
		return "", noDay
	}
	t, err := time.Parse("20060102", ymd)
	if err != nil {
		return ymd, noDay
	}
	return ymd, int32(t.Unix() / 86400)
}

func normSex(s string) string {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "m", "male", "1":
		return "m"
	case "f", "female", "2":
		return "f"
	}
	return "" // unknown, other, indeterminate: no evidence either way
}

// normPostcode upper-cases a postcode and removes spaces; the NHS
// pseudo-postcodes ZZ99 (no fixed abode, not known) are blanked.
func normPostcode(s string) string {
	var b strings.Builder
	for _, c := range strings.ToUpper(s) {
		if c != ' ' && c != '\t' {
			b.WriteRune(c)
		}
	}
	pc := b.String()
	if strings.HasPrefix(pc, "ZZ99") || pc == "NFA" {
		return ""
	}
	return pc
}

// ukPostcodeParts splits a UK postcode (no spaces) into its sector,
// district and area; a postcode of another form has none.
func ukPostcodeParts(pc string) (sector, district, area string) {
	n := len(pc)
	if n < 5 || n > 7 {
		return "", "", ""
	}
	in, out := pc[n-3:], pc[:n-3]
	if !isDigit(in[0]) || !isLetter(in[1]) || !isLetter(in[2]) || !isLetter(out[0]) {
		return "", "", ""
	}
	i := 0
	for i < len(out) && isLetter(out[i]) {
		i++
	}
	if i == 0 || i > 2 || i == len(out) {
		return "", "", ""
	}
	return out + " " + in[:1], out, out[:i]
}

func isDigit(c byte) bool  { return c >= '0' && c <= '9' }
func isLetter(c byte) bool { return c >= 'A' && c <= 'Z' }
