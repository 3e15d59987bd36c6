package queries

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/pophealth/pophealth/models"
	"github.com/pophealth/pophealth/queries/suppress"
)

// Small-number suppression is NHS Digital's rule as package suppress
// defines it, the one definition every output uses: a count of 1 to
// suppressMax people or events is never shown; larger counts are rounded
// to the nearest 5. It is fixed, not configurable, so that no caller or
// option can turn it off.
const suppressMax = suppress.Threshold

// suppressionNote explains the rule under every rendered report.
const suppressionNote = "Small numbers: counts of 1 to 7 are shown as * and other counts are rounded to the nearest 5; " +
	"a rate, mean or share is shown as * when its numerator or denominator is 1 to 7. Totals are rounded separately."

type cellKind uint8

const (
	kindLabel      cellKind = iota
	kindNumber              // a published value (rounded count, rate)
	kindSuppressed          // a small number withheld
	kindEmpty               // not applicable (a rate over nobody)
)

// Cell is one value in a report. Counts enter a report only through
// Suppress and the rate constructors, so a cell never holds an exact small
// number: what a Cell knows is only what it shows.
type Cell struct {
	kind cellKind
	text string
}

// Suppress returns the cell showing count n: 0 as 0, 1 to 7 as "*", and
// anything larger rounded to the nearest 5. A negative n cannot be a count
// and is withheld too.
func Suppress(n int64) Cell { return SuppressAs(suppress.NHSD, n) }

// SuppressAs returns the cell showing count n under profile p: withheld
// when p says it is small (OpenSAFELY withholds 0 as well as 1 to 7),
// otherwise rounded to the nearest 5. A profile queries/suppress does not
// know withholds every count.
func SuppressAs(p suppress.Profile, n int64) Cell {
	if !known(p) || p.Small(n) {
		return withheld
	}
	return Cell{kind: kindNumber, text: strconv.FormatInt(suppress.Round(n), 10)}
}

// known reports whether p is a profile queries/suppress implements.
func known(p suppress.Profile) bool { return slices.Contains(suppress.Profiles(), p) }

// profileNote explains profile p's rule under a report; the empty profile
// is NHSD's, the rule of reports made outside a purpose.
func profileNote(p suppress.Profile) string {
	if p == suppress.OpenSAFELY {
		return openSAFELYNote
	}
	return suppressionNote
}

// openSAFELYNote is suppressionNote for the OpenSAFELY profile.
const openSAFELYNote = "Small numbers (OpenSAFELY): counts of 7 or fewer, including 0, are shown as * and other counts are rounded to the nearest 5; " +
	"a rate, mean or share is shown as * when its numerator is 7 or fewer or its denominator 1 to 7. Totals are rounded separately."

// withheld is the cell of a count not shown, or of a value that would
// reveal one.
var withheld = Cell{kind: kindSuppressed, text: "*"}

// protectedCounts returns the cells of a table of exact counts whose lines
// (totals) are given: small counts withheld, and any count that the totals
// would give away withheld too (suppress.Protect). Should the table be
// impossible to protect, every count is withheld.
func protectedCounts(counts [][]int64, lines []suppress.Line) [][]Cell {
	hide, err := suppress.Protect(suppress.NHSD, suppress.Grid{Counts: counts, Lines: lines})
	out := make([][]Cell, len(counts))
	for r, row := range counts {
		out[r] = make([]Cell, len(row))
		for c, n := range row {
			if err != nil || hide[r][c] {
				out[r][c] = withheld
			} else {
				out[r][c] = Suppress(n)
			}
		}
	}
	return out
}

// columnTotal is the line "row n of column c totals rows 0..n-1".
func columnTotal(n, c int) suppress.Line {
	l := suppress.Line{Total: suppress.Pos{Row: n, Col: c}}
	for r := 0; r < n; r++ {
		l.Parts = append(l.Parts, suppress.Pos{Row: r, Col: c})
	}
	return l
}

// label returns a text cell (an age band, a tier name).
func label(s string) Cell { return Cell{kind: kindLabel, text: s} }

// ratio returns num/den*scale to one decimal place, computed on the exact
// counts and withheld when either is a small number. Over nobody (den 0)
// it is not applicable.
func ratio(num, den int64, scale float64) Cell { return ratioAs(suppress.NHSD, num, den, scale) }

// ratioAs is ratio under profile p: the numerator is withheld as p
// withholds a count (under OpenSAFELY a zero numerator too).
func ratioAs(p suppress.Profile, num, den int64, scale float64) Cell {
	switch {
	case den == 0:
		return Cell{kind: kindEmpty, text: "-"}
	case !known(p) || num < 0 || den < 0 || p.Small(num) || den <= suppressMax:
		return withheld
	}
	v := math.Round(float64(num)/float64(den)*scale*10) / 10
	return Cell{kind: kindNumber, text: strconv.FormatFloat(v, 'f', 1, 64)}
}

// String returns the cell as shown: the rounded number, "*", "-" or the label.
func (c Cell) String() string { return c.text }

// GoString keeps %#v to what the cell shows.
func (c Cell) GoString() string { return fmt.Sprintf("queries.Cell(%q)", c.text) }

// Suppressed reports whether the cell withholds a small number.
func (c Cell) Suppressed() bool { return c.kind == kindSuppressed }

// MarshalJSON writes a number as a JSON number, a withheld value as "*", a
// value that does not apply as null and a label as a string.
func (c Cell) MarshalJSON() ([]byte, error) {
	switch c.kind {
	case kindNumber:
		return []byte(c.text), nil
	case kindEmpty:
		return []byte("null"), nil
	}
	return json.Marshal(c.text)
}

// Report is a table of aggregate results fit to show to commissioners:
// every count in it has been through Suppress. Reports never hold person
// keys or other row-level values.
type Report struct {
	Title   string
	AsOf    models.Date
	Columns []string
	Rows    [][]Cell
	// Notes explain the population and method; the suppression rule is
	// always added when the report is written.
	Notes []string
	// Charts draw parts of the table (HTML output only). They hold the
	// table's own cells, never other numbers.
	Charts []Chart `json:"-"`
	// Profile is the suppression profile the report's cells were made
	// under (SuppressAs, RatioAs), which decides the rule its notes state;
	// empty means NHSD, as Suppress and Ratio use.
	Profile suppress.Profile `json:"-"`
}

// WriteText writes the report as an aligned plain-text table with its
// title, as-of date and notes: text columns left-aligned, numbers right.
func (r *Report) WriteText(w io.Writer) error {
	widths := make([]int, len(r.Columns))
	numeric := make([]bool, len(r.Columns))
	for i, c := range r.Columns {
		widths[i] = utf8.RuneCountInString(c)
	}
	for _, row := range r.Rows {
		for i, c := range row {
			if i < len(widths) {
				widths[i] = max(widths[i], utf8.RuneCountInString(c.text))
				numeric[i] = numeric[i] || c.kind != kindLabel
			}
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s\nAs at %s\n\n", r.Title, r.AsOf)
	line := func(cells []string) {
		for i, s := range cells {
			if i > 0 {
				b.WriteString("  ")
			}
			pad := strings.Repeat(" ", widths[i]-utf8.RuneCountInString(s))
			switch {
			case numeric[i]:
				b.WriteString(pad + s)
			case i == len(cells)-1:
				b.WriteString(s)
			default:
				b.WriteString(s + pad)
			}
		}
		b.WriteString("\n")
	}
	line(r.Columns)
	rules := make([]string, len(widths))
	for i, n := range widths {
		rules[i] = strings.Repeat("-", n)
	}
	line(rules)
	for _, row := range r.Rows {
		cells := make([]string, len(r.Columns))
		for i := range cells {
			if i < len(row) {
				cells[i] = row[i].text
			}
		}
		line(cells)
	}
	b.WriteString("\nNotes:\n")
	for _, n := range append(r.Notes[:len(r.Notes):len(r.Notes)], profileNote(r.Profile)) {
		fmt.Fprintf(&b, "- %s\n", n)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteJSON writes the report as one indented JSON object (see MarshalJSON).
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// MarshalJSON encodes the report as an object with its title, as-of date
// (YYYY-MM-DD), columns, rows, notes and the suppression rule. Rows are
// arrays in column order; numbers are JSON numbers, withheld values "*"
// and values that do not apply null.
func (r *Report) MarshalJSON() ([]byte, error) {
	rows := r.Rows
	if rows == nil {
		rows = [][]Cell{}
	}
	return json.Marshal(struct {
		Title       string   `json:"title"`
		AsOf        string   `json:"as_of"`
		Columns     []string `json:"columns"`
		Rows        [][]Cell `json:"rows"`
		Notes       []string `json:"notes,omitempty"`
		Suppression string   `json:"suppression"`
	}{r.Title, r.AsOf.String(), r.Columns, rows, r.Notes, profileNote(r.Profile)})
}
