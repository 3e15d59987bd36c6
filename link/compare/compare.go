// Package compare holds the string comparators of record linkage:
// Jaro-Winkler similarity and Damerau-Levenshtein distance.
//
// Both give exactly the values of DuckDB's jaro_winkler_similarity and
// damerau_levenshtein (a golden test checks this over many pairs), so a
// linkage explained in pophealth can be reproduced in SQL. Like DuckDB's,
// they compare bytes, not characters: a name with an accented letter is
// two bytes there and two here. Neither allocates for strings up to 64
// bytes, which covers names and postcodes.
package compare

import "math/bits"

// JaroWinkler returns the Jaro-Winkler similarity of a and b in [0, 1]:
// the Jaro similarity, raised by a common prefix of up to four bytes
// (prefix scale 0.1) when the Jaro similarity exceeds 0.7. As in DuckDB,
// an empty string has similarity 0 to anything, itself included.
func JaroWinkler(a, b string) float64 {
	sim := Jaro(a, b)
	if sim <= 0.7 {
		return sim
	}
	prefix := 0
	for prefix < len(a) && prefix < len(b) && prefix < 4 && a[prefix] == b[prefix] {
		prefix++
	}
	return sim + float64(prefix)*0.1*(1-sim)
}

// Jaro returns the Jaro similarity of a and b in [0, 1].
func Jaro(a, b string) float64 {
	if len(a) == 0 || len(b) == 0 {
		return 0
	}
	if a == b {
		return 1
	}
	if len(a) > len(b) {
		a, b = b, a
	}
	// Bytes match when equal and no further apart than window.
	window := len(b)/2 - 1
	if window < 0 {
		window = 0
	}
	if len(b) <= 64 {
		return jaroBits(a, b, window)
	}
	var smallA, smallB [64]bool
	var matchedA, matchedB []bool
	if len(b) <= len(smallB) {
		matchedA, matchedB = smallA[:len(a)], smallB[:len(b)]
	} else {
		matchedA, matchedB = make([]bool, len(a)), make([]bool, len(b))
	}
	matches := 0
	for i := 0; i < len(a); i++ {
		lo, hi := i-window, i+window+1
		if lo < 0 {
			lo = 0
		}
		if hi > len(b) {
			hi = len(b)
		}
		for j := lo; j < hi; j++ {
			if !matchedB[j] && a[i] == b[j] {
				matchedA[i], matchedB[j] = true, true
				matches++
				break
			}
		}
	}
	if matches == 0 {
		return 0
	}
	transposed, j := 0, 0
	for i := 0; i < len(a); i++ {
		if !matchedA[i] {
			continue
		}
		for !matchedB[j] {
			j++
		}
		if a[i] != b[j] {
			transposed++
		}
		j++
	}
	m := float64(matches)
	return (m/float64(len(a)) + m/float64(len(b)) + (m-float64(transposed/2))/m) / 3
}

// jaroBits is Jaro for len(a) <= len(b) <= 64 with the matching done on
// bit masks of b's positions: for each byte of a the candidates are b's
// unmatched positions holding that byte within the window, and the lowest
// one matches, exactly as the scan in Jaro would choose.
func jaroBits(a, b string, window int) float64 {
	// pos[slot[c]-1] is the mask of b's positions holding byte c (slot 0:
	// c is not in b). A 256-byte slot table is cheap to clear; 64 masks
	// suffice as b has at most 64 distinct bytes.
	var slot [256]uint8
	var pos [64]uint64
	n := uint8(0)
	for j := 0; j < len(b); j++ {
		s := slot[b[j]]
		if s == 0 {
			n++
			s = n
			slot[b[j]] = s
		}
		pos[s-1] |= 1 << j
	}
	var matchedA, matchedB uint64
	matches := 0
	for i := 0; i < len(a); i++ {
		s := slot[a[i]]
		if s == 0 {
			continue
		}
		lo, hi := i-window, i+window+1
		if lo < 0 {
			lo = 0
		}
		if hi > len(b) {
			hi = len(b)
		}
		if lo >= hi {
			continue
		}
		inWindow := (^uint64(0) >> (64 - (hi - lo))) << lo
		if c := pos[s-1] &^ matchedB & inWindow; c != 0 {
			matchedB |= c & -c
			matchedA |= 1 << i
			matches++
		}
	}
	if matches == 0 {
		return 0
	}
	transposed := 0
	ma, mb := matchedA, matchedB
	for ma != 0 {
		i := bits.TrailingZeros64(ma)
		j := bits.TrailingZeros64(mb)
		if a[i] != b[j] {
			transposed++
		}
		ma &= ma - 1
		mb &= mb - 1
	}
	m := float64(matches)
	return (m/float64(len(a)) + m/float64(len(b)) + (m-float64(transposed/2))/m) / 3
}

// DamerauLevenshtein returns the Damerau-Levenshtein distance between a and
// b: the fewest insertions, deletions, substitutions and transpositions of
// adjacent bytes that turn a into b, where (unlike optimal string
// alignment) a transposed pair may be edited again. It is the
// Lowrance-Wagner algorithm, as DuckDB's damerau_levenshtein.
func DamerauLevenshtein(a, b string) int {
	if len(a) == 0 {
		return len(b)
	}
	if len(b) == 0 {
		return len(a)
	}
	cols := len(b) + 2
	var small [18 * 18]int
	var d []int
	if n := (len(a) + 2) * cols; n <= len(small) {
		d = small[:n]
	} else {
		d = make([]int, n)
	}
	// d is the (len(a)+2) x (len(b)+2) matrix of the algorithm, with an
	// extra first row and column holding "infinity".
	inf := len(a) + len(b)
	d[0] = inf
	for i := 0; i <= len(a); i++ {
		d[(i+1)*cols] = inf
		d[(i+1)*cols+1] = i
	}
	for j := 0; j <= len(b); j++ {
		d[j+1] = inf
		d[cols+j+1] = j
	}
	// lastRow[c] is the last row of a in which byte c occurred.
	var lastRow [256]int32
	for i := 1; i <= len(a); i++ {
		lastCol := 0
		for j := 1; j <= len(b); j++ {
			k := int(lastRow[b[j-1]])
			l := lastCol
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
				lastCol = j
			}
			v := d[i*cols+j] + cost              // substitution
			if x := d[(i+1)*cols+j] + 1; x < v { // insertion
				v = x
			}
			if x := d[i*cols+j+1] + 1; x < v { // deletion
				v = x
			}
			if x := d[k*cols+l] + (i - k - 1) + 1 + (j - l - 1); x < v { // transposition
				v = x
			}
			d[(i+1)*cols+j+1] = v
		}
		lastRow[a[i-1]] = int32(i)
	}
	return d[(len(a)+1)*cols+len(b)+1]
}

// WithinOneEdit reports whether DamerauLevenshtein(a, b) <= 1 without
// computing the distance: a and b are equal or differ by one insertion,
// deletion, substitution or transposition of adjacent bytes.
func WithinOneEdit(a, b string) bool {
	if len(a) > len(b) {
		a, b = b, a
	}
	switch len(b) - len(a) {
	case 0:
		i := 0
		for i < len(a) && a[i] == b[i] {
			i++
		}
		if i == len(a) {
			return true
		}
		if a[i+1:] == b[i+1:] {
			return true // substitution
		}
		return i+1 < len(a) && a[i] == b[i+1] && a[i+1] == b[i] && a[i+2:] == b[i+2:]
	case 1:
		i := 0
		for i < len(a) && a[i] == b[i] {
			i++
		}
		return a[i:] == b[i+1:]
	}
	return false
}
