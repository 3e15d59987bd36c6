package risk

import (
	"fmt"
	"strconv"
	"strings"
)

// NormaliseICD10 returns an ICD-10 code in the form the tables match on:
// upper case, with every character that is not an ASCII letter or digit
// removed ("i50.0" and "I50 0" both give "I500"). This is the tidying the
// reference implementations (R comorbidity, comorbidipy) apply.
func NormaliseICD10(code string) string {
	var b strings.Builder
	b.Grow(len(code))
	for i := 0; i < len(code); i++ {
		c := code[i]
		switch {
		case c >= 'a' && c <= 'z':
			b.WriteByte(c - 'a' + 'A')
		case c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
			b.WriteByte(c)
		}
	}
	return b.String()
}

// ExpandICD10 turns one entry of a published coding table into the code
// prefixes it stands for. It accepts a single code ("I25.2", "I21.x",
// "F10") or an inclusive range of codes of the same length and letter
// ("I42.5-I42.9", "C00.x-C26.x", "D65-D68.x"); ".x" means "any further
// characters" and is dropped, because matching is by prefix.
func ExpandICD10(entry string) ([]string, error) {
	lo, hi, isRange := strings.Cut(entry, "-")
	a, err := tableCode(lo)
	if err != nil {
		return nil, fmt.Errorf("ICD-10 entry %q: %w", entry, err)
	}
	if !isRange {
		return []string{a}, nil
	}
	b, err := tableCode(hi)
	if err != nil {
		return nil, fmt.Errorf("ICD-10 entry %q: %w", entry, err)
	}
	if len(a) != len(b) || a[0] != b[0] {
		return nil, fmt.Errorf("ICD-10 range %q: ends differ in letter or length", entry)
	}
	from, err1 := strconv.Atoi(a[1:])
	to, err2 := strconv.Atoi(b[1:])
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("ICD-10 range %q: ends must be a letter followed by digits", entry)
	}
	if from > to {
		return nil, fmt.Errorf("ICD-10 range %q runs backwards", entry)
	}
	width := len(a) - 1
	out := make([]string, 0, to-from+1)
	for n := from; n <= to; n++ {
		out = append(out, fmt.Sprintf("%c%0*d", a[0], width, n))
	}
	return out, nil
}

// tableCode checks and normalises one code as printed in a table: a letter,
// two digits, optionally a dot and one more digit, optionally ".x".
func tableCode(s string) (string, error) {
	s = strings.TrimSpace(s)
	s = strings.TrimSuffix(strings.TrimSuffix(s, ".x"), ".X")
	c := NormaliseICD10(s)
	if c != strings.ToUpper(strings.ReplaceAll(s, ".", "")) {
		return "", fmt.Errorf("code %q has characters other than letters, digits and a dot", s)
	}
	if len(c) < 3 || len(c) > 4 || c[0] < 'A' || c[0] > 'Z' {
		return "", fmt.Errorf("code %q is not an ICD-10 category or subcategory", s)
	}
	for i := 1; i < len(c); i++ {
		if c[i] < '0' || c[i] > '9' {
			return "", fmt.Errorf("code %q is not an ICD-10 category or subcategory", s)
		}
	}
	return c, nil
}
