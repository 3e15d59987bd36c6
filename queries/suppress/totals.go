package suppress

import (
	"fmt"
	"math/bits"
	"strings"
)

// maxSubsetColumns bounds the count columns searched for a total column
// made of a subset of the others (2^n subsets); wider results are checked
// only for a column that totals all the others.
const maxSubsetColumns = 12

// findLines builds the grid of exact counts (one column per count column)
// and the additive relations Gate can see in the values, with a note for
// each kind found.
func findLines(columns []string, vals [][]value, kinds []colKind, counts []int) (Grid, []string) {
	g := Grid{Counts: make([][]int64, len(vals)), Skip: make([][]bool, len(vals))}
	for r := range vals {
		g.Counts[r] = make([]int64, len(counts))
		g.Skip[r] = make([]bool, len(counts))
		for i, c := range counts {
			v := vals[r][c]
			g.Counts[r][i], g.Skip[r][i] = v.n, !v.whole
		}
	}
	var notes []string
	for j, parts := range totalColumns(g, len(counts)) {
		for _, s := range parts {
			names := make([]string, len(s))
			for k, i := range s {
				names[k] = fmt.Sprintf("%q", columns[counts[i]])
			}
			notes = append(notes, fmt.Sprintf("Column %q is the total of %s in every row.", columns[counts[j]], strings.Join(names, " + ")))
			for r := range g.Counts {
				if g.skip(r, j) || anySkipped(g, r, s) {
					continue
				}
				l := Line{Total: Pos{r, j}}
				for _, i := range s {
					l.Parts = append(l.Parts, Pos{r, i})
				}
				g.Lines = append(g.Lines, l)
			}
		}
	}
	rowLines, rowNotes := totalRows(g, vals, kinds)
	g.Lines = append(g.Lines, rowLines...)
	return g, append(notes, rowNotes...)
}

func anySkipped(g Grid, r int, cols []int) bool {
	for _, i := range cols {
		if g.skip(r, i) {
			return true
		}
	}
	return false
}

// totalColumns returns, for each count column that equals the sum of some
// other count columns in every row, the smallest such sets of columns.
func totalColumns(g Grid, n int) map[int][][]int {
	out := map[int][][]int{}
	usable := func(r int) bool { return !anySkipped(g, r, seq(n)) }
	first := -1
	for r := range g.Counts {
		if usable(r) {
			first = r
			break
		}
	}
	if first < 0 || n < 2 {
		return out
	}
	for j := 0; j < n; j++ {
		others := make([]int, 0, n-1)
		for i := 0; i < n; i++ {
			if i != j {
				others = append(others, i)
			}
		}
		var masks []uint
		if len(others) <= maxSubsetColumns {
			for m := uint(1); m < 1<<len(others); m++ {
				masks = append(masks, m)
			}
		} else {
			masks = []uint{1<<len(others) - 1}
		}
		var found []uint
		for _, m := range sortedBySize(masks) {
			if containsFound(m, found) || !sumHolds(g, j, others, m, first) {
				continue
			}
			holds := true
			for r := range g.Counts {
				if usable(r) && !sumHolds(g, j, others, m, r) {
					holds = false
					break
				}
			}
			if holds {
				found = append(found, m)
				out[j] = append(out[j], pick(others, m))
			}
		}
	}
	return out
}

func sumHolds(g Grid, j int, others []int, m uint, r int) bool {
	var sum int64
	for k, i := range others {
		if m&(1<<k) != 0 {
			sum += g.Counts[r][i]
		}
	}
	return sum == g.Counts[r][j]
}

func containsFound(m uint, found []uint) bool {
	for _, f := range found {
		if m&f == f {
			return true
		}
	}
	return false
}

func sortedBySize(masks []uint) []uint {
	out := make([]uint, 0, len(masks))
	for size := 1; size <= 64; size++ {
		for _, m := range masks {
			if bits.OnesCount(m) == size {
				out = append(out, m)
			}
		}
	}
	return out
}

func pick(others []int, m uint) []int {
	var out []int
	for k, i := range others {
		if m&(1<<k) != 0 {
			out = append(out, i)
		}
	}
	return out
}

func seq(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

// isMarker reports whether a label says "all of them": NULL (what ROLLUP
// and CUBE write) or a word such as Total, All, All ages, Overall.
func isMarker(v value) bool {
	if v.null {
		return true
	}
	t := strings.ToLower(strings.TrimSpace(v.text))
	return t == "total" || t == "all" || t == "overall" || t == "any" || t == "(all)" ||
		strings.HasPrefix(t, "all ") || strings.HasPrefix(t, "total ") || strings.HasSuffix(t, " total")
}

// totalRows finds rows that total others: a row with marker labels totals
// the rows that agree with it on its other labels and have real labels
// where it has markers (the subtotals of ROLLUP and CUBE included), for
// each count column where the sum holds exactly; without marker rows, a
// row equal in a column to the sum of all other rows totals them.
func totalRows(g Grid, vals [][]value, kinds []colKind) ([]Line, []string) {
	var labels []int
	for c, k := range kinds {
		if k == colLabel {
			labels = append(labels, c)
		}
	}
	var lines []Line
	var notes []string
	marked := false
	for t := range vals {
		hasMarker := false
		for _, c := range labels {
			hasMarker = hasMarker || isMarker(vals[t][c])
		}
		if !hasMarker {
			continue
		}
		marked = true
		var group []int
		for r := range vals {
			if r != t && inGroup(vals, labels, t, r) {
				group = append(group, r)
			}
		}
		if len(group) == 0 {
			continue
		}
		n := 0
		for i := range g.Counts[t] {
			if l, ok := columnLine(g, t, i, group); ok {
				lines = append(lines, l)
				n++
			}
		}
		if n > 0 {
			notes = append(notes, fmt.Sprintf("Row %d totals %d rows in %d count columns.", t+1, len(group), n))
		}
	}
	if marked || len(vals) < 3 {
		return lines, notes
	}
	for i := range g.Counts[0] {
		var sum int64
		ok := true
		for r := range g.Counts {
			ok = ok && !g.skip(r, i)
			sum += g.Counts[r][i]
		}
		if !ok {
			continue
		}
		for t := range g.Counts {
			if 2*g.Counts[t][i] != sum {
				continue
			}
			var others []int
			for r := range g.Counts {
				if r != t {
					others = append(others, r)
				}
			}
			if l, ok := columnLine(g, t, i, others); ok {
				lines = append(lines, l)
				notes = append(notes, fmt.Sprintf("Row %d is the total of all other rows in count column %d.", t+1, i+1))
			}
			break
		}
	}
	return lines, notes
}

func inGroup(vals [][]value, labels []int, t, r int) bool {
	for _, c := range labels {
		tv, rv := vals[t][c], vals[r][c]
		if isMarker(tv) {
			if isMarker(rv) {
				return false
			}
		} else if isMarker(rv) || rv.label() != tv.label() {
			return false
		}
	}
	return true
}

// columnLine is the line "cell (t, i) is the sum of column i over rows",
// if it holds exactly.
func columnLine(g Grid, t, i int, rows []int) (Line, bool) {
	if g.skip(t, i) {
		return Line{}, false
	}
	l := Line{Total: Pos{t, i}}
	var sum int64
	for _, r := range rows {
		if g.skip(r, i) {
			return Line{}, false
		}
		sum += g.Counts[r][i]
		l.Parts = append(l.Parts, Pos{r, i})
	}
	return l, sum == g.Counts[t][i]
}
