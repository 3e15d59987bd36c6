package suppress

import (
	"encoding/json"
	"fmt"
	"strconv"
)

// Kind says what a published cell holds.
type Kind uint8

// The kinds of cell.
const (
	KindLabel      Kind = iota // text, a date, a category
	KindCount                  // a published (rounded) count
	KindMeasure                // a published non-count number (a mean, a rate)
	KindSuppressed             // withheld: a small count, or a cell that would reveal one
	KindEmpty                  // no value (NULL)
)

// Cell is one value of a published table. A Cell holds only what it shows:
// a withheld cell does not remember the count it hides, and the package
// never tells which withheld cells were small and which protect others
// (that would say the latter are larger than 7).
type Cell struct {
	kind Kind
	text string
}

var withheld = Cell{kind: KindSuppressed, text: "*"}

func countCell(n int64) Cell  { return Cell{kind: KindCount, text: strconv.FormatInt(n, 10)} }
func labelCell(s string) Cell { return Cell{kind: KindLabel, text: s} }

// Kind returns what the cell holds.
func (c Cell) Kind() Kind { return c.kind }

// Suppressed reports whether the cell is withheld.
func (c Cell) Suppressed() bool { return c.kind == KindSuppressed }

// String returns the cell as shown: the rounded number, "*" when withheld,
// "" for no value, or the label.
func (c Cell) String() string { return c.text }

// GoString keeps %#v to what the cell shows.
func (c Cell) GoString() string { return fmt.Sprintf("suppress.Cell(%q)", c.text) }

// MarshalJSON writes a count or measure as a JSON number, a withheld cell
// as the string "*", no value as null and a label as a string.
func (c Cell) MarshalJSON() ([]byte, error) {
	switch c.kind {
	case KindCount, KindMeasure:
		return []byte(c.text), nil
	case KindEmpty:
		return []byte("null"), nil
	}
	return json.Marshal(c.text)
}
