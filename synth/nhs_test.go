package synth

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/pophealth/pophealth/models/nhsnumber"
)

func TestNHSNumbers_AreValidUniqueAndFindTheirOwner(t *testing.T) {
	for _, c := range []struct {
		name     string
		people   int
		prefixes []string
	}{
		{"small population uses the 999 range", 1000, []string{"999"}},
		{"a million people spill into 998", 1_000_000, []string{"999", "998"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := newNHSNumbers(c.people, 7)
			seen := make(map[string]int, c.people)
			for i := range c.people {
				n := a.of(i)
				if err := nhsnumber.Check(n); err != nil {
					t.Fatalf("person %d: %s: %v", i, n, err)
				}
				if j, dup := seen[n]; dup {
					t.Fatalf("persons %d and %d share %s", j, i, n)
				}
				seen[n] = i
				if !hasAnyPrefix(n, c.prefixes) {
					t.Fatalf("person %d: %s outside %v", i, n, c.prefixes)
				}
				if i%97 == 0 {
					if owner, ok := a.owner(n); !ok || owner != i {
						t.Fatalf("owner(%s) = %d, %v; want %d", n, owner, ok, i)
					}
				}
			}
			unused := 0
			for _, v := range a.table[:5000] {
				if _, ok := a.owner(strconv.FormatUint(v, 10)); !ok {
					unused++
				}
			}
			if want := 5000 * (len(a.table) - c.people) / len(a.table); unused < want/2 || unused > 2*want+50 {
				t.Errorf("%d of 5000 numbers have no owner, want about %d", unused, want)
			}
		})
	}
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

func TestCheckDigit_AgreesWithNHSNumberPackage(t *testing.T) {
	for nine := uint64(999_000_000); nine < 999_020_000; nine++ {
		s := strconv.FormatUint(nine, 10)
		want, wantOK := nhsnumber.CheckDigit(s)
		got, ok := checkDigit(nine)
		if ok != wantOK || ok && byte('0'+got) != want {
			t.Fatalf("checkDigit(%d) = %d, %v; nhsnumber says %c, %v", nine, got, ok, want, wantOK)
		}
	}
}

func TestMistype_NeverPassesModulus11(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	a := newNHSNumbers(10_000, 1)
	for i := range 10_000 {
		n := a.of(i)
		typo := mistype(r, n)
		if typo == n || len(typo) != 10 || nhsnumber.Valid(typo) {
			t.Fatalf("mistype(%s) = %s: a keying error must change the number and fail Modulus 11", n, typo)
		}
	}
	if got := mistype(r, "9999999999"); got == "9999999999" {
		t.Error("mistype of a number without differing neighbours returned it unchanged")
	}
}

func TestModInverse(t *testing.T) {
	for _, c := range [][2]uint64{{3, 10}, {7, 909_091}, {561_846, 1_818_182}, {1, 2}} {
		if gcd(c[0], c[1]) != 1 {
			continue
		}
		if inv := modInverse(c[0], c[1]); c[0]*inv%c[1] != 1%c[1] {
			t.Errorf("modInverse(%d, %d) = %d", c[0], c[1], inv)
		}
	}
}
