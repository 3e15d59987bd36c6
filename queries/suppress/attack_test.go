package suppress

import (
	"math/big"
	"strconv"
	"testing"
)

// attack is the analyst's side: given the published cells (nil where
// withheld) and the relations they know (totals), it solves the equations
// exactly with rational arithmetic, independently of Protect's own check,
// and returns every withheld cell whose value it can work out, with that
// value.
func attack(published [][]*int64, lines []Line) map[Pos]*big.Rat {
	index := map[Pos]int{}
	var unknowns []Pos
	type eq struct {
		coef map[int]*big.Rat
		rhs  *big.Rat
	}
	var eqs []eq
	for _, l := range lines {
		e := eq{coef: map[int]*big.Rat{}, rhs: new(big.Rat)}
		term := func(q Pos, sign int64) {
			v := published[q.Row][q.Col]
			if v != nil {
				e.rhs.Sub(e.rhs, new(big.Rat).SetInt64(sign**v))
				return
			}
			i, ok := index[q]
			if !ok {
				i = len(unknowns)
				index[q] = i
				unknowns = append(unknowns, q)
			}
			c := e.coef[i]
			if c == nil {
				c = new(big.Rat)
				e.coef[i] = c
			}
			c.Add(c, big.NewRat(sign, 1))
		}
		term(l.Total, 1)
		for _, p := range l.Parts {
			term(p, -1)
		}
		eqs = append(eqs, e)
	}
	n := len(unknowns)
	m := make([][]*big.Rat, len(eqs))
	for r, e := range eqs {
		m[r] = make([]*big.Rat, n+1)
		for c := range m[r] {
			m[r][c] = new(big.Rat)
		}
		for i, c := range e.coef {
			m[r][i].Set(c)
		}
		m[r][n].Set(e.rhs)
	}
	row := 0
	for c := 0; c < n && row < len(m); c++ {
		p := -1
		for r := row; r < len(m); r++ {
			if m[r][c].Sign() != 0 {
				p = r
				break
			}
		}
		if p < 0 {
			continue
		}
		m[row], m[p] = m[p], m[row]
		inv := new(big.Rat).Inv(m[row][c])
		for k := c; k <= n; k++ {
			m[row][k].Mul(m[row][k], inv)
		}
		for r := range m {
			if r != row && m[r][c].Sign() != 0 {
				f := new(big.Rat).Set(m[r][c])
				for k := c; k <= n; k++ {
					m[r][k].Sub(m[r][k], new(big.Rat).Mul(f, m[row][k]))
				}
			}
		}
		row++
	}
	out := map[Pos]*big.Rat{}
	for r := 0; r < row; r++ {
		only, count := -1, 0
		for c := 0; c < n; c++ {
			if m[r][c].Sign() != 0 {
				only, count = c, count+1
			}
		}
		if count == 1 {
			out[unknowns[only]] = m[r][n]
		}
	}
	return out
}

// exactOrWithheld is what an attacker would see if published cells were
// exact (the worst case: rounding only adds uncertainty).
func exactOrWithheld(counts [][]int64, hide [][]bool) [][]*int64 {
	out := make([][]*int64, len(counts))
	for r := range counts {
		out[r] = make([]*int64, len(counts[r]))
		for c := range counts[r] {
			if !hide[r][c] {
				v := counts[r][c]
				out[r][c] = &v
			}
		}
	}
	return out
}

// publishedValues reads a gated table's count columns back as an attacker
// would: numbers where shown, nil where withheld.
func publishedValues(t *testing.T, tab *Table, cols []int) [][]*int64 {
	t.Helper()
	out := make([][]*int64, len(tab.Rows))
	for r, row := range tab.Rows {
		out[r] = make([]*int64, len(cols))
		for i, c := range cols {
			if row[c].Suppressed() {
				continue
			}
			v, err := strconv.ParseInt(row[c].String(), 10, 64)
			if err != nil {
				t.Fatalf("row %d column %d: %q is neither a count nor withheld", r, c, row[c])
			}
			out[r][i] = &v
		}
	}
	return out
}

// gridLines returns the lines of a table of counts with a total column
// (the last) and a total row (the last): the classic two-way table.
func gridLines(rows, cols int) []Line {
	var lines []Line
	for r := 0; r < rows; r++ {
		l := Line{Total: Pos{r, cols - 1}}
		for c := 0; c < cols-1; c++ {
			l.Parts = append(l.Parts, Pos{r, c})
		}
		lines = append(lines, l)
	}
	for c := 0; c < cols; c++ {
		l := Line{Total: Pos{rows - 1, c}}
		for r := 0; r < rows-1; r++ {
			l.Parts = append(l.Parts, Pos{r, c})
		}
		lines = append(lines, l)
	}
	return lines
}

// withTotals appends a total column and a total row to interior counts.
func withTotals(inner [][]int64) [][]int64 {
	cols := len(inner[0])
	out := make([][]int64, 0, len(inner)+1)
	total := make([]int64, cols+1)
	for _, row := range inner {
		var s int64
		r := append([]int64(nil), row...)
		for c, v := range row {
			s += v
			total[c] += v
		}
		total[cols] += s
		out = append(out, append(r, s))
	}
	return append(out, total)
}
