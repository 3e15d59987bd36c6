package compare

import (
	"testing"
	"unicode/utf8"
)

// FuzzComparators checks the comparators' invariants on any input: a
// distance is symmetric, zero only for equal strings and at most the longer
// length; WithinOneEdit agrees with it; a similarity is symmetric and in
// [0, 1].
func FuzzComparators(f *testing.F) {
	for _, p := range [][2]string{{"", ""}, {"martha", "marhta"}, {"ca", "abc"}, {"café", "cafe"}, {"19560409", "19560490"}} {
		f.Add(p[0], p[1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		if len(a) > 200 || len(b) > 200 || !utf8.ValidString(a) || !utf8.ValidString(b) {
			t.Skip()
		}
		d := DamerauLevenshtein(a, b)
		if d != DamerauLevenshtein(b, a) {
			t.Fatalf("distance not symmetric for %q, %q", a, b)
		}
		if (d == 0) != (a == b) || d > max(len(a), len(b)) {
			t.Fatalf("DamerauLevenshtein(%q, %q) = %d", a, b, d)
		}
		if WithinOneEdit(a, b) != (d <= 1) {
			t.Fatalf("WithinOneEdit(%q, %q) = %v, distance %d", a, b, WithinOneEdit(a, b), d)
		}
		s := JaroWinkler(a, b)
		if s < 0 || s > 1 || s != JaroWinkler(b, a) {
			t.Fatalf("JaroWinkler(%q, %q) = %v, reversed %v", a, b, s, JaroWinkler(b, a))
		}
	})
}
