package suppress

import (
	"cmp"
	"fmt"
	"math"
	"slices"
)

// Pos is a cell of a Grid: row and column.
type Pos struct{ Row, Col int }

// Line is one additive relation of a table: the cell at Total is the sum
// of the cells at Parts (a row's total column, a column's total row, a
// subtotal of a group).
type Line struct {
	Total Pos
	Parts []Pos
}

// Grid is a table of exact counts and the relations among them. A cell
// that holds no count (a label column, a NULL) is simply never named by a
// line and never withheld by Protect; Grid.Skip marks such cells.
type Grid struct {
	Counts [][]int64
	Skip   [][]bool // optional: true for cells that hold no count
	Lines  []Line
}

// maxEquationTerms bounds the work of one check: when elimination would
// hold more terms than this, the exact check would take too long and too
// much memory, and Protect refuses rather than guess.
const maxEquationTerms = 20_000_000

// Protect returns which cells of g to withhold under profile p: the small
// counts (p.Small), then, repeatedly, the next-smallest unwithheld cell of a
// line through any withheld cell whose value follows from the published
// cells and the lines, until none does. Withheld cells are preferably parts
// rather than totals and non-zero rather than zero. It fails only when a
// table is too large to check or cannot be protected (every cell of the
// relevant lines already withheld).
func Protect(p Profile, g Grid) ([][]bool, error) {
	out := make([][]bool, len(g.Counts))
	for r, row := range g.Counts {
		out[r] = make([]bool, len(row))
		for c, n := range row {
			out[r][c] = !g.skip(r, c) && p.Small(n)
		}
	}
	through := map[Pos][]int{} // cell -> the lines it is in
	totals := map[Pos]bool{}
	for i, l := range g.Lines {
		totals[l.Total] = true
		for _, q := range append([]Pos{l.Total}, l.Parts...) {
			if q.Row < 0 || q.Row >= len(g.Counts) || q.Col < 0 || q.Col >= len(g.Counts[q.Row]) || g.skip(q.Row, q.Col) {
				return nil, fmt.Errorf("suppress: line names cell %v, which holds no count", q)
			}
			through[q] = append(through[q], i)
		}
	}
	for {
		found, err := recoverable(g.Lines, out)
		if err != nil {
			return nil, err
		}
		if len(found) == 0 {
			return out, nil
		}
		changed := map[int]bool{} // lines that gained a withheld cell this round
		added := 0
		for _, d := range found {
			best, line, ok := g.nextSmallest(through[d], out, totals, changed)
			if !ok {
				continue
			}
			out[best.Row][best.Col] = true
			changed[line] = true
			added++
		}
		if added == 0 {
			return nil, fmt.Errorf("suppress: withheld cell at row %d column %d could be worked out from the totals and no cell is left to withhold beside it", found[0].Row+1, found[0].Col+1)
		}
	}
}

func (g Grid) skip(r, c int) bool {
	return g.Skip != nil && r < len(g.Skip) && c < len(g.Skip[r]) && g.Skip[r][c]
}

// nextSmallest picks the cell to withhold for a recoverable cell in the
// given lines: in the lines through it with the fewest withheld cells (the
// ones that give it away: a row where it is withheld alone), the smallest
// unwithheld cell, preferring parts to totals and non-zero counts to
// zeros. It picks nothing if that line already gained a withheld cell this
// round, which may suffice.
func (g Grid) nextSmallest(lines []int, out [][]bool, totals map[Pos]bool, changed map[int]bool) (Pos, int, bool) {
	better := func(a, b Pos) bool {
		an, bn := g.Counts[a.Row][a.Col], g.Counts[b.Row][b.Col]
		switch {
		case totals[a] != totals[b]:
			return !totals[a]
		case (an == 0) != (bn == 0):
			return an != 0
		}
		return cmp.Or(cmp.Compare(an, bn), cmp.Compare(a.Row, b.Row), cmp.Compare(a.Col, b.Col)) < 0
	}
	cells := func(i int) []Pos { return append([]Pos{g.Lines[i].Total}, g.Lines[i].Parts...) }
	fewest := -1
	withheldIn := make([]int, len(lines))
	for k, i := range lines {
		open := false
		for _, q := range cells(i) {
			if out[q.Row][q.Col] {
				withheldIn[k]++
			} else {
				open = true
			}
		}
		if open && (fewest < 0 || withheldIn[k] < fewest) {
			fewest = withheldIn[k]
		}
	}
	var best Pos
	bestLine := -1
	for k, i := range lines {
		if withheldIn[k] != fewest {
			continue
		}
		for _, q := range cells(i) {
			if !out[q.Row][q.Col] && (bestLine < 0 || better(q, best)) {
				best, bestLine = q, i
			}
		}
	}
	if bestLine < 0 || changed[bestLine] {
		return Pos{}, 0, false
	}
	return best, bestLine, true
}

// recoverable returns the withheld cells whose exact value follows from
// the lines when every unwithheld cell is known. Each line is an equation
// total - sum(parts) = known; a withheld cell is determined exactly when
// reducing the equations over the withheld cells (Gauss-Jordan) leaves an
// equation in that cell alone. The equations are sparse (a cell is in a
// few lines), so they are kept as sparse rows and the shortest is pivoted
// first, which keeps the fill-in small for tables with margins.
func recoverable(lines []Line, out [][]bool) ([]Pos, error) {
	index := map[Pos]int{}
	var unknowns []Pos
	var eqs []map[int]float64
	for _, l := range lines {
		eq := map[int]float64{}
		add := func(q Pos, c float64) {
			if !out[q.Row][q.Col] {
				return
			}
			i, ok := index[q]
			if !ok {
				i = len(unknowns)
				index[q] = i
				unknowns = append(unknowns, q)
			}
			eq[i] += c
			if math.Abs(eq[i]) < eps {
				delete(eq, i)
			}
		}
		add(l.Total, 1)
		for _, q := range l.Parts {
			add(q, -1)
		}
		if len(eq) > 0 {
			eqs = append(eqs, eq)
		}
	}
	pivots, err := reduce(eqs, len(unknowns))
	if err != nil {
		return nil, err
	}
	var found []Pos
	for v, e := range pivots {
		if len(eqs[e]) == 1 {
			found = append(found, unknowns[v])
		}
	}
	slices.SortFunc(found, func(a, b Pos) int { return cmp.Or(cmp.Compare(a.Row, b.Row), cmp.Compare(a.Col, b.Col)) })
	return found, nil
}

// eps separates zero from non-zero in the elimination. The equations have
// coefficients of +1 and -1 and reduced entries stay small rationals, far
// from it.
const eps = 1e-9

// reduce brings the sparse equations to reduced row echelon form in place
// and returns, for each pivot variable, the equation it leads. Equations
// are taken shortest first; each pivot variable is eliminated from every
// other equation holding it.
func reduce(eqs []map[int]float64, nvars int) (map[int]int, error) {
	holding := make([]map[int]bool, nvars) // variable -> equations holding it
	for i := range holding {
		holding[i] = map[int]bool{}
	}
	for e, eq := range eqs {
		for v := range eq {
			holding[v][e] = true
		}
	}
	order := make([]int, len(eqs))
	for i := range order {
		order[i] = i
	}
	used := make([]bool, len(eqs))
	pivots := map[int]int{}
	terms := 0
	for range eqs {
		// The shortest equation not yet used leads the next pivot.
		e := -1
		for _, k := range order {
			if !used[k] && len(eqs[k]) > 0 && (e < 0 || len(eqs[k]) < len(eqs[e])) {
				e = k
			}
		}
		if e < 0 {
			break
		}
		used[e] = true
		v, best := -1, 0.0
		for k, c := range eqs[e] {
			if a := math.Abs(c); a > best+eps || (math.Abs(a-best) <= eps && (v < 0 || k < v)) {
				v, best = k, a
			}
		}
		pv := eqs[e][v]
		for k := range eqs[e] {
			eqs[e][k] /= pv
		}
		for o := range holding[v] {
			if o == e {
				continue
			}
			f := eqs[o][v]
			for k, c := range eqs[e] {
				nv := eqs[o][k] - f*c
				if math.Abs(nv) < eps {
					delete(eqs[o], k)
					delete(holding[k], o)
				} else {
					if _, had := eqs[o][k]; !had {
						holding[k][o] = true
					}
					eqs[o][k] = nv
				}
				terms++
			}
			if terms > maxEquationTerms {
				return nil, fmt.Errorf("suppress: too many withheld cells are tied together by totals to check exactly; aggregate further or leave the totals out")
			}
		}
		pivots[v] = e
	}
	return pivots, nil
}
