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

// maxLinkedCells bounds the withheld cells that totals tie into one system
// of equations: beyond it checking them exactly would take too long, and
// Protect refuses rather than guess.
const maxLinkedCells = 3000

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
	for _, l := range g.Lines {
		for _, q := range append([]Pos{l.Total}, l.Parts...) {
			if q.Row < 0 || q.Row >= len(g.Counts) || q.Col < 0 || q.Col >= len(g.Counts[q.Row]) || g.skip(q.Row, q.Col) {
				return nil, fmt.Errorf("suppress: line names cell %v, which holds no count", q)
			}
		}
	}
	totals := map[Pos]bool{}
	for _, l := range g.Lines {
		totals[l.Total] = true
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
			best, line, ok := g.nextSmallest(d, out, totals, changed)
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

// nextSmallest picks the cell to withhold for recoverable cell d: among
// the unwithheld cells of the lines through d (skipping lines already
// changed this round, whose new withheld cell may suffice), the smallest,
// preferring parts to totals and non-zero counts to zeros.
func (g Grid) nextSmallest(d Pos, out [][]bool, totals map[Pos]bool, changed map[int]bool) (Pos, int, bool) {
	type candidate struct {
		pos  Pos
		line int
	}
	var best *candidate
	key := func(q Pos) (bool, bool, int64, int, int) {
		n := g.Counts[q.Row][q.Col]
		return totals[q], n == 0, n, q.Row, q.Col
	}
	less := func(a, b Pos) bool {
		at, az, an, ar, ac := key(a)
		bt, bz, bn, br, bc := key(b)
		switch {
		case at != bt:
			return !at
		case az != bz:
			return !az
		}
		return cmp.Or(cmp.Compare(an, bn), cmp.Compare(ar, br), cmp.Compare(ac, bc)) < 0
	}
	for i, l := range g.Lines {
		cells := append([]Pos{l.Total}, l.Parts...)
		if !slices.Contains(cells, d) {
			continue
		}
		if changed[i] {
			return Pos{}, 0, false
		}
		for _, q := range cells {
			if !out[q.Row][q.Col] && (best == nil || less(q, best.pos)) {
				best = &candidate{q, i}
			}
		}
	}
	if best == nil {
		return Pos{}, 0, false
	}
	return best.pos, best.line, true
}

// recoverable returns the withheld cells whose exact value follows from
// the lines when every unwithheld cell is known. Each line is an equation
// total - sum(parts) = 0; with the known cells moved to the right-hand
// side, a withheld cell is determined exactly when its unit vector lies in
// the row space of the equations over the withheld cells, which reduced
// row echelon form shows as a row with a single non-zero entry. Lines are
// split into independent groups first, so a large table with few links
// stays cheap.
func recoverable(lines []Line, out [][]bool) ([]Pos, error) {
	index := map[Pos]int{}
	var unknowns []Pos
	var eqs [][]int // per line, the unknowns it holds (with sign in coef)
	var coefs [][]float64
	for _, l := range lines {
		var vars []int
		var cs []float64
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
			vars = append(vars, i)
			cs = append(cs, c)
		}
		add(l.Total, 1)
		for _, q := range l.Parts {
			add(q, -1)
		}
		if len(vars) > 0 {
			eqs, coefs = append(eqs, vars), append(coefs, cs)
		}
	}
	// Group equations that share unknowns (union-find over unknowns).
	parent := make([]int, len(unknowns))
	for i := range parent {
		parent[i] = i
	}
	var find func(int) int
	find = func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	for _, vars := range eqs {
		for _, v := range vars[1:] {
			parent[find(v)] = find(vars[0])
		}
	}
	groups := map[int][]int{}
	for e, vars := range eqs {
		root := find(vars[0])
		groups[root] = append(groups[root], e)
	}
	var found []Pos
	roots := make([]int, 0, len(groups))
	for r := range groups {
		roots = append(roots, r)
	}
	slices.Sort(roots)
	for _, root := range roots {
		local := map[int]int{}
		var members []int
		for _, e := range groups[root] {
			for _, v := range eqs[e] {
				if _, ok := local[v]; !ok {
					local[v] = len(members)
					members = append(members, v)
				}
			}
		}
		if len(members) > maxLinkedCells {
			return nil, fmt.Errorf("suppress: %d withheld cells are tied together by totals, more than the %d that can be checked; aggregate further or leave the totals out", len(members), maxLinkedCells)
		}
		m := make([][]float64, len(groups[root]))
		for i, e := range groups[root] {
			m[i] = make([]float64, len(members))
			for k, v := range eqs[e] {
				m[i][local[v]] += coefs[e][k]
			}
		}
		for _, col := range determinedColumns(m) {
			found = append(found, unknowns[members[col]])
		}
	}
	slices.SortFunc(found, func(a, b Pos) int { return cmp.Or(cmp.Compare(a.Row, b.Row), cmp.Compare(a.Col, b.Col)) })
	return found, nil
}

// eps separates zero from non-zero in the elimination. The equations have
// coefficients of +1 and -1 and reduced entries stay small rationals, far
// from it.
const eps = 1e-9

// determinedColumns reduces m to row echelon form with partial pivoting
// and returns the columns that some reduced row isolates.
func determinedColumns(m [][]float64) []int {
	rows := len(m)
	if rows == 0 {
		return nil
	}
	cols := len(m[0])
	pivotRow := 0
	for c := 0; c < cols && pivotRow < rows; c++ {
		best := pivotRow
		for r := pivotRow + 1; r < rows; r++ {
			if math.Abs(m[r][c]) > math.Abs(m[best][c]) {
				best = r
			}
		}
		if math.Abs(m[best][c]) < eps {
			continue
		}
		m[pivotRow], m[best] = m[best], m[pivotRow]
		pv := m[pivotRow][c]
		for k := c; k < cols; k++ {
			m[pivotRow][k] /= pv
		}
		for r := 0; r < rows; r++ {
			if r == pivotRow || math.Abs(m[r][c]) < eps {
				continue
			}
			f := m[r][c]
			for k := c; k < cols; k++ {
				m[r][k] -= f * m[pivotRow][k]
			}
		}
		pivotRow++
	}
	var out []int
	for r := 0; r < pivotRow; r++ {
		only, n := -1, 0
		for c := 0; c < cols; c++ {
			if math.Abs(m[r][c]) > eps {
				only, n = c, n+1
			}
		}
		if n == 1 {
			out = append(out, only)
		}
	}
	return out
}
