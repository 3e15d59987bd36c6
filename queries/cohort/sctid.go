package cohort

// SNOMED CT identifiers (and dm+d ids, which are SNOMED CT identifiers)
// end in a Verhoeff check digit, and the two digits before it are the
// partition: 00 for a concept of the international release, 10 for a
// concept of an extension (the UK's, for example). An id that fails either
// test is not a concept id: a typing error, or a description id copied by
// mistake.

// verhoeffD is the multiplication table of the dihedral group D5.
var verhoeffD = [10][10]uint8{
	{0, 1, 2, 3, 4, 5, 6, 7, 8, 9},
	{1, 2, 3, 4, 0, 6, 7, 8, 9, 5},
	{2, 3, 4, 0, 1, 7, 8, 9, 5, 6},
	{3, 4, 0, 1, 2, 8, 9, 5, 6, 7},
	{4, 0, 1, 2, 3, 9, 5, 6, 7, 8},
	{5, 9, 8, 7, 6, 0, 4, 3, 2, 1},
	{6, 5, 9, 8, 7, 1, 0, 4, 3, 2},
	{7, 6, 5, 9, 8, 2, 1, 0, 4, 3},
	{8, 7, 6, 5, 9, 3, 2, 1, 0, 4},
	{9, 8, 7, 6, 5, 4, 3, 2, 1, 0},
}

// verhoeffP is the permutation table, applied once per position.
var verhoeffP = [8][10]uint8{
	{0, 1, 2, 3, 4, 5, 6, 7, 8, 9},
	{1, 5, 7, 6, 2, 8, 3, 0, 9, 4},
	{5, 8, 0, 3, 7, 9, 6, 1, 4, 2},
	{8, 9, 1, 6, 0, 4, 3, 5, 2, 7},
	{9, 4, 5, 3, 1, 2, 6, 8, 7, 0},
	{4, 2, 8, 6, 5, 7, 3, 9, 0, 1},
	{2, 7, 9, 3, 8, 0, 6, 4, 1, 5},
	{7, 0, 4, 6, 9, 1, 3, 2, 5, 8},
}

// verhoeffValid reports whether a string of digits ends in its correct
// Verhoeff check digit.
func verhoeffValid(digits string) bool {
	var c uint8
	for i := 0; i < len(digits); i++ {
		d := digits[len(digits)-1-i]
		if d < '0' || d > '9' {
			return false
		}
		c = verhoeffD[c][verhoeffP[i%8][d-'0']]
	}
	return c == 0
}

// isConceptID reports whether id (already checked to be 6 to 18 digits)
// has a valid check digit and a concept partition.
func isConceptID(id string) bool {
	if len(id) < 6 || !verhoeffValid(id) {
		return false
	}
	part := id[len(id)-3 : len(id)-1]
	return part == "00" || part == "10"
}
