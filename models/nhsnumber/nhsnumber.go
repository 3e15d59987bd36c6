// Package nhsnumber validates and generates NHS numbers.
//
// An NHS number is ten digits; the tenth is a Modulus 11 check digit over
// the first nine with weights 10 down to 2. A remainder giving check value
// 10 means the nine digits can never form a valid number. Feeds write the
// number with spaces or dashes (e.g. "943 476 5919"); Normalise strips them.
package nhsnumber

import (
	"errors"
	"fmt"
	"strings"
)

// Errors returned by Check. Callers may match them with errors.Is to decide
// whether to quarantine a record or keep it flagged as unverified.
var (
	ErrLength     = errors.New("NHS number must have 10 digits")
	ErrNonDigit   = errors.New("NHS number has a character that is not a digit")
	ErrCheckDigit = errors.New("NHS number fails the Modulus 11 check")
)

// Normalise removes the spaces and dashes that feeds put between the
// 3-3-4 groups. It does not validate.
func Normalise(s string) string {
	if !strings.ContainsAny(s, " -") {
		return strings.TrimSpace(s)
	}
	var b strings.Builder
	b.Grow(10)
	for _, r := range s {
		if r != ' ' && r != '-' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// Check reports why s (already normalised) is not a valid NHS number, or nil.
func Check(s string) error {
	if len(s) != 10 {
		return fmt.Errorf("%w, got %d", ErrLength, len(s))
	}
	for i := 0; i < 10; i++ {
		if s[i] < '0' || s[i] > '9' {
			return ErrNonDigit
		}
	}
	cd, ok := CheckDigit(s[:9])
	if !ok || cd != s[9] {
		return ErrCheckDigit
	}
	return nil
}

// Valid reports whether s (already normalised) is a valid NHS number.
func Valid(s string) bool { return Check(s) == nil }

// CheckDigit returns the Modulus 11 check digit for nine digits, and false
// when no check digit exists (the remainder gives 10) or the input is not
// nine digits.
func CheckDigit(nine string) (byte, bool) {
	if len(nine) != 9 {
		return 0, false
	}
	sum := 0
	for i := 0; i < 9; i++ {
		c := nine[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		sum += int(c-'0') * (10 - i)
	}
	check := 11 - sum%11
	switch check {
	case 11:
		return '0', true
	case 10:
		return 0, false
	default:
		return byte('0' + check), true
	}
}

// Format writes a ten-digit number in the 3-3-4 form people read.
func Format(s string) string {
	if len(s) != 10 {
		return s
	}
	return s[:3] + " " + s[3:6] + " " + s[6:]
}
