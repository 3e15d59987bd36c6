package suppress

import (
	"fmt"
	"math"
	"math/big"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/pophealth/pophealth/models/nhsnumber"
)

// RefusedError is returned by Gate for a result that may not leave an
// aggregates-only purpose at all; Reason names the column and why.
type RefusedError struct {
	Reason string
}

func (e *RefusedError) Error() string { return "suppress: result refused: " + e.Reason }

func refuse(format string, args ...any) error {
	return &RefusedError{Reason: fmt.Sprintf(format, args...)}
}

// Table is a result fit to leave an aggregates-only purpose.
type Table struct {
	Columns []string `json:"columns"`
	Rows    [][]Cell `json:"rows"`
	// Notes say which rule was applied and which totals were found.
	Notes []string `json:"notes"`
}

// identifierNames are column names that hold a person- or record-level key
// in the lake or its restricted zone (models: person_key, encounter_key;
// models.LinkRow: person_id, local_id, nhs_number) or in a purpose
// (pseudonym), compared after lower-casing and dropping everything but
// letters and digits. TestIdentifierNames_CoverModels keeps the list in
// step with models.
var identifierNames = map[string]bool{
	"personkey": true, "encounterkey": true, "personid": true, "localid": true,
	"nhsnumber": true, "pseudonym": true, "patientid": true, "recordid": true,
}

// maxCount is larger than any count of people or events pophealth can
// hold; a whole number beyond it is a hash or key, not a count.
const maxCount = 1_000_000_000

// keyLikeRe matches text shaped like a pseudonym or key: a run of 8 or
// more hexadecimal characters (HMAC pseudonyms, md5 of a key, a prefix of
// one), or a UUID. keyLikeRe is applied only to text holding at least one
// letter and one digit, so plain words and codes made of digits pass.
var keyLikeRe = regexp.MustCompile(`(?i)^[0-9a-f]{8,}$|^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$|^[A-Za-z0-9_-]{20,}={0,2}$`)

var hasLetter, hasDigit = regexp.MustCompile(`[A-Za-z]`), regexp.MustCompile(`[0-9]`)

// colKind is what Gate decides a column holds.
type colKind uint8

const (
	colLabel colKind = iota
	colCount
	colMeasure
)

// value is one result value as Gate sees it.
type value struct {
	null    bool
	whole   bool  // a whole number (count candidate)
	n       int64 // when whole
	number  bool  // a number that is not whole
	f       float64
	text    string // label text when neither
	keyLike bool
}

// Gate checks a query result and returns the table that may be shown under
// profile p, or a *RefusedError. It refuses any column named like a
// person-level key, any value shaped like one (a pseudonym, an NHS number,
// a hash), binary and nested values, and a result with no count column
// (row-level data). Every column of whole numbers is a count, whatever its
// name or type (a count cast to text or a float is still a count), so
// numbers meant as labels must be written as text that is not a bare
// number ('2025-01', '65-74'). Totals are found by their values: a
// column equal, row by row, to the sum of other count columns; a row
// labelled NULL, "Total", "All..." or "Overall" equal to the sum of the
// rows it groups; or a row equal to the sum of all others. A measure (a
// number that is not whole) is shown only in rows whose counts are all
// published. types, when given, are the DuckDB type names of the columns
// (sandbox.Result.Types): a binary, UUID or nested column is refused even
// when every value in it is NULL.
func Gate(p Profile, columns, types []string, rows [][]any) (*Table, error) {
	if p != NHSD && p != OpenSAFELY {
		return nil, fmt.Errorf("suppress: unknown profile %q", p)
	}
	if len(types) > 0 && len(types) != len(columns) {
		return nil, fmt.Errorf("suppress: %d types for %d columns", len(types), len(columns))
	}
	for c, typ := range types {
		if uncheckableType(typ) {
			return nil, refuse("column %q is of type %s, which may hold keys or hide counts and cannot be checked; select plain columns", columns[c], typ)
		}
	}
	vals, err := classify(columns, rows)
	if err != nil {
		return nil, err
	}
	kinds := make([]colKind, len(columns))
	var counts []int
	for c, name := range columns {
		if identifierNames[normalName(name)] {
			return nil, refuse("column %q holds person-level keys; an aggregates-only purpose publishes counts, never pseudonyms", name)
		}
		kinds[c] = columnKind(vals, c)
		for r := range vals {
			v := vals[r][c]
			switch {
			case v.keyLike:
				return nil, refuse("column %q row %d holds a value shaped like a pseudonym or key; group by categories, not people", name, r+1)
			case v.whole && (v.n > maxCount || v.n < -maxCount):
				return nil, refuse("column %q row %d holds a number larger than any count (a hash or key?)", name, r+1)
			}
		}
		if kinds[c] == colCount {
			counts = append(counts, c)
		}
	}
	if len(counts) == 0 {
		return nil, refuse("the result has no count column; an aggregates-only purpose publishes counts (add count(*) to each group)")
	}
	g, notes := findLines(columns, vals, kinds, counts)
	var shown [][]Cell
	if p == OpenSAFELY {
		shown, err = publishRecomputed(p, g, vals, counts)
	} else {
		shown, err = publishProtected(p, g, counts)
	}
	if err != nil {
		return nil, err
	}
	t := &Table{Columns: slices.Clone(columns), Notes: append([]string{p.Rule()}, notes...)}
	withheldCells := 0
	for r := range vals {
		row := make([]Cell, len(columns))
		rowHidden := false
		for i, c := range counts {
			row[c] = shown[r][i]
			if v := vals[r][c]; !v.null && !v.whole {
				row[c] = withheld // text in a count column
			}
			rowHidden = rowHidden || row[c].Suppressed()
			if row[c].Suppressed() {
				withheldCells++
			}
		}
		for c, k := range kinds {
			v := vals[r][c]
			switch {
			case k == colCount:
			case v.null:
				row[c] = Cell{kind: KindEmpty}
			case k == colMeasure && rowHidden:
				row[c] = withheld
			case k == colMeasure:
				row[c] = Cell{kind: KindMeasure, text: strconv.FormatFloat(v.measure(), 'f', -1, 64)}
			default:
				row[c] = labelCell(v.label())
			}
		}
		t.Rows = append(t.Rows, row)
	}
	t.Notes = append(t.Notes, fmt.Sprintf("%d of %d count cells withheld.", withheldCells, len(vals)*len(counts)))
	return t, nil
}

// publishProtected is NHS Digital's rule: withhold small counts and
// whatever else Protect adds, round the rest (totals from their exact
// values).
func publishProtected(p Profile, g Grid, counts []int) ([][]Cell, error) {
	hide, err := Protect(p, g)
	if err != nil {
		return nil, err
	}
	out := make([][]Cell, len(g.Counts))
	for r := range g.Counts {
		out[r] = make([]Cell, len(counts))
		for i := range counts {
			switch {
			case g.skip(r, i):
				out[r][i] = Cell{kind: KindEmpty}
			case hide[r][i]:
				out[r][i] = withheld
			default:
				out[r][i] = p.Publish(g.Counts[r][i])
			}
		}
	}
	return out, nil
}

// publishRecomputed is OpenSAFELY's rule: redact and round every part,
// then publish each total as the sum of its published parts (redacted
// parts count for nothing), redacted in turn if that sum is small. A
// total then says nothing about the redacted parts, so nothing needs
// protecting.
func publishRecomputed(p Profile, g Grid, vals [][]value, counts []int) ([][]Cell, error) {
	lineOf := map[Pos]Line{}
	for _, l := range g.Lines {
		if _, ok := lineOf[l.Total]; !ok {
			lineOf[l.Total] = l
		}
	}
	type state struct {
		done, visiting, hidden bool
		n                      int64
	}
	st := map[Pos]*state{}
	var eval func(q Pos) (int64, bool, error)
	eval = func(q Pos) (int64, bool, error) {
		s := st[q]
		if s == nil {
			s = &state{}
			st[q] = s
		}
		if s.done {
			return s.n, s.hidden, nil
		}
		if s.visiting {
			return 0, false, fmt.Errorf("suppress: totals refer to each other in a loop at row %d", q.Row+1)
		}
		s.visiting = true
		n := g.Counts[q.Row][q.Col]
		if l, ok := lineOf[q]; ok {
			n = 0
			for _, part := range l.Parts {
				pn, hidden, err := eval(part)
				if err != nil {
					return 0, false, err
				}
				if !hidden {
					n += pn
				}
			}
		}
		s.hidden = p.Small(n)
		if !s.hidden {
			s.n = Round(n)
			if _, total := lineOf[q]; total {
				s.n = n // a sum of rounded counts is already a multiple of 5
			}
		}
		s.done, s.visiting = true, false
		return s.n, s.hidden, nil
	}
	out := make([][]Cell, len(vals))
	for r := range vals {
		out[r] = make([]Cell, len(counts))
		for i := range counts {
			if g.skip(r, i) {
				out[r][i] = Cell{kind: KindEmpty}
				continue
			}
			n, hidden, err := eval(Pos{r, i})
			if err != nil {
				return nil, err
			}
			if hidden {
				out[r][i] = withheld
			} else {
				out[r][i] = countCell(n)
			}
		}
	}
	return out, nil
}

// classify converts every result value and refuses the types that cannot
// be checked.
func classify(columns []string, rows [][]any) ([][]value, error) {
	out := make([][]value, len(rows))
	for r, row := range rows {
		if len(row) != len(columns) {
			return nil, fmt.Errorf("suppress: row %d has %d values for %d columns", r+1, len(row), len(columns))
		}
		out[r] = make([]value, len(row))
		for c, x := range row {
			v, err := valueOf(x)
			if err != nil {
				return nil, refuse("column %q row %d: %v", columns[c], r+1, err)
			}
			out[r][c] = v
		}
	}
	return out, nil
}

func valueOf(x any) (value, error) {
	switch v := x.(type) {
	case nil:
		return value{null: true}, nil
	case int8, int16, int32, int64, int, uint8, uint16, uint32:
		n, _ := strconv.ParseInt(fmt.Sprint(v), 10, 64)
		return wholeValue(n), nil
	case uint64:
		if v > math.MaxInt64 {
			return value{}, fmt.Errorf("a number larger than any count (a hash or key?)")
		}
		return wholeValue(int64(v)), nil
	case *big.Int:
		if !v.IsInt64() {
			return value{}, fmt.Errorf("a number larger than any count (a hash or key?)")
		}
		return wholeValue(v.Int64()), nil
	case float32:
		return floatValue(float64(v)), nil
	case float64:
		return floatValue(v), nil
	case duckdb.Decimal:
		r := new(big.Rat).SetFrac(v.Value, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(v.Scale)), nil))
		if r.IsInt() {
			if !r.Num().IsInt64() {
				return value{}, fmt.Errorf("a number larger than any count (a hash or key?)")
			}
			return wholeValue(r.Num().Int64()), nil
		}
		f, _ := r.Float64()
		return value{number: true, f: f}, nil
	case string:
		return textValue(v), nil
	case bool:
		return value{text: strconv.FormatBool(v)}, nil
	case time.Time:
		if v.Equal(v.Truncate(24 * time.Hour)) {
			return value{text: v.Format(time.DateOnly)}, nil
		}
		return value{text: v.Format(time.RFC3339)}, nil
	case []byte, duckdb.UUID, [16]byte:
		return value{}, fmt.Errorf("binary values (%T) may hold keys and cannot be checked", x)
	}
	return value{}, fmt.Errorf("values of type %T (lists, structs, maps, intervals) can hide counts and cannot be checked; select plain columns", x)
}

// uncheckableType reports whether a DuckDB type name is binary, a UUID or
// nested (STRUCT(...), MAP(...), INTEGER[], UNION(...)).
func uncheckableType(typ string) bool {
	t := strings.ToUpper(strings.TrimSpace(typ))
	for _, prefix := range []string{"BLOB", "BYTEA", "UUID", "STRUCT", "MAP", "UNION", "LIST", "BIT"} {
		if strings.HasPrefix(t, prefix) {
			return true
		}
	}
	return strings.HasSuffix(t, "]")
}

func wholeValue(n int64) value { return value{whole: true, n: n} }

func floatValue(f float64) value {
	if f == math.Trunc(f) && math.Abs(f) <= maxCount {
		return wholeValue(int64(f))
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return value{text: strconv.FormatFloat(f, 'f', -1, 64)}
	}
	return value{number: true, f: f}
}

// textValue treats text holding a short bare whole number (at most five
// digits, no leading zero) as that number: a count cast to text is still
// a count. Longer digit strings are codes (SNOMED CT identifiers have at
// least six digits) and stay labels, unless they are valid NHS numbers.
// Text shaped like a key is flagged.
func textValue(s string) value {
	t := strings.TrimSpace(s)
	if nhsnumber.Valid(nhsnumber.Normalise(t)) {
		return value{keyLike: true}
	}
	if m := shortNumberRe.FindStringSubmatch(t); m != nil {
		n, _ := strconv.ParseInt(m[1], 10, 64)
		return wholeValue(n)
	}
	key := hasLetter.MatchString(t) && hasDigit.MatchString(t) && keyLikeRe.MatchString(t)
	return value{text: s, keyLike: key}
}

var shortNumberRe = regexp.MustCompile(`^\+?(0|[1-9][0-9]{0,4})$`)

func (v value) measure() float64 {
	if v.whole {
		return float64(v.n)
	}
	return v.f
}

func (v value) label() string {
	if v.whole {
		return strconv.FormatInt(v.n, 10)
	}
	return v.text
}

// columnKind decides a column's kind from all its values: counts if every
// non-NULL value is a whole number (and there is one), measures if every
// non-NULL value is a number and some are not whole, labels otherwise. A
// column mixing bare numbers with text is a count column whose text cells
// are withheld.
func columnKind(vals [][]value, c int) colKind {
	whole, number, other := 0, 0, 0
	for r := range vals {
		switch v := vals[r][c]; {
		case v.null:
		case v.whole:
			whole++
		case v.number:
			number++
		default:
			other++
		}
	}
	switch {
	case other == 0 && number == 0 && whole > 0:
		return colCount
	case other == 0 && number > 0:
		return colMeasure
	case whole > 0:
		return colCount // text mixed with counts: the text is shown as withheld
	}
	return colLabel
}

func normalName(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}
