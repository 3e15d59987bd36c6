package synth

import (
	"math/rand/v2"
	"slices"
	"strconv"
)

// nhsNumbers hands out unique, valid NHS numbers from the ranges that are
// never issued to patients: 999 000 0000 to 999 999 9999 first, then 998...
// if the population needs more. Person i gets the number at a scrambled
// position of the sorted table, so neighbours in the population do not
// have neighbouring numbers, and the owner of any number can be found back.
type nhsNumbers struct {
	table  []uint64 // every valid number of the ranges used, ascending
	people uint64
	// Position of person i is (mul*i + add) mod len(table); inv undoes mul.
	mul, inv, add uint64
}

// nhsStemsPerRange is the count of nine-digit stems in one 999-style range.
const nhsStemsPerRange = 1_000_000

func newNHSNumbers(people int, seed uint64) *nhsNumbers {
	var table []uint64
	for prefix := uint64(999); len(table) < people; prefix-- {
		for stem := uint64(0); stem < nhsStemsPerRange; stem++ {
			nine := prefix*nhsStemsPerRange + stem
			if cd, ok := checkDigit(nine); ok {
				table = append(table, nine*10+cd)
			}
		}
	}
	slices.Sort(table)
	n := uint64(len(table))
	mul := uint64(float64(n)*0.6180339887) | 1
	for gcd(mul, n) != 1 {
		mul += 2
	}
	return &nhsNumbers{
		table:  table,
		people: uint64(people),
		mul:    mul,
		inv:    modInverse(mul, n),
		add:    mix64(seed^0x6e6873) % n,
	}
}

// checkDigit returns the Modulus 11 check digit of a nine-digit stem, and
// false when the stem has none.
func checkDigit(nine uint64) (uint64, bool) {
	sum := uint64(0)
	for w := uint64(2); w <= 10; w++ {
		sum += (nine % 10) * w
		nine /= 10
	}
	switch check := 11 - sum%11; check {
	case 11:
		return 0, true
	case 10:
		return 0, false
	default:
		return check, true
	}
}

// of returns person i's NHS number.
func (a *nhsNumbers) of(i int) string {
	pos := (a.mul*uint64(i) + a.add) % uint64(len(a.table))
	return strconv.FormatUint(a.table[pos], 10)
}

// owner returns the person holding number s, if any.
func (a *nhsNumbers) owner(s string) (int, bool) {
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, false
	}
	pos, found := slices.BinarySearch(a.table, v)
	if !found {
		return 0, false
	}
	n := uint64(len(a.table))
	i := a.inv * ((uint64(pos) + n - a.add) % n) % n
	if i >= a.people {
		return 0, false
	}
	return int(i), true
}

// random returns a valid number of the table other than s: the number a
// clerk gets by picking the wrong person in a trace.
func (a *nhsNumbers) random(r *rand.Rand, s string) string {
	for {
		v := strconv.FormatUint(a.table[r.IntN(len(a.table))], 10)
		if v != s {
			return v
		}
	}
}

// mistype returns s with one keying error: a digit replaced by another or
// two adjacent differing digits swapped. Modulus 11 catches every such
// error, so the result never passes the check.
func mistype(r *rand.Rand, s string) string {
	b := []byte(s)
	if r.IntN(4) == 0 {
		// Transpose a random adjacent pair of differing digits, if any.
		start := r.IntN(len(b) - 1)
		for k := 0; k < len(b)-1; k++ {
			i := (start + k) % (len(b) - 1)
			if b[i] != b[i+1] {
				b[i], b[i+1] = b[i+1], b[i]
				return string(b)
			}
		}
	}
	i := r.IntN(len(b))
	b[i] = '0' + byte((int(b[i]-'0')+1+r.IntN(9))%10)
	return string(b)
}

func gcd(a, b uint64) uint64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// modInverse returns x with a*x = 1 (mod n), for a coprime with n.
func modInverse(a, n uint64) uint64 {
	t, newT := int64(0), int64(1)
	r, newR := int64(n), int64(a%n)
	for newR != 0 {
		q := r / newR
		t, newT = newT, t-q*newT
		r, newR = newR, r-q*newR
	}
	if t < 0 {
		t += int64(n)
	}
	return uint64(t)
}

// mix64 is the SplitMix64 finaliser: it turns related inputs (a seed and a
// chunk number) into unrelated 64-bit values.
func mix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}
