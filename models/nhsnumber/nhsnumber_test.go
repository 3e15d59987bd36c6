package nhsnumber

import (
	"errors"
	"testing"
)

func TestCheck(t *testing.T) {
	tests := []struct {
		in   string
		want error
	}{
		{"9434765919", nil},           // NHS Digital's documented example
		{"9000000009", nil},           // PDS sandbox patient
		{"9434765918", ErrCheckDigit}, // wrong check digit
		{"9434765191", ErrCheckDigit}, // last two transposed
		{"1000000010", ErrCheckDigit}, // remainder 1 -> check value 10: never valid
		{"943476591", ErrLength},
		{"94347659190", ErrLength},
		{"", ErrLength},
		{"94347A5919", ErrNonDigit},
	}
	for _, tt := range tests {
		if got := Check(tt.in); !errors.Is(got, tt.want) {
			t.Errorf("Check(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestNormalise(t *testing.T) {
	for in, want := range map[string]string{
		"943 476 5919": "9434765919",
		"943-476-5919": "9434765919",
		" 9434765919 ": "9434765919",
		"9434765919":   "9434765919",
	} {
		if got := Normalise(in); got != want {
			t.Errorf("Normalise(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCheckDigitMatchesValid(t *testing.T) {
	// Every nine-digit prefix either has a check digit that makes a valid
	// number, or none; exercise a spread of prefixes.
	for n := 999000000; n < 999000000+5000; n++ {
		nine := itoa9(n)
		cd, ok := CheckDigit(nine)
		if !ok {
			continue
		}
		if !Valid(nine + string(cd)) {
			t.Fatalf("CheckDigit(%s) = %c but %s%c is not valid", nine, cd, nine, cd)
		}
	}
}

func itoa9(n int) string {
	b := make([]byte, 9)
	for i := 8; i >= 0; i-- {
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b)
}

func FuzzCheck(f *testing.F) {
	for _, s := range []string{"9434765919", "943 476 5919", "", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := Normalise(s)
		if Valid(n) {
			cd, ok := CheckDigit(n[:9])
			if !ok || cd != n[9] {
				t.Fatalf("Valid(%q) but check digit disagrees", n)
			}
		}
	})
}
